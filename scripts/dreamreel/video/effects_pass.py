"""Stream a lossless video through the effects: ffmpeg decodes, numpy/torch warp, ffmpeg encodes.

Frames travel in blocks of a few million pixels from a decoding ffmpeg's stdout, through
:func:`dreamreel.video.effects.apply_effects`, into an encoding ffmpeg's stdin, so memory
holds one block whatever the song's length. The output is FFV1 in Matroska, planar GBR,
``+bitexact``, like the GAN segments: lossless, so the compose stage's encode stays the
only lossy one, and the same frames give the same bytes. The input's container tags (the
GAN model's name among them) are copied, so the picture composed from the effects carries
the same metadata as one composed from the GAN frames.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from dreamreel.core import processes
from dreamreel.core.atomic import atomic_path
from dreamreel.core.errors import DreamreelError
from dreamreel.core.ffmpeg_tools import FFmpeg, FFmpegError, VideoInfo, probe_video, stderr_tail
from dreamreel.core.timing import fps_text
from dreamreel.video.effects import apply_effects

# Pixels per block: large enough that torch works on whole tensors (4 frames of 512 px),
# small enough that the float copies and sampling grids of a block stay near 100 MB.
BLOCK_PIXELS = 1_048_576
MAX_BLOCK_FRAMES = 32


def block_frames(width: int, height: int) -> int:
    """Frames per block for frames of ``width`` x ``height``: at least 1."""
    return max(1, min(MAX_BLOCK_FRAMES, BLOCK_PIXELS // (width * height)))


def decode_command(tool: FFmpeg, source: str | Path) -> list[str]:
    """argv of an ffmpeg that writes the frames of ``source`` to stdout as raw RGB24, one per input frame."""
    return [tool.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(source), "-map", "0:v:0",
            "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]


def encode_command(tool: FFmpeg, output: str | Path, *, info: VideoInfo, tags_from: str | Path) -> list[str]:
    """argv of an ffmpeg that reads raw RGB24 frames on stdin and writes lossless ``output``.

    The container tags are copied from ``tags_from`` (the input video).
    """
    return [
        tool.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{info.width}x{info.height}", "-framerate", fps_text(info.fps), "-i", "pipe:0",
        "-i", str(tags_from), "-map", "0:v", "-map_metadata", "1",
        "-c:v", "ffv1", "-level", "3", "-g", "1", "-slicecrc", "0", "-pix_fmt", "gbrp",
        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-f", "matroska", str(output),
    ]


def _read_exactly(stream, size: int) -> bytes:
    chunks = []
    left = size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def run_effects(source: str | Path, output: str | Path, entries: Sequence[Mapping], table: np.ndarray, *, tool: FFmpeg,
                info: VideoInfo | None = None) -> VideoInfo:
    """Write ``output``: every frame of ``source`` with the effects of ``table`` (E, N) applied.

    ``table[e, k]`` is entry e's value on frame k; N must be the video's frame count.
    Written atomically: a failure leaves no ``output``. Returns the input's probe.
    """
    info = info or probe_video(tool, source)
    table = np.asarray(table, dtype=np.float64)
    if table.shape != (len(entries), info.frames):
        raise AssertionError(f"effect table {table.shape} does not fit {len(entries)} entries x {info.frames} frames")
    frame_bytes = info.width * info.height * 3
    per_block = block_frames(info.width, info.height)
    with atomic_path(output) as temporary, tempfile.TemporaryFile() as decode_log, tempfile.TemporaryFile() as encode_log:
        # Both ffmpegs die with this stage (processes.spawn), so a killed pass leaves no
        # encoder finishing a temporary file nobody will rename.
        decoder = processes.spawn(decode_command(tool, source), stdout=subprocess.PIPE, stderr=decode_log)
        encoder = processes.spawn(encode_command(tool, temporary, info=info, tags_from=source), stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=encode_log)
        try:
            done = 0
            while True:
                data = _read_exactly(decoder.stdout, per_block * frame_bytes)
                if not data:
                    break
                if len(data) % frame_bytes:
                    raise DreamreelError(str(source), "ends in a partial frame", "rebuild it (make gan)")
                count = len(data) // frame_bytes
                if done + count > info.frames:
                    raise DreamreelError(str(source), f"decodes to more than the {info.frames} frames it declares", "rebuild it (make gan)")
                frames = np.frombuffer(data, dtype=np.uint8).reshape(count, info.height, info.width, 3)
                result = apply_effects(frames, table[:, done : done + count], entries, first_frame=done)
                try:
                    encoder.stdin.write(result.tobytes())
                except BrokenPipeError:
                    break  # the encoder failed; its message is read below
                done += count
            encoder.stdin.close()
            encoded, decoded = encoder.wait(), decoder.wait()
            for status, log, what in ((decoded, decode_log, "decoding"), (encoded, encode_log, "encoding")):
                if status != 0:
                    log.seek(0)
                    stderr = log.read().decode("utf-8", "replace")
                    processes.raise_if_stopped(status, stderr, signal_exit=processes.FFMPEG_SIGNAL_EXIT)
                    message = stderr_tail(stderr)
                    raise FFmpegError(str(output), f"ffmpeg failed {what} (exit {status}): {message}", f"check {source} and the free disk space")
            if done != info.frames:
                raise DreamreelError(str(source), f"decoded {done} frames, not the {info.frames} it declares", "rebuild it (make gan)")
        finally:
            for process in (decoder, encoder):
                if process.poll() is None:
                    process.kill()
                    process.wait()
            decoder.stdout.close()
    return info
