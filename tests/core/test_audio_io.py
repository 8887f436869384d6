"""WAV files we write carry no time stamp: the same audio gives the same bytes."""

from __future__ import annotations

import numpy as np
import pytest
from dreamreel.core.audio_io import write_audio, write_audio_blocks


def _peak_timestamp(path) -> bytes:
    data = path.read_bytes()
    at = data.index(b"PEAK")
    return data[at + 12:at + 16]  # id, size, version, then the time stamp


@pytest.mark.parametrize("writer", ["whole", "blocks"])
def test_the_peak_chunk_of_a_float_wav_has_no_time_stamp(tmp_path, writer):
    audio = (np.sin(np.arange(4800) / 7.0) * 0.5).astype(np.float32)[None].repeat(2, axis=0)
    target = tmp_path / "stem.wav"
    if writer == "whole":
        write_audio(target, audio, 48000)
    else:
        write_audio_blocks(target, [audio[:, :1000], audio[:, 1000:]], 48000, channels=2)
    assert _peak_timestamp(target) == b"\0\0\0\0"
    import soundfile

    back, rate = soundfile.read(str(target), dtype="float32")
    assert rate == 48000 and np.array_equal(back.T, audio)
