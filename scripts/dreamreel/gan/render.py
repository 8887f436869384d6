"""Render the latent walk into content-addressed, losslessly encoded video segments.

The walk is cut into segments of ``gan.segment_s`` seconds at fixed frame positions. Each
segment is named by a hash of everything that decides its bytes: the latent slice the
model reads, the model's identity (name, weights hash, precision), the frame size, the
frame rate, the encoder settings and :data:`RENDERER_VERSION`. A segment whose file
exists is done. So an interrupted render resumes where it stopped, and a change that
moves only the end of the walk re-renders only the segments it touches.

Frames never pile up: the model renders one batch at a time, a writer thread pipes it
into the segment's ffmpeg while the model computes the next batch, and the queue between
them holds at most a couple of batches. Each segment is written under a temporary name
and renamed when ffmpeg has finished it, so a killed render leaves no segment that looks
complete. Batches start at segment boundaries, so a segment gets the same batches, and
the same bytes, whether it is rendered in a full run or in a resumed one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from dreamreel.core import processes
from dreamreel.core.atomic import remove_stale_temporaries, temporary_sibling
from dreamreel.core.errors import DreamreelError
from dreamreel.core.ffmpeg_tools import check_ffmpeg_result
from dreamreel.gan import ffmpeg

# Part of every segment's cache key: bump when the renderer changes what it writes.
RENDERER_VERSION = "1"
# Batches waiting for the writer: enough to overlap encoding with inference, no more.
QUEUE_BATCHES = 2


@dataclass(frozen=True)
class Segment:
    """Output frames [start, stop) and the file that holds them."""

    start: int
    stop: int
    key: str
    path: Path

    @property
    def frames(self) -> int:
        return self.stop - self.start


def plan_segments(n_frames: int, frames_per_segment: int) -> list[tuple[int, int]]:
    """Cut [0, n_frames) into runs of ``frames_per_segment`` (the last may be shorter)."""
    if n_frames <= 0:
        return []
    step = max(1, int(frames_per_segment))
    return [(start, min(start + step, n_frames)) for start in range(0, n_frames, step)]


def segment_key(slices: dict[str, np.ndarray], *, identity: str, size_px: int, out_size_px: int, fps: Fraction) -> str:
    """sha256 of everything that decides a segment's bytes."""
    digest = hashlib.sha256()
    header = {
        "renderer": RENDERER_VERSION,
        "encoder": ffmpeg.ENCODER_SETTINGS,
        "model": identity,
        "size_px": int(size_px),
        "out_size_px": int(out_size_px),
        "fps": [fps.numerator, fps.denominator],
        "arrays": {name: [array.dtype.str, list(array.shape)] for name, array in sorted(slices.items())},
    }
    digest.update(json.dumps(header, sort_keys=True).encode("utf-8"))
    for name in sorted(slices):
        digest.update(np.ascontiguousarray(slices[name]).tobytes())
    return digest.hexdigest()


