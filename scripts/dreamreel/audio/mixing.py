"""Summing the buses: every part's dry and wet files, each bus at its own level.

The sum is a plain sum (no divide-by-N as ffmpeg's amix does), accumulated one file at a
time in float64 so memory holds one accumulator and one part, whatever the part count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from dreamreel.audio.effects import db_to_gain
from dreamreel.core.audio_io import read_audio
from dreamreel.core.errors import DreamreelError


def sum_buses(
    dry_paths: Sequence[str | Path],
    wet_paths: Sequence[str | Path],
    *,
    dry_gain_db: float,
    wet_gain_db: float,
) -> tuple[np.ndarray, int]:
    """Sum dry files at ``dry_gain_db`` and wet files at ``wet_gain_db``: (2, samples) float64."""
    total = None
    rate = None
    for paths, gain in ((dry_paths, db_to_gain(dry_gain_db)), (wet_paths, db_to_gain(wet_gain_db))):
        for path in paths:
            audio, file_rate = read_audio(path)
            if total is None:
                total = np.zeros(audio.shape, dtype=np.float64)
                rate = file_rate
            if file_rate != rate or audio.shape != total.shape:
                raise DreamreelError(str(path), f"does not match the other parts ({audio.shape} at {file_rate} Hz vs {total.shape} at {rate} Hz)", "rebuild the stems: make clean-audio audio")
            total += gain * audio
    if total is None:
        raise DreamreelError("parts", "nothing to mix: every part is muted", "unmute a part in params.yaml (parts.<name>.mute: false)")
    return total, rate
