"""The notes stage in the real Makefile: notes.npz for a tiny piece, cached like every stage."""

from __future__ import annotations

import pytest
from build_helpers import changed, make, piece_dir, scripts_run, snapshot, tiny_piece
from conftest import needs_fluidsynth

from dreamreel.core.npz import open_npz

pytestmark = [needs_fluidsynth]

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


def test_make_notes_builds_the_note_signals_on_the_frames_of_the_features(piece):
    found = open_npz(piece_dir(piece) / "gan/notes.npz")
    features = open_npz(piece_dir(piece) / "gan/features.npz")
    assert found["n_frames"] == features["n_frames"] == 25  # 2 s of music and a 0.5 s tail at 10 fps
    assert found["parts"].tolist() == ["vibraphone", "marimba"]
    # The vibraphone plays quarters at 120 BPM from 0 s: note-ons at frames 0, 5 and 10.
    assert found["note_on"][:, 0].nonzero()[0].tolist() == [0, 5, 10]
    assert found["section_start_frame"].tolist() == [0] and found["bar_number"].tolist() == [1]
    assert make(piece, "-q", "notes", check=False).returncode == 0


def test_editing_notes_params_reruns_notes_only(piece):
    before = snapshot(piece)
    (piece / "params.yaml").write_text(PARAMS + "notes: {release_s: 0.5}\n")
    result = make(piece, "notes")
    assert scripts_run(result) == ["params.py", "effects_plan.py", "notes.py"]
    assert {name for name in changed(before, snapshot(piece)) if not name.startswith("params/")} == {"gan/notes.npz"}


def test_a_section_bar_outside_the_piece_is_one_line_naming_the_field(piece):
    (piece / "params.yaml").write_text(PARAMS + "notes: {section_bars: [1, 5]}\n")
    result = make(piece, "notes", check=False)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("dreamreel: error")]
    assert errors == ["dreamreel: error: params.yaml: notes.section_bars: bar 5 is outside the piece (played bars 1 to 1) "
                      "— list rising played bar numbers from 1 to 1"]
