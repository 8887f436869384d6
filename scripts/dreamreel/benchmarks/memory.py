"""Peak memory against song length: every stage that reads a whole song, on 30 s, 3 min and 20 min songs.

The stages stream, so their peak resident memory should not grow with the song (the
goal: at most 1.2x from 30 s to 20 min). Each song is synthetic (a chord, a kick every
half second, hats), written as a 16-bit 44.1 kHz WAV block by block, so even the
20-minute one is cheap to make; the stages then run as the pipeline runs them: the song
is imported (resampled to 48 kHz; also loudness-normalised, ``mix.normalize_song``), the
master analysed, the features turned into a walk (BigGAN's, also looped, and StyleGAN's
at 1024 px: 18 ws of 512, looped), and the master's beats tracked (beat and bar effects
on a song). Each row also gives its peak RSS as a ratio to the shortest song's.
"""

from __future__ import annotations

import json
import os
import sys
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


# A StyleGAN walk sized as for a 1024 px model (18 ws of 512) on a synthesis network of 4
# channels a layer: the walk is what is measured, and it never runs the synthesis.
_STYLEGAN_WALK = """
import sys
import numpy as np
from dreamreel.core.npz import open_npz, save_npz
from dreamreel.core.params import validate_section
from dreamreel.gan.latents import close_loop
from dreamreel.gan.sections import STYLEGAN
from dreamreel.gan.stylegan.audio import mapping_inputs, stylegan_ws_member
from dreamreel.gan.stylegan.network import Generator, GeneratorConfig, channels_for
import torch
torch.manual_seed(0)
config = GeneratorConfig(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3, mapping_layers=8, conv_clamp=256.0,
                         channels=channels_for(resolution=1024, channel_base=4096, channel_max=4))
generator = Generator(config).eval().requires_grad_(False)
features = open_npz(sys.argv[1])
fps = int(features["fps_num"]) / int(features["fps_den"])
ws = stylegan_ws_member(mapping_inputs(features), generator=generator, params=validate_section("stylegan", STYLEGAN, {}), fps=fps)
save_npz(sys.argv[2], close_loop({"ws": ws}))
"""

_BEATS = """
import sys
from dreamreel.core.audio_io import summed_mono_blocks
from dreamreel.score.musical_time import track_beats_streamed
samples, rate, read_blocks = summed_mono_blocks([sys.argv[1]])
print(len(track_beats_streamed(read_blocks, rate, samples)))
"""


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def run(out_dir: Path, quick: bool) -> list[dict]:
    work = out_dir / "memory"
    work.mkdir(parents=True, exist_ok=True)
    lengths_s = (10.0, 30.0, 120.0) if quick else (30.0, 180.0, 1200.0)
    mix, normalizing = work / "mix.json", work / "mix-normalize.json"
    mix.write_text(json.dumps(MIX))
    normalizing.write_text(json.dumps({**MIX, "normalize_song": True}))
    features_params, latents_params, loop_model = work / "features.json", work / "latents.json", work / "model.json"
    features_params.write_text("{}")
    latents_params.write_text("{}")
    loop_model.write_text(json.dumps({"model": "auto", "weights": None, "loop": True}))
    scripts = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(scripts), *filter(None, [os.environ.get("PYTHONPATH")])]))

    stages = ("import_song (WAV 44.1 kHz -> 48 kHz master)", "import_song, mix.normalize_song: true", "analyze (master -> features.npz)",
              "latents (features.npz -> latents.npz)", "latents, video.loop: true", "latents StyleGAN 18 x 512 ws, looped",
              "beat tracking (beat/bar effects on a song)")
    measured: dict[str, list[tuple[float, object]]] = {stage: [] for stage in stages}
    for seconds in lengths_s:
        song = write_song(work / f"song-{seconds:.0f}.wav", seconds)
        master, normalized, features, latents = (work / f"{name}-{seconds:.0f}{suffix}" for name, suffix in
                                                 (("master", ".wav"), ("normalized", ".wav"), ("features", ".npz"), ("latents", ".npz")))
        steps = (
            python_script("import_song") + [song, master, "--params", mix],
            python_script("import_song") + [song, normalized, "--params", normalizing],
            python_script("analyze") + [master, features, "--params", features_params],
            python_script("latents") + [features, latents, "--params", latents_params],
            python_script("latents") + [features, latents, "--params", latents_params, "--model", loop_model],
            _python(_STYLEGAN_WALK) + [features, latents],
            _python(_BEATS) + [master],
        )
        for stage, command in zip(stages, steps):
            measured[stage].append((seconds, measure(command, env=env)))
        for path in (song, master, normalized, latents):
            path.unlink()  # the 20-minute files are 200-350 MB each, the StyleGAN walk 1.3 GB

    rows = []
    for stage in stages:
        shortest_mb = measured[stage][0][1].peak_rss_mb
        for seconds, m in measured[stage]:
            rows.append({"stage": stage, "input": _label(seconds), "seconds": round(m.seconds, 2), "x_realtime": round(seconds / m.seconds, 1),
                         "peak_rss_mb": round(m.peak_rss_mb, 1), "rss_vs_shortest": round(m.peak_rss_mb / shortest_mb, 2)})
    return rows
