"""Benchmark: composing a 512x512 clip to 1080p in one pass vs the old tool's five-encode chain.

One pass: ``scripts/compose.py`` (mirror-1080p, one libx264 encode) then ``scripts/mux.py``
(stream copy + AAC), exactly what make runs. Baseline: the old tool's chain, rebuilt here
only for comparison: mirror, side-by-side stack, strip stack, 1080p upscale and the
audio merge, each a separate ffmpeg run that re-encodes the video with the same x264
settings. Quality: each result's PSNR against the same chain encoded losslessly (FFV1
with identical filters and pixel formats), so the number is the coding loss alone: one
generation for compose, five for the chain.

A second comparison covers the whole of the old tool's `video` target on a shorter clip:
the four passes above, then one re-encoding run per effect as its Makefile does them (audio
merge, drawtext title, fade in, the boomerang ending cut out, reversed and concatenated back,
fade out) against ``make video``'s one pass with the same title, fades and boomerang. Its
Makefile also slows the title down with setpts; dreamreel has no such effect, so that pass
is left out of the baseline.

Each timed step runs in a child process (:func:`dreamreel.benchmarks.measure`): its own time and peak RSS.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dreamreel.core import processes

EDGE_PX = 512
FPS = 30
CRF = 18
PRESET = "medium"
SCRIPTS = Path(__file__).resolve().parents[2]
REPO = SCRIPTS.parent


def _timed(argv: list[str]) -> tuple[float, float, float]:
    """Run ``argv`` as a child; return (wall seconds, CPU seconds, peak RSS in MB), the last
    two counting its own children too. CPU seconds are the fairer comparison on a shared
    machine, where wall time depends on what else runs."""
    from dreamreel.benchmarks import measure

    done = measure(argv)
    return done.seconds, done.cpu_seconds, done.peak_rss_mb


def _frame(index: int, grid: np.ndarray) -> bytes:
    """A GAN-like RGB frame: smooth colour fields drifting over time plus finer texture."""
    y, x = grid
    t = index / FPS
    layers = []
    for channel in range(3):
        phase = 2.1 * channel
        smooth = np.sin(3.0 * x + 1.3 * np.sin(2.0 * y + 0.4 * t + phase) + 0.7 * t) + np.sin(4.0 * np.hypot(x - 0.3 * np.sin(0.2 * t), y - 0.5) - 0.9 * t + phase)
        detail = 0.35 * np.sin(40.0 * x + 9.0 * np.sin(6.0 * y + t + phase)) * np.sin(37.0 * y - 1.5 * t)
        layers.append(smooth + detail)
    image = np.stack(layers, axis=-1)
    return np.clip((image + 2.35) * (255.0 / 4.7), 0, 255).astype(np.uint8).tobytes()


def _source(folder: Path, seconds: int) -> tuple[Path, Path]:
    """A moving 512x512 RGB clip (FFV1, lossless) and a matching 48 kHz stereo WAV."""
    frames = folder / "frames.mkv"
    audio = folder / "master.wav"
    if not frames.exists():
        grid = np.mgrid[0:EDGE_PX, 0:EDGE_PX].astype(np.float32) / EDGE_PX * 2.0
        writer = processes.spawn(
            ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{EDGE_PX}x{EDGE_PX}", "-r", str(FPS), "-i", "-", "-metadata", "model=benchmark", "-c:v", "ffv1", "-pix_fmt", "bgr0", str(frames)],
            stdin=subprocess.PIPE,
        )
        for index in range(seconds * FPS):
            writer.stdin.write(_frame(index, grid))
        writer.stdin.close()
        if writer.wait() != 0:
            raise RuntimeError("could not write the benchmark's source clip")
    if not audio.exists():
        processes.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=48000:duration={seconds}", "-ac", "2", "-c:a", "pcm_s16le", str(audio)], check=True)
    return frames, audio


def _one_pass(folder: Path, frames: Path, audio: Path, *, lossless: bool, effects: dict | None = None) -> tuple[float, float, float, Path]:
    params = {"graph": "mirror-1080p", "crf": 0 if lossless else CRF, "preset": "ultrafast" if lossless else PRESET, "fade_in_s": 0.0, "fade_out_s": 0.0, **(effects or {})}
    (folder / "video.json").write_text(json.dumps(params))
    (folder / "mux.json").write_text("{}")
    (folder / "piece.json").write_text(json.dumps({"name": "bench", "title": "benchmark"}))
    picture = folder / "picture.mkv"
    compose_s, compose_cpu, compose_mb = _timed([sys.executable, str(SCRIPTS / "compose.py"), str(frames), str(picture), "--params", str(folder / "video.json"), "--filters", str(REPO / "filters")])
    if lossless:
        # crf 0 in 8-bit x264 is lossless: the reference differs from the lossy run in the encoder only.
        return compose_s, compose_cpu, compose_mb, picture
    mp4 = folder / "bench.mp4"
    mux_s, mux_cpu, mux_mb = _timed([sys.executable, str(SCRIPTS / "mux.py"), str(picture), str(audio), "--mp4", str(mp4), "--mkv", str(folder / "bench.mkv"), "--params", str(folder / "mux.json"), "--piece", str(folder / "piece.json")])
    return compose_s + mux_s, compose_cpu + mux_cpu, max(compose_mb, mux_mb), mp4


def _old_chain(folder: Path, frames: Path, audio: Path, *, lossless: bool, merge: bool = True) -> tuple[float, float, float, Path, list[float]]:
    """The old tool's five passes; every pass decodes the last one's output and encodes anew.
    Without ``merge`` it stops after the upscale and returns that file."""
    strip = EDGE_PX // 16  # the old chain only works when the strip height is a whole pixel count
    if lossless:
        codec = ["-c:v", "ffv1"]
    else:
        codec = ["-c:v", "libx264", "-crf", str(CRF), "-preset", PRESET]
    to_yuv = "scale=out_color_matrix=bt709:out_range=tv:flags=lanczos+accurate_rnd+full_chroma_int,format=yuv420p"
    suffix = ".mkv"
    mirrored, side, stacked, upscaled, merged = (folder / f"{name}{suffix}" for name in ("1-mirror", "2-hstack", "3-vstack", "4-upscale", "5-merge"))
    steps = [
        ["-i", str(frames), "-vf", f"hflip,{to_yuv}", *codec, str(mirrored)],
        ["-i", str(frames), "-i", str(mirrored), "-filter_complex", f"[0:v]{to_yuv}[a];[a][1:v]hstack=inputs=2", *codec, str(side)],
        ["-i", str(side), "-filter_complex", f"[0:v]split=3[t][m][b];[t]crop=iw:{strip}:0:0,vflip[top];[b]crop=iw:{strip}:0:ih-{strip},vflip[bottom];[top][m][bottom]vstack=inputs=3", *codec, str(stacked)],
        ["-i", str(stacked), "-vf", "scale=1920:1080:flags=lanczos+accurate_rnd+full_chroma_int", *codec, str(upscaled)],
        ["-i", str(upscaled), "-i", str(audio), "-map", "0:v", "-map", "1:a", *codec, "-c:a", "aac", "-b:a", "320k", "-shortest", str(merged)],
    ]
    if not merge:
        steps.pop()
    total, cpu, peak, times = _run_passes(steps)
    return total, cpu, peak, merged if merge else upscaled, times


def _run_passes(steps: list[list[str]]) -> tuple[float, float, float, list[float]]:
    """Run each ffmpeg pass in turn: total wall and CPU seconds, the largest peak RSS, each pass's wall time."""
    total, cpu, peak, times = 0.0, 0.0, 0.0, []
    for args in steps:
        seconds, cpu_s, mb = _timed(["ffmpeg", "-v", "error", "-y", "-nostdin", *args])
        total, cpu, peak = total + seconds, cpu + cpu_s, max(peak, mb)
        times.append(round(seconds, 2))
    return total, cpu, peak, times


