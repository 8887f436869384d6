"""Effects in the real Makefile: no chain, no pass; editing an effect never reruns the GAN.

With an empty ``effects.chain`` compose reads the GAN frames and the finished video is the
same file as before effects existed; listing effects inserts build/<piece>/video/effects.mkv
and editing them reruns effects, compose and mux only.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from build_helpers import make, piece_dir, scripts_run, snapshot, tiny_piece
from conftest import TINY_PARTS, needs_ffmpeg, needs_fluidsynth, needs_sox, write_midi

pytestmark = [needs_fluidsynth, needs_sox, needs_ffmpeg]

PARAMS = """\
piece: {name: tiny, score: tiny.mid, title: Tiny}
stems: {tail_s: 0.5}
features: {fps: 10}
gan: {model: cppn, size_px: 32, segment_s: 1.0}
video: {preset: ultrafast, fade_in_s: 0.0, fade_out_s: 0.0, title: {text: ""}}
"""


@pytest.fixture(scope="module")
def piece(tmp_path_factory):
    folder = tmp_path_factory.mktemp("effects")
    tiny_piece(folder, PARAMS)
    make(folder, "video")
    return folder


def with_chain(chain: str) -> str:
    return PARAMS + f"effects:\n  chain: {chain}\n"


def test_without_effects_there_is_no_effects_pass(piece):
    assert not (piece_dir(piece) / "video/effects.mkv").exists()
    assert "EFFECTS := \n" in (piece_dir(piece) / "params/params.mk").read_text()


def test_effects_rerun_effects_compose_and_mux_never_the_gan_and_removing_them_restores_the_video(piece):
    plain = (piece / "out/tiny.mp4").read_bytes()
    before = snapshot(piece)
    (piece / "params.yaml").write_text(with_chain("[{effect: swirl, by: onset, amount: 0.8, release_s: 0.3}]"))
    assert scripts_run(make(piece, "video")) == ["params.py", "effects_plan.py", "effects.py", "compose.py", "mux.py"]
    after = snapshot(piece)
    gan = [name for name in before if name.startswith(("gan/", "mix/", "stems/", "fx/", "score/"))]
    assert gan and all(after[name] == before[name] for name in gan)
    assert (piece_dir(piece) / "video/effects.mkv").is_file()
    assert (piece / "out/tiny.mp4").read_bytes() != plain

    # An edited amount, and a musical signal (the score's bars): effects, compose and mux again.
    (piece / "params.yaml").write_text(with_chain("[{effect: swirl, by: onset, amount: 0.4}, {effect: rotate, by: bar_phase, amount: 1.0}]"))
    assert scripts_run(make(piece, "video")) == ["params.py", "effects_plan.py", "effects.py", "compose.py", "mux.py"]
    assert all(snapshot(piece)[name] == before[name] for name in gan)
    assert make(piece, "-q", "video", check=False).returncode == 0

    # The chain emptied: no pass, and the very bytes of the video without effects.
    (piece / "params.yaml").write_text(with_chain("[]"))
    assert scripts_run(make(piece, "video")) == ["params.py", "effects_plan.py", "compose.py", "mux.py"]
    assert (piece / "out/tiny.mp4").read_bytes() == plain


def test_a_bad_effect_stops_the_build_in_one_line_and_keeps_the_video(piece):
    video = (piece / "out/tiny.mp4").read_bytes()
    (piece / "params.yaml").write_text(with_chain("[{effect: twirl, by: onset, amount: 0.5}]"))
    result = make(piece, "video", check=False)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("dreamreel: error:")]
    assert len(errors) == 1 and "effects.chain[0].effect: unknown effect 'twirl'" in errors[0] and "swirl" in errors[0]
    assert (piece / "out/tiny.mp4").read_bytes() == video
    (piece / "params.yaml").write_text(PARAMS)


def _frames(path) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, 32 * 32 * 3).astype(np.float64)


def test_a_looping_walk_cuts_from_the_last_frame_to_the_first_like_consecutive_frames(tmp_path):
    """The issue's measure: the last-to-first difference against the typical consecutive one.

    A slow walk (the tiny piece is 25 frames) keeps consecutive frames apart by a few
    levels, so the cut of the open walk stands out; then the loop, which re-walks and
    re-renders only.
    """
    write_midi(tmp_path / "tiny.mid", TINY_PARTS, programs={"Vibraphone": 11, "Marimba": 12})
    slow = PARAMS + "latents: {motion_speed_per_s: 1.0, pulse_depth: 0.05}\n"
    (tmp_path / "params.yaml").write_text(slow)
    make(tmp_path, "gan")
    open_frames = _frames(piece_dir(tmp_path) / "gan/frames.mkv")
    (tmp_path / "params.yaml").write_text(slow.replace("fade_out_s: 0.0,", "fade_out_s: 0.0, loop: true,"))
    ran = scripts_run(make(tmp_path, "gan"))
    assert ran == ["params.py", "effects_plan.py", "latents.py", "render_frames.py", "concat_frames.py"]
    looped = _frames(piece_dir(tmp_path) / "gan/frames.mkv")

    def cut_and_typical(frames: np.ndarray) -> tuple[float, float]:
        steps = np.abs(np.diff(frames, axis=0)).mean(axis=1)
        return float(np.abs(frames[0] - frames[-1]).mean()), float(np.median(steps))

    open_cut, open_typical = cut_and_typical(open_frames)
    loop_cut, loop_typical = cut_and_typical(looped)
    print(f"open walk: cut {open_cut:.2f}, typical step {open_typical:.2f}; loop: cut {loop_cut:.2f}, typical step {loop_typical:.2f} (mean abs, 0-255)")
    assert open_cut > 3 * open_typical
    assert loop_cut < 2 * loop_typical
