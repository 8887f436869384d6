"""The whole pipeline on a tiny piece with the real Makefile: score -> master -> GAN -> video.

What reruns when which input changes: editing video.title reruns compose and mux only
(no GAN segment, no audio file is touched); a second make does nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from build_helpers import make, piece_dir, scripts_run, snapshot, tiny_piece
from conftest import needs_ffmpeg, needs_fluidsynth, needs_sox

pytestmark = [needs_fluidsynth, needs_sox, needs_ffmpeg]

PARAMS = """\
piece: {name: tiny, score: tiny.mid, title: Tiny}
stems: {tail_s: 0.5}
features: {fps: 10}
gan: {model: cppn, size_px: 32, segment_s: 1.0}
video:
  preset: ultrafast
  fade_in_s: 0.0
  fade_out_s: 0.2
  title: {text: One, start_s: 0.0, end_s: 1.0, fade_s: 0.1}
"""


def probe(path) -> str:
    return subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height,r_frame_rate,sample_rate,channels",
                           "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def piece(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    tiny_piece(folder, PARAMS)
    make(folder, "video")
    return folder


def test_video_is_1080p_with_the_master_and_a_second_make_does_nothing(piece):
    streams = probe(piece / "out/tiny.mp4")
    assert "video,1920,1080,10/1" in streams and "audio,48000,2" in streams.replace(",,", ",")
    assert make(piece, "-q", "video", check=False).returncode == 0


def test_editing_the_title_reruns_compose_and_mux_only(piece):
    before = snapshot(piece)
    (piece / "params.yaml").write_text(PARAMS.replace("text: One", "text: Two"))
    result = make(piece, "video")
    after = snapshot(piece)
    assert scripts_run(result) == ["params.py", "effects_plan.py", "compose.py", "mux.py"]
    untouched = [name for name in before if name.startswith(("gan/", "mix/", "stems/", "fx/"))]
    assert untouched and all(after[name] == before[name] for name in untouched)
    assert "Two" in (piece_dir(piece) / "video/graph.txt").read_text()



def test_a_title_font_file_is_a_prerequisite_of_the_picture(piece):
    from dreamreel.video.graph import resolve_font

    (piece / "media").mkdir(exist_ok=True)
    font = piece / "media" / "Title.ttf"
    shutil.copy(resolve_font("DejaVu Sans"), font)
    (piece / "params.yaml").write_text(PARAMS.replace("text: One", "text: Two, font: media/Title.ttf"))
    make(piece, "video")
    assert "media/Title.ttf" in (piece_dir(piece) / "video/graph.txt").read_text()

    # A new version of the font (same name) recomposes the picture; nothing upstream runs.
    os.utime(font, (font.stat().st_mtime + 10, font.stat().st_mtime + 10))
    assert make(piece, "-q", "video", check=False).returncode != 0
    assert scripts_run(make(piece, "video")) == ["compose.py", "mux.py"]

    # A font file that is not there stops make at the params, with one line; the video stays.
    video_mtime_ns = (piece / "out/tiny.mp4").stat().st_mtime_ns
    (piece / "params.yaml").write_text(PARAMS.replace("text: One", "text: Two, font: media/Gone.ttf"))
    result = make(piece, "video", check=False)
    assert result.returncode != 0
    assert "video.title.font" in result.stderr and "Gone.ttf" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("dreamreel: error:")]) == 1
    assert (piece / "out/tiny.mp4").stat().st_mtime_ns == video_mtime_ns
    (piece / "params.yaml").write_text(PARAMS.replace("text: One", "text: Two, font: media/Title.ttf"))


def test_stylegan_model_renders_the_piece_end_to_end(tmp_path):
    """gan.model: stylegan with a test-built NVlabs-style pickle, through the real Makefile."""
    from stylegan_fixtures import tiny_config, tiny_generator, write_nvlabs_pytorch

    write_nvlabs_pytorch(tmp_path / "model.pkl", tiny_generator(tiny_config(resolution=32)))
    tiny_piece(tmp_path, PARAMS.replace("gan: {model: cppn, size_px: 32, segment_s: 1.0}", "gan: {model: stylegan, weights: model.pkl, segment_s: 1.0}"))
    result = make(tmp_path, "video")
    assert "--stylegan" in result.stdout
    streams = probe(piece_dir(tmp_path) / "gan/frames.mkv")
    assert streams.startswith("video,32,32,10/1")
    assert "video,1920,1080,10/1" in probe(tmp_path / "out/tiny.mp4")
    tags = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format_tags", "-of", "json", str(tmp_path / "out/tiny.mp4")], capture_output=True, text=True).stdout
    assert "stylegan" in tags
    # The walk's knobs are the stylegan section's: editing it re-walks and re-renders.
    (tmp_path / "params.yaml").write_text((tmp_path / "params.yaml").read_text() + "stylegan: {pulse_gain: 0.9}\n")
    ran = scripts_run(make(tmp_path, "gan"))
    assert "latents.py" in ran and "render_frames.py" in ran


def test_a_mixing_edit_remuxes_without_touching_the_pictures(piece):
    base = PARAMS + "parts:\n  marimba: {gain_db: 0}\nmix: {loudness_lufs: -14}\n"
    (piece / "params.yaml").write_text(base)
    make(piece, "video")
    before = snapshot(piece)
    video_mtime_ns = (piece / "out/tiny.mp4").stat().st_mtime_ns
    (piece / "params.yaml").write_text(base.replace("gain_db: 0", "gain_db: -4").replace("-14", "-16"))
    ran = scripts_run(make(piece, "video"))
    assert ran == ["params.py", "effects_plan.py", "part_params.py", "process_stem.py", "mix.py", "mux.py"]
    pictures = [name for name in before if name.startswith(("gan/", "video/", "stems/"))]
    assert pictures and all(snapshot(piece)[name] == before[name] for name in pictures)
    assert (piece / "out/tiny.mp4").stat().st_mtime_ns != video_mtime_ns


def test_features_source_master_makes_the_pictures_follow_the_mix(piece):
    base = PARAMS + "features: {fps: 10, source: master}\n"
    base = base.replace("features: {fps: 10}\n", "")
    (piece / "params.yaml").write_text(base)
    assert f"scripts/analyze.py {piece_dir(piece).relative_to(piece)}/mix/master.wav" in make(piece, "video").stdout
    (piece / "params.yaml").write_text(base + "mix: {loudness_lufs: -20}\n")
    ran = scripts_run(make(piece, "video"))
    assert "analyze.py" in ran and "mix.py" in ran
