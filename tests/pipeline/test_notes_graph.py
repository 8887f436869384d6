"""The notes stage in the real Makefile: notes.npz for a tiny piece, cached like every stage."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from build_helpers import changed, make, piece_dir, scripts_run, snapshot, tiny_piece
from conftest import needs_ffmpeg, needs_fluidsynth

from dreamreel.core.npz import open_npz

PARAMS = """\
piece: {name: tiny, score: tiny.mid}
stems: {tail_s: 0.5}
features: {fps: 10}
"""


@pytest.fixture(scope="module")
def piece(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notes")
    tiny_piece(folder, PARAMS)
    make(folder, "notes")
    return folder


@needs_fluidsynth
def test_make_notes_builds_the_note_signals_on_the_frames_of_the_features(piece):
    found = open_npz(piece_dir(piece) / "gan/notes.npz")
    features = open_npz(piece_dir(piece) / "gan/features.npz")
    assert found["n_frames"] == features["n_frames"] == 25  # 2 s of music and a 0.5 s tail at 10 fps
    assert found["parts"].tolist() == ["vibraphone", "marimba"]
    # The vibraphone plays quarters at 120 BPM from 0 s: note-ons at frames 0, 5 and 10.
    assert found["note_on"][:, 0].nonzero()[0].tolist() == [0, 5, 10]
    assert found["section_start_frame"].tolist() == [0] and found["bar_number"].tolist() == [1]
    assert make(piece, "-q", "notes", check=False).returncode == 0


@needs_fluidsynth
def test_editing_notes_params_reruns_notes_only(piece):
    before = snapshot(piece)
    (piece / "params.yaml").write_text(PARAMS + "notes: {release_s: 0.5}\n")
    result = make(piece, "notes")
    assert scripts_run(result) == ["params.py", "effects_plan.py", "notes.py"]
    assert {name for name in changed(before, snapshot(piece)) if not name.startswith("params/")} == {"gan/notes.npz"}


@needs_fluidsynth
def test_a_section_bar_outside_the_piece_is_one_line_naming_the_field(piece):
    (piece / "params.yaml").write_text(PARAMS + "notes: {section_bars: [1, 5]}\n")
    result = make(piece, "notes", check=False)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("dreamreel: error")]
    assert errors == ["dreamreel: error: params.yaml: notes.section_bars: bar 5 is outside the piece (played bars 1 to 1) "
                      "— list rising played bar numbers from 1 to 1"]


@needs_ffmpeg
def test_a_song_has_no_parts_and_its_sections_come_from_segmentation(tmp_path):
    rate = 48000
    t = np.arange(4 * rate) / rate
    calm = 0.2 * (np.sin(2 * np.pi * 130.81 * t) + np.sin(2 * np.pi * 196.0 * t))
    loud = 0.3 * np.random.default_rng(0).standard_normal(len(t)) + 0.3 * np.sin(2 * np.pi * 1480.0 * t)
    soundfile.write(str(tmp_path / "song.wav"), np.concatenate([calm, loud]).astype(np.float32), rate)
    (tmp_path / "params.yaml").write_text("piece: {name: song, song: song.wav}\nfeatures: {fps: 10}\nnotes: {song_sections: 2}\n")
    make(tmp_path, "notes")
    found = open_npz(piece_dir(tmp_path) / "gan/notes.npz")
    assert found["parts"].shape == (0,) and found["note_on"].shape == (80, 0) and found["bar_start_s"].shape == (0,)
    assert found["section_kind"].tolist() == ["start", "segmentation"] and found["section_bar"].tolist() == [-1, -1]
    assert abs(found["section_start_s"][1] - 4.0) <= 1.0
