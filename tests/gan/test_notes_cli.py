"""scripts/notes.py: the members and types the contract names, and bad input in one line."""

from __future__ import annotations

import json

import numpy as np
import notes as script
from conftest import write_midi
from dreamreel.core.errors import run_cli
from dreamreel.core.npz import open_npz, save_npz
from dreamreel.score.read import read_score

CONTRACT = {
    "fps_num": np.int64, "fps_den": np.int64, "n_frames": np.int64, "note_on": np.float32, "velocity": np.float32,
    "envelope": np.float32, "pitch_low": np.float32, "pitch_high": np.float32, "pitch_mean": np.float32,
    "pitch_classes": np.float32, "density": np.float32, "section_start_frame": np.int64, "section_start_s": np.float64,
    "section_bar": np.int64, "bar_start_s": np.float64, "bar_number": np.int64,
}


def inputs(tmp_path, *, n_frames: int = 75, fps: tuple[int, int] = (30000, 1001)):
    score = read_score(write_midi(tmp_path / "tiny.mid", {"Vibraphone": [(0, 480, 60), (960, 5760, 67)], "Marimba": [(480, 960, 48)]}))
    (tmp_path / "score.json").write_bytes(score.to_json())
    rng = np.random.default_rng(0)
    save_npz(tmp_path / "features.npz", {"fps_num": np.int64(fps[0]), "fps_den": np.int64(fps[1]), "n_frames": np.int64(n_frames),
                                         "chroma": rng.random((n_frames, 12), dtype=np.float32), "bands": rng.random((n_frames, 3), dtype=np.float32),
                                         "rms": rng.random(n_frames, dtype=np.float32)})
    (tmp_path / "notes.json").write_text(json.dumps({}))
    return [str(tmp_path / "features.npz"), str(tmp_path / "notes.npz"), "--params", str(tmp_path / "notes.json")]


def test_the_notes_file_has_the_contracts_members_on_the_features_frames(tmp_path):
    argv = inputs(tmp_path)
    assert run_cli(script.main, [*argv, "--score", str(tmp_path / "score.json")]) == 0
    found = open_npz(tmp_path / "notes.npz")
    for name, dtype in CONTRACT.items():
        assert found[name].dtype == dtype, name
    assert (int(found["fps_num"]), int(found["fps_den"]), int(found["n_frames"])) == (30000, 1001, 75)
    assert found["parts"].tolist() == ["vibraphone", "marimba"] and found["parts"].dtype.kind == "U"
    assert found["note_on"].shape == (75, 2) and found["pitch_classes"].shape == (75, 2, 12)
    assert found["section_label"].dtype.kind == "U" and found["section_kind"].tolist() == ["start"]
    # The marimba's note at 0.5 s: frame round(0.5 × 30000/1001) = round(14.985) = 15.
    assert np.flatnonzero(found["note_on"][:, 1]).tolist() == [15]
    before = (tmp_path / "notes.npz").read_bytes()
    assert run_cli(script.main, [*argv, "--score", str(tmp_path / "score.json")]) == 0
    assert (tmp_path / "notes.npz").read_bytes() == before  # same inputs, same bytes


def test_a_song_with_section_bars_is_one_line(tmp_path, capsys):
    argv = inputs(tmp_path)
    (tmp_path / "notes.json").write_text(json.dumps({"section_bars": [1, 3]}))
    assert run_cli(script.main, [*argv, "--params-name", "night.yaml"]) == 2
    assert capsys.readouterr().err.strip() == ("dreamreel: error: night.yaml: notes.section_bars: a song has no bars to start sections at "
                                               "— give notes.section_times_s in seconds instead")
    assert not (tmp_path / "notes.npz").exists()


def test_section_bars_that_do_not_rise_are_one_line_with_the_valid_range(tmp_path, capsys):
    argv = inputs(tmp_path)
    (tmp_path / "notes.json").write_text(json.dumps({"section_bars": [3, 2]}))
    assert run_cli(script.main, [*argv, "--score", str(tmp_path / "score.json")]) == 2
    assert capsys.readouterr().err.strip() == ("dreamreel: error: params.yaml: notes.section_bars: the bars [3, 2] do not rise "
                                               "(played bars 1 to 3) — list rising played bar numbers from 1 to 3")


def test_sections_from_the_audio_of_a_song_with_notes_get_their_bars(tmp_path):
    argv = inputs(tmp_path, n_frames=180, fps=(30, 1))
    (tmp_path / "notes.json").write_text(json.dumps({"section_times_s": [2.5]}))
    assert run_cli(script.main, [*argv, "--score", str(tmp_path / "score.json"), "--sections", "audio"]) == 0
    found = open_npz(tmp_path / "notes.npz")
    # 120 BPM 4/4: 2.5 s is in bar 2 (2 s to 4 s).
    assert found["section_bar"].tolist() == [1, 2] and found["section_start_frame"].tolist() == [0, 75]
    assert found["parts"].tolist() == ["vibraphone", "marimba"]
