"""cppn: a weight-free generator for offline use, previews and tests.

A compositional pattern-producing network maps each pixel's coordinates (x, y, distance
from the centre) through a few layers of sine and tanh units to a colour. Its weights are
not trained: they are drawn from ``seed``, so it needs no download and draws the same
picture for the same latents on every run. The walk steers it like it steers BigGAN:
the 128-d noise is projected to a small code that shifts the phases and mixes of the
hidden units (shapes flow as the noise moves), and the class vector mixes per-class codes
that tint the palette and bend the second sine layer (each ImageNet class gets its own look).

Coordinates span [-1, 1] whatever the size, so the same latents give the same picture at
any resolution, only sharper.
"""

from __future__ import annotations

import math

import numpy as np

from dreamreel.gan.imagenet import NUM_CLASSES
from dreamreel.gan.models.base import ComputeOptions, set_threads

NOISE_DIM = 128
CODE_DIM = 8
HIDDEN = 24
# Pixels evaluated at once per frame: bounds memory at large sizes (65536 px × 24 units).
PIXEL_CHUNK = 1 << 16
# 2: computed in float64, so that the number of threads never changes a pixel.
CPPN_VERSION = 2


class CPPN:
    """A seeded, weight-free CPPN that follows the FrameModel contract.

    Parameters
    ----------
    size_px : int
        Edge of the square frames, any size from 8 px.
    seed : int
        Draws the network; the same seed always draws the same network.
    compute : ComputeOptions
        Only ``threads`` matters: the CPPN runs in float64 on the CPU. In float32 the
        thread count moved the last bit of a sum, now and then enough to round a pixel
        the other way; in float64 that would take a value within 1e-13 of a rounding edge,
        so one, two or sixteen threads on any machine (or a cluster's workers) draw the same
        bytes.
    """

    name = "cppn"
    latent_keys = ("noise", "classes")

    def __init__(self, *, size_px: int, seed: int = 0, compute: ComputeOptions | None = None):
        import torch

        if size_px < 8:
            raise ValueError(f"size_px must be at least 8, got {size_px}")
        compute = compute or ComputeOptions()
        set_threads(compute.threads)
        self.size_px = int(size_px)
        self.seed = int(seed)
        self.identity = f"cppn-v{CPPN_VERSION}-seed{self.seed}"
        rng = np.random.default_rng([self.seed, 0xC0FFEE])

        def draw(*shape: int, scale: float = 1.0) -> "torch.Tensor":
            return torch.from_numpy(rng.standard_normal(shape) * scale)

        self._noise_projection = draw(NOISE_DIM, CODE_DIM, scale=1.0 / math.sqrt(NOISE_DIM))
        self._class_codes = draw(NUM_CLASSES, CODE_DIM)
        # Layer 1: sine of the coordinates; spatial frequencies of a few cycles per frame.
        self._w_coords = draw(3, HIDDEN, scale=2.2)
        self._w1_noise = draw(CODE_DIM, HIDDEN, scale=1.2)
        self._w1_class = draw(CODE_DIM, HIDDEN, scale=0.6)
        self._b1 = draw(HIDDEN, scale=math.pi)
        self._w2 = draw(HIDDEN, HIDDEN, scale=1.4 / math.sqrt(HIDDEN))
        self._w2_noise = draw(CODE_DIM, HIDDEN, scale=0.8)
        self._w3 = draw(HIDDEN, HIDDEN, scale=2.5 / math.sqrt(HIDDEN))
        self._w3_class = draw(CODE_DIM, HIDDEN, scale=1.0)
        self._w4 = draw(HIDDEN, HIDDEN, scale=1.5 / math.sqrt(HIDDEN))
        self._w_rgb = draw(HIDDEN, 3, scale=2.5 / math.sqrt(HIDDEN))
        self._rgb_class = draw(CODE_DIM, 3, scale=0.5)
        # Pixel centres in [-1, 1]; y grows downwards like image rows.
        axis = (torch.arange(self.size_px, dtype=torch.float64) + 0.5) / self.size_px * 2.0 - 1.0
        y, x = torch.meshgrid(axis, axis, indexing="ij")
        radius = torch.sqrt(x * x + y * y)
        self._coords = torch.stack([x.reshape(-1), y.reshape(-1), radius.reshape(-1)], dim=1)
        self._coord_features = self._coords @ self._w_coords  # (P, HIDDEN), shared by every frame

    def render(self, latents: dict[str, np.ndarray]) -> np.ndarray:
        """Draw one batch. ``noise`` (B, 128) and ``classes`` (B, 1000) in; uint8 (B, H, W, 3) out."""
        import torch

        noise = torch.from_numpy(np.array(latents["noise"], dtype=np.float64))
        classes = torch.from_numpy(np.array(latents["classes"], dtype=np.float64))
        batch = noise.shape[0]
        with torch.inference_mode():
            noise_code = noise @ self._noise_projection
            # A weighted mean of the listed classes' codes: louder pitch classes pull harder.
            total = classes.sum(dim=1, keepdim=True)
            class_code = (classes @ self._class_codes) / torch.where(total > 0, total, torch.ones_like(total))
            offset1 = (noise_code @ self._w1_noise + class_code @ self._w1_class + self._b1)[:, None, :]
            offset2 = (noise_code @ self._w2_noise)[:, None, :]
            offset3 = (class_code @ self._w3_class)[:, None, :]
            tint = (class_code @ self._rgb_class)[:, None, :]
            pixels = self.size_px * self.size_px
            out = torch.empty((batch, pixels, 3), dtype=torch.float64)
            for start in range(0, pixels, PIXEL_CHUNK):
                stop = min(start + PIXEL_CHUNK, pixels)
                h = torch.sin(self._coord_features[None, start:stop, :] + offset1)
                h = torch.tanh(h @ self._w2 + offset2)
                h = torch.sin(h @ self._w3 + offset3)
                h = torch.tanh(h @ self._w4)
                out[:, start:stop, :] = torch.sigmoid(h @ self._w_rgb + tint)
            frames = (out * 255.0).round_().clamp_(0, 255).to(torch.uint8)
        return frames.reshape(batch, self.size_px, self.size_px, 3).numpy()
