"""Sections: from the score's marks, from params, and from segmenting a song."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from conftest import sine

from dreamreel.core.errors import DreamreelError
from dreamreel.gan import form
from dreamreel.gan.sections import FEATURES
from dreamreel.score.model import Mark, MeterChange, Note, Part, Score, TempoChange, bars_from_meters

TPQ = 480
BAR = 4 * TPQ


def score_of(bars: int, *, marks=(), tempos=((0, 500_000),), meters=((0, 4, 4),)) -> Score:
    """``bars`` bars (4/4 at 120 BPM unless given), one long note, and the given marks."""
    meter_list = [MeterChange(*m) for m in meters]
    bar_ticks = bars_from_meters(meter_list, TPQ, 1)
    while len(bar_ticks) < bars + 1:
        bar_ticks = bars_from_meters(meter_list, TPQ, bar_ticks[-1] + 1)
    return Score(TPQ, [Part("flute", "Flute", 73, False, [Note(0, bar_ticks[-1], 60, 90)])], [TempoChange(*t) for t in tempos],
                 meter_list, bar_ticks, marks=[Mark(*m) for m in marks])


def sections(score: Score, fps: int = 30, **options) -> list[tuple[int, str, str, int]]:
    found = form.score_sections(score, fps=Fraction(fps), n_frames=10**6, **options)
    return [(s.bar, s.kind, s.label, s.start_frame) for s in found]


def test_each_mark_starts_a_section_at_its_bar_with_the_rehearsal_label_winning():
    score = score_of(16, marks=[(4 * BAR, "double_bar", ""), (8 * BAR, "key", "G major"), (8 * BAR, "rehearsal", "B"),
                                (12 * BAR, "key", "D major")])
    # 120 BPM 4/4: a bar is 2 s, 60 frames at 30 fps.
    assert sections(score) == [(1, "start", "bar 1", 0), (5, "double_bar", "bar 5", 240), (9, "rehearsal", "B", 480),
                               (13, "key", "bar 13", 720)]


def test_a_rehearsal_mark_on_the_first_bar_labels_the_first_section():
    assert sections(score_of(4, marks=[(0, "rehearsal", "Intro")]))[0] == (1, "rehearsal", "Intro", 0)


def test_sections_shorter_than_two_bars_are_dropped_unless_rehearsal_marks():
    # A key change a bar after a double bar is the same event of the form; a rehearsal mark
    # a bar after one is kept, and a mark in the last bar would make a one-bar section.
    score = score_of(12, marks=[(2 * BAR, "double_bar", ""), (3 * BAR, "key", "F major"), (6 * BAR, "double_bar", ""),
                                (7 * BAR, "rehearsal", "C"), (11 * BAR, "double_bar", "")])
    assert [(bar, kind) for bar, kind, _, _ in sections(score)] == [(1, "start"), (3, "double_bar"), (8, "rehearsal")]


def test_a_tempo_ramp_starts_one_section_and_a_meter_change_another():
    # Bars 1-4 at 120, then a ramp of one step a bar from bar 5 to bar 8, then 3/4 from bar 11.
    ramp = [(k * BAR, round(60_000_000 / bpm)) for k, bpm in zip(range(4, 8), (110, 100, 90, 80))]
    meters = ((0, 4, 4), (10 * BAR, 3, 4))
    score = score_of(14, tempos=((0, 500_000), *ramp), meters=meters)
    found = sections(score)
    assert [(bar, kind) for bar, kind, _, _ in found] == [(1, "start"), (5, "tempo"), (11, "meter")]


def test_section_frames_follow_the_tempo_map_exactly():
    # 2 bars at 120 BPM (4 s), then 90 BPM: bar 3 at 4 s, bar 5 at 4 + 2 × 8/3 s = 9.333... s -> frame 280 at 30 fps.
    score = score_of(8, marks=[(2 * BAR, "rehearsal", "B"), (4 * BAR, "rehearsal", "C")], tempos=((0, 500_000), (2 * BAR, 666_667)))
    found = form.score_sections(score, fps=Fraction(30), n_frames=10**6)
    assert [s.start_frame for s in found] == [0, 120, 280]
    assert found[2].start_s == pytest.approx(4 + 8 * 0.666667)


def test_section_bars_override_the_marks():
    score = score_of(16, marks=[(8 * BAR, "rehearsal", "B")])
    assert sections(score, section_bars=[3, 7]) == [(1, "start", "bar 1", 0), (3, "params", "bar 3", 120), (7, "params", "bar 7", 360)]
    assert sections(score, section_bars=[1, 7])[0] == (1, "params", "bar 1", 0)


@pytest.mark.parametrize("bars, problem", [
    ([1, 17], "bar 17 is outside the piece (played bars 1 to 16)"),
    ([0, 5], "bar 0 is outside the piece (played bars 1 to 16)"),
    ([5, 3], "the bars [5, 3] do not rise (played bars 1 to 16)"),
])
def test_bad_section_bars_are_one_line_naming_the_field_and_the_range(bars, problem):
    with pytest.raises(DreamreelError) as error:
        sections(score_of(16), section_bars=bars, where="night.yaml: notes")
    assert str(error.value) == f"night.yaml: notes.section_bars: {problem} — list rising played bar numbers from 1 to 16"


def test_section_times_with_a_score_find_their_bars():
    found = form.score_sections(score_of(8), fps=Fraction(30), n_frames=480, section_times_s=[5.0])
    assert [(s.start_frame, s.kind, s.bar) for s in found] == [(0, "start", 1), (150, "params", 3)]


def test_sections_past_the_end_of_the_audio_are_dropped():
    score = score_of(8, marks=[(4 * BAR, "rehearsal", "B")])
    assert len(form.score_sections(score, fps=Fraction(30), n_frames=240)) == 1


def two_halves(seconds: float = 20.0, fps: int = 10, change_s: float = 11.0) -> dict[str, np.ndarray]:
    """features.npz of a song whose harmony, colour and level change at ``change_s``, with a little noise."""
    n = int(seconds * fps)
    rng = np.random.default_rng(0)
    first = np.arange(n) < change_s * fps
    chroma = rng.uniform(0, 0.2, (n, 12))
    chroma[first, 0] = chroma[first, 4] = chroma[first, 7] = 1.0  # C major, then F# major
    chroma[~first, 6] = chroma[~first, 10] = chroma[~first, 1] = 1.0
    bands = np.where(first[:, None], [0.8, 0.3, 0.1], [0.2, 0.5, 0.9]) + rng.uniform(0, 0.05, (n, 3))
    rms = np.where(first, 0.4, 0.9) + rng.uniform(0, 0.05, n)
    return {"chroma": chroma.astype(np.float32), "bands": bands.astype(np.float32), "rms": rms.astype(np.float32),
            "fps_num": np.int64(fps), "fps_den": np.int64(1), "n_frames": np.int64(n)}


def test_segmentation_finds_the_change_between_two_halves():
    found = form.segment_song(two_halves(), sections=2)
    assert [s.kind for s in found] == ["start", "segmentation"] and [s.bar for s in found] == [-1, -1]
    assert found[1].start_s == pytest.approx(11.0, abs=1.0)
    assert found == form.segment_song(two_halves(), sections=2)  # deterministic


def test_segmentation_of_real_audio_with_two_different_halves():
    from dreamreel.gan.features import analyze

    rate = 22050
    low = sine(rate, 130.81, 6.0, 1) + sine(rate, 196.0, 6.0, 1)  # C3 + G3, soft
    high = 0.3 * np.random.default_rng(1).standard_normal((1, 6 * rate)).astype(np.float32) + sine(rate, 1480.0, 6.0, 1)
    features = analyze(np.concatenate([0.3 * low, high], axis=1), sample_rate_hz=rate, params={**defaults(FEATURES), "fps": 10})
    found = form.segment_song(features, sections=2)
    assert found[1].start_s == pytest.approx(6.0, abs=1.0)


def defaults(section) -> dict:
    return {name: field.default for name, field in section.fields.items()}


def test_auto_counts_one_section_per_half_minute_and_section_times_override():
    assert [form.auto_section_count(s) for s in (5, 20, 60, 185, 3600)] == [1, 1, 2, 6, 12]
    assert len(form.segment_song(two_halves(), sections="auto")) == 1
    found = form.segment_song(two_halves(), section_times_s=[4.0, 12.5])
    assert [(s.start_frame, s.kind, s.label) for s in found] == [(0, "start", "0 s"), (40, "params", "4 s"), (125, "params", "12.5 s")]


def test_section_times_outside_the_song_are_one_line():
    with pytest.raises(DreamreelError, match=r"notes.section_times_s: the times \[4.0, 25.0\] must rise within the music \(0 to 20.00 s\)"):
        form.segment_song(two_halves(), section_times_s=[4.0, 25.0])