class Progress:
    """A progress line on stderr: frames done, frames/s of the frames rendered, ETA.

    On a terminal it redraws one line; in a log (make, CI) it prints a line every 10 s.
    """

    def __init__(self, total: int, to_render: int, *, label: str, stream=None):
        self.total = total
        self.to_render = to_render
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = 0
        self.rendered = 0
        self.started = time.monotonic()
        self.last_print = 0.0

    def advance(self, frames: int, *, rendered: bool) -> None:
        self.done += frames
        if rendered:
            self.rendered += frames
        now = time.monotonic()
        if now - self.last_print >= (0.5 if self.tty else 10.0) or self.done >= self.total:
            self.last_print = now
            self._print(now)

    def _print(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.rendered / elapsed
        left = self.to_render - self.rendered
        eta = left / rate if rate > 0 else float("nan")
        eta_text = "--:--" if not np.isfinite(eta) else f"{int(eta) // 60:02d}:{int(eta) % 60:02d}"
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        line = f"{self.label} [{bar}] {self.done}/{self.total} frames  {rate:5.2f} frames/s  ETA {eta_text}"
        if self.tty:
            self.stream.write("\r" + line + ("\n" if self.done >= self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


class _SegmentWriter(threading.Thread):
    """Pipes batches into one ffmpeg per segment; runs beside the model so both keep busy."""

    def __init__(self, *, size_px: int, out_size_px: int, fps: Fraction):
        super().__init__(name="segment-writer", daemon=True)
        self.size_px = size_px
        self.out_size_px = out_size_px
        self.fps = fps
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
        self.error: BaseException | None = None
        self.process: subprocess.Popen | None = None
        self.temporary: Path | None = None
        self.finished: list[Path] = []

    def run(self) -> None:
        target: Path | None = None
        log = None
        try:
            while True:
                item = self.queue.get()
                if item is None:
                    return
                kind, payload = item
                if kind == "open":
                    target = payload
                    self.temporary = temporary_sibling(target, suffix=".mkv")
                    log = tempfile.TemporaryFile()
                    command = ffmpeg.encode_segment_command(self.temporary, size_px=self.size_px, fps=self.fps, out_size_px=self.out_size_px)
                    # This thread outlives its ffmpeg (it waits for it on "close"), which
                    # is what PR_SET_PDEATHSIG needs: see dreamreel.core.processes.
                    self.process = processes.spawn(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
                elif kind == "frames":
                    try:
                        self.process.stdin.write(payload)
                    except BrokenPipeError:
                        # ffmpeg is gone: what it died of (Ctrl-C, a full disk, an error)
                        # is the news, not the pipe.
                        self._raise_failure(target, log)
                        raise
                elif kind == "close":
                    try:
                        self.process.stdin.close()
                    except BrokenPipeError:
                        pass  # the status below says why ffmpeg stopped reading
                    self._raise_failure(target, log)
                    os.replace(self.temporary, target)
                    self.finished.append(target)
                    self.process, self.temporary = None, None
                    log.close()
        except BaseException as error:  # noqa: BLE001 - handed to the main thread, which re-raises it
            self.error = error
            self._discard()
            # Keep consuming so the producer never blocks on a full queue.
            while self.queue.get() is not None:
                pass

    def _raise_failure(self, target: Path, log) -> None:
        """Wait for the segment's ffmpeg; raise what it means if it did not finish cleanly."""
        status = self.process.wait()
        log.seek(0)
        message = log.read().decode("utf-8", "replace")
        check_ffmpeg_result(status, message, where=str(target), fix="ffmpeg's message says what it could not do; render again (make gan)")

    def _discard(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            # Closed here, quietly: left to the garbage collector, a pipe to a dead ffmpeg
            # would print "Exception ignored ... BrokenPipeError" at exit.
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            self.process = None
        if self.temporary is not None:
            self.temporary.unlink(missing_ok=True)
            self.temporary = None

    def put(self, item) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(item)

    def abort(self) -> None:
        """Stop at once: kill ffmpeg, drop the unfinished segment."""
        process = self.process  # read once: the writer thread may be clearing it
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
        self.queue.put(None)
        self.join()
        self._discard()


def prune_segments(segments_dir: str | Path, manifests: list[Path], *, limit_mb: int | None) -> tuple[int, int]:
    """Delete cached segments that none of ``manifests`` lists, least recently used first,
    until the folder holds at most ``limit_mb``; return (segments deleted, bytes freed).

    Segments a manifest lists are never deleted, so every built video can be joined again.
    """
    if limit_mb is None:
        return 0, 0
    segments_dir = Path(segments_dir)
    listed: set[Path] = set()
    for manifest in manifests:
        if manifest.is_file():
            try:
                listed.update(_parse_manifest(manifest)[1])
            except (ValueError, KeyError, TypeError):
                continue  # a damaged manifest is rebuilt by its own render; it protects nothing
    files = [(path.stat(), path) for path in segments_dir.glob("*.mkv") if not path.name.startswith(".")]
    total = sum(stat.st_size for stat, _ in files)
    limit = limit_mb * 1024 * 1024
    deleted = freed = 0
    for stat, path in sorted(files, key=lambda item: item[0].st_atime):
        if total <= limit:
            break
        if path.resolve() in listed:
            continue
        path.unlink(missing_ok=True)
        total -= stat.st_size
        deleted, freed = deleted + 1, freed + stat.st_size
    return deleted, freed


def auto_batch_size(device: str, size_px: int) -> int:
    """A batch that keeps the cores busy without large activations: see gan.batch_size."""
    if device == "cuda":
        return 16
    return 8 if size_px <= 256 else 4


@dataclass(frozen=True)
class RenderPlan:
    """Every segment of one render, in order, and how to read each one's latents.

    Built from the model's description alone (identity, size, the arrays it reads), so a
    driver that hands the rendering to other machines never loads the model itself.
    """

    segments: list[Segment]
    latents: dict
    latent_keys: tuple[str, ...]
    indices: np.ndarray
    frame_stride: int
    per_segment: int
    size_px: int
    out_size_px: int
    fps: Fraction

    @property
    def n_frames(self) -> int:
        return len(self.indices)

    def slices(self, segment: Segment) -> dict[str, np.ndarray]:
        """The latents of ``segment``'s frames (read from the walk now, not kept)."""
        first, last = int(self.indices[segment.start]), int(self.indices[segment.stop - 1]) + 1
        return {key: np.asarray(self.latents[key][first:last:self.frame_stride]) for key in self.latent_keys}

    def missing(self) -> list[Segment]:
        """The segments whose file is not in the cache; those found are marked as used."""
        todo = []
        for segment in self.segments:
            try:
                stat = segment.path.stat()
            except FileNotFoundError:
                todo.append(segment)
                continue
            # Its access time records the last use (the cache keeps recently used segments
            # longest); the modification time stays the time it was rendered.
            os.utime(segment.path, ns=(time.time_ns(), stat.st_mtime_ns))
        return todo


def plan_render(
    latents: dict[str, np.ndarray],
    segments_dir: str | Path,
    *,
    name: str,
    identity: str,
    size_px: int,
    latent_keys: tuple[str, ...],
    fps: Fraction,
    out_size_px: int | None = None,
    frame_stride: int = 1,
    segment_s: float = 4.0,
    where: str = "latents.npz",
) -> RenderPlan:
    """Cut the walk into segments and name each by its cache key (see the module doc).

    ``name``, ``identity``, ``size_px`` and ``latent_keys`` describe the model (see
    :class:`dreamreel.gan.models.base.FrameModel`).
    """
    segments_dir = Path(segments_dir)
    out_size = int(out_size_px or size_px)
    missing_keys = [key for key in latent_keys if key not in latents]
    if missing_keys:
        raise DreamreelError(where, f"has no {', '.join(missing_keys)} array, which model {name} reads", "rebuild the latents for this model")
    n_walk = int(np.asarray(latents[latent_keys[0]]).shape[0])
    indices = np.arange(0, n_walk, frame_stride)
    per_segment = max(1, round(segment_s * float(fps)))
    plan = RenderPlan([], latents, tuple(latent_keys), indices, frame_stride, per_segment, int(size_px), out_size, fps)
    for start, stop in plan_segments(len(indices), per_segment):
        first = Segment(start, stop, "", segments_dir)
        key = segment_key(plan.slices(first), identity=identity, size_px=size_px, out_size_px=out_size, fps=fps)
        plan.segments.append(Segment(start, stop, key, segments_dir / f"{key}.mkv"))
    return plan


def shard_of(segments: list[Segment], shard: tuple[int, int]) -> list[Segment]:
    """Share ``k`` of ``n`` (1-based) of ``segments``: a run of consecutive ones, the runs as
    even as they can be, so ``n`` machines split a render without talking to each other."""
    k, n = shard
    count = len(segments)
    return segments[(k - 1) * count // n : k * count // n]


def write_segments(model, plan: RenderPlan, segments: list[Segment], *, batch_size: int, progress: Progress | None = None) -> None:
    """Render ``segments`` of ``plan`` with ``model``, each into its file, atomically.

    A segment whose file another render finished meanwhile is rendered again and renamed
    over it: the bytes are the same, and a rename never shows a half-written file.
    """
    writer = _SegmentWriter(size_px=model.size_px, out_size_px=plan.out_size_px, fps=plan.fps)
    writer.start()
    try:
        for segment in segments:
            segment.path.parent.mkdir(parents=True, exist_ok=True)
            writer.put(("open", segment.path))
            arrays = plan.slices(segment)
            for offset in range(0, segment.frames, batch_size):
                batch = {key: value[offset : offset + batch_size] for key, value in arrays.items()}
                frames = model.render(batch)
                expected = (len(next(iter(batch.values()))), model.size_px, model.size_px, 3)
                if frames.shape != expected or frames.dtype != np.uint8:
                    raise AssertionError(f"{model.name} returned {frames.shape} {frames.dtype}, expected {expected} uint8")
                writer.put(("frames", frames.tobytes()))
                if progress is not None:
                    progress.advance(len(frames), rendered=True)
            writer.put(("close", None))
        writer.put(None)
        writer.join()
        if writer.error is not None:
            raise writer.error
    except BaseException:
        writer.abort()
        raise


def announce_plan(plan: RenderPlan, segments: list[Segment], todo: list[Segment], *, label: str, identity: str, stream=None) -> None:
    """One line: how many ``segments`` (of ``plan``), how many of them cached, and what renders the rest."""
    print(f"{label}: {len(segments)} segments of up to {plan.per_segment} frames; {len(segments) - len(todo)} cached, {len(todo)} to render ({identity}, {plan.out_size_px} px)", file=stream or sys.stderr)


def render_segments(
    latents: dict[str, np.ndarray],
    model,
    segments_dir: str | Path,
    *,
    fps: Fraction,
    out_size_px: int | None = None,
    frame_stride: int = 1,
    segment_s: float = 4.0,
    batch_size: int = 8,
    label: str = "render",
    progress_stream=None,
    where: str = "latents.npz",
    shard: tuple[int, int] | None = None,
) -> list[Segment]:
    """Render every missing segment (of share ``shard``, if given); return all segments in order.

    Parameters
    ----------
    latents : dict of str to ndarray
        The walk (arrays may be memory-mapped), frame axis first, at ``fps`` × ``frame_stride``.
    model : FrameModel
        What draws the frames.
    segments_dir : path
        Folder of the content-addressed segments (created if needed).
    fps : Fraction
        Output frame rate (the walk's rate divided by ``frame_stride``).
    out_size_px : int, optional
        Frame edge in the files; frames are scaled when it differs from ``model.size_px``.
    frame_stride : int
        Use every n-th frame of the walk (the draft).
    segment_s : float
        Segment length in seconds.
    batch_size : int
        Frames per ``model.render`` call.
    shard : (k, n), optional
        Render only share k of n (1-based, see :func:`shard_of`): one task of a job array.
    """
    segments_dir = Path(segments_dir)
    segments_dir.mkdir(parents=True, exist_ok=True)
    # Segments half-written by renders that were killed (whatever their key).
    remove_stale_temporaries(segments_dir)
    plan = plan_render(latents, segments_dir, name=model.name, identity=model.identity, size_px=model.size_px, latent_keys=model.latent_keys,
                       fps=fps, out_size_px=out_size_px, frame_stride=frame_stride, segment_s=segment_s, where=where)
    mine = plan.segments if shard is None else shard_of(plan.segments, shard)
    todo = sorted(set(plan.missing()) & set(mine), key=lambda segment: segment.start)
    progress = Progress(sum(s.frames for s in mine), sum(s.frames for s in todo), label=label, stream=progress_stream)
    announce_plan(plan, mine, todo, label=label if shard is None else f"{label} share {shard[0]}/{shard[1]}", identity=model.identity, stream=progress_stream)
    progress.advance(sum(s.frames for s in mine) - sum(s.frames for s in todo), rendered=False)
    write_segments(model, plan, todo, batch_size=batch_size, progress=progress)
    return plan.segments


def write_manifest(target: str | Path, segments: list[Segment], *, fps: Fraction, size_px: int, choice_metadata: dict[str, str], n_frames: int) -> dict:
    """Record the segments of one render (in order) for the concat step; written atomically.

    Paths are relative to the manifest's folder, so the build tree can move.
    """
    from dreamreel.core.atomic import write_bytes_atomic

    target = Path(target)
    base = target.parent.resolve()
    manifest = {
        "fps_num": fps.numerator,
        "fps_den": fps.denominator,
        "size_px": int(size_px),
        "n_frames": int(n_frames),
        "renderer_version": RENDERER_VERSION,
        "metadata": dict(sorted(choice_metadata.items())),
        "segments": [
            {"file": os.path.relpath(segment.path.resolve(), base), "start": segment.start, "frames": segment.frames}
            for segment in segments
        ],
    }
    write_bytes_atomic(target, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return manifest


def _parse_manifest(path: Path) -> tuple[dict, list[Path]]:
    """A manifest and the absolute paths of the segments it lists (which may not exist)."""
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return manifest, [(path.parent / entry["file"]).resolve() for entry in manifest["segments"]]


def read_manifest(path: str | Path) -> tuple[dict, list[Path]]:
    """The manifest and its segment files (absolute); every file must exist."""
    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "segment manifest not found", "render the frames first (scripts/render_frames.py)")
    try:
        manifest, files = _parse_manifest(path)
    except (ValueError, KeyError, TypeError) as error:
        raise DreamreelError(str(path), f"not a segment manifest ({error})", "delete it and render again") from None
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise DreamreelError(str(path), f"{len(missing)} segment(s) missing, e.g. {missing[0]}", f"delete {path.name} and render again (make gan); only the missing segments are redone")
    if not files:
        raise DreamreelError(str(path), "lists no segments", "render the frames again")
    return manifest, files


def concat_segments(manifest_path: str | Path, output: str | Path) -> dict:
    """Join a render's segments into one lossless video by stream copy; written atomically."""
    from dreamreel.core.atomic import atomic_path, write_bytes_atomic

    manifest, files = read_manifest(manifest_path)
    output = Path(output)
    with tempfile.TemporaryDirectory(prefix="dreamreel-concat-") as scratch:
        list_file = Path(scratch) / "segments.txt"
        write_bytes_atomic(list_file, ffmpeg.concat_list(files).encode("utf-8"))
        metadata = dict(manifest.get("metadata", {}))
        metadata["dreamreel_fps"] = f"{manifest['fps_num']}/{manifest['fps_den']}"
        with atomic_path(output) as temporary:
            result = processes.run(ffmpeg.concat_command(list_file, temporary, metadata=metadata))
            check_ffmpeg_result(result.returncode, result.stderr, where=str(output), fix=f"check the segments {manifest_path} lists; delete it and render again (make gan) if they are damaged")
    return manifest
