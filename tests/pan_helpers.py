"""Signals and scores shared by the 8D pan tests: seeded pink noise, sines, clicks, a MIDI built with mido."""

from __future__ import annotations

from pathlib import Path

import conftest
import numpy as np

RATE = 48_000
HOP = 32


def pink_noise(seconds: float, *, seed: int = 0, rate: int = RATE, rms: float = 0.1) -> np.ndarray:
    """Seeded pink (1/f power) noise, float32 (samples,), 20 Hz to Nyquist."""
    count = int(round(seconds * rate))
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(count))
    frequency = np.fft.rfftfreq(count, 1.0 / rate)
    spectrum /= np.sqrt(np.maximum(frequency, 20.0))
    signal = np.fft.irfft(spectrum, count)
    return (signal / signal.std() * rms).astype(np.float32)


def white_noise(seconds: float, *, seed: int = 0, rate: int = RATE) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(round(seconds * rate))) * 0.1).astype(np.float32)


def sine(frequency_hz: float, seconds: float, *, rate: int = RATE, amplitude: float = 0.5) -> np.ndarray:
    """A mono sine, shape (samples,): the shared generator's one channel."""
    return conftest.sine(rate, frequency_hz, seconds, 1, amplitude)[0]


def clicks(seconds: float, *, every_s: float = 0.25, rate: int = RATE) -> np.ndarray:
    signal = np.zeros(int(round(seconds * rate)), dtype=np.float32)
    signal[:: int(every_s * rate)] = 1.0
    return signal


def control_of(azimuth_deg, count: int, *, hop: int = HOP, distance_m=1.0, gain_db=0.0):
    """A Control for ``count`` samples: azimuth a number (static) or a function of time in seconds."""
    from dreamreel.audio.automation import Control

    points = -(-count // hop) + 1
    times = np.arange(points) * hop / RATE
    azimuth = azimuth_deg(times) if callable(azimuth_deg) else np.full(points, float(azimuth_deg))
    return Control(hop, np.asarray(azimuth, dtype=np.float64), np.full(points, float(distance_m)), np.full(points, float(gain_db)))


def write_midi(path: Path, *, tempos, meters, end_tick: int, ticks_per_beat: int = 480) -> Path:
    """A type 1 MIDI: a conductor track (tempos [(tick, us_per_quarter)], meters [(tick, n, d)]) and
    one track with a note per quarter up to ``end_tick``."""
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    events = [(t, mido.MetaMessage("set_tempo", tempo=us, time=0)) for t, us in tempos]
    events += [(t, mido.MetaMessage("time_signature", numerator=n, denominator=d, time=0)) for t, n, d in meters]
    conductor = mido.MidiTrack()
    previous = 0
    for tick, message in sorted(events, key=lambda e: e[0]):
        conductor.append(message.copy(time=tick - previous))
        previous = tick
    midi.tracks.append(conductor)
    notes = mido.MidiTrack([mido.MetaMessage("track_name", name="Vibraphone", time=0),
                            mido.Message("program_change", program=11, time=0)])
    for start in range(0, end_tick, ticks_per_beat):
        notes.append(mido.Message("note_on", note=64, velocity=80, time=0))
        notes.append(mido.Message("note_off", note=64, velocity=0, time=ticks_per_beat))
    midi.tracks.append(notes)
    midi.save(str(path))
    return path


def changing_midi(path: Path) -> Path:
    """4/4 at 120, 90 BPM from bar 2 beat 3 (mid-bar), 3/4 from bar 3, 6/8 from bar 5, 7 bars in all.

    Hand-computed seconds: bar 2 = 2, bar 2 beat 3 = 3, bar 3 = 13/3, bar 4 = 19/3,
    bar 5 = 25/3, bar 5 beat 4 (eighths) = 28/3, bar 6 = 31/3, bar 7 = 37/3, end (bar 8) = 43/3.
    """
    return write_midi(path, tempos=[(0, 500_000), (2880, 666_667)], meters=[(0, 4, 4), (3840, 3, 4), (6720, 6, 8)],
                      end_tick=6720 + 3 * 1440)


SOFA_AZIMUTHS = np.arange(0, 360, 45)  # SOFA convention: counter-clockwise, 90 = left



def write_sofa(path: Path, *, rate: int = RATE) -> Path:
    """SimpleFreeFieldHRIR-like file: 8 directions at 0 degrees elevation (+ one at 30, to be ignored)."""
    import h5py

    taps = 64
    positions, irs = [], []
    for index, azimuth in enumerate(SOFA_AZIMUTHS):
        ir = np.zeros((2, taps))
        ir[0, 2 + index] = 1.0 - 0.05 * index  # left: a delay and a gain that differ per direction
        ir[1, 10 + 2 * index] = 0.5 + 0.05 * index
        positions.append([azimuth, 0.0, 1.2])
        irs.append(ir)
    positions.append([0.0, 30.0, 1.2])
    irs.append(np.ones((2, taps)))
    with h5py.File(str(path), "w") as handle:
        handle.attrs["Conventions"] = "SOFA"
        handle.create_dataset("Data.IR", data=np.array(irs))
        handle.create_dataset("Data.SamplingRate", data=np.array([float(rate)]))
        source = handle.create_dataset("SourcePosition", data=np.array(positions))
        source.attrs["Type"] = "spherical"
    return path
