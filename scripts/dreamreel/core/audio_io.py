"""Reading and writing audio: the one place that owns formats, channel layout and rates.

In the library, audio is float32 with shape (channels, samples), and its sample rate
travels beside it. Files are written atomically: a temp sibling renamed when complete.

Long audio streams: a song in any format is decoded by ffmpeg into a pipe and read a block
at a time (:func:`probe_song`, :func:`decode_song_blocks`); WAV/FLAC files are read a block
at a time (:func:`summed_mono_blocks`) and written a block at a time
(:func:`write_audio_blocks`), so a stage's memory need not grow with the song.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from dreamreel.core.atomic import atomic_path
from dreamreel.core.errors import DreamreelError
from dreamreel.core.ffmpeg_tools import FFmpeg, find_ffmpeg, stderr_tail

MASTER_RATE_HZ = 48_000  # stems, buses and the master all run at this rate
DECODE_BLOCK_FRAMES = 1 << 16  # frames per block read from ffmpeg: 0.5 MB of stereo float32


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
        if not path.is_file():
            raise DreamreelError(str(path), "audio file not found", "check the path, or rebuild it with make")
        try:
            info = soundfile.info(str(path))
        except (RuntimeError, soundfile.LibsndfileError) as error:
            raise DreamreelError(str(path), f"not readable audio ({error})", "give a WAV, FLAC, MP3 or OGG file") from None
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


def write_audio(path: str | Path, audio: np.ndarray, sample_rate_hz: int, *, subtype: str = "FLOAT") -> None:
    """Write (channels, samples) audio atomically. ``subtype`` is soundfile's (FLOAT, PCM_24...)."""
    import soundfile

    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise ValueError(f"audio must be (channels, samples), got shape {audio.shape}")
    with atomic_path(path) as temporary:
        soundfile.write(str(temporary), audio.T, int(sample_rate_hz), subtype=subtype, format="WAV")


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


@dataclass(frozen=True)
class SongInfo:
    """What :func:`probe_song` learned about a song's first audio stream.

    ``channel_layout`` is ffprobe's name for it ("5.1(side)"), or None where the file
    names no layout (a plain multichannel WAV), in which case ffmpeg takes its default
    layout for that many channels. ``samples`` is the stream's length in samples where the
    container states it exactly (time base 1/rate: WAV, FLAC, MP4/M4A/MOV), else None.
    """

    path: Path
    codec: str
    channels: int
    channel_layout: str | None
    sample_rate_hz: int
    samples: int | None = None


def _ffmpeg_input(path: Path) -> str:
    # The file: protocol makes ffmpeg take the name literally: a song called "a:b.mp3" or
    # "-loud.wav" would otherwise read as a protocol or an option.
    return "file:" + str(path.absolute())


def probe_song(path: str | Path, *, tool: FFmpeg | None = None) -> SongInfo:
    """Probe the first audio stream of any file ffmpeg reads: a song, or the sound track of a video.

    Raises a :class:`DreamreelError` naming the file when it is missing, unreadable, or
    has no audio stream.
    """
    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), "song not found", "check SONG=... or piece.song in params.yaml")
    tool = tool or find_ffmpeg()
    command = [tool.ffprobe, "-v", "error", "-select_streams", "a:0", "-show_entries",
               "stream=codec_name,channels,channel_layout,sample_rate,time_base,duration_ts",
               "-of", "json", _ffmpeg_input(path)]
    result = subprocess.run(command, capture_output=True, text=True, errors="replace")
    if result.returncode != 0:
        raise DreamreelError(str(path), f"not an audio file ffmpeg can decode ({stderr_tail(result.stderr, 1)})", "give a song (WAV, FLAC, MP3, OGG, M4A, Opus...) or a video with a sound track")
    streams = json.loads(result.stdout or "{}").get("streams") or []
    if not streams:
        raise DreamreelError(str(path), "has no audio stream (a video without sound, or not media at all)", "give a song, or a video with a sound track")
    stream = streams[0]
    channels = int(stream.get("channels") or 0)
    if channels < 1:
        raise DreamreelError(str(path), "its audio stream reports no channels", "export the song again (WAV or FLAC)")
    rate = int(stream.get("sample_rate") or 0)
    exact = stream.get("time_base") == f"1/{rate}" and str(stream.get("duration_ts", "")).isdigit()
    return SongInfo(path=path, codec=str(stream.get("codec_name", "")), channels=channels, channel_layout=stream.get("channel_layout") or None,
                    sample_rate_hz=rate, samples=int(stream["duration_ts"]) if exact else None)


def decode_song_blocks(info: SongInfo, *, sample_rate_hz: int, tool: FFmpeg | None = None, block_frames: int = DECODE_BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """Decode a probed song through ffmpeg, block by block: float32 (2, <= block_frames) at ``sample_rate_hz``.

    ffmpeg decodes, converts the rate and writes raw float32 into a pipe; Python reads a
    block at a time, so memory does not grow with the song. Mono is copied to both channels
    at its own level (ffmpeg's upmix would lower it by 3 dB). More than two channels are
    mixed down by ffmpeg's matrix for the layout (ITU-R BS.775: centre and surrounds at
    -3 dB, LFE left out); as float, the sum can pass full scale, and it is the caller's
    choice to lower the level rather than clip. The same file always decodes to the same
    samples, so a caller may decode twice (measure, then write).

    Where the container states the stream's exact length, decoding stops there: ffmpeg 5
    still outputs the encoder's padding after the last AAC frame of an .m4a, .mp4 or .mov
    (about 23 ms) although the file's edit list says where the song ends.
    """
    tool = tool or find_ffmpeg()
    limit = -(-info.samples * int(sample_rate_hz) // info.sample_rate_hz) if info.samples is not None and info.sample_rate_hz > 0 else None
    channels = 1 if info.channels == 1 else 2
    command = [tool.ffmpeg, "-nostdin", "-v", "error", "-i", _ffmpeg_input(info.path), "-map", "0:a:0", "-vn", "-sn", "-dn",
               "-ac", str(channels), "-ar", str(int(sample_rate_hz)), "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"]
    frame_bytes = 4 * channels
    written = 0
    # stderr goes to a file, not a pipe: a chatty decoder could otherwise fill the pipe
    # and stall while we wait on stdout.
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        try:
            while True:
                data = process.stdout.read(block_frames * frame_bytes)
                if not data:
                    break
                usable = len(data) - len(data) % frame_bytes
                if limit is not None:
                    usable = min(usable, max(0, limit - written) * frame_bytes)
                    if usable == 0:
                        continue  # past the stated end: read on so ffmpeg finishes normally
                block = np.frombuffer(data[:usable], dtype="<f4").reshape(-1, channels).T
                written += block.shape[1]
                yield np.ascontiguousarray(np.repeat(block, 2, axis=0) if channels == 1 else block)
            status = process.wait()
        finally:
            # A consumer that stops early (an error downstream) must not leave ffmpeg writing.
            process.stdout.close()
            if process.poll() is None:
                process.kill()
                process.wait()
        if status != 0:
            errors.seek(0)
            reason = stderr_tail(errors.read().decode(errors="replace"), 1)
            raise DreamreelError(str(info.path), f"ffmpeg could not decode it ({reason})", "check the file plays; export it again as WAV or FLAC")
