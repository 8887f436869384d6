"""Synthetic notes.npz contents (per the notes contract) and features for the conduct tests."""

from __future__ import annotations

import numpy as np


def features(n: int = 120, *, fps: int = 30, seed: int = 0, still: bool = False) -> dict:
    """Summed features of a song n frames long; ``still``: no drive at all (the audio walk stands still)."""
    rng = np.random.default_rng(seed)
    chroma = rng.random((n, 12)).astype(np.float32)
    chroma /= chroma.max(axis=1, keepdims=True)
    level = 0.0 if still else 1.0
    return {
        "power": (level * rng.random(n)).astype(np.float32),
        "power_gradient": (level * 0.3 * rng.random(n)).astype(np.float32),
        "harmonic": (level * rng.random(n)).astype(np.float32),
        "percussive": (level * rng.random(n) ** 4).astype(np.float32),
        "onset": (level * (rng.random(n) > 0.9)).astype(np.float32),
        "bands": (level * rng.random((n, 3))).astype(np.float32),
        "rms": (level * rng.random(n)).astype(np.float32),
        "chroma": chroma,
        "rms_dbfs": np.full(n, -20.0, np.float32),
        "fps_num": np.int64(fps),
        "fps_den": np.int64(1),
        "n_frames": np.int64(n),
    }


def notes(n: int, parts: list[str], events: list[tuple], *, fps: int = 30, sections: list[int] = (0,)) -> dict:
    """notes.npz members for ``events`` = [(part, start_frame, length_frames, pitch, velocity), ...]."""
    count = len(parts)
    note_on = np.zeros((n, count), np.float32)
    velocity = np.zeros((n, count), np.float32)
    envelope = np.zeros((n, count), np.float32)
    pitch_classes = np.zeros((n, count, 12), np.float32)
    density = np.zeros((n, count), np.float32)
    for part, start, length, pitch, vel in events:
        p = parts.index(part)
        note_on[start, p] = max(note_on[start, p], vel / 127)
        velocity[start : start + length, p] = np.maximum(velocity[start : start + length, p], vel / 127)
        envelope[start : start + length, p] = np.maximum(envelope[start : start + length, p], vel / 127)
        pitch_classes[start : start + length, p, pitch % 12] += vel / 127
    totals = pitch_classes.sum(axis=2, keepdims=True)
    pitch_classes = np.where(totals > 0, pitch_classes / np.where(totals > 0, totals, 1), 0).astype(np.float32)
    silent = np.full((n, count), np.nan, np.float32)
    starts = np.asarray(sections, dtype=np.int64)
    return {
        "fps_num": np.int64(fps), "fps_den": np.int64(1), "n_frames": np.int64(n),
        "parts": np.asarray(parts, dtype=str) if parts else np.zeros(0, dtype="<U1"),
        "note_on": note_on, "velocity": velocity, "envelope": envelope,
        "pitch_low": silent, "pitch_high": silent, "pitch_mean": silent,
        "pitch_classes": pitch_classes, "density": density,
        "section_start_frame": starts, "section_start_s": starts / fps,
        "section_label": np.asarray([f"S{i}" for i in range(len(starts))]),
        "section_kind": np.asarray(["start"] + ["rehearsal"] * (len(starts) - 1)),
        "section_bar": np.arange(1, len(starts) + 1, dtype=np.int64),
        "bar_start_s": np.arange(0, n / fps, 2.0), "bar_number": np.arange(1, len(np.arange(0, n / fps, 2.0)) + 1, dtype=np.int64),
    }
