"""Tiny synthetic inputs for the video-stage tests: square videos, sine WAVs, params JSON."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
from conftest import sine
from dreamreel.core.params import validate_section


def asymmetric_frame(size: int, index: int) -> np.ndarray:
    """An RGB frame (size, size, 3) uint8 with no mirror symmetry: a horizontal ramp in red,
    a vertical ramp in green, a bright block in the upper-left quadrant that moves with
    ``index`` so that frames differ."""
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    frame = np.zeros((size, size, 3), np.uint8)
    frame[..., 0] = ramp[None, :].astype(np.uint8)
    frame[..., 1] = ramp[:, None].astype(np.uint8)
    frame[..., 2] = (index * 37) % 256
    block = max(2, size // 8)
    x = (index * 2) % max(1, size // 2 - block)
    frame[size // 8 : size // 8 + block, x : x + block] = 255
    return frame


def square_video(path: Path, *, size: int = 64, fps: Fraction = Fraction(30), frames: int = 30, model: str | None = "cppn", height: int | None = None) -> Path:
    """Write a lossless FFV1 .mkv of ``frames`` asymmetric frames at exactly ``fps``."""
    height = height or size
    argv = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size}x{height}", "-r", f"{fps.numerator}/{fps.denominator}", "-i", "-"]
    if model:
        argv += ["-metadata", f"model={model}"]
    argv += ["-c:v", "ffv1", "-pix_fmt", "bgr0", str(path)]
    data = b"".join(asymmetric_frame(max(size, height), k)[:height, :size].tobytes() for k in range(frames))
    subprocess.run(argv, input=data, check=True)
    return path


def sine_wav(path: Path, *, seconds: float, rate_hz: int = 48000, channels: int = 2) -> Path:
    """A quiet 440 Hz sine, ``channels`` x ``seconds`` at ``rate_hz``, 24-bit WAV."""
    import soundfile

    soundfile.write(str(path), sine(rate_hz, 440.0, seconds, channels, 0.3).T, rate_hz, subtype="PCM_24")
    return path


def section_json(path: Path, section, values: dict) -> Path:
    """Write a params section JSON with defaults filled in (what scripts/params.py would write)."""
    path.write_text(json.dumps(validate_section("test", section, values), indent=1))
    return path


def video_values(**overrides) -> dict:
    """Fast video params for tests: ultrafast x264, short fades, no title unless asked."""
    values = {"preset": "ultrafast", "fade_in_s": 0.0, "fade_out_s": 0.0}
    values.update(overrides)
    return values


def decode_luma(path: Path, *, width: int = 1920, height: int = 1080) -> np.ndarray:
    """The luma planes of all frames of ``path``, (frames, height, width) uint8, decoded
    as raw yuv420p so that no colour conversion touches the values."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"], capture_output=True, check=True).stdout
    frame_bytes = width * height * 3 // 2
    frames = np.frombuffer(raw, np.uint8).reshape(-1, frame_bytes)
    return frames[:, : width * height].reshape(-1, height, width)
