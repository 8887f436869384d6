"""Any song ffmpeg reads, decoded through a pipe a block at a time: the SONG= input.

One path for every format: ffprobe finds the first audio stream (a song, or the sound
track of a video), and ffmpeg decodes it, converts the rate and the channel layout, and
writes raw float32 into a pipe that Python reads a block at a time, so memory does not grow
with the song. Kept apart from :mod:`.audio_io` so that only import_song depends on the
ffmpeg tooling (a stage reruns when a module it imports changes).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from dreamreel.core import processes
from dreamreel.core.errors import DreamreelError
from dreamreel.core.ffmpeg_tools import FFmpeg, find_ffmpeg, stderr_tail

DECODE_BLOCK_FRAMES = 1 << 16  # frames per block read from ffmpeg: 0.5 MB of stereo float32


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
    result = processes.run(command)
    if result.returncode != 0:
        processes.raise_if_stopped(result.returncode, result.stderr)
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
        # Through processes.spawn: ffmpeg dies with this stage, never decoding on alone.
        process = processes.spawn(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
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
            message = errors.read().decode(errors="replace")
            processes.raise_if_stopped(status, message, signal_exit=processes.FFMPEG_SIGNAL_EXIT)
            reason = stderr_tail(message, 1)
            raise DreamreelError(str(info.path), f"ffmpeg could not decode it ({reason})", "check the file plays; export it again as WAV or FLAC")
