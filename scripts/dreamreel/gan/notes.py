"""The score's notes as per-part signals at every video frame: ``build/<piece>/gan/notes.npz``.

Frame k shows the instant k/fps. Every note's start and end come from the tempo map in
exact rational arithmetic (:class:`~dreamreel.score.musical_time.ExactClock`), and a note
belongs to the frame nearest its start, k = round(t·fps) with halves up: a note at exactly
1.5 s fires on frame 45 at 30 fps, with no analysis latency. A note sounds on the frames
from that one up to the frame nearest its end, and on its first frame at least, so a note
shorter than a frame still shows. A drum hit sounds on its own frame only: a kit's note
lengths are a notation habit, not a sound, and its envelope is the release after the hit.

Per part (P parts, in score order) and frame (N frames, as many as ``features.npz``):

- ``note_on``: the loudest velocity/127 of the notes starting on the frame, else 0;
- ``velocity``: velocity/127 of the loudest note sounding, else 0;
- ``envelope``: each note rises linearly over ``attack_s`` to its velocity/127, holds while
  it sounds and falls linearly to 0 over ``release_s``; the loudest note wins. A frame
  shows the level reached by the end of its own period, so an attack shorter than a frame
  is at full level on the note's first frame (a rise drawn from the frame's start would
  show 0 there, a frame late);
- ``pitch_low``, ``pitch_high``, ``pitch_mean``: MIDI pitches of the sounding notes, NaN
  where the part is silent;
- ``pitch_classes`` (N, P, 12): the sounding notes' pitch classes (C = 0), weighted by
  velocity, summing to 1 where anything sounds;
- ``density``: notes started per second over the trailing ``density_window_s``.

Memory is flat in the length of the music: the note list is small and held whole, the
per-frame members are computed and written :data:`BLOCK_FRAMES` frames at a time
(:class:`~dreamreel.core.npz.StreamedArray`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator

import numpy as np

from dreamreel.core.npz import StreamedArray
from dreamreel.gan.form import Section
from dreamreel.score.model import Score
from dreamreel.score.musical_time import ExactClock

# Frames computed at once: about 2 minutes at 30 fps, a few MB per member for a dozen parts.
BLOCK_FRAMES = 4096
SIGNALS = ("note_on", "velocity", "envelope", "pitch_low", "pitch_high", "pitch_mean", "density")


@dataclass(frozen=True)
class PartNotes:
    """One part's notes on the frame grid, sorted by first frame; arrays of shape (n,)."""

    first: np.ndarray  # int64: the note-on frame
    stop: np.ndarray  # int64: one past the last sounding frame (> first)
    level: np.ndarray  # float64: velocity / 127
    pitch: np.ndarray  # int64: MIDI pitch


def part_notes(score: Score, *, fps: Fraction) -> list[PartNotes]:
    """Every part's notes placed on the frames of a video at ``fps``."""
    clock = ExactClock(score)
    parts = []
    for part in score.parts:
        first, stop, level, pitch = [], [], [], []
        for note in part.notes:
            on = clock.frame(note.start_tick, fps)
            first.append(on)
            stop.append(on + 1 if part.is_drum else max(on + 1, clock.frame(note.end_tick, fps)))
            level.append(note.velocity / 127)
            pitch.append(note.pitch)
        order = np.argsort(np.asarray(first, dtype=np.int64), kind="stable")
        parts.append(PartNotes(*(np.asarray(values, dtype=dtype)[order] for values, dtype in
                                 ((first, np.int64), (stop, np.int64), (level, np.float64), (pitch, np.int64)))))
    return parts


