"""The pan picture: each part's azimuth over time with bar lines, above the L/R level of its audio.

One row pair per part: the azimuth (wrapped to -180..180 degrees for reading, with the
directions named: back, left, front, right) with every barline drawn and numbered, and
under it, on the same time axis, the left and right level envelopes (RMS in 20 ms
windows, dB) of the rendered audio, so the movement can be checked against what was
rendered. Drawn with matplotlib's Agg backend, written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from dreamreel.core.atomic import atomic_path
from dreamreel.score.musical_time import MusicalClock

ENVELOPE_WINDOW_S = 0.02
FLOOR_DB = -60.0


@dataclass
class PartView:
    """What to draw for one part: its name, azimuth control (None: no automation) and audio."""

    name: str
    times_s: np.ndarray | None  # (K,) control times
    azimuth_deg: np.ndarray | None  # (K,) unwrapped azimuth
    audio: np.ndarray | None  # (2, N) float32 rendered audio
    sample_rate_hz: int
    mode: str = ""


def level_envelope_db(audio: np.ndarray, sample_rate_hz: int, *, window_s: float = ENVELOPE_WINDOW_S) -> tuple[np.ndarray, np.ndarray]:
    """RMS level in dBFS per channel in consecutive windows: (times (W,), levels (C, W))."""
    hop = max(1, int(round(window_s * sample_rate_hz)))
    count = audio.shape[-1] // hop
    frames = audio[:, : count * hop].reshape(audio.shape[0], count, hop).astype(np.float64)
    rms = np.sqrt(np.mean(frames * frames, axis=-1))
    times = (np.arange(count) + 0.5) * hop / sample_rate_hz
    return times, np.maximum(20.0 * np.log10(np.maximum(rms, 1e-12)), FLOOR_DB)


def _wrapped_with_breaks(times: np.ndarray, azimuth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth wrapped to [-180, 180), with NaN gaps where it wraps so no line crosses the plot."""
    wrapped = (azimuth + 180.0) % 360.0 - 180.0
    jumps = np.nonzero(np.abs(np.diff(wrapped)) > 180.0)[0] + 1
    return np.insert(times, jumps, np.nan), np.insert(wrapped, jumps, np.nan)


def draw_pan_picture(path: str | Path, parts: Sequence[PartView], clock: MusicalClock | None, *, title: str = "") -> None:
    """Write the picture of ``parts`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = len(parts)
    height = 3.4 * rows + 0.8
    figure, axes = plt.subplots(
        2 * rows, 1, figsize=(14, height), sharex=True, squeeze=False,
        gridspec_kw={"height_ratios": [3, 2] * rows, "hspace": 0.25},
    )
    figure.subplots_adjust(top=1 - 0.7 / height, bottom=0.5 / height)
    axes = axes[:, 0]
    bars = clock.bar_seconds() if clock is not None else np.array([])
    end = max((p.audio.shape[-1] / p.sample_rate_hz for p in parts if p.audio is not None), default=float(bars[-1]) if len(bars) else 1.0)
    for row, part in enumerate(parts):
        top, bottom = axes[2 * row], axes[2 * row + 1]
        for axis in (top, bottom):
            for second in bars:
                axis.axvline(second, color="0.85", linewidth=0.8, zorder=0)
        if clock is not None:
            step = max(1, len(bars) // 24)
            for index in range(0, len(bars) - 1, step):
                top.text(bars[index], 1.02, str(clock.first_bar + index), transform=top.get_xaxis_transform(),
                         fontsize=7, color="0.4", ha="left", va="bottom")
        if part.azimuth_deg is not None:
            times, azimuth = _wrapped_with_breaks(part.times_s, part.azimuth_deg)
            top.plot(times, azimuth, color="tab:purple", linewidth=1.4)
            label = f"{part.name} ({part.mode})" if part.mode else part.name
        else:
            top.axhline(0.0, color="tab:purple", linewidth=1.4)
            label = f"{part.name} (no pan automation)"
        top.set_ylim(-190, 190)
        top.set_yticks([-180, -90, 0, 90, 180], ["back", "left", "front", "right", "back"])
        top.set_ylabel("azimuth")
        top.text(0.005, 0.93, label, transform=top.transAxes, fontsize=10, fontweight="bold", ha="left", va="top",
                 bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5})
        top.grid(axis="y", color="0.92")
        if part.audio is not None:
            times, levels = level_envelope_db(part.audio, part.sample_rate_hz)
            bottom.plot(times, levels[0], color="tab:blue", linewidth=0.8, label="left")
            bottom.plot(times, levels[-1], color="tab:red", linewidth=0.8, label="right", alpha=0.85)
            peak = float(levels.max()) if levels.size else 0.0
            bottom.set_ylim(max(FLOOR_DB, peak - 45.0), peak + 3.0)
            bottom.legend(loc="upper right", fontsize=8, ncol=2, frameon=False)
        bottom.set_ylabel("L/R level dB")
    axes[-1].set_xlim(0.0, end)
    axes[-1].set_xlabel("time (s); grey lines are barlines, numbered above")
    if title:
        figure.suptitle(title, x=0.125, y=1 - 0.15 / height, ha="left", va="top", fontsize=12)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100, bbox_inches="tight", format="png")
    plt.close(figure)
