"""The notes picture: a scored piece's parts with barlines and sections, and a song's sections alone."""

from __future__ import annotations

from fractions import Fraction

import matplotlib.image
import numpy as np
import preview_notes
from dreamreel.core.errors import run_cli
from dreamreel.core.npz import save_npz
from dreamreel.gan import notes
from dreamreel.gan.form import Section
from dreamreel.score.model import Mark, MeterChange, Note, Part, Score, TempoChange, bars_from_meters

FPS = 20


def write_notes(path, score: Score | None, sections: list[Section], n_frames: int) -> None:
    members = notes.note_signals(score, fps=Fraction(FPS), n_frames=n_frames, params={"attack_s": 0.01, "release_s": 0.3, "density_window_s": 1.0})
    members.update(notes.section_members(sections))
    members.update(notes.bar_members(score))
    members.update(fps_num=np.int64(FPS), fps_den=np.int64(1), n_frames=np.int64(n_frames))
    save_npz(path, members)


def test_a_scored_piece_draws_a_row_per_part_and_the_mix(tmp_path):
    meters = [MeterChange(0, 4, 4)]
    parts = [Part("marimba", "Marimba", 12, False, [Note(k * 480, k * 480 + 240, 48 + k % 7, 100) for k in range(16)]),
             Part("vibraphone", "Vibraphone", 11, False, [Note(0, 3840, 60, 80), Note(3840, 7680, 64, 90)])]
    score = Score(480, parts, [TempoChange(0, 500_000)], meters, bars_from_meters(meters, 480, 7680), marks=[Mark(3840, "rehearsal", "B")])
    sections = [Section(0, 0.0, "bar 1", "start", 1), Section(80, 4.0, "B", "rehearsal", 3)]
    write_notes(tmp_path / "notes.npz", score, sections, 8 * FPS)
    rms = np.linspace(0, 1, 8 * FPS, dtype=np.float32)
    save_npz(tmp_path / "features.npz", {"rms": rms, "fps_num": np.int64(FPS), "fps_den": np.int64(1), "n_frames": np.int64(8 * FPS)})
    assert run_cli(preview_notes.main, [str(tmp_path / "notes.npz"), str(tmp_path / "parts.png"), "--features", str(tmp_path / "features.npz")]) == 0
    picture = matplotlib.image.imread(tmp_path / "parts.png")
    write_notes(tmp_path / "one.npz", Score(480, parts[:1], score.tempos, meters, score.bar_ticks), sections, 8 * FPS)
    assert run_cli(preview_notes.main, [str(tmp_path / "one.npz"), str(tmp_path / "one.png")]) == 0
    # Three rows (the mix and two parts) stand taller than one.
    assert picture.shape[0] > 2 * matplotlib.image.imread(tmp_path / "one.png").shape[0] * 0.9
    assert picture.shape[1] > 1000 and picture[..., :3].std() > 0.05


def test_a_song_without_notes_draws_its_sections_over_the_mix(tmp_path):
    sections = [Section(0, 0.0, "start", "start", -1), Section(100, 5.0, "5.0 s", "segmentation", -1)]
    write_notes(tmp_path / "notes.npz", None, sections, 10 * FPS)
    save_npz(tmp_path / "features.npz", {"rms": np.ones(10 * FPS, np.float32), "fps_num": np.int64(FPS), "fps_den": np.int64(1),
                                         "n_frames": np.int64(10 * FPS)})
    assert run_cli(preview_notes.main, [str(tmp_path / "notes.npz"), str(tmp_path / "song.png"), "--features", str(tmp_path / "features.npz")]) == 0
    assert matplotlib.image.imread(tmp_path / "song.png").shape[1] > 1000


def test_a_missing_notes_file_is_one_line(tmp_path, capsys):
    assert run_cli(preview_notes.main, [str(tmp_path / "nope.npz"), str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err.strip().startswith(f"dreamreel: error: {tmp_path / 'nope.npz'}: notes not found")
    assert not (tmp_path / "x.png").exists()