EFFECTS_CLIP_S = 10


def _effects(seconds: int) -> dict:
    """The effects of the whole-target comparison, in proportion to the clip: the title over
    the first 30 %, a fade in over 10 %, the boomerang and the fade out over the last 20 %."""
    title = {"text": "Benchmark", "font": "DejaVu Sans", "size_px": 150, "start_s": 0.0, "end_s": 0.3 * seconds, "fade_s": 0.0}
    return {"title": title, "fade_in_s": 0.1 * seconds, "fade_out_s": 0.2 * seconds, "boomerang_s": 0.2 * seconds}


def _old_effect_passes(folder: Path, upscaled: Path, audio: Path, seconds: int) -> tuple[float, float, float, list[float]]:
    """The old Makefile's passes after its upscale, each a separate re-encoding ffmpeg run."""
    from dreamreel.video.graph import resolve_font

    effects = _effects(seconds)
    title, boomerang_s, fade_out_s = effects["title"], effects["boomerang_s"], effects["fade_out_s"]
    codec = ["-c:v", "libx264", "-crf", str(CRF), "-preset", PRESET]
    font = resolve_font(title["font"])
    keep_s = seconds - boomerang_s
    names = ("merged", "text", "faded-in", "head", "tail", "reversed", "concat", "done")
    merged, text, faded_in, head, tail, reversed_tail, concat, done = (folder / f"effect-{name}.mkv" for name in names)
    steps = [
        ["-i", str(upscaled), "-i", str(audio), "-map", "0:v", "-map", "1:a", *codec, "-c:a", "aac", "-b:a", "320k", "-shortest", str(merged)],
        ["-i", str(merged), "-vf", f"drawtext=fontfile={font}:text={title['text']}:fontsize={title['size_px']}:fontcolor=white:x=(w-text_w)/2:y=h-text_h-80:enable='between(t,{title['start_s']},{title['end_s']})'", *codec, "-c:a", "copy", str(text)],
        ["-i", str(text), "-vf", f"fade=t=in:st=0:d={effects['fade_in_s']}", *codec, "-c:a", "copy", str(faded_in)],
        ["-i", str(faded_in), "-t", str(keep_s), *codec, str(head)],
        ["-ss", str(keep_s - boomerang_s), "-i", str(faded_in), "-t", str(boomerang_s), *codec, str(tail)],
        ["-i", str(tail), "-vf", "reverse", "-af", "areverse", *codec, str(reversed_tail)],
        ["-i", str(head), "-i", str(reversed_tail), "-filter_complex", "concat=n=2:v=1:a=1", *codec, "-c:a", "aac", "-b:a", "320k", str(concat)],
        ["-i", str(concat), "-vf", f"fade=t=out:st={seconds - fade_out_s}:d={fade_out_s}", *codec, "-c:a", "copy", str(done)],
    ]
    return _run_passes(steps)


