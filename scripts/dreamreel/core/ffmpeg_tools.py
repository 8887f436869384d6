"""Choose one ffmpeg, probe media with ffprobe, and run filter-graph scripts.

This module owns every ffmpeg/ffprobe invocation of the video stage: which binary runs
(the system ``ffmpeg`` unless ``FFMPEG`` names another), how that binary takes a
filter-graph script (Debian's ffmpeg 5.1 wants ``-filter_complex_script FILE``, ffmpeg 7+
``-/filter_complex FILE``), what a stream looks like (exact frame rate as a fraction), and
how a failure is reported (the last lines of ffmpeg's stderr, on one line).

Writing frames into ffmpeg through a pipe is not done here (the GAN renderer owns that).
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from dreamreel.core import processes
from dreamreel.core.atomic import target_of
from dreamreel.core.errors import DreamreelError
from dreamreel.core.processes import FFMPEG_SIGNAL_EXIT, raise_if_stopped

STDERR_TAIL_LINES = 4


class FFmpegError(DreamreelError):
    """ffmpeg or ffprobe exited with an error; the message carries the end of its stderr."""


@dataclass(frozen=True)
class FFmpeg:
    """One ffmpeg binary, the ffprobe beside it, and how it takes a filter-graph script."""

    ffmpeg: str
    ffprobe: str
    script_option: str  # "-filter_complex_script" or "-/filter_complex"

    def script_args(self, script: str | os.PathLike) -> list[str]:
        """The arguments that make this ffmpeg read its filter graph from ``script``."""
        return [self.script_option, str(script)]


def _resolve(name: str, where: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DreamreelError(where, f"{name!r} is not an executable on PATH", "install ffmpeg (apt-get install ffmpeg) or set FFMPEG=/path/to/ffmpeg")
    return path


def find_ffmpeg(override: str | None = None) -> FFmpeg:
    """Pick the ffmpeg to use: ``override``, else the ``FFMPEG`` environment variable, else ``ffmpeg``.

    ffprobe is taken from the same folder as the chosen ffmpeg when it is there (a static
    build usually ships both), else from PATH (``FFPROBE`` overrides it).
    """
    if override:
        name, where = override, "--ffmpeg"
    elif os.environ.get("FFMPEG"):
        name, where = os.environ["FFMPEG"], "environment: FFMPEG"
    else:
        name, where = "ffmpeg", "PATH"
    ffmpeg = _resolve(name, where)
    if os.environ.get("FFPROBE"):
        ffprobe = _resolve(os.environ["FFPROBE"], "environment: FFPROBE")
    else:
        sibling = Path(ffmpeg).with_name(Path(ffmpeg).name.replace("ffmpeg", "ffprobe"))
        ffprobe = str(sibling) if sibling != Path(ffmpeg) and os.access(sibling, os.X_OK) else _resolve("ffprobe", "PATH")
    return FFmpeg(ffmpeg, ffprobe, detect_script_option(ffmpeg))


@functools.lru_cache(maxsize=None)
def detect_script_option(ffmpeg: str) -> str:
    """Ask ``ffmpeg`` which spelling of "read the filter graph from a file" it accepts.

    Tries a one-frame graph from a file, first with ``-/filter_complex`` (ffmpeg 7 and
    later; the old option is deprecated there and gone from newer builds), then with
    ``-filter_complex_script`` (ffmpeg 5 and 6). The probe also passes ``-fps_mode``
    (ffmpeg 5.0 and later), which compose relies on. Version strings are not parsed:
    distro and git builds spell them in too many ways.
    """
    with tempfile.TemporaryDirectory(prefix="dreamreel-ffmpeg-") as folder:
        script = Path(folder) / "probe-graph.txt"
        script.write_text("nullsrc=size=16x16:duration=0.04,format=yuv420p[out]\n", encoding="utf-8")
        for option in ("-/filter_complex", "-filter_complex_script"):
            argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", option, str(script), "-map", "[out]", "-fps_mode", "passthrough", "-f", "null", "-"]
            result = processes.run(argv)
            if result.returncode == 0:
                return option
            # A probe killed by Ctrl-C says nothing about the options: stop, do not try the next.
            raise_if_stopped(result.returncode, result.stderr, signal_exit=FFMPEG_SIGNAL_EXIT)
    raise DreamreelError(ffmpeg, "takes neither -/filter_complex FILE nor -filter_complex_script FILE with -fps_mode", "use ffmpeg 5.0 or newer (set FFMPEG=/path/to/ffmpeg)")


@functools.lru_cache(maxsize=None)
def colour_names(ffmpeg: str) -> frozenset[str]:
    """The colour names ``ffmpeg`` knows (``ffmpeg -colors``: a header, then name and #RRGGBB).

    Asked once per process: the list belongs to the binary, and differs between builds only
    by the odd addition.
    """
    result = processes.run([ffmpeg, "-hide_banner", "-colors"])
    if result.returncode != 0:
        raise_if_stopped(result.returncode, result.stderr, signal_exit=FFMPEG_SIGNAL_EXIT)
        raise FFmpegError(ffmpeg, f"cannot list its colours: {stderr_tail(result.stderr)}", "check the ffmpeg build (set FFMPEG=/path/to/ffmpeg)")
    names = set()
    for line in result.stdout.splitlines()[1:]:
        words = line.split()
        if len(words) == 2 and words[1].startswith("#"):
            names.add(words[0])
    return frozenset(names)


def stderr_tail(stderr: str, lines: int = STDERR_TAIL_LINES) -> str:
    """The last non-empty lines of a tool's stderr, joined into one line."""
    kept = [line.strip() for line in stderr.splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) or "(no message)"


# ffmpeg reports a refused write as "<what> <file>: <strerror>"; the errno is not in its status.
_REFUSED = {os.strerror(code): code for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES)}
_PART_FILE = re.compile(r"\S*\.part(?:\.\w+)?")


