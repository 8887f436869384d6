"""Reading and writing audio: the one place that owns formats, channel layout and rates.

In the library, audio is float32 with shape (channels, samples), and its sample rate
travels beside it. Files are written atomically: a temp sibling renamed when complete.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

from dreamreel.core import processes
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


def write_audio(path: str | Path, audio: np.ndarray, sample_rate_hz: int, *, subtype: str = "FLOAT") -> None:
    """Write (channels, samples) audio atomically. ``subtype`` is soundfile's (FLOAT, PCM_24...)."""
    import soundfile

    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise ValueError(f"audio must be (channels, samples), got shape {audio.shape}")
    with atomic_path(path) as temporary:
        soundfile.write(str(temporary), audio.T, int(sample_rate_hz), subtype=subtype, format="WAV")


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


def probe_audio_channels(path: str | Path, *, ffprobe: str = "ffprobe") -> int:
    """Channel count of the first audio stream; a :class:`DreamreelError` if there is none."""
    command = [ffprobe, "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=channels", "-of", "csv=p=0", str(path)]
    try:
        result = processes.run(command)
    except FileNotFoundError:
        raise DreamreelError(ffprobe, "ffprobe is not installed", "run make setup (or sudo apt-get install ffmpeg)") from None
    text = result.stdout.strip().split(",")[0]
    if result.returncode != 0 or not text.isdigit():
        detail = result.stderr.strip().splitlines()
        reason = detail[-1] if detail else "no audio stream"
        raise DreamreelError(str(path), f"not an audio file ffmpeg can decode ({reason})", "give a WAV, FLAC, MP3 or OGG file with an audio stream")
    return int(text)


def decode_to_stereo(path: str | Path, *, sample_rate_hz: int, ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe") -> np.ndarray:
    """Decode any audio ffmpeg reads (mp3, ogg, flac, wav, m4a...) to float32 (2, samples).

    ffmpeg converts the rate. Mono is copied to both channels at its own level (ffmpeg's
    own upmix would lower it by 3 dB); more than two channels are mixed down by ffmpeg.
    """
    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "song not found", "check SONG=... or piece.song in params.yaml")
    channels = min(2, probe_audio_channels(path, ffprobe=ffprobe))
    command = [
        ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-vn", "-map", "0:a:0",
        "-ac", str(channels), "-ar", str(sample_rate_hz), "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1",
    ]
    result = processes.run(command, text=False)
    if result.returncode != 0:
        processes.raise_if_stopped(result.returncode, result.stderr.decode(errors="replace"), signal_exit=processes.FFMPEG_SIGNAL_EXIT)
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        reason = detail[-1] if detail else f"ffmpeg exit {result.returncode}"
        raise DreamreelError(str(path), f"not an audio file ffmpeg can decode ({reason})", "give a WAV, FLAC, MP3 or OGG file with an audio stream")
    samples = np.frombuffer(result.stdout, dtype="<f4")
    return to_stereo(np.ascontiguousarray(samples.reshape(-1, channels).T))
