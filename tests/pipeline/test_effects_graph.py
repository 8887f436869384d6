"""Effects in the real Makefile: no chain, no pass; editing an effect never reruns the GAN.

With an empty ``effects.chain`` compose reads the GAN frames and the finished video is the
same file as before effects existed; listing effects inserts build/<piece>/video/effects.mkv
and editing them reruns effects, compose and mux only.
"""

from __future__ import annotations

import pytest
from build_helpers import make, piece_dir, snapshot
from conftest import TINY_PARTS, needs_ffmpeg, needs_fluidsynth, needs_sox, write_midi

pytestmark = [needs_fluidsynth, needs_sox, needs_ffmpeg]

PARAMS = """\
piece: {name: tiny, score: tiny.mid, title: Tiny}
stems: {tail_s: 0.5}
features: {fps: 10}
gan: {model: cppn, size_px: 32, segment_s: 1.0}
video: {preset: ultrafast, fade_in_s: 0.0, fade_out_s: 0.0, title: {text: ""}}
"""


def scripts_run(result) -> list[str]:
    return [line.split()[1].rsplit("/", 1)[-1] for line in result.stdout.splitlines() if "/scripts/" in line and line.split()[0].endswith("python")]


@pytest.fixture(scope="module")
def piece(tmp_path_factory):
    folder = tmp_path_factory.mktemp("effects")
    write_midi(folder / "tiny.mid", TINY_PARTS, programs={"Vibraphone": 11, "Marimba": 12})
    (folder / "params.yaml").write_text(PARAMS)
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