def _spans(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (note, frame) pair of the intervals [starts, stops): the note's index and the frame, shape (pairs,) each."""
    lengths = np.maximum(stops - starts, 0)
    note = np.repeat(np.arange(len(starts)), lengths)
    first_pair = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return note, starts[note] + (np.arange(len(note)) - first_pair)


def signal_block(parts: list[PartNotes], first_frame: int, stop_frame: int, *, fps: Fraction, attack_s: float, release_s: float,
                 density_window_s: float) -> dict[str, np.ndarray]:
    """Every per-frame member for frames [first_frame, stop_frame).

    Each note is spread over the frames it reaches in this block as (note, frame) pairs,
    and the pairs are reduced per frame (max, min, sum), so the work is proportional to
    the notes in the block, whatever the length of the piece.

    Returns
    -------
    dict of str to ndarray
        float32 arrays of shape (B, P) for :data:`SIGNALS` and (B, P, 12) for
        ``pitch_classes``, B = stop_frame - first_frame.
    """
    count, width = stop_frame - first_frame, len(parts)
    out = {name: np.zeros((count, width)) for name in SIGNALS}
    classes = np.zeros((count, width, 12))
    attack, release = attack_s * float(fps), release_s * float(fps)  # in frames
    window = max(1, round(density_window_s * float(fps)))  # frames
    release_frames = math.ceil(release) + 1
    frames = np.arange(first_frame, stop_frame)
    for p, notes in enumerate(parts):
        near = (notes.first < stop_frame) & (notes.stop + release_frames > first_frame)
        on, stop, level, pitch = notes.first[near], notes.stop[near], notes.level[near], notes.pitch[near]
        starts_here = on >= first_frame
        np.maximum.at(out["note_on"][:, p], on[starts_here] - first_frame, level[starts_here])

        note, frame = _spans(np.maximum(on, first_frame), np.minimum(stop, stop_frame))
        local = frame - first_frame
        np.maximum.at(out["velocity"][:, p], local, level[note])
        sounding = np.bincount(local, minlength=count)
        heard = sounding > 0
        low = np.full(count, np.inf)
        high = np.full(count, -np.inf)
        np.minimum.at(low, local, pitch[note])
        np.maximum.at(high, local, pitch[note])
        out["pitch_low"][:, p] = np.where(heard, low, np.nan)
        out["pitch_high"][:, p] = np.where(heard, high, np.nan)
        pitch_sum = np.bincount(local, weights=pitch[note].astype(np.float64), minlength=count)
        out["pitch_mean"][:, p] = np.where(heard, pitch_sum / np.maximum(sounding, 1), np.nan)
        classes[:, p, :] = np.bincount(local * 12 + pitch[note] % 12, weights=level[note], minlength=count * 12).reshape(count, 12)

        note, frame = _spans(np.maximum(on, first_frame), np.minimum(stop + release_frames, stop_frame))
        start, end = on[note], stop[note]
        if attack > 0:
            rise = np.minimum(1.0, (frame - start + 1) / attack)
            held = np.minimum(1.0, (end - start) / attack)
        else:
            rise = held = np.ones(len(note))
        fall = np.clip(1.0 - (frame - end + 1) / release, 0.0, 1.0) if release > 0 else np.zeros(len(note))
        np.maximum.at(out["envelope"][:, p], frame - first_frame, level[note] * np.where(frame < end, rise, held * fall))

        # Notes started in the trailing window (k - window, k], from the sorted note-on frames.
        started = np.searchsorted(notes.first, frames, side="right") - np.searchsorted(notes.first, frames - window, side="right")
        out["density"][:, p] = started / (window / float(fps))
    total = classes.sum(axis=2, keepdims=True)
    out["pitch_classes"] = np.where(total > 0, classes / np.where(total > 0, total, 1.0), 0.0)
    return {name: values.astype(np.float32) for name, values in out.items()}


def note_signals(score: Score | None, *, fps: Fraction, n_frames: int, params: dict) -> dict[str, StreamedArray | np.ndarray]:
    """The per-frame members of ``notes.npz`` and ``parts``, streamed a block of frames at a time.

    Parameters
    ----------
    score : Score or None
        The piece in its played form; None for a song without notes (P = 0).
    fps : Fraction
        Video frame rate.
    n_frames : int
        Frames of the video (those of ``features.npz``).
    params : dict
        The ``notes`` section: ``attack_s``, ``release_s``, ``density_window_s``.
    """
    parts = part_notes(score, fps=fps) if score is not None else []
    names = score.part_names() if score is not None else []
    options = dict(fps=fps, attack_s=float(params["attack_s"]), release_s=float(params["release_s"]),
                   density_window_s=float(params["density_window_s"]))

    def member(name: str) -> Callable[[], Iterator[np.ndarray]]:
        def blocks() -> Iterator[np.ndarray]:
            for first in range(0, n_frames, BLOCK_FRAMES):
                yield signal_block(parts, first, min(first + BLOCK_FRAMES, n_frames), **options)[name]
        return blocks

    result: dict[str, StreamedArray | np.ndarray] = {"parts": np.asarray(names, dtype=str)}
    for name in SIGNALS:
        result[name] = StreamedArray((n_frames, len(parts)), np.dtype(np.float32), member(name))
    result["pitch_classes"] = StreamedArray((n_frames, len(parts), 12), np.dtype(np.float32), member("pitch_classes"))
    return result


def section_members(sections: list[Section]) -> dict[str, np.ndarray]:
    """The ``section_*`` members of ``notes.npz``."""
    return {
        "section_start_frame": np.asarray([s.start_frame for s in sections], dtype=np.int64),
        "section_start_s": np.asarray([s.start_s for s in sections], dtype=np.float64),
        "section_label": np.asarray([s.label for s in sections], dtype=str),
        "section_kind": np.asarray([s.kind for s in sections], dtype=str),
        "section_bar": np.asarray([s.bar for s in sections], dtype=np.int64),
    }


def bar_members(score: Score | None) -> dict[str, np.ndarray]:
    """``bar_start_s`` and ``bar_number`` of every played bar (none without a score)."""
    if score is None:
        return {"bar_start_s": np.zeros(0, dtype=np.float64), "bar_number": np.zeros(0, dtype=np.int64)}
    clock = ExactClock(score)
    starts = score.bar_ticks[:-1]
    return {
        "bar_start_s": np.asarray([float(clock.seconds(tick)) for tick in starts], dtype=np.float64),
        "bar_number": np.arange(score.first_bar_number, score.first_bar_number + len(starts), dtype=np.int64),
    }
