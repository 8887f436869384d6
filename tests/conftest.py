"""Shared fixtures: synthetic signals, tiny scores built with mido, and tool checks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
PYTHON = sys.executable
SOUNDFONTS = [Path("/usr/share/sounds/sf2/TimGM6mb.sf2"), Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), Path("/usr/share/sounds/sf2/default-GM.sf2")]


def soundfont() -> Path | None:
    return next((font for font in SOUNDFONTS if font.is_file()), None)


needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or soundfont() is None, reason="needs fluidsynth and a GM soundfont (make setup)"
)
needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="needs sox (make setup)")
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg (make setup)")


@lru_cache(maxsize=None)
def _sine(sample_rate_hz: int, frequency_hz: float, seconds: float, channels: int, amplitude: float) -> np.ndarray:
    t = np.arange(int(round(seconds * sample_rate_hz))) / sample_rate_hz
    wave = (amplitude * np.sin(2 * np.pi * frequency_hz * t)).astype(np.float32)
    result = np.repeat(wave[None, :], channels, axis=0)
    result.setflags(write=False)
    return result


def sine(sample_rate_hz: int = 48000, frequency_hz: float = 440.0, seconds: float = 1.0, channels: int = 2, amplitude: float = 0.5) -> np.ndarray:
    """A (channels, samples) float32 sine; cached and read-only, copy before changing it."""
    return _sine(sample_rate_hz, frequency_hz, seconds, channels, amplitude)


def write_midi(path: Path, parts: dict[str, list[tuple[int, int, int]]], *, ticks_per_beat: int = 480,
               tempos: list[tuple[int, int]] = ((0, 500_000),), meters: list[tuple[int, int, int]] = ((0, 4, 4),),
               programs: dict[str, int] | None = None) -> Path:
    """Write a type 1 MIDI file: ``parts`` maps a track name to (start_tick, end_tick, pitch) notes."""
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    events = [(tick, mido.MetaMessage("set_tempo", tempo=tempo)) for tick, tempo in tempos]
    events += [(tick, mido.MetaMessage("time_signature", numerator=n, denominator=d)) for tick, n, d in meters]
    midi.tracks.append(_track(events))
    for index, (name, notes) in enumerate(parts.items()):
        program = (programs or {}).get(name, 11)
        events = [(0, mido.MetaMessage("track_name", name=name)), (0, mido.Message("program_change", channel=index, program=program))]
        for start, end, pitch in notes:
            events.append((start, mido.Message("note_on", channel=index, note=pitch, velocity=90)))
            events.append((end, mido.Message("note_off", channel=index, note=pitch, velocity=0)))
        midi.tracks.append(_track(events))
    midi.save(str(path))
    return path


def _track(events):
    import mido

    track = mido.MidiTrack()
    previous = 0
    for tick, message in sorted(events, key=lambda e: (e[0], e[1].type == "note_on")):
        track.append(message.copy(time=tick - previous))
        previous = tick
    return track


TINY_PARTS = {
    "Vibraphone": [(0, 480, 60), (480, 960, 64), (960, 1920, 67)],
    "Marimba": [(0, 240, 48), (960, 1200, 55), (1440, 1920, 52)],
}


@pytest.fixture
def tiny_midi(tmp_path) -> Path:
    """Two parts, one 4/4 bar at 120 BPM (2 s)."""
    return write_midi(tmp_path / "tiny.mid", TINY_PARTS, programs={"Vibraphone": 11, "Marimba": 12})


def run_script(name: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run scripts/<name>.py in a child process (for exit codes and stderr as a user sees them)."""
    return subprocess.run([PYTHON, str(SCRIPTS / f"{name}.py"), *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def analysis_window_sizes(monkeypatch) -> list[int]:
    """Samples the GAN analysis holds each time it takes a window, in small STFT blocks:
    what the tests that keep the analysis from holding the song look at."""
    import dreamreel.gan.features as features

    monkeypatch.setattr(features, "STFT_BLOCK", 64)
    held: list[int] = []
    original = features._SampleWindow.take

    def take(self, lo, hi):
        result = original(self, lo, hi)
        held.append(len(self._buffer))
        return result

    monkeypatch.setattr(features._SampleWindow, "take", take)
    return held
