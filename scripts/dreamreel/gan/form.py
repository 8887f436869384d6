"""The form of the music: where its sections start, from the score's marks or from the audio.

With a score, sections start at its marks, each at the start of its played bar:

- rehearsal marks (MusicXML ``<rehearsal>``, MIDI markers and cue points), double and
  final barlines, and key changes (:class:`~dreamreel.score.model.Mark`), played out
  through repeats, so a mark in a repeated passage starts a section on each pass;
- tempo changes of at least :data:`TEMPO_CHANGE_RATIO` after a steady stretch (a written
  ramp, many small steps, starts one section, not one a step);
- meter changes.

Marks on the same bar make one section, labelled by its rehearsal mark, else "bar N".
``notes.section_bars`` in params overrides all of them.

A song without a score is segmented (:func:`segment_song`): librosa's agglomerative
clustering, constrained to contiguous runs of time, on the chroma, bands and RMS of
``features.npz`` pooled to :data:`SEGMENT_RATE_HZ`; or ``notes.section_times_s`` gives the
starts in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping, Sequence

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.score.model import Score
from dreamreel.score.musical_time import ExactClock, TempoMap, nearest_frame

# A section shorter than this many bars is no section: a key change a bar after a double
# bar is one event of the form, written twice, and the steps of an accelerando written as a
# tempo change per bar would otherwise cut the music into one-bar scraps. Rehearsal marks
# are kept however close: the composer put each one there to name a section.
MIN_SECTION_BARS = 2
# A tempo change smaller than this (5 %) is a nuance (a ritardando's last step, rounding in
# an export), not a new tempo.
TEMPO_CHANGE_RATIO = 1.05
# When marks fall on one bar, the section takes the kind that says most about it.
KIND_RANK = ("rehearsal", "double_bar", "key", "meter", "tempo")

# Segmentation looks at the song at this rate. Sections last many seconds, so 2 Hz loses
# nothing, and the analysis stays small: 20 minutes are 2400 points of 16 numbers, and the
# clustering's distance matrix (2400²) is a few tens of MB at most.
SEGMENT_RATE_HZ = 2.0
# notes.song_sections: auto aims for one section per this many seconds.
AUTO_SECTION_S = 30.0
MAX_AUTO_SECTIONS = 12


@dataclass(frozen=True)
class Section:
    """One section: where it starts (frame and seconds), its label and kind, and its played bar (-1: no score)."""

    start_frame: int
    start_s: float
    label: str
    kind: str
    bar: int


def bar_numbers(score: Score) -> tuple[int, int]:
    """The first and last played bar numbers of ``score``."""
    return score.first_bar_number, score.first_bar_number + len(score.bar_ticks) - 2


def _bar_index(score: Score, tick: int) -> int:
    """Index into ``score.bar_ticks`` of the bar holding ``tick``."""
    return min(max(int(np.searchsorted(score.bar_ticks, tick, side="right")) - 1, 0), len(score.bar_ticks) - 2)


def score_marks(score: Score) -> list[tuple[int, str, str]]:
    """Every mark that may start a section, as (bar index, kind, label), in time order; only a
    rehearsal mark's label names its section (the others are called by their bar)."""
    found: list[tuple[int, int, str, str]] = [(m.tick, KIND_RANK.index(m.kind), m.kind, m.label) for m in score.marks]
    for previous, meter in zip(score.meters, score.meters[1:]):
        if (meter.numerator, meter.denominator) != (previous.numerator, previous.denominator):
            found.append((meter.tick, KIND_RANK.index("meter"), "meter", ""))
    # A tempo change counts where the tempo before it held for MIN_SECTION_BARS bars: the
    # first step of a ramp marks it, its later steps do not.
    steady_since = 0
    for previous, tempo in zip(score.tempos, score.tempos[1:]):
        ratio = max(tempo.us_per_quarter, previous.us_per_quarter) / min(tempo.us_per_quarter, previous.us_per_quarter)
        if ratio >= TEMPO_CHANGE_RATIO and _bar_index(score, tempo.tick) - _bar_index(score, steady_since) >= MIN_SECTION_BARS:
            found.append((tempo.tick, KIND_RANK.index("tempo"), "tempo", ""))
        steady_since = tempo.tick
    found.sort()
    return [(_bar_index(score, tick), kind, label) for tick, _, kind, label in found]


