"""Shared fixtures for the GAN-stage tests: synthetic songs, params files, a tiny BigGAN."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from dreamreel.core.audio_io import write_audio

# A BigGAN-deep layout small enough to run in milliseconds: 128 px out (five upsamplings
# from 4x4), 4 base channels (the first block takes 16x, as in every BigGAN-deep), attention
# at 8 channels. Same code path as the real models.
TINY_BIGGAN = {
    "output_dim": 128,
    "z_dim": 128,
    "class_embed_dim": 128,
    "channel_width": 4,
    "num_classes": 1000,
    "layers": [[True, 16, 8], [True, 8, 4], [True, 4, 2], [True, 2, 2], [True, 2, 1]],
    "attention_layer_position": 3,
    "eps": 1e-4,
    "n_stats": 51,
}


def music(sample_rate_hz: int, seconds: float, *, seed: int = 0) -> np.ndarray:
    """A chord with a kick every half second and noisy hats: exercises every feature."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(sample_rate_hz * seconds))) / sample_rate_hz
    signal = sum(0.12 * np.sin(2 * np.pi * hz * t) for hz in (220.0, 277.18, 329.63))
    beat = t % 0.5
    signal = signal + 0.4 * np.exp(-beat * 30) * np.sin(2 * np.pi * 60 * beat)
    signal = signal + 0.05 * rng.standard_normal(len(t)) * np.exp(-(t % 0.25) * 60)
    return np.stack([signal, 0.9 * signal]).astype(np.float32)


def write_wav(path: Path, audio: np.ndarray, sample_rate_hz: int) -> Path:
    write_audio(path, audio, sample_rate_hz)
    return path


def write_params(path: Path, values: dict) -> Path:
    path.write_text(json.dumps(values), encoding="utf-8")
    return path


def tiny_biggan_folder(folder: Path, *, seed: int = 0) -> Path:
    """Save a random but finite tiny BigGAN as config.json + pytorch_model.bin."""
    import torch
    from dreamreel.gan.models.biggan import random_finite_biggan

    folder.mkdir(parents=True, exist_ok=True)
    model = random_finite_biggan(TINY_BIGGAN, seed=seed)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "config.json").write_text(json.dumps(TINY_BIGGAN), encoding="utf-8")
    return folder


def walk(n_frames: int, *, seed: int = 0, fps: int = 30) -> dict[str, np.ndarray]:
    """A random latent walk of n_frames (smooth enough to look like one)."""
    rng = np.random.default_rng(seed)
    noise = np.cumsum(rng.standard_normal((n_frames, 128)) * 0.1, axis=0).clip(-2, 2).astype(np.float32)
    classes = np.zeros((n_frames, 1000), dtype=np.float32)
    classes[:, [1, 207, 980]] = rng.random((n_frames, 3)).astype(np.float32)
    return {
        "noise": noise,
        "classes": classes,
        "truncation": np.full(n_frames, 0.8, dtype=np.float32),
        "fps_num": np.int64(fps),
        "fps_den": np.int64(1),
    }
