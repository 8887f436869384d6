"""Previews of a piece: a contact sheet of frames at musically significant moments, and
plots of the audio features and the latent motion over time.

features.npz holds one row per video frame (frame k is at k/fps s): ``onset`` (N,)
onset strength, ``rms`` (N,) loudness, ``chroma`` (N, 12) pitch classes, ``fps_num`` and
``fps_den``; optionally ``bands`` (N, B) band energies, ``beat_times_s`` and
``bar_times_s`` (seconds). latents.npz holds the latent arrays, frame axis first.

Moments are chosen from the features alone: the strongest onsets (peaks of the onset
envelope, kept apart from each other) and section changes (peaks of a novelty curve that
compares the mean chroma and loudness of the few seconds before and after each frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Mapping

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.core.ffmpeg_tools import FFmpeg, run_ffmpeg

REQUIRED_FEATURES = ("onset", "rms", "chroma", "fps_num", "fps_den")
META_KEYS = ("fps_num", "fps_den")


@dataclass(frozen=True)
class Features:
    """Per-frame features: ``onset`` (N,), ``rms`` (N,), ``chroma`` (N, 12), ``bands`` (N, B) or None;
    ``fps`` exact; ``beat_times_s`` and ``bar_times_s`` (seconds) or None."""

    onset: np.ndarray
    rms: np.ndarray
    chroma: np.ndarray
    bands: np.ndarray | None
    fps: Fraction
    beat_times_s: np.ndarray | None
    bar_times_s: np.ndarray | None

    @property
    def frames(self) -> int:
        return len(self.onset)

    def times_s(self) -> np.ndarray:
        """Time of each frame in seconds, (N,)."""
        return np.arange(self.frames) * float(1 / self.fps)


def _frame_axis_first(path: Path, key: str, array: np.ndarray, frames: int) -> np.ndarray:
    if array.ndim != 2:
        raise DreamreelError(f"{path}: {key}", f"expected a 2-D array (frames, bins), got shape {array.shape}", "rebuild features.npz with the analyze stage")
    if array.shape[0] == frames:
        return array
    if array.shape[1] == frames:
        return array.T
    raise DreamreelError(f"{path}: {key}", f"shape {array.shape} does not have {frames} frames like 'onset'", "rebuild features.npz with the analyze stage")


def load_features(path: str | Path) -> Features:
    """Read and check features.npz; a missing key or a wrong shape names the file and key."""
    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "file not found", "build it first (make gan)")
    with np.load(path) as data:
        missing = [key for key in REQUIRED_FEATURES if key not in data.files]
        if missing:
            raise DreamreelError(f"{path}: {missing[0]}", f"missing array (needs {', '.join(REQUIRED_FEATURES)}; has {', '.join(data.files) or 'nothing'})", "rebuild features.npz with the analyze stage")
        onset = np.asarray(data["onset"], np.float64).reshape(-1)
        frames = len(onset)
        if frames < 2:
            raise DreamreelError(f"{path}: onset", "has fewer than 2 frames", "analyze a longer piece")
        rms = np.asarray(data["rms"], np.float64).reshape(-1)
        if len(rms) != frames:
            raise DreamreelError(f"{path}: rms", f"has {len(rms)} frames, onset has {frames}", "rebuild features.npz with the analyze stage")
        chroma = _frame_axis_first(path, "chroma", np.asarray(data["chroma"], np.float64), frames)
        bands = _frame_axis_first(path, "bands", np.asarray(data["bands"], np.float64), frames) if "bands" in data.files else None
        fps_num, fps_den = int(data["fps_num"]), int(data["fps_den"])
        if fps_num <= 0 or fps_den <= 0:
            raise DreamreelError(f"{path}: fps_num", f"frame rate {fps_num}/{fps_den} is not positive", "rebuild features.npz with the analyze stage")
        beats = np.asarray(data["beat_times_s"], np.float64).reshape(-1) if "beat_times_s" in data.files else None
        bars = np.asarray(data["bar_times_s"], np.float64).reshape(-1) if "bar_times_s" in data.files else None
    return Features(onset, rms, chroma, bands, Fraction(fps_num, fps_den), beats, bars)


def peaks(curve: np.ndarray, *, count: int, min_distance: int) -> list[int]:
    """Indices of the ``count`` highest local maxima of ``curve`` (N,), at least ``min_distance`` apart.

    Greedy: take the highest remaining maximum, then drop its neighbours.
    """
    curve = np.asarray(curve, np.float64)
    if len(curve) < 3:
        return []
    interior = (curve[1:-1] >= curve[:-2]) & (curve[1:-1] > curve[2:])
    candidates = np.flatnonzero(interior) + 1
    chosen: list[int] = []
    for index in candidates[np.argsort(-curve[candidates], kind="stable")]:
        if len(chosen) >= count:
            break
        if all(abs(int(index) - other) >= min_distance for other in chosen):
            chosen.append(int(index))
    return sorted(chosen)


def novelty(features: Features, *, window_frames: int) -> np.ndarray:
    """Section-change curve (N,): how different the next ``window_frames`` are from the last ones.

    Compares the mean normalised chroma (cosine distance) and the mean loudness (relative
    difference) of the two windows; linear in N through cumulative sums.
    """
    chroma = features.chroma / (np.linalg.norm(features.chroma, axis=1, keepdims=True) + 1e-9)
    rms = features.rms / (features.rms.max() + 1e-12)
    stacked = np.concatenate([chroma, rms[:, None]], axis=1)
    cumulative = np.concatenate([np.zeros((1, stacked.shape[1])), np.cumsum(stacked, axis=0)])
    n = features.frames
    result = np.zeros(n)
    w = max(1, window_frames)
    for k in range(w, n - w):
        before = (cumulative[k] - cumulative[k - w]) / w
        after = (cumulative[k + w] - cumulative[k]) / w
        cb, ca = before[:12], after[:12]
        cosine = 1.0 - float(cb @ ca) / (np.linalg.norm(cb) * np.linalg.norm(ca) + 1e-9)
        loudness = abs(after[12] - before[12]) / (max(after[12], before[12]) + 1e-9)
        result[k] = cosine + 0.5 * loudness
    return result


@dataclass(frozen=True)
class Moment:
    frame: int
    time_s: float
    reason: str  # "section" or "onset"


def significant_moments(features: Features, *, count: int, section_window_s: float = 4.0, margin_s: float = 0.0) -> list[Moment]:
    """About a third section changes and the rest strongest onsets, in time order, no two
    closer than a fraction of the piece, none within ``margin_s`` of either end (where the
    picture fades). Falls short of ``count`` only for very short pieces."""
    fps = float(features.fps)
    n = features.frames
    margin = int(round(margin_s * fps))
    if 2 * margin >= n:
        margin = 0
    spacing = max(1, int(n / (count * 2)))
    window = max(1, min(int(section_window_s * fps), n // 4))
    sections = peaks(novelty(features, window_frames=window), count=max(1, count // 3), min_distance=max(spacing, window))

    def inside(k: int) -> bool:
        return margin <= k < n - margin

    moments = [Moment(k, k / fps, "section") for k in sections if inside(k)]
    onsets = [k for k in peaks(features.onset, count=n, min_distance=spacing) if inside(k)]
    ranked = sorted(onsets, key=lambda k: -features.onset[k])
    for k in ranked:
        if len(moments) >= count:
            break
        if all(abs(k - m.frame) >= spacing for m in moments):
            moments.append(Moment(k, k / fps, "onset"))
    return sorted(moments, key=lambda m: m.frame)


def clock(seconds: float) -> str:
    """``m:ss.ss``."""
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:05.2f}"


def grab_frame(tool: FFmpeg, video: str | Path, *, frame: int, fps: Fraction, width_px: int, height_px: int, scratch: Path) -> np.ndarray:
    """Frame ``frame`` of ``video`` scaled to ``width_px`` x ``height_px``, (H, W, 3) uint8 RGB.

    Seeks to a quarter frame before the frame's time: ffmpeg keeps the first frame at or
    after the seek point, and container timestamps may be rounded to milliseconds.
    """
    seek = max(0.0, (frame - 0.25) / float(fps))
    raw = scratch / f"frame-{frame}.rgb"
    run_ffmpeg(tool, ["-ss", f"{seek:.6f}", "-i", str(video), "-frames:v", "1", "-vf", f"scale={width_px}:{height_px}:flags=bicubic", "-f", "rawvideo", "-pix_fmt", "rgb24", str(raw)], where=str(video))
    data = np.frombuffer(raw.read_bytes(), np.uint8)
    if data.size != width_px * height_px * 3:
        raise DreamreelError(str(video), f"has no frame {frame} (t = {frame / float(fps):.3f} s)", "the features do not match this video: rebuild it")
    return data.reshape(height_px, width_px, 3)


def latent_motion(latents: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per key, the distance between consecutive frames' latents, (N,) with 0 first, scaled to a max of 1."""
    motion = {}
    for key, array in latents.items():
        if key in META_KEYS or array.ndim < 1 or array.shape[0] < 2 or not np.issubdtype(array.dtype, np.floating):
            continue
        flat = array.reshape(array.shape[0], -1).astype(np.float64)
        step = np.concatenate([[0.0], np.linalg.norm(np.diff(flat, axis=0), axis=1)])
        motion[key] = step / (step.max() + 1e-12)
    return motion
