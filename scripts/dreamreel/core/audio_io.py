"""Reading and writing audio: the one place that owns formats, channel layout and rates.

In the library, audio is float32 with shape (channels, samples), and its sample rate
travels beside it. Files are written atomically: a temp sibling renamed when complete.

Long audio streams: WAV/FLAC files are read a block at a time (:func:`summed_mono_blocks`)
and written a block at a time (:func:`write_audio_blocks`), so a stage's memory need not
grow with the song. Songs in other formats are decoded by :mod:`.song_io` (ffmpeg), which
only import_song needs.
"""

from __future__ import annotations

import contextlib
from math import gcd
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from dreamreel.core.atomic import atomic_path
from dreamreel.core.errors import DreamreelError

MASTER_RATE_HZ = 48_000  # stems, buses and the master all run at this rate


def read_audio(path: str | Path, *, mono: bool = False) -> tuple[np.ndarray, int]:
    """Read a WAV/FLAC/OGG file with soundfile: float32 (channels, samples) and the rate in Hz.

    With ``mono`` the channels are averaged while reading, block by block, so a long
    stereo file never sits in memory whole: shape (1, samples).
    """
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "audio file not found", "check the path, or rebuild it with make")
    try:
        with soundfile.SoundFile(str(path)) as handle:
            rate = int(handle.samplerate)
            if not mono:
                data = handle.read(dtype="float32", always_2d=True)
                return np.ascontiguousarray(data.T), rate
            out = np.empty(handle.frames, dtype=np.float32)
            position = 0
            for block in handle.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
                out[position : position + len(block)] = block.mean(axis=1)
                position += len(block)
            return out[None, :position], rate
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise DreamreelError(str(path), f"not readable audio ({error})", "give a WAV, FLAC, MP3 or OGG file") from None


def audio_file_info(path: str | Path):
    """soundfile's info (channels, frames, samplerate) of an audio file, or our one line
    when it is missing or not audio: the check every multi-file reader makes first."""
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "audio file not found", "check the path, or rebuild it with make")
    try:
        return soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise DreamreelError(str(path), f"not readable audio ({error})", "give a WAV, FLAC, MP3 or OGG file") from None


def summed_mono_blocks(paths: Sequence[str | Path], *, block_frames: int = 1 << 16) -> tuple[int, int, Callable[[], Iterator[np.ndarray]]]:
    """Several audio files of one length and rate as one mono signal, read block by block.

    Each file's channels are averaged and the files added, ``block_frames`` at a time, so
    neither a long song nor a set of stems is ever held whole.

    Returns
    -------
    samples : int
        Length of every file, in samples.
    sample_rate_hz : int
        Their rate.
    read_blocks : callable
        Each call returns a new iterator over float32 1-D blocks of the sum; the files are
        read again each time, so a caller may make one pass to check and one to analyse.
    """
    import soundfile

    handles_info = []
    for path in map(Path, paths):
        info = audio_file_info(path)
        handles_info.append((path, int(info.frames), int(info.samplerate)))
    first, samples, rate = handles_info[0]
    for path, frames, frames_rate in handles_info[1:]:
        if (frames, frames_rate) != (samples, rate):
            raise DreamreelError(str(path), f"{frames} samples at {frames_rate} Hz, but {first} has {samples} at {rate} Hz",
                                 "render the stems again (make audio): they must all be the same length")

    def read_blocks() -> Iterator[np.ndarray]:
        with contextlib.ExitStack() as stack:
            readers = [stack.enter_context(soundfile.SoundFile(str(path))).blocks(blocksize=block_frames, dtype="float32", always_2d=True)
                       for path, _, _ in handles_info]
            for blocks in zip(*readers):
                # Averaged in float32 and added file by file: the same sums as whole arrays.
                total = blocks[0].mean(axis=1)
                for block in blocks[1:]:
                    total += block.mean(axis=1)
                yield total

    return samples, rate, read_blocks


def _clear_peak_timestamp(path: str | Path) -> None:
    """Zero the time stamp of a WAV file's PEAK chunk, so the same audio gives the same bytes.

    libsndfile writes a PEAK chunk (each channel's peak) into float WAV files, and in it the
    second the file was written: two renders of the same stem a second apart differed there
    and nowhere else.
    """
    with open(path, "r+b") as handle:
        handle.seek(12)  # past "RIFF", the size and "WAVE"
        while True:
            header = handle.read(8)
            if len(header) < 8 or header[:4] == b"data":
                return
            size = int.from_bytes(header[4:], "little")
            if header[:4] == b"PEAK":
                handle.seek(4, 1)  # the chunk's version; the time stamp follows
                handle.write(b"\0\0\0\0")
                return
            handle.seek(size + (size & 1), 1)


def write_audio(path: str | Path, audio: np.ndarray, sample_rate_hz: int, *, subtype: str = "FLOAT") -> None:
    """Write (channels, samples) audio atomically. ``subtype`` is soundfile's (FLOAT, PCM_24...)."""
    import soundfile

    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise ValueError(f"audio must be (channels, samples), got shape {audio.shape}")
    with atomic_path(path) as temporary:
        soundfile.write(str(temporary), audio.T, int(sample_rate_hz), subtype=subtype, format="WAV")
        _clear_peak_timestamp(temporary)


def write_audio_blocks(path: str | Path, blocks: Iterable[np.ndarray], sample_rate_hz: int, *, channels: int, subtype: str = "FLOAT") -> int:
    """Write (channels, n) blocks one after another as one WAV, atomically; returns the frame count.

    The file is the same as :func:`write_audio` of the blocks joined, without ever holding
    them joined. If the blocks stop with an exception, nothing is left at ``path``.
    """
    import soundfile

    frames = 0
    with atomic_path(path) as temporary:
        with soundfile.SoundFile(str(temporary), "w", samplerate=int(sample_rate_hz), channels=channels, subtype=subtype, format="WAV") as handle:
            for block in blocks:
                block = np.asarray(block, dtype=np.float32)
                if block.ndim != 2 or block.shape[0] != channels:
                    raise ValueError(f"blocks must be ({channels}, samples), got shape {block.shape}")
                handle.write(block.T)
                frames += block.shape[1]
        _clear_peak_timestamp(temporary)
    return frames


def to_stereo(audio: np.ndarray) -> np.ndarray:
    """Mono becomes two equal channels; stereo passes; more channels are an error."""
    if audio.shape[0] == 1:
        return np.repeat(audio, 2, axis=0)
    if audio.shape[0] == 2:
        return audio
    raise ValueError(f"expected mono or stereo audio, got {audio.shape[0]} channels")


def resample(audio: np.ndarray, rate_in_hz: int, rate_out_hz: int) -> np.ndarray:
    """Band-limited polyphase resampling along the last axis (exact rational ratio)."""
    if rate_in_hz == rate_out_hz:
        return audio
    from scipy.signal import resample_poly

    divisor = gcd(int(rate_in_hz), int(rate_out_hz))
    return resample_poly(audio, rate_out_hz // divisor, rate_in_hz // divisor, axis=-1).astype(np.float32)
