"""Draw the two preview PNGs with matplotlib (Agg): the contact sheet and the feature plots."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from dreamreel.core.atomic import atomic_path
from dreamreel.preview.moments import Features, Moment, clock

BACKGROUND = "#111318"
FOREGROUND = "#e8e8ea"
MUTED = "#8a8f98"
ACCENT = {"onset": "#ffb347", "section": "#6fd3ff"}
DPI = 100


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "figure.facecolor": BACKGROUND,
            "axes.facecolor": BACKGROUND,
            "savefig.facecolor": BACKGROUND,
            "text.color": FOREGROUND,
            "axes.labelcolor": FOREGROUND,
            "axes.edgecolor": MUTED,
            "xtick.color": MUTED,
            "ytick.color": MUTED,
            "font.size": 11,
        }
    )
    return plt


def _time_axis(ax, duration_s: float) -> None:
    ax.set_xlim(0, duration_s)
    ticks = ax.get_xticks()
    ax.set_xticks([t for t in ticks if 0 <= t <= duration_s])
    ax.set_xticklabels([clock(t)[:-3] if duration_s > 60 else f"{t:g}" for t in ax.get_xticks()])


def _bar_lines(axes: Sequence, features: Features) -> None:
    if features.bar_times_s is not None:
        for ax in axes:
            for t in features.bar_times_s:
                ax.axvline(t, color=FOREGROUND, alpha=0.25, linewidth=0.8, zorder=0)


def save_figure(fig, target: str | Path) -> None:
    """Write ``fig`` as PNG atomically, then release it."""
    plt = _pyplot()
    with atomic_path(target) as temporary:
        fig.savefig(temporary, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)


EFFECT_PALETTE = ["#ffb347", "#6fd3ff", "#ff6f91", "#b4f06f", "#c99bff", "#f6e27f"]


def _effect_names(effects: Mapping[str, np.ndarray], frame: int) -> str:
    """The effects on at ``frame`` with their values: ``swirl 0.62, hue 0.1``."""
    parts = []
    for label, curve in effects.items():
        value = float(curve[frame]) if frame < len(curve) else 0.0
        if value != 0.0:
            # Labels read "<n>: <effect> <amount> by <signal>": the effect's name is the second word.
            parts.append(f"{label.split()[1]} {value:.2g}")
    return ", ".join(parts)


def contact_sheet(moments: Sequence[Moment], thumbnails: Sequence[np.ndarray], features: Features, target: str | Path, *, title: str, columns: int = 4,
                  effects: Mapping[str, np.ndarray] | None = None) -> None:
    """A timeline of loudness and onsets with the chosen moments marked, above a grid of
    their frames, each labelled with its number, time and why it was chosen.

    ``thumbnails`` are (H, W, 3) uint8 RGB, one per moment. With ``effects`` (label ->
    value per frame) the timeline also draws each effect (to its own peak) and each frame's
    label names the effects on in it, with their values.
    """
    plt = _pyplot()
    rows = max(1, math.ceil(len(moments) / columns))
    thumb_h, thumb_w = thumbnails[0].shape[:2] if thumbnails else (270, 480)
    cell_w = 4.0
    cell_h = cell_w * thumb_h / thumb_w + (0.7 if effects else 0.45)  # a second title line names the effects
    timeline_h = 1.6
    fig = plt.figure(figsize=(cell_w * columns, timeline_h + 1.2 + cell_h * rows))
    grid = fig.add_gridspec(rows + 1, columns, height_ratios=[timeline_h] + [cell_h] * rows, hspace=0.25, wspace=0.04, left=0.03, right=0.99, top=1 - 0.95 / fig.get_figheight(), bottom=0.02)
    fig.suptitle(title, color=FOREGROUND, fontsize=16, fontweight="bold", x=0.03, ha="left")

    times = features.times_s()
    duration = float(features.frames / features.fps)
    timeline = fig.add_subplot(grid[0, :])
    rms = features.rms / (features.rms.max() + 1e-12)
    onset = features.onset / (features.onset.max() + 1e-12)
    timeline.fill_between(times, 0, rms, color=MUTED, alpha=0.45, linewidth=0, label="loudness (RMS)")
    timeline.plot(times, onset, color=ACCENT["onset"], linewidth=0.7, alpha=0.9, label="onset strength")
    for number, (label, curve) in enumerate((effects or {}).items()):
        peak = float(np.max(np.abs(curve))) or 1.0
        timeline.plot(times[: len(curve)], np.abs(np.asarray(curve)) / peak, color=EFFECT_PALETTE[number % len(EFFECT_PALETTE)], linewidth=0.6, linestyle="--", alpha=0.8, label=label)
    _bar_lines([timeline], features)
    for number, moment in enumerate(moments, 1):
        colour = ACCENT[moment.reason]
        timeline.axvline(moment.time_s, color=colour, linewidth=1.4)
        timeline.text(moment.time_s, 1.04, str(number), color=colour, ha="center", va="bottom", fontsize=10, fontweight="bold", transform=timeline.get_xaxis_transform())
    timeline.set_ylim(0, 1.02)
    timeline.set_yticks([])
    _time_axis(timeline, duration)
    timeline.set_xlabel("time (s)" if duration <= 60 else "time (m:ss)", fontsize=9)
    timeline.legend(loc="lower right", bbox_to_anchor=(1.0, 1.12), fontsize=9, frameon=False, ncols=2 + len(effects or {}))
    for spine in ("top", "right", "left"):
        timeline.spines[spine].set_visible(False)

    for index, (moment, image) in enumerate(zip(moments, thumbnails)):
        ax = fig.add_subplot(grid[1 + index // columns, index % columns])
        ax.imshow(image, interpolation="bilinear")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_edgecolor(ACCENT[moment.reason])
            spine.set_linewidth(2)
        on = _effect_names(effects, moment.frame) if effects else ""
        ax.set_title(f"{index + 1}   {clock(moment.time_s)}   {moment.reason}" + (f"\n{on}" if on else ""), color=ACCENT[moment.reason], fontsize=11 if not on else 9, loc="left", pad=4)
    save_figure(fig, target)


def feature_plots(features: Features, motion: Mapping[str, np.ndarray], target: str | Path, *, title: str,
                  effects: Mapping[str, np.ndarray] | None = None) -> None:
    """Stacked plots over time: band energies (or chroma), chroma, loudness and onsets, the
    latent motion per latent array, and with ``effects`` (label -> value per frame) each
    effect's value; bar lines across all of them when bars are known."""
    plt = _pyplot()
    panels = []
    if features.bands is not None:
        panels.append("bands")
    panels += ["chroma", "envelope", "motion"]
    if effects:
        panels.append("effects")
    heights = {"bands": 2.0, "chroma": 1.6, "envelope": 1.6, "motion": 1.4, "effects": 1.6}
    fig, axes = plt.subplots(len(panels), 1, figsize=(16, sum(heights[p] for p in panels) + 0.9), sharex=True, gridspec_kw={"height_ratios": [heights[p] for p in panels], "hspace": 0.12}, squeeze=False)
    axes = axes[:, 0]
    fig.subplots_adjust(left=0.07, right=0.99, top=1 - 0.5 / fig.get_figheight(), bottom=0.35 / fig.get_figheight() + 0.04)
    fig.suptitle(title, color=FOREGROUND, fontsize=16, fontweight="bold", x=0.07, ha="left")
    times = features.times_s()
    duration = float(features.frames / features.fps)

    for ax, panel in zip(axes, panels):
        if panel in ("bands", "chroma"):
            data = features.bands if panel == "bands" else features.chroma
            scaled = data / (np.percentile(data, 99) + 1e-12)
            ax.imshow(scaled.T, aspect="auto", origin="lower", extent=(0, duration, 0, data.shape[1]), cmap="magma", vmin=0, vmax=1, interpolation="nearest")
            ax.set_ylabel("bands\n(low → high)" if panel == "bands" else "chroma", fontsize=10)
            if panel == "chroma" and data.shape[1] == 12:
                ax.set_yticks([0.5, 3.5, 6.5, 9.5], ["C", "D♯", "F♯", "A"], fontsize=8)
            else:
                ax.set_yticks([])
        elif panel == "envelope":
            ax.fill_between(times, 0, features.rms / (features.rms.max() + 1e-12), color=MUTED, alpha=0.5, linewidth=0, label="loudness (RMS)")
            ax.plot(times, features.onset / (features.onset.max() + 1e-12), color=ACCENT["onset"], linewidth=0.7, label="onset strength")
            if features.beat_times_s is not None and len(features.beat_times_s) < 600:
                for t in features.beat_times_s:
                    ax.axvline(t, color=FOREGROUND, alpha=0.08, linewidth=0.6, zorder=0)
            ax.set_ylim(0, 1.05)
            ax.set_yticks([])
            ax.set_ylabel("audio", fontsize=10)
            ax.legend(loc="upper right", fontsize=8, frameon=False, ncols=2)
        elif panel == "effects":
            palette = EFFECT_PALETTE
            for number, (label, curve) in enumerate(effects.items()):
                # Each effect to its own largest magnitude: units differ (turns, widths, ...).
                peak = float(np.max(np.abs(curve))) or 1.0
                ax.plot(times[: len(curve)], np.asarray(curve) / peak, color=palette[number % len(palette)], linewidth=0.8, label=f"{label} (peak {peak:.3g})")
            ax.set_ylim(min(-0.05, ax.get_ylim()[0]), 1.05)
            ax.set_yticks([])
            ax.set_ylabel("effects\n(each to its peak)", fontsize=9)
            ax.legend(loc="upper right", fontsize=8, frameon=False, ncols=min(3, len(effects)))
        else:
            palette = ["#6fd3ff", "#ff6f91", "#b4f06f", "#c99bff"]
            for number, (key, curve) in enumerate(motion.items()):
                ax.plot(times[: len(curve)], curve, color=palette[number % len(palette)], linewidth=0.8, label=key)
            if not motion:
                ax.text(0.5, 0.5, "no latent arrays", transform=ax.transAxes, ha="center", va="center", color=MUTED)
            ax.set_ylim(0, 1.05)
            ax.set_yticks([])
            ax.set_ylabel("latent motion\n(each to its max)", fontsize=9)
            if motion:
                ax.legend(loc="upper right", fontsize=8, frameon=False, ncols=len(motion))
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
    _bar_lines(axes, features)
    _time_axis(axes[-1], duration)
    axes[-1].set_xlabel("time (s)" if duration <= 60 else "time (m:ss)", fontsize=10)
    save_figure(fig, target)
