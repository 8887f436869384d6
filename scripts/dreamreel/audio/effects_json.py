"""Import the old tool's ``effects.json`` pan automation into our :class:`~dreamreel.automation.Automation`.

The old format maps a part name to a list of keyframes::

    {"vibes": [
        {"effect": "none", "m1": 1, "b1": 1, "m2": 2, "b2": 1},
        {"effect": "straight", "m1": 2, "b1": 1, "m2": 3, "b2": 1, "ear_i": -0.5, "ear_f": 0.25},
        {"effect": "sawtooth", "m1": 3, "b1": 1, "m2": 5, "b2": 1, "ear_i": -1, "ear_f": 1, "cycles": "per_beat"},
        {"effect": "none", "m1": 5, "b1": 1, "m2": "end"}]}

``m``/``b`` are bar and beat (bars counted from 1 as the first bar in the file, so with a
pickup, old bar 1 is our bar 0), ``ear`` is a left-right position e in [-1, 1] that we
read as the lateral position sin(azimuth): azimuth = asin(e), in the front half. Curves,
on the ear position, with u from 0 to 1 across the keyframe:

- ``straight``: e_i + (e_f - e_i) u, or e_i held when there is no (different) e_f
- ``half_cosine``: e_i to e_f along a half cosine, (1 - cos(pi u)) / 2 (our ``cosine``)
- ``quarter_sine``: e_i to e_f along a quarter sine, sin(pi u / 2) (our ``sine_out``)
- ``whole_cosine``: e_i to e_mid and back along a whole cosine, (1 - cos(2 pi u)) / 2
  (two of our ``cosine`` segments, split at the middle)
- ``half_sine``: e_i to e_mid and back along sin(pi u), steeper at the ends
  (our ``sine_out`` then ``sine_in``)
- ``sawtooth``: ``cycles`` ramps from e_i to e_f; ``per_beat`` is one ramp per quarter
  note, as the old tool counted it
- ``none``: the centre

``m2: "end"`` means the final barline plus a 3 s tail, as in the old tool.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from dreamreel.audio.automation import DEFAULT_SMOOTHING_MS, Automation, Segment, _unwrap
from dreamreel.core.errors import DreamreelError
from dreamreel.score.musical_time import MusicalClock

OLD_EFFECTS = ("straight", "half_cosine", "whole_cosine", "half_sine", "quarter_sine", "sawtooth", "none")
OLD_KEYS = {"effect", "m1", "b1", "m2", "b2", "ear_i", "ear_mid", "ear_f", "cycles"}
END_TAIL_S = 3.0


def looks_like_effects_json(data: Any) -> bool:
    """True for the old format: a mapping of part names to lists of {"effect": ...} keyframes."""
    return (
        isinstance(data, dict) and bool(data)
        and all(isinstance(v, list) and v and all(isinstance(k, dict) and "effect" in k for k in v) for v in data.values())
    )


def _ear(keyframe: dict, key: str, where: str, *, required: bool = True) -> float | None:
    if key not in keyframe or keyframe[key] is None:
        if required:
            raise DreamreelError(f"{where}.{key}", "missing", "give the ear position, a number from -1 (left) to 1 (right)")
        return None
    value = keyframe[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DreamreelError(f"{where}.{key}", f"must be a number, got {value!r}", "a number from -1 (left) to 1 (right)")
    if not -1.0 <= value <= 1.0:
        raise DreamreelError(f"{where}.{key}", f"{value!r} is outside -1 to 1", "a number from -1 (left) to 1 (right)")
    return float(value)


def _azimuth(ear: float) -> float:
    return math.degrees(math.asin(ear))


def _tick(keyframe: dict, bar_key: str, beat_key: str, clock: MusicalClock, where: str) -> float:
    bar, beat = keyframe.get(bar_key), keyframe.get(beat_key, 1)
    for key, value in ((bar_key, bar), (beat_key, beat)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DreamreelError(f"{where}.{key}", f"must be a number, got {value!r}", "bars and beats count from 1")
    if float(bar) != int(bar):
        raise DreamreelError(f"{where}.{bar_key}", f"the bar must be a whole number, got {bar!r}", "write beats in the b keys")
    ours = int(bar) - 1 + clock.first_bar
    beat = Fraction(beat).limit_denominator(10_000)
    if ours == 0 and clock.first_bar == 0:
        beat += clock.first_beat(0) - 1  # the old tool counted a pickup's beats from its start
    saved = clock.where
    clock.where, _, field = where.partition(": ")
    try:
        return float(clock.position_to_tick(ours, beat, field=f"{field}.{bar_key}"))
    finally:
        clock.where = saved


def import_effects(data: dict, clock: MusicalClock, *, where: str, part: str | None = None) -> Automation:
    """Compile one part of an old ``effects.json`` (``part``: its key; may be left out when there is one)."""
    if part is None:
        if len(data) != 1:
            raise DreamreelError(where, f"holds several parts ({', '.join(data)})", "choose one with --part NAME")
        part = next(iter(data))
    if part not in data:
        raise DreamreelError(where, f"has no part {part!r}", f"its parts: {', '.join(data)}")
    end_tick = float(clock.seconds_to_tick(clock.duration_s + END_TAIL_S))
    segments: list[Segment] = []
    previous_end = -math.inf
    for index, keyframe in enumerate(data[part]):
        here = f"{where}: {part}[{index}]"
        unknown = sorted(set(keyframe) - OLD_KEYS)
        if unknown:
            raise DreamreelError(f"{here}.{unknown[0]}", "unknown key", f"the old format has: {', '.join(sorted(OLD_KEYS))}")
        effect = keyframe.get("effect")
        if effect not in OLD_EFFECTS:
            raise DreamreelError(f"{here}.effect", f"unknown effect {effect!r}", f"use one of: {', '.join(OLD_EFFECTS)}")
        start = _tick(keyframe, "m1", "b1", clock, here)
        stop = end_tick if keyframe.get("m2") == "end" else _tick(keyframe, "m2", "b2", clock, here)
        if stop <= start:
            raise DreamreelError(f"{here}.m2", "the keyframe ends before it starts", "m2/b2 must come after m1/b1")
        if start < previous_end:
            raise DreamreelError(f"{here}.m1", "overlaps or comes before the previous keyframe", "keyframes must chain in order")
        previous_end = stop
        segments.extend(_segments(effect, keyframe, start, stop, clock, here))
    return Automation(tuple(_unwrap(segments, clock)), clock, "binaural", DEFAULT_SMOOTHING_MS)


def _lateral(start: float, stop: float, curve: str, a: float, b: float, **extra) -> Segment:
    return Segment(start, stop, curve, (_azimuth(a), _azimuth(b)), (1.0, 1.0), (0.0, 0.0), lateral=True, **extra)


def _segments(effect: str, keyframe: dict, start: float, stop: float, clock: MusicalClock, here: str) -> list[Segment]:
    if effect == "none":
        return [_lateral(start, stop, "hold", 0.0, 0.0)]
    ear_i = _ear(keyframe, "ear_i", here)
    if effect == "straight":
        ear_f = _ear(keyframe, "ear_f", here, required=False)
        if ear_f is None or ear_f == ear_i:
            return [_lateral(start, stop, "hold", ear_i, ear_i)]
        return [_lateral(start, stop, "linear", ear_i, ear_f)]
    if effect in ("whole_cosine", "half_sine"):
        ear_mid = _ear(keyframe, "ear_mid", here)
        middle = (start + stop) / 2
        there, back = ("cosine", "cosine") if effect == "whole_cosine" else ("sine_out", "sine_in")
        return [_lateral(start, middle, there, ear_i, ear_mid), _lateral(middle, stop, back, ear_mid, ear_i)]
    ear_f = _ear(keyframe, "ear_f", here)
    if effect == "half_cosine":
        return [_lateral(start, stop, "cosine", ear_i, ear_f)]
    if effect == "quarter_sine":
        return [_lateral(start, stop, "sine_out", ear_i, ear_f)]
    cycles = keyframe.get("cycles", 1)
    if cycles in ("per_beat", "per beat"):
        cycles = max(1, int((stop - start) / clock.ticks_per_quarter))
    elif isinstance(cycles, bool) or not isinstance(cycles, (int, float)) or cycles < 1:
        raise DreamreelError(f"{here}.cycles", f"expected a whole number or per_beat, got {cycles!r}", "e.g. 4")
    return [_lateral(start, stop, "sawtooth", ear_i, ear_f, cycles=int(cycles))]
