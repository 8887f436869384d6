"""ffmpeg command lines for the GAN frames: lossless segments, their concat, and probing.

Segments are FFV1 (lossless, intra-only, so any cut between segments is clean) in
Matroska, RGB kept as planar GBR so nothing is lost to YUV conversion. ``+bitexact`` keeps
ffmpeg from writing its version and random UIDs, so the same frames give the same bytes:
that is what lets a resumed render be compared with an uninterrupted one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

from .errors import DreamreelError
from .timing import fps_text

# Part of every segment's cache key: change it when the encoding below changes.
ENCODER_SETTINGS = "ffv1-l3-g1-gbrp-mkv-bitexact"


def ffmpeg_binary(tool: str = "ffmpeg") -> str:
    """Path of ffmpeg or ffprobe, or a clear error."""
    path = shutil.which(tool)
    if path is None:
        raise DreamreelError(tool, "not found on PATH", "install ffmpeg (apt-get install ffmpeg, or conda install ffmpeg)")
    return path


def encode_segment_command(output: Path, *, size_px: int, fps: Fraction, out_size_px: int | None = None, threads: int = 1) -> list[str]:
    """argv of an ffmpeg that reads raw RGB24 frames of ``size_px`` on stdin and writes ``output``.

    ``out_size_px`` scales the frames (area averaging) when it differs from ``size_px``.
    """
    command = [
        ffmpeg_binary(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size_px}x{size_px}", "-framerate", fps_text(fps), "-i", "pipe:0",
    ]
    if out_size_px is not None and out_size_px != size_px:
        command += ["-vf", f"scale={out_size_px}:{out_size_px}:flags=area"]
    command += [
        "-c:v", "ffv1", "-level", "3", "-g", "1", "-slicecrc", "0", "-threads", str(threads), "-pix_fmt", "gbrp",
        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-f", "matroska", str(output),
    ]
    return command


def concat_command(list_file: Path, output: Path, *, metadata: dict[str, str]) -> list[str]:
    """argv of an ffmpeg that joins the segments named in ``list_file`` by stream copy."""
    command = [
        ffmpeg_binary(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", str(list_file), "-map", "0:v", "-c", "copy",
    ]
    for key, value in sorted(metadata.items()):
        command += ["-metadata", f"{key}={value}"]
    command += ["-fflags", "+bitexact", "-f", "matroska", str(output)]
    return command


def concat_list(paths: list[Path]) -> str:
    """The concat demuxer's list: one ``file '...'`` line per segment, quotes escaped."""
    lines = []
    for path in paths:
        escaped = str(path.resolve()).replace("'", "'\\''")
        lines.append(f"file '{escaped}'")
    return "\n".join(lines) + "\n"


def probe_video(path: str | Path, *, count_frames: bool = True) -> dict:
    """Frame count (decoded), exact frame rate, size and container tags of a video file."""
    command = [ffmpeg_binary("ffprobe"), "-v", "error", "-select_streams", "v:0"]
    if count_frames:
        command.append("-count_frames")
    command += ["-show_entries", "stream=width,height,r_frame_rate,avg_frame_rate,nb_read_frames,codec_name:format=duration:format_tags", "-of", "json", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DreamreelError(str(path), f"ffprobe cannot read it ({result.stderr.strip()[:200]})", "delete it and render again")
    data = json.loads(result.stdout)
    stream = data["streams"][0]
    return {
        "width": int(stream["width"]),
        "height": int(stream["height"]),
        "codec": stream.get("codec_name"),
        "fps": Fraction(stream["r_frame_rate"]),
        "avg_fps": Fraction(stream["avg_frame_rate"]) if stream.get("avg_frame_rate", "0/0") != "0/0" else None,
        "frames": int(stream["nb_read_frames"]) if count_frames else None,
        "duration_s": float(data.get("format", {}).get("duration", "nan")),
        "tags": {k.lower(): v for k, v in data.get("format", {}).get("tags", {}).items()},
    }
