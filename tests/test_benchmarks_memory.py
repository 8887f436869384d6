"""The memory benchmark's synthetic songs: the length asked for, written block by block, with sound."""

from __future__ import annotations

import numpy as np
import soundfile
from dreamreel.benchmarks.memory import SONG_RATE_HZ, WRITE_BLOCK_S, write_song


def test_a_song_longer_than_a_write_block_has_its_length_and_sound(tmp_path):
    seconds = 2.5 * WRITE_BLOCK_S
    a = write_song(tmp_path / "a.wav", seconds)
    info = soundfile.info(str(a))
    assert (info.samplerate, info.channels, info.frames) == (SONG_RATE_HZ, 2, int(seconds * SONG_RATE_HZ))
    audio, _ = soundfile.read(str(a), dtype="float32")
    # Every block sounds (a kick every half second), and the blocks join without a gap.
    per_block = audio[:, 0].reshape(-1, SONG_RATE_HZ // 2)[:, : SONG_RATE_HZ // 10]
    assert np.all(np.abs(per_block).max(axis=1) > 0.2)
    assert write_song(tmp_path / "b.wav", seconds).read_bytes() == a.read_bytes()