def _whole_target(folder: Path, seconds: int) -> list[dict]:
    """make video with title, fades and boomerang vs the old tool's pass-per-effect chain."""
    for sub in ("one-pass", "old-chain"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    frames, audio = _source(folder, seconds)
    effects = _effects(seconds)
    one_s, one_cpu, one_mb, _ = _one_pass(folder / "one-pass", frames, audio, lossless=False, effects=effects)
    chain_s, chain_cpu, chain_mb, upscaled, chain_steps = _old_chain(folder / "old-chain", frames, audio, lossless=False, merge=False)
    effect_s, effect_cpu, effect_mb, effect_steps = _old_effect_passes(folder / "old-chain", upscaled, audio, seconds)
    old_s, old_cpu = chain_s + effect_s, chain_cpu + effect_cpu
    label = f"{seconds} s {EDGE_PX}x{EDGE_PX} @{FPS} fps -> 1920x1080, title, fade in/out, {effects['boomerang_s']:g} s boomerang"
    return _comparison_rows(
        ("video target: compose + mux (one pass)", "video target: old pass-per-effect chain (baseline)"),
        label,
        seconds,
        one=Route(one_s, one_cpu, one_mb, 1),
        old=Route(old_s, old_cpu, max(chain_mb, effect_mb), len(chain_steps) + len(effect_steps), {"step_seconds": chain_steps + effect_steps}),
    )


@dataclass(frozen=True)
class Route:
    """One side of a comparison: wall and CPU seconds, peak RSS, encodes, and extra columns."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    encodes: int
    extra: dict = field(default_factory=dict)


def _comparison_rows(stages: tuple[str, str], label: str, clip_s: int, *, one: Route, old: Route) -> list[dict]:
    """The two table rows of a comparison; the first carries the speed-ups over the second."""

    def row(stage: str, route: Route) -> dict:
        return {
            "stage": stage,
            "input": label,
            "seconds": round(route.seconds, 2),
            "x_realtime": round(clip_s / route.seconds, 3),
            "peak_rss_mb": round(route.peak_rss_mb, 1),
            "encodes": route.encodes,
            **route.extra,
            "cpu_seconds": round(route.cpu_seconds, 2),
        }

    speedups = {"speedup_vs_old_chain": round(old.seconds / one.seconds, 2), "cpu_speedup_vs_old_chain": round(old.cpu_seconds / one.cpu_seconds, 2)}
    return [{**row(stages[0], one), **speedups}, row(stages[1], old)]


def run(out_dir: Path, quick: bool) -> list[dict]:
    """Time both routes on a 30 s clip (2 s when ``quick``) and measure their PSNR."""
    sys.path.insert(0, str(SCRIPTS))
    from dreamreel.core.ffmpeg_tools import find_ffmpeg, psnr_db

    seconds = 2 if quick else 30
    folder = Path(out_dir) / "video-bench"
    for sub in ("one-pass", "one-pass-ref", "old-chain", "old-chain-ref"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    frames, audio = _source(folder, seconds)
    tool = find_ffmpeg()

    one_s, one_cpu, one_mb, one_out = _one_pass(folder / "one-pass", frames, audio, lossless=False)
    *_, one_ref = _one_pass(folder / "one-pass-ref", frames, audio, lossless=True)
    old_s, old_cpu, old_mb, old_out, old_steps = _old_chain(folder / "old-chain", frames, audio, lossless=False)
    *_, old_ref, _ = _old_chain(folder / "old-chain-ref", frames, audio, lossless=True)

    one_psnr = psnr_db(tool, one_out, one_ref)
    old_psnr = psnr_db(tool, old_out, old_ref)
    label = f"{seconds} s {EDGE_PX}x{EDGE_PX} @{FPS} fps -> 1920x1080 (x264 crf {CRF} {PRESET})"
    whole_target = _whole_target(Path(out_dir) / "video-target-bench", 2 if quick else EFFECTS_CLIP_S)
    return [
        *_comparison_rows(
            ("video: compose + mux (one pass)", "video: old five-pass chain (baseline)"),
            label,
            seconds,
            one=Route(one_s, one_cpu, one_mb, 1, {"psnr_db": round(one_psnr, 2)}),
            old=Route(old_s, old_cpu, old_mb, 5, {"psnr_db": round(old_psnr, 2), "step_seconds": old_steps}),
        ),
        *whole_target,
    ]