def sections_from_marks(score: Score) -> list[tuple[int, str, str]]:
    """The sections the score's marks make, as (bar index, kind, label), the first at bar index 0."""
    by_bar: dict[int, tuple[str, str]] = {}
    for index, kind, label in score_marks(score):
        held = by_bar.get(index)
        if held is None or KIND_RANK.index(kind) < KIND_RANK.index(held[0]):
            by_bar[index] = (kind, label if kind == "rehearsal" else "")
    bar_count = len(score.bar_ticks) - 1
    kept = {0} | {index for index, (kind, _) in by_bar.items() if kind == "rehearsal"}
    for index in sorted(by_bar):
        if index in kept:
            continue
        # Too close to a boundary already kept, or to the end: a scrap, not a section.
        if min(abs(index - other) for other in kept) >= MIN_SECTION_BARS and bar_count - index >= MIN_SECTION_BARS:
            kept.add(index)
    first_kind, first_label = by_bar.get(0, ("start", ""))
    sections = [(0, first_kind if first_kind == "rehearsal" else "start", first_label)]
    sections += [(index, *by_bar[index]) for index in sorted(kept - {0})]
    return [(index, kind, label or f"bar {score.first_bar_number + index}") for index, kind, label in sections]


def score_sections(score: Score, *, fps: Fraction, n_frames: int, section_bars: Sequence[int] = (),
                   section_times_s: Sequence[float] = (), where: str = "params.yaml: notes") -> list[Section]:
    """The sections of a scored piece, on the video's frames.

    Parameters
    ----------
    score : Score
        The piece in its played form.
    fps : Fraction
        Video frame rate.
    n_frames : int
        Frames of the video; a section that would start at or after the last one is dropped.
    section_bars : sequence of int
        ``notes.section_bars``: played bar numbers where sections start, rising; overrides
        the marks. The first section starts at the first bar even when not listed.
    section_times_s : sequence of float
        ``notes.section_times_s``: seconds where sections start (when no bars are given).
    where : str
        The params section as messages name it.
    """
    clock = ExactClock(score)
    first, last = bar_numbers(score)
    if section_bars:
        outside = [bar for bar in section_bars if not first <= bar <= last]
        if outside or any(b <= a for a, b in zip(section_bars, section_bars[1:])):
            problem = f"bar {outside[0]} is outside the piece" if outside else f"the bars {list(section_bars)} do not rise"
            raise DreamreelError(f"{where}.section_bars", f"{problem} (played bars {first} to {last})",
                                 f"list rising played bar numbers from {first} to {last}")
        starts = [(bar - first, "params", f"bar {bar}") for bar in section_bars]
        if starts[0][0] != 0:
            starts.insert(0, (0, "start", f"bar {first}"))
        marks = starts
    elif section_times_s:
        tempo = TempoMap.from_score(score)
        return _sections_at_times(section_times_s, fps=fps, n_frames=n_frames, where=f"{where}.section_times_s",
                                  bar_of=lambda seconds: first + _bar_index(score, int(tempo.seconds_to_tick(seconds))))
    else:
        marks = sections_from_marks(score)
    sections: list[Section] = []
    for index, kind, label in marks:
        seconds = clock.seconds(score.bar_ticks[index])
        frame = nearest_frame(seconds, fps)
        if sections and (frame <= sections[-1].start_frame or frame >= n_frames):
            continue  # past the end of the audio, or on the frame of the section before
        sections.append(Section(0 if not sections else frame, float(seconds), label, kind, first + index))
    return sections


def _sections_at_times(times_s: Sequence[float], *, fps: Fraction, n_frames: int, where: str, bar_of=None) -> list[Section]:
    """Sections starting at the given seconds (``notes.section_times_s``); ``bar_of`` finds a time's bar, if any."""
    duration_s = n_frames / fps
    if any(not 0 <= t < duration_s for t in times_s) or any(b <= a for a, b in zip(times_s, times_s[1:])):
        raise DreamreelError(where, f"the times {list(times_s)} must rise within the music (0 to {float(duration_s):.2f} s)",
                             f"list rising seconds from 0 to {float(duration_s):.2f}")
    starts = [Fraction(str(t)) for t in times_s]
    kinds = ["params"] * len(starts)
    if starts[0] != 0:
        starts.insert(0, Fraction(0))
        kinds.insert(0, "start")
    sections: list[Section] = []
    for start, kind in zip(starts, kinds):
        frame = nearest_frame(start, fps)
        if sections and frame <= sections[-1].start_frame:
            raise DreamreelError(where, f"{float(start):g} s starts on the same frame as the section before it",
                                 "leave at least one frame between section starts")
        bar = bar_of(float(start)) if bar_of else -1
        sections.append(Section(frame, float(start), f"{float(start):g} s", kind, bar))
    return sections


