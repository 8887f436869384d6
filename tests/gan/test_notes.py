"""Note signals (notes.npz) on synthetic scores whose right answers can be worked out by hand."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from dreamreel.core.npz import open_npz, save_npz
from dreamreel.gan import notes
from dreamreel.score.model import MeterChange, Note, Part, Score, TempoChange, bars_from_meters

TPQ = 480
DEFAULTS = {"attack_s": 0.0, "release_s": 0.0, "density_window_s": 1.0}


def score_of(parts: dict[str, list[tuple[int, int, int, int]]], *, tempos=((0, 500_000),), meters=((0, 4, 4),), drums=()) -> Score:
    """A score from (start_tick, end_tick, pitch, velocity) notes per part; 120 BPM 4/4 unless given."""
    meter_list = [MeterChange(*m) for m in meters]
    end = max(n[1] for notes_ in parts.values() for n in notes_)
    return Score(TPQ, [Part(name, name.title(), 0, name in drums, [Note(*n) for n in sorted(found)]) for name, found in parts.items()],
                 [TempoChange(*t) for t in tempos], meter_list, bars_from_meters(meter_list, TPQ, end))


def signals(score: Score, *, fps=30, n_frames=120, **params) -> dict[str, np.ndarray]:
    members = notes.note_signals(score, fps=Fraction(fps), n_frames=n_frames, params={**DEFAULTS, **params})
    return {name: value.collect() if hasattr(value, "collect") else value for name, value in members.items()}


def test_a_note_at_exactly_one_and_a_half_seconds_fires_on_frame_45_at_30_fps():
    # 120 BPM: 1.5 s is three quarters, tick 1440.
    found = signals(score_of({"a": [(1440, 1920, 60, 127)]}))
    assert np.flatnonzero(found["note_on"][:, 0]).tolist() == [45]
    assert found["note_on"][45, 0] == 1.0
    # It sounds from frame 45 up to the frame nearest its end (2.0 s: frame 60).
    assert np.flatnonzero(found["velocity"][:, 0]).tolist() == list(range(45, 60))


def test_halves_round_up_and_nothing_is_a_frame_early():
    # At 120 BPM a tick is 1/960 s; at 24 fps a frame is 40 ticks. Tick 20 is frame 0.5 -> 1; tick 19 -> 0.
    found = signals(score_of({"a": [(20, 480, 60, 100), (979, 1200, 62, 100)]}), fps=24, n_frames=48)
    assert np.flatnonzero(found["note_on"][:, 0]).tolist() == [1, 24]


def test_a_tempo_ramp_and_meter_changes_place_notes_by_the_tempo_map():
    # 4/4 at 120 for one bar (2 s), then 3/4 at 60 (1 s a quarter), then 6/8 at 90 (a quarter = 2/3 s).
    bar = 4 * TPQ
    tempos = ((0, 500_000), (bar, 1_000_000), (bar + 3 * TPQ, 666_667))
    meters = ((0, 4, 4), (bar, 3, 4), (bar + 3 * TPQ, 6, 8))
    starts = [0, bar, bar + TPQ, bar + 3 * TPQ, bar + 3 * TPQ + 3 * TPQ // 2]
    score = score_of({"a": [(s, s + 120, 60, 100) for s in starts]}, tempos=tempos, meters=meters)
    found = signals(score, fps=30, n_frames=300)
    # 0 s, 2 s, 3 s, 5 s, then 1.5 quarters at 0.666667 s: 5 + 1.0000005 s -> frame 180.00002 -> 180.
    assert np.flatnonzero(found["note_on"][:, 0]).tolist() == [0, 60, 90, 150, 180]


def test_envelope_rises_over_attack_and_falls_over_release():
    # At 30 fps, attack 0.1 s and release 0.1 s are three frames each; the note is frames 30-44.
    found = signals(score_of({"a": [(960, 1440, 60, 127)]}), attack_s=0.1, release_s=0.1)
    envelope = found["envelope"][:, 0]
    np.testing.assert_allclose(envelope[29:51], [0, 1 / 3, 2 / 3, *[1] * 13, 2 / 3, 1 / 3, 0, 0, 0, 0], atol=1e-6)


def test_a_short_attack_is_full_on_the_note_on_frame_and_release_starts_from_the_level_reached():
    found = signals(score_of({"a": [(960, 1000, 60, 127)]}), attack_s=0.01)
    assert found["envelope"][30, 0] == 1.0 and found["envelope"][31, 0] == 0.0
    # A note shorter than its attack releases from the level it reached: one frame of a
    # six-frame attack is 1/6; half of that after one frame of a two-frame release.
    found = signals(score_of({"a": [(960, 970, 60, 127)]}), attack_s=0.2, release_s=2 / 30)
    np.testing.assert_allclose(found["envelope"][29:33, 0], [0, 1 / 6, 1 / 12, 0], atol=1e-6)


def test_pitches_are_nan_in_silence_and_chords_give_low_high_mean_and_classes():
    chord = [(0, 480, 60, 100), (0, 480, 64, 50), (0, 480, 67, 50)]
    found = signals(score_of({"a": chord + [(960, 1440, 72, 100)]}))
    assert found["pitch_low"][0, 0] == 60 and found["pitch_high"][0, 0] == 67
    assert found["pitch_mean"][0, 0] == pytest.approx(191 / 3)
    assert np.isnan(found["pitch_low"][20, 0]) and np.isnan(found["pitch_mean"][20, 0])
    # C weighs 100, E and G 50 each: 0.5, 0.25, 0.25; one C an octave up is all C.
    np.testing.assert_allclose(found["pitch_classes"][0, 0, [0, 4, 7]], [0.5, 0.25, 0.25], atol=1e-6)
    assert found["pitch_classes"][0, 0].sum() == pytest.approx(1.0)
    assert found["pitch_classes"][20, 0].sum() == 0.0
    assert found["pitch_classes"][30, 0, 0] == 1.0
    assert found["velocity"][0, 0] == pytest.approx(100 / 127)


def test_density_counts_notes_started_in_the_trailing_window():
    # A note every eighth (0.25 s) for two seconds: four a second once the window is full.
    found = signals(score_of({"a": [(k * 240, k * 240 + 120, 60, 90) for k in range(8)]}), density_window_s=1.0)
    density = found["density"][:, 0]
    # Starts at 0, 0.25 s (frame 7.5 -> 8), 0.5 s (15), ...
    assert density[0] == 1.0 and density[7] == 1.0 and density[8] == 2.0 and density[29] == 4.0 and density[45] == 4.0
    assert density[60 + 29] == 0.0


def test_drum_hits_sound_on_their_own_frame_and_release_after_it():
    found = signals(score_of({"kit": [(480, 1920, 36, 127)]}, drums=("kit",)), release_s=0.1)
    assert np.flatnonzero(found["velocity"][:, 0]).tolist() == [15]
    np.testing.assert_allclose(found["envelope"][15:19, 0], [1, 2 / 3, 1 / 3, 0], atol=1e-6)


def test_blocks_join_seamlessly(monkeypatch):
    score = score_of({"a": [(k * 200, k * 200 + 700, 60 + k % 5, 60 + k) for k in range(40)], "b": [(100, 9000, 40, 90)]})
    whole = signals(score, n_frames=400, attack_s=0.05, release_s=0.4)
    monkeypatch.setattr(notes, "BLOCK_FRAMES", 7)
    blocked = signals(score, n_frames=400, attack_s=0.05, release_s=0.4)
    for name in notes.SIGNALS + ("pitch_classes",):
        np.testing.assert_array_equal(whole[name], blocked[name], err_msg=name)


def test_a_song_without_notes_has_no_parts(tmp_path):
    members = notes.note_signals(None, fps=Fraction(30), n_frames=10, params=DEFAULTS)
    save_npz(tmp_path / "notes.npz", members)
    found = open_npz(tmp_path / "notes.npz")
    assert found["note_on"].shape == (10, 0) and found["pitch_classes"].shape == (10, 0, 12) and found["parts"].shape == (0,)


def test_memory_does_not_grow_with_the_length_of_the_piece(tmp_path):
    import tracemalloc

    def peak_bytes(minutes: int) -> int:
        end = minutes * 60 * 2 * TPQ  # 120 BPM: two quarters a second
        score = score_of({f"p{i}": [(k, k + 200, 50 + 5 * i + k // 240 % 7, 90) for k in range(0, end, 240)] for i in range(3)})
        n_frames = minutes * 60 * 30
        tracemalloc.start()
        save_npz(tmp_path / "notes.npz", notes.note_signals(score, fps=Fraction(30), n_frames=n_frames, params=DEFAULTS))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    short, long = peak_bytes(3), peak_bytes(30)
    # Ten times the music: the note list grows (24 bytes a note), the per-frame members
    # (12 MB for 30 minutes of three parts) are never held.
    assert long < short + 3 * 2**20 and long < 10 * 2**20
