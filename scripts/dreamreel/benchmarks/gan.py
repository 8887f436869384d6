"""Benchmark: our GAN render path against the reference visualizer's, side by side.

Measured in one run, each case in its own child process (so peak RSS is the case's own):

* frames/s end to end (song → features → walk → model → encoded video) of our path and of
  the reference path (library forward in train mode, no_grad, fp32, every frame kept in a
  list, written at the end), for BigGAN-deep-128 and -256 with random but finite weights
  (a fresh BigGAN gives NaN, which is also slow on CPUs: see :func:`random_finite_biggan`).
  Both paths share the analysis and the walk and write the same FFV1 file, so the ratio
  isolates the renderer. Render-only rates are reported beside the end-to-end ones.
* peak RSS for a 3-minute and a 20-second song, per stage as make runs them (analysis +
  walk in one child, render + concat in another) and for the pipeline (the larger of the
  two). To keep the run short the walk runs at ``MEMORY_FPS`` frames/s; what grows with the
  song is the same (frames streamed, latents memory-mapped). Analysis at the full 30 fps
  is measured too. The reference's list grows by one frame per frame: that growth is
  computed from the frame size and reported beside it.
* efficiency: the generator's FLOPs per frame (counted by torch's FlopCounterMode) times
  our render rate, divided by this machine's matmul FLOP/s measured in the same child
  with the same threads and precision.

``python -m dreamreel.benchmarks.gan OUT_DIR [--quick]`` runs it standalone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from dreamreel.core import processes

SCRIPTS = Path(__file__).resolve().parents[2]
SAMPLE_RATE_HZ = 48000
FPS = 30
MEMORY_FPS = 2
REFERENCE_BATCH = 30  # the reference visualizer's default batch size
LAYERS_256 = [(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8), (True, 8, 8), (False, 8, 8), (True, 8, 4), (False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1)]
TARGETS = {128: 3.0, 256: 2.0}


def _song(seconds: float, seed: int = 0) -> np.ndarray:
    """Synthetic music, (2, samples): chord changes every 2 s, a kick on each beat, hats."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * SAMPLE_RATE_HZ))) / SAMPLE_RATE_HZ
    roots = np.array([220.0, 196.0, 174.61, 246.94])[(t // 2).astype(int) % 4]
    phase = 2 * np.pi * np.cumsum(roots) / SAMPLE_RATE_HZ
    signal = sum(0.1 * np.sin(phase * ratio) for ratio in (1.0, 1.26, 1.5))
    beat = t % 0.5
    signal = signal + 0.35 * np.exp(-beat * 30) * np.sin(2 * np.pi * 55 * beat)
    signal = signal + 0.04 * rng.standard_normal(len(t)) * np.exp(-(t % 0.25) * 50)
    return np.stack([signal, 0.95 * signal]).astype(np.float32)


def _peak_rss_mb() -> float:
    """This process image's peak RSS (VmHWM); ru_maxrss would include the parent's at fork."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


# --------------------------------------------------------------------------------------
# Children: each prints one JSON line.
# --------------------------------------------------------------------------------------


def _child_weights(size: int, folder: str) -> dict:
    import torch

    from dreamreel.gan.models.biggan import random_finite_biggan

    config = {} if size == 128 else {"output_dim": 256, "layers": LAYERS_256}
    model = random_finite_biggan(config, seed=size)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), target / "pytorch_model.bin")
    (target / "config.json").write_text(json.dumps(model.config.to_dict()), encoding="utf-8")
    return {}


def _features_and_walk(song: str, fps: int):
    from dreamreel.core.audio_io import read_audio
    from dreamreel.core.params import validate_section
    from dreamreel.gan.features import analyze
    from dreamreel.gan.latents import make_walk
    from dreamreel.gan.sections import FEATURES, LATENTS

    audio, rate = read_audio(song, mono=True)
    features = analyze(audio, sample_rate_hz=rate, params=validate_section("bench", FEATURES, {"fps": fps}))
    del audio
    return make_walk(features, params=validate_section("bench", LATENTS, {}))


def _matmul_flops(dtype_name: str, threads: int) -> float:
    import torch

    torch.set_num_threads(threads)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype_name]
    n = 2048
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def _generator_flops(model, size: int) -> float:
    """FLOPs of one frame through the library's forward (eval, fp32), counted by torch."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    noise = torch.zeros(1, 128)
    classes = torch.zeros(1, 1000)
    classes[0, 1] = 1.0
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(noise, classes, 1.0)
    return float(counter.get_total_flops())


def _render_latents(latents_path: Path, weights: str, size: int, fps: int, work_dir: Path):
    """Our render stage: memory-mapped latents → BigGAN → FFV1 segments → concat."""
    from dreamreel.core.npz import open_npz
    from dreamreel.gan.models.base import ComputeOptions
    from dreamreel.gan.models.biggan import BigGANModel, WeightsSource
    from dreamreel.gan.render import auto_batch_size, concat_segments, render_segments, write_manifest

    latents = open_npz(latents_path)
    folder = Path(weights)
    model = BigGANModel(f"biggan-deep-{size}", WeightsSource(folder / "config.json", folder / "pytorch_model.bin", "bench"), compute=ComputeOptions())
    render_start = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        segments = render_segments(latents, model, work_dir / "segments", fps=Fraction(fps), segment_s=4.0, batch_size=auto_batch_size(model.device, model.size_px), progress_stream=quiet)
    frames = sum(s.frames for s in segments)
    write_manifest(work_dir / "segments.json", segments, fps=Fraction(fps), size_px=model.size_px, choice_metadata={}, n_frames=frames)
    concat_segments(work_dir / "segments.json", work_dir / "frames.mkv")
    return model, frames, time.perf_counter() - render_start


def _child_ours(song: str, weights: str, size: int, fps: int, work: str, measure_efficiency: bool) -> dict:
    """Our whole path in one process: song → features → walk → segments → frames.mkv."""
    import torch

    from dreamreel.core.npz import save_npz

    work_dir = Path(work)
    started = time.perf_counter()
    save_npz(work_dir / "latents.npz", _features_and_walk(song, fps))
    model, frames, render_seconds = _render_latents(work_dir / "latents.npz", weights, size, fps, work_dir)
    result = {
        "frames": frames,
        "seconds": time.perf_counter() - started,
        "render_seconds": render_seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "precision": model.precision,
        "threads": torch.get_num_threads(),
    }
    if measure_efficiency:
        from dreamreel.gan.models.biggan import load_strict

        library = load_strict(model.source, name=model.name)
        library.eval()
        result["flops_per_frame"] = _generator_flops(library, size)
        result["matmul_flops_fp32"] = _matmul_flops("fp32", torch.get_num_threads())
        if model.precision != "fp32":
            result["matmul_flops_model_precision"] = _matmul_flops(model.precision, torch.get_num_threads())
    return result


def _child_render(latents: str, weights: str, size: int, fps: int, work: str) -> dict:
    """The render stage alone, as make runs it (render_frames + concat)."""
    started = time.perf_counter()
    _, frames, _ = _render_latents(Path(latents), weights, size, fps, Path(work))
    return {"frames": frames, "seconds": time.perf_counter() - started, "peak_rss_mb": _peak_rss_mb()}


def _child_reference(song: str, weights: str, size: int, fps: int, work: str) -> dict:
    """The reference visualizer's render loop: train mode, no_grad, fp32, frames in a list."""
    import torch
    from pytorch_pretrained_biggan import BigGAN

    from dreamreel.gan import ffmpeg

    started = time.perf_counter()
    walk = _features_and_walk(song, fps)
    model = BigGAN.from_pretrained(weights)  # the library leaves it in train mode, as the reference runs it
    render_start = time.perf_counter()
    frames = []
    noise, classes = walk["noise"], walk["classes"]
    truncation = float(walk["truncation"][0])
    with torch.no_grad():
        for start in range(0, len(noise), REFERENCE_BATCH):
            output = model(torch.from_numpy(noise[start : start + REFERENCE_BATCH]), torch.from_numpy(classes[start : start + REFERENCE_BATCH]), truncation)
            images = ((output.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
            frames.extend(np.array(image) for image in images)
    target = Path(work) / "reference.mkv"
    command = ffmpeg.encode_segment_command(target, size_px=size, fps=Fraction(fps))
    processes.run(command, input=b"".join(frame.tobytes() for frame in frames), text=False, check=True)
    finished = time.perf_counter()
    return {"frames": len(frames), "seconds": finished - started, "render_seconds": finished - render_start, "peak_rss_mb": _peak_rss_mb()}


def _child_analysis(song: str, fps: int, latents: str) -> dict:
    """The analysis and latent stages (two make stages; run together they peak no lower)."""
    from dreamreel.core.npz import save_npz

    started = time.perf_counter()
    walk = _features_and_walk(song, fps)
    save_npz(latents, walk)
    return {"frames": int(walk["noise"].shape[0]), "seconds": time.perf_counter() - started, "peak_rss_mb": _peak_rss_mb()}


def _spawn(kind: str, **arguments) -> dict:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(SCRIPTS) + os.pathsep + environment.get("PYTHONPATH", "")
    command = [sys.executable, "-m", "dreamreel.benchmarks.gan", "--child", kind, json.dumps(arguments)]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark child {kind} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------


def run(out_dir: Path, quick: bool) -> list[dict]:
    """Run the GAN benchmark; return rows for the lead's bench table (see module doc)."""
    import soundfile

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = {128: 8, 256: 4} if quick else {128: 600, 256: 150}
    rows: list[dict] = []
    for size, frames in cases.items():
        weights = out_dir / f"biggan-deep-{size}-random"
        if not (weights / "pytorch_model.bin").is_file():
            _spawn("weights", size=size, folder=str(weights))
        seconds = frames / FPS
        song = out_dir / f"song-{size}.wav"
        soundfile.write(str(song), _song(seconds).T, SAMPLE_RATE_HZ)
        for name in ("ours", "reference"):
            work = out_dir / f"{name}-{size}"
            if work.exists():
                subprocess.run(["rm", "-rf", str(work)], check=True)
            work.mkdir()
        reference = _spawn("reference", song=str(song), weights=str(weights), size=size, fps=FPS, work=str(out_dir / f"reference-{size}"))
        ours = _spawn("ours", song=str(song), weights=str(weights), size=size, fps=FPS, work=str(out_dir / f"ours-{size}"), measure_efficiency=True)
        achieved = ours["flops_per_frame"] * ours["frames"] / ours["render_seconds"]
        peak = ours.get("matmul_flops_model_precision", ours["matmul_flops_fp32"])
        rows.append(
            {
                "stage": "gan render",
                "input": f"biggan-deep-{size} random weights, {ours['frames']} frames at {FPS} fps ({seconds:.1f} s song)",
                "seconds": ours["seconds"],
                "x_realtime": seconds / ours["seconds"],
                "peak_rss_mb": ours["peak_rss_mb"],
                "frames_per_s": ours["frames"] / ours["seconds"],
                "reference_frames_per_s": reference["frames"] / reference["seconds"],
                "speedup_vs_reference": reference["seconds"] / ours["seconds"],
                "render_only_speedup_vs_reference": reference["render_seconds"] / ours["render_seconds"],
                "target_speedup": TARGETS[size],
                "reference_seconds": reference["seconds"],
                "reference_peak_rss_mb": reference["peak_rss_mb"],
                "precision": ours["precision"],
                "threads": ours["threads"],
                "gflops_per_frame": ours["flops_per_frame"] / 1e9,
                "achieved_gflop_s": achieved / 1e9,
                "matmul_gflop_s_fp32": ours["matmul_flops_fp32"] / 1e9,
                f"matmul_gflop_s_{ours['precision']}": peak / 1e9,
                "efficiency": achieved / peak,
                "efficiency_vs_fp32_matmul": achieved / ours["matmul_flops_fp32"],
            }
        )

    # Memory: the same path for a 20-second and a 3-minute song.
    durations = {"20 s": 20.0, "3 min": 180.0} if not quick else {"10 s": 10.0, "30 s": 30.0}
    weights = out_dir / "biggan-deep-128-random"
    measured: dict[str, dict] = {}
    for label, seconds in durations.items():
        song = out_dir / f"song-{int(seconds)}s.wav"
        soundfile.write(str(song), _song(seconds, seed=1).T, SAMPLE_RATE_HZ)
        work = out_dir / f"memory-{int(seconds)}s"
        if work.exists():
            subprocess.run(["rm", "-rf", str(work)], check=True)
        work.mkdir()
        analysis = _spawn("analysis", song=str(song), fps=MEMORY_FPS, latents=str(work / "latents.npz"))
        measured[label] = {"analysis": analysis, "render": _spawn("render", latents=str(work / "latents.npz"), weights=str(weights), size=128, fps=MEMORY_FPS, work=str(work))}
        measured[label]["pipeline"] = {
            "seconds": analysis["seconds"] + measured[label]["render"]["seconds"],
            "peak_rss_mb": max(analysis["peak_rss_mb"], measured[label]["render"]["peak_rss_mb"]),
        }
        measured[label]["analysis at 30 fps"] = _spawn("analysis", song=str(song), fps=FPS, latents=str(work / "latents-30fps.npz"))
    short, long = list(durations)
    frame_bytes = 128 * 128 * 3
    for part in ("render", "analysis", "pipeline", "analysis at 30 fps"):
        a, b = measured[short][part], measured[long][part]
        row = {
            "stage": f"gan {part} memory",
            "input": f"{long} vs {short} song, biggan-deep-128 at {MEMORY_FPS if part != 'analysis at 30 fps' else FPS} fps",
            "seconds": b["seconds"],
            "x_realtime": durations[long] / b["seconds"],
            "peak_rss_mb": b["peak_rss_mb"],
            f"peak_rss_mb_{short.replace(' ', '')}": a["peak_rss_mb"],
            "rss_ratio_long_vs_short": b["peak_rss_mb"] / a["peak_rss_mb"],
        }
        if part in ("render", "pipeline"):
            row["target_rss_ratio"] = 1.2
        if part == "render":
            # The reference holds every frame: at 30 fps the songs' frame lists alone are this big.
            row["reference_frame_list_mb_at_30fps"] = durations[long] * FPS * frame_bytes / 2**20
            row["reference_frame_list_mb_at_30fps_short"] = durations[short] * FPS * frame_bytes / 2**20
        rows.append(row)
    return rows


def _main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="GAN render benchmark")
    parser.add_argument("out_dir", nargs="?")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "JSON"))
    args = parser.parse_args(argv)
    if args.child:
        kind, arguments = args.child[0], json.loads(args.child[1])
        handler = {"weights": _child_weights, "ours": _child_ours, "reference": _child_reference, "analysis": _child_analysis, "render": _child_render}[kind]
        print(json.dumps(handler(**arguments)))
        return 0
    rows = run(Path(args.out_dir or "out/bench-gan"), args.quick)
    for row in rows:
        print(json.dumps(row, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
