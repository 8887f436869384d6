"""A song's stems (``STEMS=folder/``): checked against each other and the song, read to its length.

The user's stems are WAV files exported beside the song, one per part. The rule: every
stem is readable audio at one sample rate shared by all the stems (any rate: each is
analysed at its own), and each is as long as the song within ``song.stems_tolerance_s``.
A stem a little shorter than the song is read with silence after its end, one a little
longer is cut at the song's end, so every part has exactly the song's frames. Each check
that fails is one line naming the stem's file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from dreamreel.core.audio_io import summed_mono_blocks
from dreamreel.core.errors import DreamreelError

FIX_EXPORT = "export the song's stems again as WAV files, all at one sample rate, each from the song's start to its end"


def _shown(path: str | Path) -> str:
    """The user's file behind the build folder's link to it."""
    return os.path.realpath(path)


def song_stem_inputs(paths: Sequence[str | Path], *, song_samples: int, song_rate_hz: int, tolerance_s: float,
                     block_frames: int = 1 << 16) -> list[tuple[int, int, Callable[[], Iterator[np.ndarray]]]]:
    """(samples, rate, read_blocks) of each stem, fitted to the song's length (see the module notes).

    ``read_blocks`` returns a fresh iterator over mono float32 blocks each time it is called.
    """
    import soundfile

    song_s = song_samples / song_rate_hz
    found = []
    for path in paths:
        try:
            info = soundfile.info(str(path))
        except (RuntimeError, soundfile.LibsndfileError) as error:
            raise DreamreelError(_shown(path), f"not a readable WAV file ({error})", FIX_EXPORT) from None
        if info.frames == 0:
            raise DreamreelError(_shown(path), "the stem is empty (no samples)", FIX_EXPORT)
        found.append((path, int(info.frames), int(info.samplerate)))
    rates = sorted({rate for _, _, rate in found})
    if len(rates) > 1:
        listed = ", ".join(f"{Path(_shown(path)).name} {rate} Hz" for path, _, rate in found)
        raise DreamreelError(os.path.dirname(_shown(found[0][0])), f"the stems are at different sample rates ({listed})", FIX_EXPORT)
    for path, frames, rate in found:
        if abs(frames / rate - song_s) > tolerance_s:
            raise DreamreelError(_shown(path), f"the stem is {frames / rate:.2f} s long but the song {song_s:.2f} s (song.stems_tolerance_s: {tolerance_s:g})", FIX_EXPORT)
    return [_fitted(path, int(round(song_s * rate)), block_frames) for path, _, rate in found]


def _fitted(path: str | Path, samples: int, block_frames: int) -> tuple[int, int, Callable[[], Iterator[np.ndarray]]]:
    """A stem read as mono, cut or padded with silence to ``samples``."""
    _, rate, read_own = summed_mono_blocks([path], block_frames=block_frames)

    def read_blocks() -> Iterator[np.ndarray]:
        left = samples
        for block in read_own():
            if left <= 0:
                return
            yield block[:left]
            left -= min(left, len(block))
        while left > 0:
            size = min(left, block_frames)
            yield np.zeros(size, dtype=np.float32)
            left -= size

    return samples, rate, read_blocks
