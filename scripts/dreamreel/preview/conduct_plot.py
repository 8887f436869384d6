"""The conduct picture: each conducted part's note signal beside the motion it drives.

One row per (part, target) of ``conduct:``: the part's drive (its note signal times its
depth, as the walk used it) filled in the part's colour, and over it the per-frame motion
of what it drives, read back from latents.npz:

* pulse, motion (BigGAN, cppn): mean |Δnoise| per frame over the walk's own dimensions;
* noise: mean |Δnoise| over the part's own subspace (``noise_owner``);
* classes: Σ |Δclasses|; truncation: |Δtruncation|;
* StyleGAN coarse, middle, fine: mean |Δws| over that layer group (``layer_group``);
  pulse, anchors, truncation: over all layers.

Each curve is scaled to its own peak, so the rows compare timing, not size. Barlines and
section starts (with their labels) come from notes.npz; a last row shows the scene weights
per section and the dynamics gain when the walk has them. The latents are read a block
of frames at a time, so the picture costs a few floats a frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from dreamreel.preview.figures import ACCENT, BACKGROUND, FOREGROUND, MUTED, _pyplot, save_figure

BLOCK_FRAMES = 2048
PALETTE = ["#ffb347", "#6fd3ff", "#ff6f91", "#b4f06f", "#c99bff", "#f6e27f"]
STYLEGAN_GROUPS = {"coarse": 0, "middle": 1, "fine": 2}
PITCH_TARGETS = ("classes", "anchors")
IMPULSE_TARGETS = ("pulse", "noise", "coarse", "middle", "fine")


def _mean_abs_steps(array, *, columns=None, axis_reduce=None) -> np.ndarray:
    """Per-frame mean |Δ| of a frame-major array read in blocks; frame 0 is 0. (N,)"""
    n = array.shape[0]
    motion = np.zeros(n)
    previous = None
    for start in range(0, n, BLOCK_FRAMES):
        block = np.asarray(array[start : start + BLOCK_FRAMES], dtype=np.float64)
        if columns is not None:
            block = block[:, columns]
        if previous is not None:
            block_with = np.concatenate([previous, block])
        else:
            block_with = block
        steps = np.abs(np.diff(block_with, axis=0)).reshape(len(block_with) - 1, -1)
        values = steps.sum(axis=1) if axis_reduce == "sum" else steps.mean(axis=1)
        first = start if previous is not None else start + 1
        motion[first : start + len(block)] = values
        previous = block[-1:]
    return motion


def target_motion(latents: Mapping[str, np.ndarray], part_index: int, target: str) -> tuple[np.ndarray, str]:
    """The per-frame motion of what conducted pair ``part_index`` drives, and what it measures. (N,), str"""
    if "ws" in latents:
        ws = latents["ws"]
        if target in STYLEGAN_GROUPS:
            layers = np.flatnonzero(np.asarray(latents["layer_group"]) == STYLEGAN_GROUPS[target])
            return _mean_abs_steps(ws, columns=layers), f"|Δws| {target} layers"
        return _mean_abs_steps(ws), "|Δws| all layers"
    if target == "noise":
        mine = np.flatnonzero(np.asarray(latents["noise_owner"]) == part_index)
        return _mean_abs_steps(latents["noise"], columns=mine), f"|Δnoise| own {len(mine)} dims"
    if target == "classes":
        return _mean_abs_steps(latents["classes"], axis_reduce="sum"), "Σ|Δclasses|"
    if target == "truncation":
        return _mean_abs_steps(np.asarray(latents["truncation"])[:, None]), "|Δtruncation|"
    own = np.flatnonzero(np.asarray(latents["noise_owner"]) < 0) if "noise_owner" in latents else None
    return _mean_abs_steps(latents["noise"], columns=own), "|Δnoise|"


def _scaled(values: np.ndarray) -> np.ndarray:
    peak = float(np.max(values)) if len(values) else 0.0
    return values / peak if peak > 0 else values


def draw_conduct_picture(target: str | Path, latents: Mapping[str, np.ndarray], notes: Mapping[str, np.ndarray], *, title: str) -> None:
    """Write the PNG: a row per conducted pair, then scenes and dynamics when present."""
    plt = _pyplot()
    fps = int(latents["fps_num"]) / int(latents["fps_den"])
    parts = [str(p) for p in np.asarray(latents["conduct_parts"]).tolist()] if "conduct_parts" in latents else []
    targets = [str(t) for t in np.asarray(latents["conduct_targets"]).tolist()] if "conduct_targets" in latents else []
    drive = np.asarray(latents["conduct_drive"]) if parts else None
    n = int(np.asarray(latents["truncation"]).shape[0]) if "truncation" in latents else int(latents["ws"].shape[0])
    time_s = np.arange(n) / fps
    extra = ("scene_weights" in latents) or ("dynamics_gain" in latents)
    rows = max(1, len(parts)) + (1 if extra else 0)
    fig, axes = plt.subplots(rows, 1, figsize=(16, 1.9 * rows + 1.0), sharex=True, squeeze=False)
    axes = axes[:, 0]
    if not parts:
        axes[0].text(0.5, 0.5, "no part is conducted (conduct: in params): the walk follows the audio", ha="center", va="center",
                     color=MUTED, transform=axes[0].transAxes)
        axes[0].set_yticks([])
    colours = {}
    for index, (part, driven) in enumerate(zip(parts, targets)):
        ax = axes[index]
        colour = colours.setdefault(part, PALETTE[len(colours) % len(PALETTE)])
        note_parts = [str(p) for p in np.asarray(notes["parts"]).tolist()]
        if driven in PITCH_TARGETS and part in note_parts:
            # Which pitch classes sound, as a strip of 12 rows (C at the bottom): what picks the classes.
            histogram = np.asarray(notes["pitch_classes"][:, note_parts.index(part), :], dtype=np.float64)
            ax.imshow(histogram.T, aspect="auto", origin="lower", extent=(0, n / fps, 0, 1.0), cmap="magma", alpha=0.8, interpolation="nearest")
            ax.plot([], [], color=colour, linewidth=6, alpha=0.8, label=f"{part}: pitch classes (C at the bottom)")
        elif driven in IMPULSE_TARGETS:
            hits = np.flatnonzero(drive[:, index] > 0)
            ax.vlines(time_s[hits], 0, _scaled(drive[:, index])[hits], color=colour, linewidth=1.3, alpha=0.9, label=f"{part}: note-ons (velocity)")
        else:
            ax.fill_between(time_s, 0, _scaled(drive[:, index]), color=colour, alpha=0.45, linewidth=0, step="mid", label=f"{part}: note signal")
        motion, measure = target_motion(latents, index, driven)
        ax.plot(time_s, _scaled(motion), color=FOREGROUND, linewidth=0.9, label=f"{driven}: {measure}")
        ax.set_ylim(0, 1.08)
        ax.set_yticks([])
        ax.set_ylabel(f"{part}\n→ {driven}", rotation=0, ha="right", va="center", color=colour)
        ax.legend(loc="upper right", fontsize=8, frameon=True, facecolor=BACKGROUND, framealpha=0.85, edgecolor="none", labelcolor=FOREGROUND, ncol=2)
    if extra:
        ax = axes[-1]
        if "scene_weights" in latents:
            weights = np.asarray(latents["scene_weights"], dtype=np.float64)
            ax.stackplot(time_s, weights.T, colors=[PALETTE[(i + 3) % len(PALETTE)] for i in range(weights.shape[1])], alpha=0.35)
        if "dynamics_gain" in latents:
            ax.plot(time_s, np.asarray(latents["dynamics_gain"]), color=ACCENT["section"], linewidth=1.2, label="dynamics gain")
            ax.legend(loc="upper right", fontsize=8, frameon=True, facecolor=BACKGROUND, framealpha=0.85, edgecolor="none", labelcolor=FOREGROUND)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("scenes,\ndynamics" if "scene_weights" in latents else "dynamics", rotation=0, ha="right", va="center")
    bars = np.asarray(notes["bar_start_s"], dtype=np.float64) if "bar_start_s" in notes else np.zeros(0)
    numbers = np.asarray(notes["bar_number"]) if "bar_number" in notes else np.zeros(0, dtype=np.int64)
    for ax in axes:
        for t in bars:
            ax.axvline(t, color=FOREGROUND, alpha=0.18, linewidth=0.7, zorder=0)
        for t in np.asarray(notes["section_start_s"], dtype=np.float64):
            ax.axvline(t, color=ACCENT["section"], alpha=0.9, linewidth=1.4, zorder=1)
    top = axes[0]
    for t, label in zip(np.asarray(notes["section_start_s"], dtype=np.float64), np.asarray(notes["section_label"]).tolist()):
        top.text(t, 1.12, f" {label}", color=ACCENT["section"], fontsize=10, va="bottom", ha="left", clip_on=False)
    if len(bars):
        # Every few bar numbers along the bottom, so they stay legible in a long piece.
        step = max(1, len(bars) // 24)
        for t, number in list(zip(bars, numbers.tolist()))[::step]:
            axes[-1].text(t, 0.02, f" {number}", color=MUTED, fontsize=7, ha="left", va="bottom", transform=axes[-1].get_xaxis_transform())
    axes[-1].set_xlim(0, max(time_s[-1] if n else 1.0, 1e-3))
    axes[-1].set_xlabel("seconds (grey: barlines, numbered in the last row; blue: section starts)")
    fig.suptitle(title, color=FOREGROUND, fontsize=14)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    save_figure(fig, target)
