"""Benchmark: StyleGAN2 frame rendering on this machine, and memory flat in video length.

Random weights in the configuration of NVIDIA's paper256 and paper512 models
(stylegan2-ada ``--cfg=paper256|paper512``: z = w = 512, 8 mapping layers,
``channel_base`` 16384 / 32768, ``channel_max`` 512, skip architecture, ``conv_clamp``
256). Each measurement runs in its own child process, so its peak RSS (:func:`dreamreel.benchmarks.measure`) is
its own. A child does what the StyleGAN frame model's ``render`` does per batch
(synthesis with constant noise, conversion to uint8) and streams: each batch's frames
are reduced to a checksum and dropped, as the segment renderer pipes them to ffmpeg.
``x_realtime`` is relative to a 30 fps video.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from dreamreel.benchmarks import measure

VIDEO_FPS = 30.0
PAPER = {256: 16384, 512: 32768}  # resolution -> channel_base


def _child(resolution: int, frames: int, batch: int) -> dict:
    """Render ``frames`` frames in batches with random paper-config weights; timing only the rendering."""
    import torch

    from dreamreel.gan.stylegan.network import Generator, GeneratorConfig, channels_for, to_uint8

    torch.manual_seed(0)
    config = GeneratorConfig(z_dim=512, c_dim=0, w_dim=512, img_resolution=resolution, img_channels=3,
                             channels=channels_for(resolution=resolution, channel_base=PAPER[resolution], channel_max=512),
                             mapping_layers=8, conv_clamp=256.0)
    generator = Generator(config).eval().requires_grad_(False)
    checksum = 0
    with torch.no_grad():
        generator.synthesis(generator.mapping(torch.randn(1, 512)), noise_mode="const")  # warm-up
        start = time.perf_counter()
        for first in range(0, frames, batch):
            count = min(batch, frames - first)
            ws = generator.mapping(torch.randn(count, 512), truncation_psi=0.7)
            pixels = to_uint8(generator.synthesis(ws, noise_mode="const")).numpy()
            checksum = (checksum + int(pixels.sum())) % 2**32
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "checksum": checksum, "threads": torch.get_num_threads()}


def _run_child(resolution: int, frames: int, batch: int) -> dict:
    scripts = Path(__file__).resolve().parents[2]
    code = ("import json, sys; from dreamreel.benchmarks.stylegan import _child; "
            f"print(json.dumps(_child({resolution}, {frames}, {batch})))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(scripts)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    done = measure([sys.executable, "-c", code], env=env, capture_stdout=True)
    result = json.loads(done.stdout)
    result["peak_rss_mb"] = done.peak_rss_mb
    return result


def run(out_dir: Path, quick: bool) -> list[dict]:
    """Rows for ``make bench``: frames/s at 256 and 512 px, and peak RSS for a short and a 3x longer render."""
    rows = []
    batch = 1 if quick else 2
    plan = [(256, 1)] if quick else [(256, 8), (512, 4)]
    for resolution, frames in plan:
        result = _run_child(resolution, frames, batch)
        frames_per_s = frames / result["seconds"]
        rows.append({"stage": "stylegan_render", "input": f"paper{resolution} random weights, {resolution} px, {frames} frames, batch {batch}",
                     "seconds": result["seconds"], "x_realtime": frames_per_s / VIDEO_FPS, "peak_rss_mb": result["peak_rss_mb"],
                     "frames_per_s": frames_per_s, "torch_threads": result["threads"], "video_fps": VIDEO_FPS})
    short_frames, long_frames = (1, 3) if quick else (6, 18)
    short = _run_child(256, short_frames, batch)
    long = _run_child(256, long_frames, batch)
    rows.append({"stage": "stylegan_render_memory", "input": f"paper256, {short_frames} vs {long_frames} frames, batch {batch}",
                 "seconds": long["seconds"], "x_realtime": long_frames / long["seconds"] / VIDEO_FPS,
                 "peak_rss_mb": long["peak_rss_mb"], "peak_rss_short_mb": short["peak_rss_mb"],
                 "rss_ratio_long_vs_short": long["peak_rss_mb"] / short["peak_rss_mb"]})
    return rows
