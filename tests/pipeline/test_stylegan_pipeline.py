"""StyleGAN variants through the real Makefile: a blend, and StyleGAN3, render the piece end to end.

The blend changes the pictures, never the walk: editing it reruns the render, not
latents.py, and the segments of another blend are not reused (the blend is part of the
model identity in their keys).
"""

from __future__ import annotations

import json

import numpy as np
from build_helpers import make, piece_dir, scripts_run
from conftest import TINY_PARTS, needs_ffmpeg, needs_fluidsynth, needs_sox, write_midi
from test_pipeline_graph import PARAMS, probe

pytestmark = [needs_fluidsynth, needs_sox, needs_ffmpeg]


def test_blended_stylegan_renders_the_piece_end_to_end(tmp_path):
    from stylegan_fixtures import tiny_config, tiny_generator, write_nvlabs_pytorch, write_rosinality

    config = tiny_config(resolution=32, conv_clamp=None)
    write_nvlabs_pytorch(tmp_path / "a.pkl", tiny_generator(config, seed=1))
    write_rosinality(tmp_path / "b.pt", tiny_generator(config, seed=2))
    write_midi(tmp_path / "tiny.mid", TINY_PARTS, programs={"Vibraphone": 11, "Marimba": 12})
    gan = "gan: {model: stylegan, weights: a.pkl, segment_s: 1.0, blend: {with: b.pt, swap_at_px: 8}}"
    (tmp_path / "params.yaml").write_text(PARAMS.replace("gan: {model: cppn, size_px: 32, segment_s: 1.0}", gan))
    make(tmp_path, "video")
    assert "video,1920,1080,10/1" in probe(tmp_path / "out/tiny.mp4")
    manifest = json.loads((piece_dir(tmp_path) / "gan/segments.json").read_text())
    assert "-blend-" in json.dumps(manifest)
    first = {segment for segment in json.dumps(manifest).split('"') if segment.endswith(".mkv")}

    (tmp_path / "params.yaml").write_text(PARAMS.replace("gan: {model: cppn, size_px: 32, segment_s: 1.0}", gan.replace("swap_at_px: 8", "mix_by_px: [[4, 0.0], [32, 1.0]]")))
    ran = scripts_run(make(tmp_path, "gan"))
    assert "render_frames.py" in ran and "latents.py" not in ran
    second = {segment for segment in (piece_dir(tmp_path) / "gan/segments.json").read_text().split('"') if segment.endswith(".mkv")}
    assert first and second and not first & second


def latents_frames(folder) -> int:
    with np.load(piece_dir(folder) / "gan/latents.npz") as latents:
        return int(latents["ws"].shape[0])


def test_stylegan3_renders_the_piece_end_to_end(tmp_path):
    """A StyleGAN3 r model, turning and sliding with the music (its input transform per frame)."""
    from stylegan_fixtures import tiny_config3, tiny_generator3, write_nvlabs_stylegan3

    write_nvlabs_stylegan3(tmp_path / "sg3.pkl", tiny_generator3(tiny_config3(config="r", resolution=32)))
    write_midi(tmp_path / "tiny.mid", TINY_PARTS, programs={"Vibraphone": 11, "Marimba": 12})
    gan = "gan: {model: stylegan, weights: sg3.pkl, segment_s: 1.0}\nstylegan: {input_spin_deg_per_s: 30.0, input_shift_px: 2.0}"
    (tmp_path / "params.yaml").write_text(PARAMS.replace("gan: {model: cppn, size_px: 32, segment_s: 1.0}", gan))
    make(tmp_path, "video")
    with np.load(piece_dir(tmp_path) / "gan/latents.npz") as latents:
        transforms = latents["transform"]
    assert transforms.shape == (latents_frames(tmp_path), 3, 3) and not np.allclose(transforms[-1], np.eye(3))
    assert probe(piece_dir(tmp_path) / "gan/frames.mkv").startswith("video,32,32,10/1")
    assert "video,1920,1080,10/1" in probe(tmp_path / "out/tiny.mp4")
