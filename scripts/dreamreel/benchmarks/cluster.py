"""Benchmark: the segments rendered on an embedded Ray against one local process, in one run.

* frames/s of 2 Ray workers with 1 thread each against 1 local process with 2 threads,
  cppn at ``EDGE_PX`` px, on this machine's cores. Each case runs twice into its own
  cache: the second run finds every segment cached, so it costs only what does not grow
  with the render (Python and torch start, the model, for Ray the embedded cluster's
  start). The difference is the render; frames/s are given both ways.
* the scheduling overhead per segment, in ms: tiny segments (16 px, a quarter second),
  rendered by one Ray worker with one thread and by one local thread; the extra time of
  the Ray render divided by its segments is what each task costs on top of the work
  (submitting it, shipping its latents, a worker picking it up, the result coming back).

GPU rates are not measured here: see the README's "Rendering on a cluster".
``python -m dreamreel.benchmarks.cluster OUT_DIR [--quick]`` runs it standalone.
"""

from __future__ import annotations

import argparse
import json
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from dreamreel.benchmarks import measure, python_script

FPS = 30
EDGE_PX = 128
SEGMENT_S = 1.0
TINY_PX = 16
TINY_SEGMENT_S = 0.25


def _walk(n_frames: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A smooth random walk in the cppn's latents (noise, classes)."""
    rng = np.random.default_rng(seed)
    noise = np.cumsum(rng.standard_normal((n_frames, 128)) * 0.1, axis=0).clip(-2, 2).astype(np.float32)
    classes = np.zeros((n_frames, 1000), dtype=np.float32)
    classes[:, [1, 207, 980]] = rng.random((n_frames, 3)).astype(np.float32)
    return {"noise": noise, "classes": classes, "fps_num": np.int64(FPS), "fps_den": np.int64(1)}


def _render_twice(folder: Path, latents: Path, gan: dict) -> tuple[float, float, float]:
    """(seconds of the first render, of the second (all cached), peak RSS of the driver in MB)."""
    folder.mkdir(parents=True, exist_ok=True)
    params = folder / "gan.json"
    params.write_text(json.dumps(gan))
    command = [*python_script("render_frames"), str(latents), str(folder / "segments.json"), "--params", str(params), "--segments-dir", str(folder / "segments")]
    # An embedded Ray, never a cluster the environment happens to name.
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    first = measure(command, env=env)
    again = measure(command, env=env)
    return first.seconds, again.seconds, first.peak_rss_mb


def run(out_dir: Path, quick: bool) -> list[dict]:
    from dreamreel.core.npz import save_npz

    folder = Path(out_dir) / "cluster-bench"
    seconds = 3.0 if quick else 8.0
    frames = int(seconds * FPS)
    save_npz(folder / "latents.npz", _walk(frames))
    base = {"model": "cppn", "size_px": EDGE_PX, "segment_s": SEGMENT_S}
    cases = {
        "local": ("gan: 1 local process, 2 threads", dict(base, threads=2)),
        # gan.threads: 2 split between 2 workers, whatever the machine's core count.
        "ray": ("gan: embedded Ray, 2 workers x 1 thread", dict(base, executor="ray", ray_workers=2, threads=2)),
    }
    measured = {name: _render_twice(folder / name, folder / "latents.npz", gan) for name, (_, gan) in cases.items()}
    label = f"{seconds:g} s cppn {EDGE_PX} px @{FPS} fps, {int(seconds / SEGMENT_S)} segments"
    rows = []
    for name, (stage, _) in cases.items():
        first, cached, rss = measured[name]
        render_s = max(first - cached, 1e-9)
        rows.append({
            "stage": stage, "input": label, "seconds": round(first, 3), "x_realtime": round(seconds / first, 3), "peak_rss_mb": round(rss, 1),
            "frames_per_s": round(frames / first, 2), "fixed_s": round(cached, 2), "render_frames_per_s": round(frames / render_s, 2),
        })
    local, ray = rows
    ray["vs_local"] = round(ray["frames_per_s"] / local["frames_per_s"], 3)
    ray["render_vs_local"] = round(ray["render_frames_per_s"] / local["render_frames_per_s"], 3)

    # Scheduling overhead: segments so small that rendering them is nearly free.
    tiny_seconds = 5.0 if quick else 10.0
    save_npz(folder / "tiny.npz", _walk(int(tiny_seconds * FPS), seed=1))
    tiny = {"model": "cppn", "size_px": TINY_PX, "segment_s": TINY_SEGMENT_S, "threads": 1}
    segments = int(round(tiny_seconds / TINY_SEGMENT_S))
    local_first, local_cached, _ = _render_twice(folder / "tiny-local", folder / "tiny.npz", tiny)
    ray_first, ray_cached, ray_rss = _render_twice(folder / "tiny-ray", folder / "tiny.npz", dict(tiny, executor="ray", ray_workers=1))
    overhead_ms = ((ray_first - ray_cached) - (local_first - local_cached)) / segments * 1000.0
    rows.append({
        "stage": "gan: Ray scheduling overhead per segment", "input": f"{segments} segments of {TINY_SEGMENT_S:g} s at {TINY_PX} px, 1 worker x 1 thread",
        "seconds": round(ray_first, 3), "x_realtime": round(tiny_seconds / ray_first, 3), "peak_rss_mb": round(ray_rss, 1),
        "overhead_ms_per_segment": round(overhead_ms, 1), "local_ms_per_segment": round((local_first - local_cached) / segments * 1000.0, 1),
        "ray_ms_per_segment": round((ray_first - ray_cached) / segments * 1000.0, 1),
    })
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    for row in run(args.out_dir, args.quick):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
