"""Benchmark: the effects pass (scripts/effects.py): frames per second, cost against compose, memory.

- Speed: a chain of six effects, every one of them on at every frame (the worst case: a
  frame with nothing on is copied through), over a 512x512 and a 1080x1080 clip (the
  square GAN frames; compose makes 1080p from them afterwards), in frames per second.
- Cost: the same 512x512 clip through ``scripts/compose.py`` (mirror-1080p, x264 crf 18
  medium, what make runs next); the effects' time as a fraction of compose's.
- Memory: the peak RSS of the pass on a 30 s and on a 3-minute clip of small frames
  (64x64, so that the clip is quick to make and the frames' share is negligible): the
  frames stream in blocks, so the two peaks should be the same.

Each run is a child process (:func:`dreamreel.benchmarks.measure`): its own time and peak RSS.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

FPS = 30
SCRIPTS = Path(__file__).resolve().parents[2]
REPO = SCRIPTS.parent
CHAIN = [
    {"effect": "swirl", "by": "onset", "amount": 0.8, "release_s": 0.3},
    {"effect": "zoom", "by": "band_low", "amount": 0.3},
    {"effect": "rotate", "by": "rms", "amount": 0.1},
    {"effect": "chromatic", "by": "percussive", "amount": 0.03},
    {"effect": "hue", "by": "harmonic", "amount": 0.2},
    {"effect": "flash", "by": "onset", "amount": 0.3, "release_s": 0.15},
]


def _clip(path: Path, *, edge_px: int, frames: int) -> Path:
    """A lossless FFV1 clip of ``frames`` moving colour ramps, ``edge_px`` square, at FPS."""
    ramp = np.linspace(0.0, 1.0, edge_px, dtype=np.float32)
    writer = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{edge_px}x{edge_px}", "-r", str(FPS), "-i", "-",
         "-metadata", "model=benchmark", "-c:v", "ffv1", "-pix_fmt", "bgr0", str(path)],
        stdin=subprocess.PIPE,
    )
    for index in range(frames):
        t = index / FPS
        red = 0.5 + 0.5 * np.sin(6.0 * ramp[None, :] + t)
        green = 0.5 + 0.5 * np.sin(5.0 * ramp[:, None] - 0.7 * t)
        blue = 0.5 + 0.5 * np.sin(9.0 * (ramp[None, :] + ramp[:, None]) + 1.3 * t)
        image = np.stack(np.broadcast_arrays(red, green, blue), axis=-1)
        writer.stdin.write((image * 255.0).astype(np.uint8).tobytes())
    writer.stdin.close()
    if writer.wait() != 0:
        raise RuntimeError("could not write the benchmark's clip")
    return path


def _features(path: Path, frames: int) -> Path:
    """features.npz whose signals never fall to 0, so every effect is on at every frame."""
    from dreamreel.core.npz import save_npz

    rng = np.random.default_rng(0)

    def signal(*shape: int) -> np.ndarray:
        return rng.uniform(0.2, 1.0, size=(frames, *shape)).astype(np.float32)

    save_npz(path, {"onset": signal(), "rms": signal(), "percussive": signal(), "harmonic": signal(), "bands": signal(3),
                    "fps_num": np.int64(FPS), "fps_den": np.int64(1)})
    return path


def _effects_run(folder: Path, *, edge_px: int, seconds: float):
    from dreamreel.benchmarks import measure, python_script

    frames = int(round(seconds * FPS))
    folder.mkdir(parents=True, exist_ok=True)
    clip = _clip(folder / "frames.mkv", edge_px=edge_px, frames=frames)
    features = _features(folder / "features.npz", frames)
    params = folder / "effects.json"
    params.write_text(json.dumps({"chain": CHAIN, "beats_per_bar": 4}))
    done = measure([*python_script("effects"), str(clip), str(features), str(folder / "effects.mkv"), "--params", str(params)])
    return clip, frames, done


def _row(stage: str, label: str, seconds: float, frames: int, done, **extra) -> dict:
    return {
        "stage": stage,
        "input": label,
        "seconds": round(done.seconds, 2),
        "x_realtime": round(seconds / done.seconds, 3),
        "peak_rss_mb": round(done.peak_rss_mb, 1),
        "frames_per_s": round(frames / done.seconds, 2),
        "cpu_seconds": round(done.cpu_seconds, 2),
        **extra,
    }


def run(out_dir: Path, quick: bool) -> list[dict]:
    """Speed at 512 and 1080 px, the cost against compose, and memory at 30 s and 3 minutes."""
    sys.path.insert(0, str(SCRIPTS))
    from dreamreel.benchmarks import measure, python_script

    out_dir = Path(out_dir) / "effects-bench"
    chain = ", ".join(entry["effect"] for entry in CHAIN)
    rows = []

    seconds_512 = 1.0 if quick else 4.0
    clip, frames, done = _effects_run(out_dir / "512", edge_px=512, seconds=seconds_512)
    video = out_dir / "512" / "video.json"
    video.write_text(json.dumps({"graph": "mirror-1080p", "crf": 18, "preset": "medium", "fade_in_s": 0.0, "fade_out_s": 0.0}))
    compose = measure([*python_script("compose"), str(clip), str(out_dir / "512" / "picture.mkv"), "--params", str(video), "--filters", str(REPO / "filters")])
    label = f"{seconds_512:g} s 512x512 @{FPS} fps, {len(CHAIN)} effects on every frame ({chain})"
    rows.append(_row("effects pass, 512 px", label, seconds_512, frames, done,
                     fraction_of_compose=round(done.seconds / compose.seconds, 2), cpu_fraction_of_compose=round(done.cpu_seconds / compose.cpu_seconds, 2)))
    rows.append(_row("compose (mirror-1080p, crf 18 medium), same clip", f"{seconds_512:g} s 512x512 @{FPS} fps -> 1920x1080", seconds_512, frames, compose))

    seconds_1080 = 0.5 if quick else 2.0
    _, frames, done = _effects_run(out_dir / "1080", edge_px=1080, seconds=seconds_1080)
    rows.append(_row("effects pass, 1080 px", f"{seconds_1080:g} s 1080x1080 @{FPS} fps, {len(CHAIN)} effects on every frame", seconds_1080, frames, done))

    for seconds in ((2.0, 6.0) if quick else (30.0, 180.0)):
        _, frames, done = _effects_run(out_dir / f"memory-{int(seconds)}s", edge_px=64, seconds=seconds)
        rows.append(_row("effects pass memory", f"{seconds:g} s 64x64 @{FPS} fps, {len(CHAIN)} effects", seconds, frames, done))
    return rows
