"""The StyleGAN frame model: a user's StyleGAN2 file behind the FrameModel contract.

``StyleGANModel(weights)`` loads the file through the safe loader (no NVlabs code, nothing
from the file executed). ``render({"ws": (B, num_ws, w_dim)})`` returns uint8 frames
(B, H, W, 3). ``identity`` names everything that fixes the pixels: the weights file's
SHA-256, the noise mode and the version of our generator's arithmetic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.gan.stylegan.audio import mapping_inputs, stylegan_ws

# Raise when the generator's arithmetic changes, so cached segments are rendered again.
GENERATOR_VERSION = 1


class StyleGANModel:
    """FrameModel for StyleGAN2 generators (.pkl from NVlabs, .pt from rosinality).

    Parameters
    ----------
    weights : str or Path
        The model file (``gan.weights``).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available).
    noise_mode : str
        ``"const"`` (default) or ``"none"`` (``stylegan.noise_mode``).
    """

    name = "stylegan"
    latent_keys = ("ws",)

    def __init__(self, weights: str | Path, *, device: str = "auto", noise_mode: str = "const", where: str = "params.yaml: stylegan"):
        import torch

        from dreamreel.gan.stylegan.loader import load_generator

        if noise_mode not in ("const", "none"):
            raise DreamreelError(f"{where}.noise_mode", f"unknown noise mode {noise_mode!r}", "use const or none")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.noise_mode = noise_mode
        self.generator, self.info = load_generator(weights, device=device)
        self.size_px = self.info.resolution
        self.num_ws = self.generator.num_ws
        self.w_dim = self.generator.w_dim
        self.identity = f"stylegan-{self.info.sha256[:16]}-{noise_mode}-g{GENERATOR_VERSION}"

    def ws_from_features(self, features: Mapping[str, Any], *, params: Mapping[str, Any], fps: float,
                         where: str = "features.npz") -> np.ndarray:
        """The audio mapping for this model: features -> ws (N, num_ws, w_dim) float32."""
        return stylegan_ws(features, generator=self.generator, params=params, fps=fps, where=where)

    def render(self, latents: Mapping[str, np.ndarray]) -> np.ndarray:
        """One batch: ``latents["ws"]`` (B, num_ws, w_dim) -> uint8 (B, H, W, 3) RGB."""
        import torch

        from dreamreel.gan.stylegan.network import to_uint8

        if "ws" not in latents:
            raise DreamreelError("latents.npz: ws", "missing", "rebuild latents.npz with gan.model: stylegan")
        ws = np.asarray(latents["ws"])
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise DreamreelError("latents.npz: ws", f"has shape {ws.shape}, this model needs (N, {self.num_ws}, {self.w_dim})",
                                 "rebuild latents.npz for this model (make rebuilds it when gan.weights changes)")
        with torch.no_grad():
            batch = torch.from_numpy(np.ascontiguousarray(ws, dtype=np.float32)).to(self.device)
            images = self.generator.synthesis(batch, noise_mode=self.noise_mode)
            return to_uint8(images).cpu().numpy()


def stylegan_walk(features: Mapping[str, Any], *, weights, params: Mapping[str, Any], where: str = "features.npz",
                  params_where: str = "params.yaml: stylegan") -> dict[str, np.ndarray]:
    """latents.npz for a StyleGAN model: ``ws`` (N, num_ws, w_dim) and the exact frame rate.

    ``where`` names the features file in messages, ``params_where`` the stylegan section.

    The generator is loaded on the CPU (its mapping network is all that is used), so the
    same features, params and model file give byte-identical ws on every machine.
    """
    fps_num, fps_den = int(features["fps_num"]), int(features["fps_den"])
    model = StyleGANModel(weights, device="cpu", noise_mode=params["noise_mode"], where=params_where)
    ws = stylegan_ws(mapping_inputs(features), generator=model.generator, params=params, fps=fps_num / fps_den, where=where, params_where=params_where)
    return {"ws": ws, "fps_num": np.int64(fps_num), "fps_den": np.int64(fps_den)}