def _refused_file(line: str, reason: str, where: str) -> str:
    """The file a refused-write line is about, as the user knows it."""
    head = line.rsplit(f": {reason}", 1)[0].strip()
    for token in _PART_FILE.findall(head):
        target = target_of(token)
        if target is not None:
            return str(target)  # our temporary: name the output it stands for
    if head and Path(head).exists():
        return head  # an input ffmpeg may not read
    return where


def check_ffmpeg_result(returncode: int, stderr: str, *, where: str, fix: str) -> None:
    """Raise what a finished ffmpeg run means, or nothing if it succeeded.

    - Stopped by Ctrl-C or ``kill`` (a signal, or ffmpeg's silent exit 255):
      :class:`~dreamreel.core.errors.Interrupted`.
    - A write the disk refused (no space, read-only, no permission): an :class:`OSError`
      with that errno naming the file, even when ffmpeg exits 0 — ffmpeg 5.1 reports
      "Error writing trailer ...: No space left on device" and still exits 0, leaving a
      truncated file behind.
    - Any other failure: :class:`FFmpegError` naming ``where`` with the end of stderr and ``fix``.
    """
    raise_if_stopped(returncode, stderr, signal_exit=FFMPEG_SIGNAL_EXIT)
    for line in stderr.splitlines():
        for reason, code in _REFUSED.items():
            if reason in line:
                raise OSError(code, reason, _refused_file(line, reason, where))
    if returncode != 0:
        raise FFmpegError(where, f"ffmpeg failed (exit {returncode}): {stderr_tail(stderr)}", fix)


