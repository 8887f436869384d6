"""The conduct mapping in the real Makefile: the walk depends on notes.npz and conduct.json;
editing the mapping re-walks and re-renders only the segments whose latents moved."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from build_helpers import changed, make, piece_dir, scripts_run, snapshot
from conftest import needs_ffmpeg, needs_fluidsynth, write_midi

from dreamreel.core.npz import open_npz


# Two 4/4 bars at 120 BPM (4 s): the vibraphone plays throughout, the marimba only in bar 2.
PARTS = {
    "Vibraphone": [(0, 960, 60), (960, 1920, 64), (1920, 2880, 67), (2880, 3840, 65)],
    "Marimba": [(1920, 2160, 48), (2400, 2640, 55), (2880, 3120, 52), (3360, 3600, 50)],
}
BASE = """\
piece: {name: tiny, score: tiny.mid}
stems: {tail_s: 0.0}
features: {fps: 10}
gan: {model: cppn, size_px: 32, segment_s: 0.5, batch_size: 8, threads: 1}
"""


def conduct(marimba_depth: float) -> str:
    return BASE + f"conduct:\n  marimba: {{drives: pulse, depth: {marimba_depth}}}\n  vibraphone: {{drives: classes}}\n"


@pytest.fixture(scope="module")
def piece(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conduct")
    write_midi(folder / "tiny.mid", PARTS, programs={"Vibraphone": 11, "Marimba": 12})
    (folder / "params.yaml").write_text(conduct(0.5))
    make(folder, "gan")
    return folder


def _segments(folder) -> list[str]:
    manifest = json.loads((piece_dir(folder) / "gan/segments.json").read_text())
    return [entry["file"] for entry in manifest["segments"]]


@needs_fluidsynth
def test_the_marimba_drives_the_pulse_from_its_first_note_and_a_second_make_does_nothing(piece):
    latents = open_npz(piece_dir(piece) / "gan/latents.npz")
    assert latents["conduct_parts"].tolist() == ["marimba", "vibraphone"]
    pulse = latents["pulse_drive"]
    # The marimba's first stroke is at 2 s, frame 20: no pulse before it, the full push on it.
    assert not pulse[:20].any() and pulse[20] > 0
    assert make(piece, "gan").stdout.count("/scripts/") == 0


@needs_fluidsynth
def test_editing_a_depth_rewalks_and_rerenders_only_the_later_segments(piece):
    before_segments = _segments(piece)
    before = snapshot(piece)
    (piece / "params.yaml").write_text(conduct(0.9))
    result = make(piece, "gan")
    assert scripts_run(result) == ["params.py", "effects_plan.py", "latents.py", "render_frames.py", "concat_frames.py"]
    after_segments = _segments(piece)
    # Segments are 5 frames: the four before frame 20 keep their files, every later one is new.
    assert after_segments[:4] == before_segments[:4]
    assert all(a != b for a, b in zip(after_segments[4:], before_segments[4:]))
    assert "gan/notes.npz" not in changed(before, snapshot(piece))


@needs_fluidsynth
def test_a_part_the_score_lacks_is_one_line_listing_the_parts(piece):
    (piece / "params.yaml").write_text(BASE + "conduct:\n  tuba: {drives: pulse}\n")
    result = make(piece, "gan", check=False)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("dreamreel: error")]
    assert errors == ["dreamreel: error: params.yaml: conduct.tuba: the piece has no part 'tuba' — name one of its parts: vibraphone, marimba"]
    # Fixed, the build goes on from where it stopped.
    (piece / "params.yaml").write_text(conduct(0.9))
    assert make(piece, "gan").returncode == 0
    assert np.asarray(open_npz(piece_dir(piece) / "gan/latents.npz")["conduct_targets"]).tolist() == ["pulse", "classes"]


@needs_ffmpeg
def test_a_songs_sections_change_the_scene_over_beats_counted_in_the_song(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gan"))
    from gan_helpers import music, write_wav

    write_wav(tmp_path / "song.wav", music(48000, 6.0), 48000)  # a kick every half second: 120 BPM
    (tmp_path / "params.yaml").write_text("piece: {name: song, song: song.wav}\nfeatures: {fps: 10}\nnotes: {section_times_s: [3.0]}\n"
                                          "conduct: {sections: {drives: scene, crossfade_beats: 2}}\n")
    latents_path = piece_dir(tmp_path) / "gan/latents.npz"
    make(tmp_path, str(latents_path.relative_to(tmp_path)))
    weights = open_npz(latents_path)["scene_weights"]
    # Two beats at 120 BPM are 1 s, 10 frames, from the section at 3 s (frame 30).
    assert weights.shape == (60, 2) and weights[29, 1] == 0 and weights[30, 1] == pytest.approx(0.1) and weights[39, 1] == pytest.approx(1.0)