def on_bars(sections: list[Section], score: Score) -> list[Section]:
    """``sections`` found in the audio, each given the played bar of ``score`` it starts in
    (a song whose notes come from a MIDI file or a transcription has bars, not marks)."""
    tempo = TempoMap.from_score(score)
    first, _ = bar_numbers(score)
    return [Section(s.start_frame, s.start_s, s.label, s.kind, first + _bar_index(score, int(tempo.seconds_to_tick(s.start_s))))
            for s in sections]


def auto_section_count(duration_s: float) -> int:
    """How many sections ``song_sections: auto`` aims for: one per :data:`AUTO_SECTION_S`, 1 to 12."""
    return max(1, min(MAX_AUTO_SECTIONS, round(duration_s / AUTO_SECTION_S)))


def pooled_song_features(features: Mapping[str, np.ndarray], *, fps: Fraction, n_frames: int) -> tuple[np.ndarray, int]:
    """Chroma, bands and RMS averaged over windows of 1/:data:`SEGMENT_RATE_HZ` s.

    Returns
    -------
    data : ndarray, float64, shape (16, M)
        One column per window (M = ceil(N / window)), each row scaled to unit variance
        over the song (a row that never changes stays 0), so no feature outweighs the
        others by its units.
    window : int
        Frames per window.
    """
    window = max(1, round(float(fps) / SEGMENT_RATE_HZ))
    count = math.ceil(n_frames / window)
    data = np.zeros((16, count))
    # Read a window-aligned block of frames at a time: the members are memory-mapped.
    block = window * 1024
    for first in range(0, n_frames, block):
        last = min(first + block, n_frames)
        rows = np.concatenate([np.asarray(features["chroma"][first:last], dtype=np.float64),
                               np.asarray(features["bands"][first:last], dtype=np.float64),
                               np.asarray(features["rms"][first:last], dtype=np.float64)[:, None]], axis=1)
        starts = np.arange(0, last - first, window)
        sums = np.add.reduceat(rows, starts, axis=0)
        sizes = np.diff(np.append(starts, last - first))[:, None]
        data[:, first // window : first // window + len(starts)] = (sums / sizes).T
    spread = data.std(axis=1, keepdims=True)
    data = np.where(spread > 0, (data - data.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0), 0.0)
    return data, window


def segment_song(features: Mapping[str, np.ndarray], *, sections: int | str = "auto", section_times_s: Sequence[float] = (),
                 where: str = "params.yaml: notes") -> list[Section]:
    """The sections of a song without a score.

    Parameters
    ----------
    features : mapping
        ``features.npz``: ``chroma`` (N, 12), ``bands`` (N, 3), ``rms`` (N,), ``fps_num``,
        ``fps_den``, ``n_frames``.
    sections : int or "auto"
        ``notes.song_sections``: how many sections to find (fewer when the song is too
        short to hold them); auto: :func:`auto_section_count`.
    section_times_s : sequence of float
        ``notes.section_times_s``: the starts in seconds; overrides segmentation.
    where : str
        The params section as messages name it.

    Returns
    -------
    list of Section
        The first starts at frame 0; ``bar`` is -1 (a song has no bars).
    """
    fps = Fraction(int(features["fps_num"]), int(features["fps_den"]))
    n_frames = int(features["n_frames"])
    if section_times_s:
        return _sections_at_times(section_times_s, fps=fps, n_frames=n_frames, where=f"{where}.section_times_s")
    wanted = auto_section_count(float(n_frames / fps)) if sections == "auto" else int(sections)
    data, window = pooled_song_features(features, fps=fps, n_frames=n_frames)
    wanted = min(wanted, data.shape[1])
    if wanted <= 1:
        starts = [0]
    else:
        import librosa

        starts = [int(b) for b in librosa.segment.agglomerative(data, wanted)]
    result = []
    for index in sorted(set(starts)):
        frame = index * window
        seconds = frame / fps
        result.append(Section(frame, float(seconds), f"{float(seconds):.1f} s" if frame else "start", "segmentation" if frame else "start", -1))
    return result
