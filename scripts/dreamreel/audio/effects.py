"""Per-part processing: small effect objects composed into a dry chain and a wet chain.

Each effect is a callable ``effect(audio, sample_rate_hz) -> audio`` on float32
(channels, samples) audio, so a chain is a plain list, applied in order. The chains of
one part, from its params (``parts.<name>``):

- dry: tremolo -> 8D pan -> gain
- wet: tremolo -> 8D pan -> reverb (wet only) -> gain

The 8D pan sits in both: the direct sound (dry bus) is what moves around the head, and
the reverb (wet bus) is of the moving source, wide and still around it.

SoX works in fixed point internally and clips at full scale, so audio goes into SoX with
12 dB of headroom and the level is restored afterwards; gain is applied last, in floating
point, where nothing can clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

SOX_HEADROOM_PEAK = 0.25  # -12 dBFS: room for reverb build-up and tremolo peaks inside SoX


class Effect(Protocol):
    def __call__(self, audio: np.ndarray, sample_rate_hz: int) -> np.ndarray: ...


def db_to_gain(level_db: float) -> float:
    return float(10.0 ** (level_db / 20.0))


@dataclass(frozen=True)
class Gain:
    """Multiply by a level in dB."""

    gain_db: float

    def __call__(self, audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
        return (audio * np.float32(db_to_gain(self.gain_db))).astype(np.float32)


def run_sox(configure: Callable, audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Run a SoX Transformer set up by ``configure(tfm)`` on (channels, samples) audio."""
    import sox

    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak == 0.0:
        return audio.copy()
    scale = SOX_HEADROOM_PEAK / peak
    transformer = sox.Transformer()
    configure(transformer)
    processed = transformer.build_array(input_array=(audio * scale).T.astype(np.float32), sample_rate_in=sample_rate_hz)
    # pysox returns a 1-D array for mono input.
    processed = processed.reshape(-1, audio.shape[0])
    return np.ascontiguousarray(processed.T / scale, dtype=np.float32)


@dataclass(frozen=True)
class Tremolo:
    """SoX tremolo: amplitude modulated at ``speed_hz`` by ``depth_pct``."""

    speed_hz: float
    depth_pct: float

    def __call__(self, audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
        return run_sox(lambda t: t.tremolo(speed=self.speed_hz, depth=self.depth_pct), audio, sample_rate_hz)


@dataclass(frozen=True)
class Reverb:
    """SoX reverb, wet signal only (the dry signal travels on the dry bus)."""

    reverberance_pct: float
    hf_damping_pct: float
    room_scale_pct: float
    stereo_depth_pct: float
    pre_delay_ms: float
    wet_gain_db: float

    def __call__(self, audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
        return run_sox(
            lambda t: t.reverb(
                reverberance=self.reverberance_pct, high_freq_damping=self.hf_damping_pct,
                room_scale=self.room_scale_pct, stereo_depth=self.stereo_depth_pct,
                pre_delay=self.pre_delay_ms, wet_gain=self.wet_gain_db, wet_only=True,
            ),
            audio, sample_rate_hz,
        )


def part_chains(settings: dict, *, pan: Effect | None = None) -> tuple[list[Effect], list[Effect]]:
    """The dry and wet chains of one part from its params (``parts.<name>``).

    ``pan`` fills the 8D panning slot of both chains, after tremolo: the dry bus carries
    the moving direct sound, and in the wet chain the pan comes before the reverb, so the
    reverb is of the moving source and stays wide and still around it.
    """
    front: list[Effect] = []
    if settings.get("tremolo"):
        front.append(Tremolo(**settings["tremolo"]))
    gain = Gain(settings["gain_db"])
    if pan is not None:
        front.append(pan)
    dry = front + [gain]
    wet = list(front)
    if settings.get("reverb"):
        wet.append(Reverb(**settings["reverb"]))
    wet.append(gain)
    return dry, wet


def apply_chain(chain: list[Effect], audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    for effect in chain:
        audio = effect(audio, sample_rate_hz)
    return audio