def run_ffmpeg(tool: FFmpeg, args: Sequence[str], *, where: str, fix: str = "ffmpeg's message says what it could not do") -> None:
    """Run ffmpeg with ``args`` (after the binary and the usual quiet flags).

    Failures are raised as :func:`check_ffmpeg_result` describes: an interrupt, a refused
    write, or an :class:`FFmpegError` naming ``where`` (the output or input at stake) with
    the last lines of ffmpeg's stderr and ``fix``.
    """
    argv = [tool.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    result = processes.run(argv)
    check_ffmpeg_result(result.returncode, result.stderr, where=where, fix=fix)


def psnr_db(tool: FFmpeg, distorted: str | os.PathLike, reference: str | os.PathLike) -> float:
    """Average PSNR (dB, all planes) of ``distorted`` against ``reference`` (same size and frame count)."""
    argv = [tool.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "info", "-i", str(distorted), "-i", str(reference), "-lavfi", "[0:v][1:v]psnr", "-f", "null", "-"]
    result = processes.run(argv)
    if result.returncode != 0:
        raise_if_stopped(result.returncode, result.stderr)
        raise FFmpegError(str(distorted), f"PSNR against {reference} failed: {stderr_tail(result.stderr)}", "are both videos the same size?")
    for line in reversed(result.stderr.splitlines()):
        if "PSNR" in line and "average:" in line:
            value = line.split("average:")[1].split()[0]
            return float("inf") if value == "inf" else float(value)
    raise FFmpegError(str(distorted), "ffmpeg printed no PSNR summary", "check the ffmpeg build's psnr filter")


@dataclass(frozen=True)
class VideoInfo:
    """What the video stage needs to know about a file's first video stream.

    ``fps`` is exact (``Fraction(30000, 1001)``), ``duration_s`` is the stream's (or else
    the container's) duration in seconds, ``frames`` counts the stream's packets.
    ``tags`` are the container's metadata tags with lower-case keys.
    """

    path: str
    width: int
    height: int
    pix_fmt: str
    codec: str
    fps: Fraction
    duration_s: float
    frames: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AudioInfo:
    """A file's first audio stream: sample rate in Hz, channel count, duration in seconds."""

    path: str
    codec: str
    sample_rate_hz: int
    channels: int
    duration_s: float
    samples: int | None


def ffprobe_json(tool: FFmpeg, path: str | os.PathLike, *extra: str) -> dict:
    """ffprobe's JSON description of ``path`` (format and streams)."""
    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "file not found", "build it first (make) or check the path")
    argv = [tool.ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", *extra, str(path)]
    result = processes.run(argv)
    if result.returncode != 0:
        raise_if_stopped(result.returncode, result.stderr)
        raise FFmpegError(str(path), f"ffprobe cannot read it: {stderr_tail(result.stderr)}", "is it a complete media file? rebuild it")
    return json.loads(result.stdout)


def media_title(path: str | os.PathLike, *, tool: FFmpeg | None = None) -> str | None:
    """The title tag of a media file (a song's ID3, Vorbis or MP4 title), or None."""
    try:
        tool = tool or find_ffmpeg()
        description = ffprobe_json(tool, path)
    except DreamreelError:
        return None  # no title: the caller falls back to the file name; decoding errors come later, with context
    tags = {key.lower(): value for key, value in description.get("format", {}).get("tags", {}).items()}
    title = " ".join(str(tags.get("title", "")).split())
    return title or None


def _fraction(text: str | None) -> Fraction | None:
    if not text or text in ("0/0", "N/A"):
        return None
    value = Fraction(text)
    return value if value > 0 else None


def _float(text: str | None) -> float | None:
    if text is None or text == "N/A":
        return None
    return float(text)


def probe_video(tool: FFmpeg, path: str | os.PathLike) -> VideoInfo:
    """Probe the first video stream of ``path``; a file without one is a user error."""
    data = ffprobe_json(tool, path, "-count_packets", "-select_streams", "v:0")
    streams = data.get("streams") or []
    if not streams:
        raise DreamreelError(str(path), "has no video stream", "pass the square GAN video (build/gan/frames.mkv)")
    stream = streams[0]
    fps = _fraction(stream.get("r_frame_rate")) or _fraction(stream.get("avg_frame_rate"))
    if fps is None:
        raise DreamreelError(str(path), "has no frame rate", "write it with a constant frame rate (-r NUM/DEN)")
    form = data.get("format") or {}
    duration = _float(stream.get("duration")) or _float(form.get("duration"))
    frames = int(stream.get("nb_read_packets") or stream.get("nb_frames") or 0)
    if duration is None:
        duration = frames / fps if frames else 0.0
    tags = {str(key).lower(): str(value) for key, value in (form.get("tags") or {}).items()}
    return VideoInfo(
        path=str(path),
        width=int(stream["width"]),
        height=int(stream["height"]),
        pix_fmt=str(stream.get("pix_fmt", "")),
        codec=str(stream.get("codec_name", "")),
        fps=fps,
        duration_s=float(duration),
        frames=frames,
        tags=tags,
    )


def probe_audio(tool: FFmpeg, path: str | os.PathLike) -> AudioInfo:
    """Probe the first audio stream of ``path``; a file without one is a user error."""
    data = ffprobe_json(tool, path, "-select_streams", "a:0")
    streams = data.get("streams") or []
    if not streams:
        raise DreamreelError(str(path), "has no audio stream", "pass the master mix (build/mix/master.wav)")
    stream = streams[0]
    form = data.get("format") or {}
    duration = _float(stream.get("duration")) or _float(form.get("duration")) or 0.0
    samples = stream.get("duration_ts") if stream.get("time_base") == f"1/{stream.get('sample_rate')}" else None
    return AudioInfo(
        path=str(path),
        codec=str(stream.get("codec_name", "")),
        sample_rate_hz=int(stream["sample_rate"]),
        channels=int(stream["channels"]),
        duration_s=float(duration),
        samples=int(samples) if samples is not None else None,
    )
