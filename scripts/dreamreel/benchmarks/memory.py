"""Peak memory against song length: import_song, analyze and latents on 30 s, 3 min and 20 min songs.

The three stages stream, so their peak resident memory should not grow with the song
(the goal: at most 1.2x from 30 s to 20 min). Each song is synthetic (a chord, a kick
every half second, hats), written as a 16-bit 44.1 kHz WAV block by block, so even the
20-minute one is cheap to make; the stages then run as the pipeline runs them: the song
is imported (resampled to 48 kHz), the master analysed, the features turned into a walk.
Each row also gives its peak RSS as a ratio to the shortest song's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dreamreel.benchmarks import measure, python_script

SONG_RATE_HZ = 44100
WRITE_BLOCK_S = 10
MIX = {"dry_gain_db": 0.0, "wet_gain_db": -6.0, "loudness_lufs": -14.0, "true_peak_dbtp": -1.0, "normalize_song": False}


def write_song(path: Path, seconds: float) -> Path:
    """A music-like stereo WAV of ``seconds``, generated and written 10 s at a time."""
    import soundfile

    total = int(seconds * SONG_RATE_HZ)
    with soundfile.SoundFile(str(path), "w", samplerate=SONG_RATE_HZ, channels=2, subtype="PCM_16", format="WAV") as handle:
        for index, start in enumerate(range(0, total, WRITE_BLOCK_S * SONG_RATE_HZ)):
            t = np.arange(start, min(total, start + WRITE_BLOCK_S * SONG_RATE_HZ)) / SONG_RATE_HZ
            # The chord changes every 8 s so chroma and classes move.
            root = (220.0, 196.0, 174.61, 246.94)[int(t[0] // 8) % 4]
            signal = sum(0.1 * np.sin(2 * np.pi * root * ratio * t) for ratio in (1.0, 1.26, 1.5))
            beat = t % 0.5
            signal = signal + 0.4 * np.exp(-beat * 30) * np.sin(2 * np.pi * 60 * beat)
            signal = signal + 0.05 * np.random.default_rng(index).standard_normal(len(t)) * np.exp(-(t % 0.25) * 60)
            handle.write(np.stack([signal, 0.9 * signal], axis=1).astype(np.float32))
    return path


def _label(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def run(out_dir: Path, quick: bool) -> list[dict]:
    work = out_dir / "memory"
    work.mkdir(parents=True, exist_ok=True)
    lengths_s = (10.0, 30.0, 120.0) if quick else (30.0, 180.0, 1200.0)
    mix = work / "mix.json"
    mix.write_text(json.dumps(MIX))
    features_params, latents_params = work / "features.json", work / "latents.json"
    features_params.write_text("{}")
    latents_params.write_text("{}")

    stages = ("import_song (WAV 44.1 kHz -> 48 kHz master)", "analyze (master -> features.npz)", "latents (features.npz -> latents.npz)")
    measured: dict[str, list[tuple[float, object]]] = {stage: [] for stage in stages}
    for seconds in lengths_s:
        song = write_song(work / f"song-{seconds:.0f}.wav", seconds)
        master, features, latents = (work / f"{name}-{seconds:.0f}{suffix}" for name, suffix in (("master", ".wav"), ("features", ".npz"), ("latents", ".npz")))
        steps = (
            python_script("import_song") + [song, master, "--params", mix],
            python_script("analyze") + [master, features, "--params", features_params],
            python_script("latents") + [features, latents, "--params", latents_params],
        )
        for stage, command in zip(stages, steps):
            measured[stage].append((seconds, measure(command)))
        for path in (song, master):
            path.unlink()  # the 20-minute files are 200-350 MB each

    rows = []
    for stage in stages:
        shortest_mb = measured[stage][0][1].peak_rss_mb
        for seconds, m in measured[stage]:
            rows.append({"stage": stage, "input": _label(seconds), "seconds": round(m.seconds, 2), "x_realtime": round(seconds / m.seconds, 1),
                         "peak_rss_mb": round(m.peak_rss_mb, 1), "rss_vs_shortest": round(m.peak_rss_mb / shortest_mb, 2)})
    return rows
