"""8D pan automation: keyframe segments written in bars and beats, evaluated to a smooth control.

A part's ``pan`` in params.yaml (or a YAML/JSON file given to ``scripts/pan8d.py
--automation``) is either a list of keyframe segments, or a mapping with options and the
list under ``keyframes``::

    parts:
      vibraphone:
        pan:
          mode: binaural            # binaural (default: ITD + head shadow), pan (equal-power),
                                    # or sofa (measured HRIRs; then also sofa: path/to/file.sofa)
          smoothing_ms: 5           # width of the smoothing window on the control (no steps)
          keyframes:
            # bars 1-8: one full orbit per 4/4 bar, clockwise (front -> right -> back -> left)
            - {from: 1, to: 9, curve: orbit, azimuth_deg: 0, period_beats: 4}
            # bars 9-18 (3/4): ear to ear on every beat, left to right
            - {from: 9, to: 19, curve: sawtooth, azimuth_deg: [-90, 90], cycles: per_beat}
            # bar 19 to beat 3 of bar 21: ease from the right to behind the head, coming closer
            - {from: 19, to: [21, 3], curve: cosine, azimuth_deg: [90, 180], distance_m: [1.0, 0.5]}
            # then stay there, 3 dB softer, to the end of the audio (the reverb tail included)
            - {from: [21, 3], to: end, curve: hold, azimuth_deg: 180, gain_db: -3}

    parts:
      glockenspiel:
        pan:                        # the short form: just the list (mode binaural)
          - {from: 1, to: 5, curve: linear, azimuth_deg: [-90, 90]}

Positions (``from``, ``to``): a bar number (its first beat), ``[bar, beat]`` with the beat
counted from 1 in the time signature's lower unit and decimals allowed (``[21, 2.5]``),
or ``{bar: 21, beat: 2, fraction: 0.5}``. A pickup is bar 0, its beats counted from the
end of a full bar (see :mod:`dreamreel.musical_time`). ``to: end`` is the end of the audio.
The end of the piece is also ``[last bar + 1, 1]``. (Do not write ``9:3``: YAML reads it
as the number 543.)

Azimuth in degrees: 0 in front, +90 right ear, -90 left ear, 180 behind. It is unwrapped:
orbits and sweeps go on past 360 degrees, and where a segment starts at the same direction
another segment ended (up to whole turns), it continues from there without a spin.

Curves (each segment ``from`` -> ``to``; u runs 0 -> 1 in musical time, ticks):

==========  ============================================  =======================================
curve       azimuth_deg                                   shape
==========  ============================================  =======================================
hold        a number                                      constant
linear      [start, end]                                  start + (end - start) u
cosine      [start, end]                                  ease in and out: (1 - cos(pi u)) / 2
sine_in     [start, end]                                  ease in (slow start): 1 - cos(pi u / 2)
sine_out    [start, end]                                  ease out (slow end): sin(pi u / 2)
orbit       a number (start); period_beats > 0;           start +- 360 deg per period_beats beats
            direction clockwise (default, increasing
            azimuth) or counterclockwise
sawtooth    [start, end]; cycles: a whole number of       start -> end, then back to start (the
            ramps in the segment, or per_beat             return is smoothed, not a step)
==========  ============================================  =======================================

Optional per segment: ``distance_m`` (number or [start, end]; 1 m is the reference level,
nearer is louder as 1/r, down to 0.25 m) and ``gain_db`` (number or [start, end]); they
follow the segment's easing for linear/cosine/sine_in/sine_out and are linear otherwise.
``interpolate: lateral`` makes the curve act on the lateral position sin(azimuth) in
[-1, 1] instead of the angle: the old tool's "ear" position (used by its importer,
:mod:`dreamreel.effects_json`). Before the first segment the first value holds; after the
last, the last; in a gap between segments, the value the previous one ended on.
Segments must be in order and must not overlap; ``to`` must come after ``from``.

Evaluation: the curves are evaluated at a control rate (every ``hop`` samples), the
azimuth is smoothed with a Hann window ``smoothing_ms`` wide (symmetric, so ramps and the
timing of keyframes are not shifted), and the renderer interpolates linearly to every
sample: no steps, no zipper noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.score.musical_time import MusicalClock

CURVES = ("hold", "linear", "cosine", "sine_in", "sine_out", "orbit", "sawtooth")
MODES = ("binaural", "pan", "sofa")
DIRECTIONS = {"clockwise": 1.0, "counterclockwise": -1.0, "cw": 1.0, "ccw": -1.0}
SEGMENT_KEYS = {"from", "to", "curve", "azimuth_deg", "distance_m", "gain_db", "period_beats", "direction", "cycles", "interpolate"}
OPTION_KEYS = {"mode", "smoothing_ms", "keyframes", "sofa"}
DEFAULT_SMOOTHING_MS = 5.0
CONTROL_HOP = 32  # samples between control points: 0.67 ms at 48 kHz
MIN_DISTANCE_M = 0.25

@dataclass(frozen=True)
class Segment:
    """One compiled keyframe segment: ticks, curve and values (azimuth already unwrapped)."""

    start_tick: float
    end_tick: float | None  # None: the end of the audio
    curve: str
    azimuth_deg: tuple[float, float]
    distance_m: tuple[float, float]
    gain_db: tuple[float, float]
    period_beats: float = 0.0
    direction: float = 1.0
    cycles: float | str = 1
    lateral: bool = False


@dataclass(frozen=True)
class Control:
    """Pan control at a fixed rate: point k is at sample ``k * hop_samples``.

    ``azimuth_deg``, ``distance_m``, ``gain_db``: float64 arrays, shape (K,), with
    K = ceil(samples / hop) + 1, already smoothed; a renderer interpolates linearly between points.
    """

    hop_samples: int
    azimuth_deg: np.ndarray
    distance_m: np.ndarray
    gain_db: np.ndarray


@dataclass(frozen=True)
class Automation:
    """A part's compiled automation: segments in ticks, a clock to place them, options."""

    segments: tuple[Segment, ...]
    clock: MusicalClock
    mode: str = "binaural"
    smoothing_ms: float = DEFAULT_SMOOTHING_MS
    sofa: str | None = None  # mode "sofa": the SOFA file of measured HRIRs

    def evaluate(self, times_s: np.ndarray, *, end_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw (unsmoothed) azimuth in degrees, distance in m and gain in dB at ``times_s``.

        Parameters
        ----------
        times_s : ndarray, float64, shape (T,)
            Increasing times in seconds.
        end_s : float
            The end of the audio in seconds (where ``to: end`` lands).
        """
        times_s = np.asarray(times_s, dtype=np.float64)
        ticks = np.asarray(self.clock.seconds_to_tick(times_s), dtype=np.float64).reshape(times_s.shape)
        end_tick = float(self.clock.seconds_to_tick(end_s))
        azimuth = np.empty_like(ticks)
        distance = np.empty_like(ticks)
        gain = np.empty_like(ticks)
        first = self.segments[0]
        azimuth[:] = first.azimuth_deg[0]
        distance[:] = first.distance_m[0]
        gain[:] = first.gain_db[0]
        for segment in self.segments:
            start = segment.start_tick
            stop = end_tick if segment.end_tick is None else segment.end_tick
            if stop <= start:
                continue
            # From this segment's start on, it decides (later segments overwrite their part).
            after = ticks >= start
            inside = after & (ticks < stop)
            tail = ticks >= stop
            az_end, dist_end, gain_end = _segment_end(segment, self.clock, start, stop)
            azimuth[tail], distance[tail], gain[tail] = az_end, dist_end, gain_end
            if inside.any():
                a, d, g = _segment_values(segment, self.clock, ticks[inside], start, stop)
                azimuth[inside], distance[inside], gain[inside] = a, d, g
        return azimuth, distance, gain

    def control(self, num_samples: int, sample_rate_hz: int, *, hop_samples: int = CONTROL_HOP) -> Control:
        """The smoothed control for ``num_samples`` of audio at ``sample_rate_hz``."""
        count = -(-num_samples // hop_samples) + 1
        times = np.arange(count, dtype=np.float64) * hop_samples / sample_rate_hz
        azimuth, distance, gain = self.evaluate(times, end_s=num_samples / sample_rate_hz)
        width = self.smoothing_ms * 1e-3 * sample_rate_hz / hop_samples
        return Control(hop_samples, smooth(azimuth, width), smooth(distance, width), smooth(gain, width))


def smooth(values: np.ndarray, width_points: float) -> np.ndarray:
    """Convolve with a normalised Hann window about ``width_points`` wide (edges held).

    Symmetric, so a linear ramp passes unchanged and a step is centred where it was: the
    smoothing turns steps into short glides without moving keyframes in time.
    """
    taps = int(math.ceil(width_points)) | 1
    if taps < 3:
        return values
    window = np.hanning(taps + 2)[1:-1]
    window /= window.sum()
    half = taps // 2
    padded = np.concatenate([np.full(half, values[0]), values, np.full(half, values[-1])])
    return np.convolve(padded, window, mode="valid")


def _ease(curve: str, u: np.ndarray) -> np.ndarray:
    if curve == "linear":
        return u
    if curve == "cosine":
        return 0.5 - 0.5 * np.cos(np.pi * u)
    if curve == "sine_in":
        return 1.0 - np.cos(0.5 * np.pi * u)
    if curve == "sine_out":
        return np.sin(0.5 * np.pi * u)
    raise AssertionError(curve)


def _to_azimuth(values: np.ndarray, lateral: bool) -> np.ndarray:
    return np.degrees(np.arcsin(np.clip(values, -1.0, 1.0))) if lateral else values


def _segment_values(segment: Segment, clock: MusicalClock, ticks: np.ndarray, start: float, stop: float):
    u = (ticks - start) / (stop - start)
    a0, a1 = segment.azimuth_deg
    if segment.lateral:
        a0, a1 = math.sin(math.radians(a0)), math.sin(math.radians(a1))
    curve = segment.curve
    if curve == "hold":
        shape = u
        azimuth = np.full_like(u, a0)
    elif curve == "orbit":
        shape = u
        beats = clock.tick_to_beats(ticks) - clock.tick_to_beats(start)
        azimuth = a0 + segment.direction * 360.0 * beats / segment.period_beats
    elif curve == "sawtooth":
        shape = u
        if segment.cycles == "per_beat":
            phase = clock.tick_to_beats(ticks) - clock.tick_to_beats(start)
        else:
            phase = u * float(segment.cycles)
        azimuth = a0 + (a1 - a0) * (phase - np.floor(phase))
    else:
        shape = _ease(curve, u)
        azimuth = a0 + (a1 - a0) * shape
    d0, d1 = segment.distance_m
    g0, g1 = segment.gain_db
    distance = d0 if d0 == d1 else d0 + (d1 - d0) * shape  # a constant stays a scalar: no array work
    gain = g0 if g0 == g1 else g0 + (g1 - g0) * shape
    return _to_azimuth(azimuth, segment.lateral), distance, gain


def _segment_end(segment: Segment, clock: MusicalClock, start: float, stop: float) -> tuple[float, float, float]:
    """Values held after a segment: where its curve arrives (a sawtooth arrives at its end value)."""
    if segment.curve == "hold":
        return segment.azimuth_deg[0], segment.distance_m[1], segment.gain_db[1]
    if segment.curve == "orbit":
        beats = clock.tick_to_beats(stop) - clock.tick_to_beats(start)
        return segment.azimuth_deg[0] + segment.direction * 360.0 * beats / segment.period_beats, segment.distance_m[1], segment.gain_db[1]
    return segment.azimuth_deg[1], segment.distance_m[1], segment.gain_db[1]


# ---------------------------------------------------------------------------------------
# Parsing and validation
# ---------------------------------------------------------------------------------------


def _number(value: Any, where: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise DreamreelError(where, f"{what} must be a number, got {value!r}", "write a plain number such as 90 or -45.5")
    return float(value)


def _pair(value: Any, where: str, what: str, *, default: float, single: bool = False) -> tuple[float, float]:
    """A number (held) or a [start, end] pair."""
    if value is None:
        return default, default
    if isinstance(value, (list, tuple)):
        if single or len(value) != 2:
            wanted = "a single number" if single else "a number or a [start, end] pair"
            raise DreamreelError(where, f"{what} must be {wanted}, got {value!r}", "e.g. 90, or [-90, 90] for a sweep" if not single else "e.g. 90")
        return _number(value[0], where, what), _number(value[1], where, what)
    number = _number(value, where, what)
    return number, number


def parse_position(value: Any, clock: MusicalClock, where: str) -> float | None:
    """A position from params (bar, [bar, beat], {bar, beat, fraction} or 'end') as a tick; None = end."""
    if value == "end":
        return None
    if isinstance(value, bool):
        value = None
    if isinstance(value, int):
        bar, beat, fraction = value, 1, 0.0
    elif isinstance(value, (list, tuple)) and len(value) in (1, 2, 3):
        bar, beat, fraction = (list(value) + [1, 0.0][len(value) - 1:])[:3]
    elif isinstance(value, dict) and "bar" in value and set(value) <= {"bar", "beat", "fraction"}:
        bar, beat, fraction = value["bar"], value.get("beat", 1), value.get("fraction", 0.0)
    else:
        raise DreamreelError(
            where, f"not a position: {value!r}",
            "write a bar number, [bar, beat] (e.g. [21, 3] or [21, 2.5]), {bar: 21, beat: 3} or end",
        )
    if isinstance(bar, bool) or not isinstance(bar, int) and not (isinstance(bar, float) and bar.is_integer()):
        raise DreamreelError(where, f"the bar must be a whole number, got {bar!r}", "write beats inside the bar as [bar, beat]")
    beat = _number(beat, where, "the beat")
    fraction = _number(fraction, where, "the fraction")
    tick = clock.position_to_tick(int(bar), Fraction(beat).limit_denominator(10_000), Fraction(fraction).limit_denominator(10_000), field=where.split(": ", 1)[-1])
    return float(tick)


def parse_automation(spec: Any, clock: MusicalClock, *, where: str) -> Automation:
    """Validate a part's ``pan`` value and compile it against ``clock``.

    Parameters
    ----------
    spec : list or dict
        The value of ``parts.<name>.pan`` (or of an automation file), see the module docstring.
    clock : MusicalClock
        The piece's musical time; its ``where`` is replaced by ``where`` in messages.
    where : str
        Names the file and field, e.g. ``"params.yaml: parts.vibraphone.pan"``.

    Raises
    ------
    DreamreelError
        For anything malformed, naming the field: ``params.yaml: parts.vibraphone.pan[2].curve``.
    """
    clock.where = where.split(": ", 1)[0]
    mode, smoothing_ms, sofa = "binaural", DEFAULT_SMOOTHING_MS, None
    list_where = where
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - OPTION_KEYS)
        if unknown:
            raise DreamreelError(f"{where}.{unknown[0]}", "unknown key", f"use: {', '.join(sorted(OPTION_KEYS))}")
        mode = spec.get("mode", mode)
        if mode not in MODES:
            raise DreamreelError(f"{where}.mode", f"unknown mode {mode!r}", f"use one of: {', '.join(MODES)}")
        smoothing_ms = _number(spec.get("smoothing_ms", smoothing_ms), f"{where}.smoothing_ms", "smoothing_ms")
        if not 0 <= smoothing_ms <= 200:
            raise DreamreelError(f"{where}.smoothing_ms", f"{smoothing_ms:g} is out of range", "use 0 to 200 ms (5 is a good start)")
        sofa = spec.get("sofa")
        if mode == "sofa" and not isinstance(sofa, str):
            raise DreamreelError(f"{where}.sofa", "mode sofa needs the path of a SOFA file", "add e.g. sofa: media/hrtf/kemar.sofa")
        if sofa is not None and mode != "sofa":
            raise DreamreelError(f"{where}.sofa", f"a SOFA file is used only with mode: sofa (the mode is {mode})", "set mode: sofa, or remove sofa")
        spec = spec.get("keyframes")
        list_where = f"{where}.keyframes"
    if not isinstance(spec, list) or not spec:
        raise DreamreelError(list_where, f"expected a list of keyframe segments, got {spec!r}",
                             "write e.g. - {from: 1, to: 9, curve: orbit, azimuth_deg: 0, period_beats: 4}")
    segments = []
    previous_end: float | None = 0.0
    previous_start = -math.inf
    for index, item in enumerate(spec):
        here = f"{list_where}[{index}]"
        segment = _parse_segment(item, clock, here)
        if previous_end is None:
            raise DreamreelError(f"{here}.from", "comes after a segment that runs to the end", "make the earlier segment stop before this one")
        if segment.start_tick < previous_start:
            raise DreamreelError(f"{here}.from", "keyframes are out of order (this one starts before the previous one)", "list the segments in the order they play")
        if index and segment.start_tick < previous_end:
            raise DreamreelError(f"{here}.from", "overlaps the previous segment (it starts before that one ends)", "start it at or after the previous segment's to")
        segments.append(segment)
        previous_start = segment.start_tick
        previous_end = segment.end_tick
    return Automation(tuple(_unwrap(segments, clock)), clock, mode, smoothing_ms, sofa)


def _parse_segment(item: Any, clock: MusicalClock, here: str) -> Segment:
    if not isinstance(item, dict):
        raise DreamreelError(here, f"expected a mapping with from, to, curve and azimuth_deg, got {item!r}",
                             "write e.g. {from: 1, to: 5, curve: linear, azimuth_deg: [-90, 90]}")
    unknown = sorted(set(item) - SEGMENT_KEYS)
    if unknown:
        raise DreamreelError(f"{here}.{unknown[0]}", "unknown key", f"use: {', '.join(sorted(SEGMENT_KEYS))}")
    for key in ("from", "to", "azimuth_deg"):
        if key not in item:
            raise DreamreelError(f"{here}.{key}", "missing", "every segment needs from, to and azimuth_deg")
    azimuth = item["azimuth_deg"]
    curve = item.get("curve", "linear" if isinstance(azimuth, (list, tuple)) else "hold")
    if curve not in CURVES:
        raise DreamreelError(f"{here}.curve", f"unknown curve {curve!r}", f"use one of: {', '.join(CURVES)}")
    single = curve in ("hold", "orbit")
    if not single and not isinstance(azimuth, (list, tuple)):
        raise DreamreelError(f"{here}.azimuth_deg", f"a {curve} curve needs [start, end], got {azimuth!r}", "e.g. azimuth_deg: [-90, 90]")
    azimuth_pair = _pair(azimuth, f"{here}.azimuth_deg", "azimuth_deg", default=0.0, single=single)
    distance = _pair(item.get("distance_m"), f"{here}.distance_m", "distance_m", default=1.0)
    if min(distance) <= 0:
        raise DreamreelError(f"{here}.distance_m", "distance must be more than 0", "e.g. 1.0 (metres; 1 m is the reference level)")
    gain = _pair(item.get("gain_db"), f"{here}.gain_db", "gain_db", default=0.0)
    start = parse_position(item["from"], clock, f"{here}.from")
    if start is None:
        raise DreamreelError(f"{here}.from", "a segment cannot start at the end", "give a bar, or [bar, beat]")
    end = parse_position(item["to"], clock, f"{here}.to")
    if end is not None and end <= start:
        raise DreamreelError(f"{here}.to", "must come after from", "a segment runs forward in time; swap them or fix the bar")
    interpolate = item.get("interpolate", "azimuth")
    if interpolate not in ("azimuth", "lateral"):
        raise DreamreelError(f"{here}.interpolate", f"unknown value {interpolate!r}", "use azimuth (default) or lateral")
    lateral = interpolate == "lateral"
    if lateral and curve == "orbit":
        raise DreamreelError(f"{here}.interpolate", "an orbit turns the angle itself", "remove interpolate: lateral from the orbit")
    if lateral and max(abs(a) for a in azimuth_pair) > 90:
        raise DreamreelError(f"{here}.azimuth_deg", "lateral interpolation covers -90 to 90 degrees only", "use interpolate: azimuth for the back half")
    extra: dict[str, Any] = {}
    if curve == "orbit":
        if "period_beats" not in item:
            raise DreamreelError(f"{here}.period_beats", "missing", "an orbit needs the beats of one turn, e.g. period_beats: 4")
        period = _number(item["period_beats"], f"{here}.period_beats", "period_beats")
        if period <= 0:
            raise DreamreelError(f"{here}.period_beats", "must be more than 0", "e.g. 4 for one turn per 4/4 bar")
        direction = item.get("direction", "clockwise")
        if direction not in DIRECTIONS:
            raise DreamreelError(f"{here}.direction", f"unknown direction {direction!r}", "use clockwise or counterclockwise")
        extra = {"period_beats": period, "direction": DIRECTIONS[direction]}
    elif curve == "sawtooth":
        cycles = item.get("cycles", 1)
        if cycles != "per_beat" and (isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 1):
            raise DreamreelError(f"{here}.cycles", f"expected a whole number of ramps or per_beat, got {cycles!r}", "e.g. cycles: 4, or cycles: per_beat")
        extra = {"cycles": cycles}
    for key in ("period_beats", "direction", "cycles"):
        if key in item and key not in extra:
            raise DreamreelError(f"{here}.{key}", f"does not apply to a {curve} curve", "remove it")
    return Segment(start, end, curve, azimuth_pair, distance, gain, lateral=lateral, **extra)


def _unwrap(segments: Sequence[Segment], clock: MusicalClock) -> list[Segment]:
    """Shift each segment by whole turns so it starts nearest to where the previous one ended."""
    result: list[Segment] = []
    for segment in segments:
        if result and not segment.lateral:
            before = result[-1]
            end_tick = before.end_tick if before.end_tick is not None else before.start_tick
            arrived = _segment_end(before, clock, before.start_tick, end_tick)[0]
            turns = round((arrived - segment.azimuth_deg[0]) / 360.0)
            if turns:
                shift = 360.0 * turns
                segment = Segment(**{**segment.__dict__, "azimuth_deg": (segment.azimuth_deg[0] + shift, segment.azimuth_deg[1] + shift)})
        result.append(segment)
    return result
