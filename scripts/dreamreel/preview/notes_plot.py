"""The notes picture: each part's note signals over time, with barlines and the sections.

The top row is the whole mix's level (``rms`` of ``features.npz``), so sections found by
segmenting a song can be checked against what is heard. Then one row per part: its
envelope (filled), a tick at every note-on frame as tall as its velocity, and the range
of pitches sounding (lowest to highest, on a pitch axis at the right). Every row has the
barlines (grey, numbered above the first row) and the section starts (coloured, labelled
with the section's name and kind), with the sections shaded in turn. Drawn with
matplotlib's Agg backend, written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from dreamreel.core.atomic import atomic_path

# Barline numbers shown at most this many times across the picture.
MAX_BAR_LABELS = 32


def draw_notes_picture(path: str | Path, notes: Mapping[str, np.ndarray], *, features: Mapping[str, np.ndarray] | None = None,
                       title: str = "") -> None:
    """Write the picture of ``notes`` (a notes.npz) to ``path`` (PNG); ``features`` adds the mix's level row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fps = int(notes["fps_num"]) / int(notes["fps_den"])
    n_frames = int(notes["n_frames"])
    times = np.arange(n_frames) / fps
    parts = [str(name) for name in notes["parts"]]
    rows = len(parts) + (1 if features is not None else 0)
    rows = max(rows, 1)
    height = 1.7 * rows + 1.2
    figure, axes = plt.subplots(rows, 1, figsize=(14, height), sharex=True, squeeze=False, gridspec_kw={"hspace": 0.12})
    figure.subplots_adjust(top=1 - 0.9 / height, bottom=0.55 / height)
    axes = axes[:, 0]
    end = n_frames / fps
    section_starts = np.asarray(notes["section_start_s"], dtype=np.float64)
    section_edges = np.append(section_starts, end)
    colours = plt.get_cmap("tab10")
    bars = np.asarray(notes["bar_start_s"], dtype=np.float64)
    bar_numbers = np.asarray(notes["bar_number"])

    for axis in axes:
        for index in range(len(section_starts)):
            if index % 2:
                axis.axvspan(section_edges[index], section_edges[index + 1], color="0.96", zorder=0)
        for second in bars:
            axis.axvline(second, color="0.85", linewidth=0.6, zorder=0)
        for index, second in enumerate(section_starts):
            axis.axvline(second, color=colours(index % 10), linewidth=1.6, zorder=1)
        axis.set_ylim(0, 1.05)
        axis.set_yticks([0, 0.5, 1])
        axis.tick_params(axis="y", labelsize=7)

    top = axes[0]
    step = max(1, int(np.ceil(len(bars) / MAX_BAR_LABELS)))
    for index in range(0, len(bars), step):
        top.text(bars[index], 1.0, str(bar_numbers[index]), transform=top.get_xaxis_transform(), fontsize=6, color="0.45",
                 ha="left", va="bottom")
    for index, (second, label, kind) in enumerate(zip(section_starts, notes["section_label"], notes["section_kind"])):
        top.text(second, 1.12, f" {label} ({kind})", transform=top.get_xaxis_transform(), fontsize=8, fontweight="bold",
                 color=colours(index % 10), ha="left", va="bottom", clip_on=False)

    row = 0
    if features is not None:
        level = np.asarray(features["rms"][:n_frames], dtype=np.float64)
        axes[0].fill_between(times[: len(level)], level, color="0.55", linewidth=0)
        _label(axes[0], "mix level (rms)")
        row = 1
    pitch_axes = []
    for p, name in enumerate(parts):
        axis = axes[row + p]
        envelope = np.asarray(notes["envelope"][:, p], dtype=np.float64)
        axis.fill_between(times, envelope, color="tab:blue", alpha=0.35, linewidth=0, label="envelope")
        hits = np.flatnonzero(np.asarray(notes["note_on"][:, p]) > 0)
        axis.vlines(times[hits], 0, np.asarray(notes["note_on"][hits, p]), color="tab:red", linewidth=0.9, label="note-on")
        low = np.asarray(notes["pitch_low"][:, p], dtype=np.float64)
        high = np.asarray(notes["pitch_high"][:, p], dtype=np.float64)
        pitches = axis.twinx()
        pitches.fill_between(times, low, high, where=~np.isnan(low), color="tab:green", alpha=0.5, linewidth=0.8, step="post")
        if np.any(~np.isnan(low)):
            lowest, highest = np.nanmin(low), np.nanmax(high)
            pitches.set_ylim(lowest - 2, highest + 2)
        pitches.tick_params(axis="y", labelsize=7, colors="tab:green")
        pitches.set_ylabel("pitch", fontsize=7, color="tab:green")
        pitch_axes.append(pitches)
        _label(axis, name)
    if parts:
        axes[row].legend(loc="upper right", fontsize=7, ncol=2, frameon=False)
    elif features is None:
        _label(axes[0], "no parts")
    axes[-1].set_xlim(0.0, end)
    axes[-1].set_xlabel("time (s); grey lines are barlines, numbered above; coloured lines start sections")
    if title:
        figure.suptitle(title, x=0.125, y=1 - 0.12 / height, ha="left", va="top", fontsize=12)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100, bbox_inches="tight", format="png")
    plt.close(figure)


def _label(axis, text: str) -> None:
    axis.text(0.005, 0.92, text, transform=axis.transAxes, fontsize=10, fontweight="bold", ha="left", va="top",
              bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5}, zorder=5)
