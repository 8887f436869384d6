"""ffmpeg command lines for the GAN frames: lossless segments and their concat.

Segments are FFV1 (lossless, intra-only, so any cut between segments is clean) in
Matroska, RGB kept as planar GBR so nothing is lost to YUV conversion. ``+bitexact`` keeps
ffmpeg from writing its version and random UIDs, so the same frames give the same bytes:
that is what lets a resumed render be compared with an uninterrupted one.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from dreamreel.core.timing import fps_text

# Part of every segment's cache key: change it when the encoding below changes.
ENCODER_SETTINGS = "ffv1-l3-g1-gbrp-mkv-bitexact"


def ffmpeg_binary(tool: str = "ffmpeg") -> str:
    """Path of ffmpeg or ffprobe: the same binary the video stage uses (FFMPEG overrides it)."""
    from dreamreel.core.ffmpeg_tools import find_ffmpeg

    found = find_ffmpeg()
    return found.ffprobe if tool == "ffprobe" else found.ffmpeg


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
