"""Score parts to stems: one stereo WAV per part, all the same length, rendered by FluidSynth.

Each part is written as its own MIDI file carrying the score's whole tempo and meter map,
so every stem starts at tick 0 of the same timeline; FluidSynth renders it offline
(``-F``) with its own reverb and chorus off (ours come later, per part, from params). The
stems are then cut or padded to exactly round((end of the last bar + tail) x rate)
samples, which makes them align sample for sample.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import numpy as np

from dreamreel.audio.soundfont import check_soundfont
from dreamreel.core import processes
from dreamreel.core.audio_io import read_audio, to_stereo
from dreamreel.core.errors import DreamreelError
from dreamreel.score.midi_file import write_part_midi
from dreamreel.score.model import Part, Score
from dreamreel.score.musical_time import TempoMap

END_FADE_S = 0.01  # a last-moment fade, so a note cut by the end of the file does not click


def stem_length_samples(score: Score, *, sample_rate_hz: int, tail_s: float) -> int:
    """Length shared by all stems: up to the final barline plus the tail, in samples."""
    end_s = TempoMap.from_score(score).tick_to_seconds(score.end_tick)
    return int(round((end_s + tail_s) * sample_rate_hz))


def render_part(
    score: Score,
    part: Part,
    *,
    soundfont: str | Path,
    sample_rate_hz: int,
    synth_gain: float,
    length_samples: int,
    fluidsynth: str = "fluidsynth",
    where: str = "params.yaml: stems",
) -> np.ndarray:
    """Render one part to float32 stereo audio of exactly ``length_samples`` samples.

    ``where`` names the stems section in messages (``"<the user's params file>: stems"``).
    """
    soundfont = check_soundfont(soundfont, section=where)
    if shutil.which(fluidsynth) is None:
        raise DreamreelError(fluidsynth, "FluidSynth is not installed", "run make setup (or sudo apt-get install --no-install-recommends fluidsynth)")
    tempo = TempoMap.from_score(score)
    # The end-of-track event goes after the tail, so FluidSynth keeps rendering the releases.
    tail_ticks = int(math.ceil(length_samples / sample_rate_hz / tempo.seconds_per_tick[-1])) - score.end_tick + score.ticks_per_quarter
    with tempfile.TemporaryDirectory(prefix="dreamreel-stem-") as scratch:
        midi_path = Path(scratch) / f"{part.name}.mid"
        wav_path = Path(scratch) / f"{part.name}.wav"
        write_part_midi(score, part, midi_path, tail_ticks=max(0, tail_ticks))
        command = [
            fluidsynth, "-ni", "-q", "-R", "0", "-C", "0", "-g", f"{synth_gain:g}",
            "-r", str(sample_rate_hz), "-O", "float", "-T", "wav", "-F", str(wav_path),
            str(soundfont), str(midi_path),
        ]
        result = processes.run(command)
        processes.raise_if_stopped(result.returncode, result.stderr)
        if result.returncode != 0 or not wav_path.is_file():
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise DreamreelError(str(soundfont), f"FluidSynth failed on part '{part.name}' ({detail[-1] if detail else result.returncode})", "check that the soundfont is a valid .sf2 file")
        audio, rate = read_audio(wav_path)
    if rate != sample_rate_hz:
        raise RuntimeError(f"FluidSynth wrote {rate} Hz, asked for {sample_rate_hz} Hz")
    return fit_length(to_stereo(audio), length_samples, fade_samples=int(END_FADE_S * sample_rate_hz))


def fit_length(audio: np.ndarray, length_samples: int, *, fade_samples: int = 0) -> np.ndarray:
    """Cut or zero-pad (channels, samples) audio to ``length_samples``; fade the last samples out."""
    channels, have = audio.shape
    if have >= length_samples:
        fitted = audio[:, :length_samples].copy()
    else:
        fitted = np.zeros((channels, length_samples), dtype=np.float32)
        fitted[:, :have] = audio
    if fade_samples > 0:
        fade = min(fade_samples, length_samples)
        fitted[:, length_samples - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return fitted
