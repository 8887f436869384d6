"""Key the effects to the music: one value per effect and video frame.

An entry of ``effects.chain`` names a signal (``by``); the signal is read at every video
frame (frame k is the instant k/fps, the same grid as features.npz, so a value keyed to
frame k lands on frame k and on no other), passed through an attack/release follower,
shaped by a curve and scaled by the amount::

    value[k] = amount · curve(follow(signal)[k])

The follower is a one-pole smoother with separate rise and fall times: with
``attack_s = release_s = 0`` it is the signal itself. A time constant of T seconds moves
the value 1 - 1/e of the way to the signal in T, the same law as the feature normaliser's
release. The whole table is small (entries × frames floats, 5400 per entry for 3 minutes
at 30 fps); the frames themselves never pile up (see :mod:`.effects_pass`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Mapping, Sequence

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.video.sections import FEATURE_SIGNALS, MUSICAL_SIGNALS


def follow(signal: np.ndarray, *, fps: Fraction, attack_s: float, release_s: float) -> np.ndarray:
    """Attack/release follower of a per-frame signal.

    Parameters
    ----------
    signal : ndarray, shape (N,)
        One value per video frame.
    fps : Fraction
        The frame rate, to turn the times into per-frame coefficients.
    attack_s, release_s : float
        Rise and fall time constants in seconds; 0 follows at once.

    Returns
    -------
    ndarray, float64, shape (N,); equal to ``signal`` when both times are 0.
    """
    signal = np.asarray(signal, dtype=np.float64)
    if attack_s == 0 and release_s == 0:
        return signal.copy()

    def step(time_s: float) -> float:
        return 1.0 if time_s == 0 else 1.0 - math.exp(-1.0 / (float(fps) * time_s))

    rise, fall = step(attack_s), step(release_s)
    out = np.empty_like(signal)
    level = 0.0
    for k, target in enumerate(signal):
        level += (target - level) * (rise if target > level else fall)
        out[k] = level
    return out


def shape(values: np.ndarray, curve: str) -> np.ndarray:
    """Map a signal in [0, 1] through ``curve``; 0 stays 0 and 1 stays 1 for every curve."""
    x = np.clip(values, 0.0, 1.0)
    if curve == "linear":
        return x
    if curve == "ease_in":
        return x * x
    if curve == "ease_out":
        return 1.0 - (1.0 - x) ** 2
    if curve == "smooth":
        return x * x * (3.0 - 2.0 * x)
    if curve == "step":
        return (x >= 0.5).astype(np.float64)
    raise ValueError(f"unknown curve {curve!r}")


def _hits(times_s: np.ndarray, *, fps: Fraction, n_frames: int) -> np.ndarray:
    """1 on the frame nearest each time (frame k is shown at k/fps), 0 elsewhere; shape (N,)."""
    hits = np.zeros(n_frames)
    frames = np.floor(np.asarray(times_s, dtype=np.float64) * float(fps) + 0.5).astype(np.int64)
    hits[frames[(frames >= 0) & (frames < n_frames)]] = 1.0
    return hits


def _phase(times_s: np.ndarray, *, fps: Fraction, n_frames: int) -> np.ndarray:
    """Position inside the current beat (bar), 0 at its start rising towards 1; shape (N,).

    Before the first mark and after the last one the spacing of the nearest pair goes on.
    """
    marks = np.asarray(times_s, dtype=np.float64)
    t = np.arange(n_frames) / float(fps)
    if len(marks) < 2:
        return np.zeros(n_frames)
    index = np.searchsorted(marks, t, side="right") - 1
    index = np.clip(index, 0, len(marks) - 2)
    start, end = marks[index], marks[index + 1]
    position = index + (t - start) / (end - start)
    return position - np.floor(position)


def signal_values(name: str, *, features: Mapping[str, np.ndarray], fps: Fraction, n_frames: int,
                  beat_times_s: np.ndarray | None, bar_times_s: np.ndarray | None, where: str) -> np.ndarray:
    """The raw signal ``name`` at every video frame, shape (N,), float64.

    Feature signals come from ``features`` (features.npz, frame axis first); musical ones
    from the beat and bar times (seconds), which must then be given.
    """
    if name == "constant":
        return np.ones(n_frames)
    if name in FEATURE_SIGNALS:
        key, column = FEATURE_SIGNALS[name]
        if key not in features:
            raise DreamreelError(where, f"features.npz has no {key!r} array for the signal {name!r}", "rebuild the features (make gan)")
        array = np.asarray(features[key], dtype=np.float64)
        values = array[:, column] if column is not None else array.reshape(-1)
        if len(values) < n_frames:
            raise DreamreelError(where, f"features.npz has {len(values)} frames, the video {n_frames}", "rebuild the video from these features (make video)")
        return values[:n_frames]
    if name in MUSICAL_SIGNALS:
        marks = beat_times_s if name.startswith("beat") else bar_times_s
        if marks is None:
            raise AssertionError(f"signal {name} needs beat and bar times")
        return _hits(marks, fps=fps, n_frames=n_frames) if name in ("beat", "bar") else _phase(marks, fps=fps, n_frames=n_frames)
    raise DreamreelError(where, f"unknown signal {name!r}", "see effects.chain in params.yaml")


def entry_label(entry: Mapping) -> str:
    """A short name of an entry for plots: ``swirl 0.8 by onset``."""
    return f"{entry['effect']} {float(entry['amount']):g} by {entry['by']}"


def needs_clock(entries: Sequence[Mapping]) -> bool:
    """Whether any entry is keyed to musical time (beats or bars)."""
    return any(entry["by"] in MUSICAL_SIGNALS for entry in entries)


def key_effects(entries: Sequence[Mapping], *, features: Mapping[str, np.ndarray], fps: Fraction, n_frames: int,
                beat_times_s: np.ndarray | None = None, bar_times_s: np.ndarray | None = None,
                where: str = "params.yaml: effects.chain") -> np.ndarray:
    """The value of every effect at every frame.

    Parameters
    ----------
    entries : sequence of mapping
        Checked entries of ``effects.chain`` with defaults filled in
        (:func:`dreamreel.video.sections.effect_entries`).
    features : mapping of str to ndarray
        features.npz: per-frame arrays, frame axis first.
    fps : Fraction
        The video's frame rate (that of the features).
    n_frames : int
        Frames of the video.
    beat_times_s, bar_times_s : ndarray, optional
        Beats and barlines in seconds, for the musical signals.

    Returns
    -------
    ndarray, float64, shape (E, N)
        Row e is entry e's value in its effect's unit; exactly 0 where the effect is off.
    """
    table = np.zeros((len(entries), n_frames))
    for index, entry in enumerate(entries):
        raw = signal_values(entry["by"], features=features, fps=fps, n_frames=n_frames, beat_times_s=beat_times_s,
                            bar_times_s=bar_times_s, where=f"{where}[{index}].by")
        smooth = follow(raw, fps=fps, attack_s=float(entry["attack_s"]), release_s=float(entry["release_s"]))
        table[index] = float(entry["amount"]) * shape(smooth, entry["curve"])
    return table
