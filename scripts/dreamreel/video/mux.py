"""Put the picture and the master mix together: out/<piece>.mp4 (AAC) and out/<piece>.mkv (FLAC).

The picture is stream-copied, never re-encoded. The contract of the GAN stage is that
the picture ends with the music (frame count = ceil(duration x fps)), so the audio is
padded with silence (or trimmed) to exactly the picture's length in samples; a
difference of more than one frame means the picture is stale and is an error.
Metadata: the piece's title, the GAN model (from the picture's ``model`` tag, which
compose copies from frames.mkv, or given explicitly) and a hash of the parameters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Sequence

from dreamreel.core.atomic import atomic_path
from dreamreel.core.errors import DreamreelError
from dreamreel.core.ffmpeg_tools import FFmpeg, VideoInfo, probe_audio, probe_video, run_ffmpeg

MASTER_RATE_HZ = 48000
MASTER_CHANNELS = 2
MODEL_TAGS = ("model", "dreamreel_model", "gan_model")


def params_hash(files: Sequence[str | Path]) -> str:
    """SHA-256 over the given parameter files (name and bytes), first 16 hex digits.

    The canonical section JSONs are the natural input: comments and key order in
    params.yaml do not change them.
    """
    digest = hashlib.sha256()
    for file in sorted(Path(f) for f in files):
        if not file.is_file():
            raise DreamreelError(str(file), "parameter file not found", "run it through make, which writes build/params/")
        digest.update(file.name.encode("utf-8") + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_name(info: VideoInfo, override: str | None) -> str:
    """The GAN model: ``override`` if given, else the picture's model tag."""
    if override:
        return override
    for key in MODEL_TAGS:
        if info.tags.get(key):
            return info.tags[key]
    raise DreamreelError(info.path, f"has no model tag ({', '.join(MODEL_TAGS)})", "rebuild frames.mkv with the GAN stage (it tags the model), or pass --model NAME")


@dataclass(frozen=True)
class MuxPlan:
    """What mux will do: the picture's length and the audio's target length in samples."""

    fps: Fraction
    frames: int
    picture_s: float
    audio_s: float
    target_samples: int

    @property
    def pad_samples(self) -> int:
        """Samples of silence added at the end (negative: samples trimmed)."""
        return self.target_samples - round(self.audio_s * MASTER_RATE_HZ)


def plan(picture: VideoInfo, audio_path: str, audio_s: float, *, sample_rate_hz: int) -> MuxPlan:
    """Check that picture and audio belong together and give the audio's exact target length."""
    if picture.frames < 1:
        raise DreamreelError(picture.path, "the picture has no frames", "recompose it (make video)")
    picture_s = float(picture.frames / picture.fps)
    frame_s = float(1 / picture.fps)
    # ceil(duration x fps) frames make the picture up to one frame longer than the music.
    if abs(picture_s - audio_s) > frame_s + 1.0 / sample_rate_hz:
        raise DreamreelError(
            audio_path,
            f"lasts {audio_s:.3f} s but the picture {picture.path} lasts {picture_s:.3f} s (more than one frame apart)",
            "the picture is stale: rebuild it from this master (make video)",
        )
    target = round(Fraction(picture.frames) / picture.fps * sample_rate_hz)
    return MuxPlan(picture.fps, picture.frames, picture_s, audio_s, target)


def mux(
    picture: str | Path,
    audio: str | Path,
    *,
    out_mp4: str | Path,
    out_mkv: str | Path,
    params: Mapping[str, Any],
    metadata: Mapping[str, str],
    tool: FFmpeg,
) -> MuxPlan:
    """Write ``out_mp4`` and ``out_mkv`` in one ffmpeg run; return the plan that was applied."""
    video = probe_video(tool, picture)
    if video.codec != "h264":
        raise DreamreelError(str(picture), f"the picture is {video.codec}, not H.264", "make it with scripts/compose.py")
    sound = probe_audio(tool, audio)
    if sound.sample_rate_hz != MASTER_RATE_HZ or sound.channels != MASTER_CHANNELS:
        raise DreamreelError(str(audio), f"is {sound.sample_rate_hz} Hz with {sound.channels} channel(s)", "the master mix must be 48 kHz stereo (build/mix/master.wav)")
    audio_s = sound.samples / sound.sample_rate_hz if sound.samples is not None else sound.duration_s
    mux_plan = plan(video, str(audio), audio_s, sample_rate_hz=sound.sample_rate_hz)
    length = f"apad=whole_len={mux_plan.target_samples},atrim=end_sample={mux_plan.target_samples}"
    tags: list[str] = []
    for key, value in metadata.items():
        tags += ["-metadata", f"{key}={value}"]
    with atomic_path(out_mp4) as mp4_tmp, atomic_path(out_mkv) as mkv_tmp:
        args = [
            "-i", str(picture),
            "-i", str(audio),
            # MP4: H.264 copy + AAC, index at the front so it plays while downloading.
            "-map", "0:v:0", "-map", "1:a:0", "-map_metadata", "-1", *tags,
            "-c:v", "copy", "-af", length, "-c:a", "aac", "-b:a", f"{params['aac_bitrate_kbps']}k",
            "-movflags", "+faststart+use_metadata_tags", "-fflags", "+bitexact", str(mp4_tmp),
            # MKV: the same picture + lossless FLAC.
            "-map", "0:v:0", "-map", "1:a:0", "-map_metadata", "-1", *tags,
            "-c:v", "copy", "-af", length, "-c:a", "flac", "-compression_level", str(params["flac_level"]),
            "-fflags", "+bitexact", str(mkv_tmp),
        ]
        run_ffmpeg(tool, args, where=str(out_mp4), fix=f"check {picture} and {audio}; rebuild them if they are damaged")
    return mux_plan
