"""Summing the buses: every part's dry and wet files, each bus at its own level.

The sum is a plain sum (no divide-by-N as ffmpeg's amix does), accumulated one file at a
time in float64, a block of samples at a time: memory holds one block of each part and
the block's sum, whatever the song's length.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from dreamreel.audio.effects import db_to_gain
from dreamreel.core.audio_io import audio_file_info
from dreamreel.core.errors import DreamreelError


# Samples per block of the summed buses: 1.4 s at 48 kHz, 2 MB of float64 stereo.
MIX_BLOCK_FRAMES = 1 << 16


def sum_buses(
    dry_paths: Sequence[str | Path],
    wet_paths: Sequence[str | Path],
    *,
    dry_gain_db: float,
    wet_gain_db: float,
    block_frames: int = MIX_BLOCK_FRAMES,
) -> tuple[int, int, Callable[[], Iterator[np.ndarray]]]:
    """Dry files at ``dry_gain_db`` and wet files at ``wet_gain_db``, summed block by block.

    Returns the rate in Hz, the channel count and ``read_blocks``: each call returns a new
    iterator over the sum's (channels, <= block_frames) float64 blocks, the files read again, so the mix can be
    measured and written in as many passes as it needs without ever being held whole.
    Each block is accumulated one file at a time in float64, as the whole sum would be.
    """
    import soundfile

    buses = [(Path(path), db_to_gain(gain_db)) for paths, gain_db in ((dry_paths, dry_gain_db), (wet_paths, wet_gain_db)) for path in paths]
    if not buses:
        raise DreamreelError("parts", "nothing to mix: every part is muted", "unmute a part in params.yaml (parts.<name>.mute: false)")
    shapes = []
    for path, _ in buses:
        info = audio_file_info(path)
        shapes.append(((int(info.channels), int(info.frames)), int(info.samplerate)))
    (shape, rate) = shapes[0]
    for (path, _), (file_shape, file_rate) in zip(buses[1:], shapes[1:]):
        if file_rate != rate or file_shape != shape:
            raise DreamreelError(str(path), f"does not match the other parts ({file_shape} at {file_rate} Hz vs {shape} at {rate} Hz)",
                                 "rebuild the stems: make clean-audio audio")

    def read_blocks() -> Iterator[np.ndarray]:
        with contextlib.ExitStack() as stack:
            readers = [stack.enter_context(soundfile.SoundFile(str(path))).blocks(blocksize=block_frames, dtype="float32", always_2d=True)
                       for path, _ in buses]
            for blocks in zip(*readers):
                total = np.zeros((shape[0], len(blocks[0])), dtype=np.float64)
                for (_, gain), block in zip(buses, blocks):
                    total += gain * block.T
                yield total

    return rate, shape[0], read_blocks
