"""The StyleGAN frame model: a user's StyleGAN2 or StyleGAN3 file behind the FrameModel contract.

``StyleGANModel(weights)`` loads the file through the safe loader (no NVlabs code, nothing
from the file executed), blended with a second model when ``gan.blend`` asks. ``render({"ws": (B, num_ws, w_dim)})`` returns uint8 frames
(B, H, W, 3). ``identity`` names everything that fixes the pixels: the weights file's
SHA-256 (and the blend's), the noise mode and the version of our generator's arithmetic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.gan.conduct import conduct_members, dynamics_gain, stylegan_inputs
from dreamreel.gan.stylegan.audio import INPUT_MOTION_KEYS, input_transforms, layer_groups, mapping_inputs, stylegan_ws, stylegan_ws_member

# Raise when the generator's arithmetic changes, so cached segments are rendered again.
GENERATOR_VERSION = 1


class StyleGANModel:
    """FrameModel for StyleGAN2 and StyleGAN3 generators (.pkl from NVlabs, .pt from rosinality).

    Parameters
    ----------
    weights : str or Path
        The model file (``gan.weights``).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available).
    noise_mode : str
        ``"const"`` (default) or ``"none"`` (``stylegan.noise_mode``).
    blend : BlendSpec or None
        A second model whose synthesis blocks are swapped in or mixed (``gan.blend``).
    """

    name = "stylegan"
    latent_keys = ("ws",)

    def __init__(self, weights: str | Path, *, device: str = "auto", noise_mode: str = "const", blend=None, where: str = "params.yaml: stylegan"):
        import torch

        from dreamreel.gan.stylegan.loader import load_generator

        if noise_mode not in ("const", "none"):
            raise DreamreelError(f"{where}.noise_mode", f"unknown noise mode {noise_mode!r}", "use const or none")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.noise_mode = noise_mode
        self.generator, self.info = load_generator(weights, device=device, blend=blend)
        self.size_px = self.info.resolution
        self.num_ws = self.generator.num_ws
        self.w_dim = self.generator.w_dim
        # StyleGAN3 reads a per-frame input transform too (identity when nothing moves it).
        self.is_stylegan3 = hasattr(self.generator.synthesis, "ws_pixels")
        self.latent_keys = ("ws", "transform") if self.is_stylegan3 else ("ws",)
        # The blend (B's hash and the swap or mix) is part of the identity, so segments
        # rendered with another blend, or none, are never reused.
        self.identity = f"stylegan-{self.info.identity}-{noise_mode}-g{GENERATOR_VERSION}"

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
            # A copy: ws is often a read-only slice of latents.npz, and torch warns on (and
            # must not write through) a tensor over read-only memory.
            batch = torch.from_numpy(np.array(ws, dtype=np.float32, order="C")).to(self.device)
            if self.is_stylegan3:
                if "transform" not in latents or np.shape(latents["transform"]) != (len(ws), 3, 3):
                    raise DreamreelError("latents.npz: transform", "missing or misshapen; a StyleGAN3 model reads one (3, 3) transform per frame",
                                         "rebuild latents.npz for this model (make rebuilds it when gan.weights changes)")
                transform = torch.from_numpy(np.array(latents["transform"], dtype=np.float32, order="C")).to(self.device)
                images = self.generator.synthesis(batch, transform=transform)
            else:
                images = self.generator.synthesis(batch, noise_mode=self.noise_mode)
            return to_uint8(images).cpu().numpy()


def stylegan_walk(features: Mapping[str, Any], *, weights, params: Mapping[str, Any], where: str = "features.npz",
                  params_where: str = "params.yaml: stylegan", conducting=None) -> dict[str, np.ndarray]:
    """latents.npz for a StyleGAN model: ``ws`` (N, num_ws, w_dim), for StyleGAN3 ``transform`` (N, 3, 3), and the exact frame rate.

    ``ws`` is a :class:`~dreamreel.core.npz.StreamedArray`, computed a block of frames at a
    time as :func:`~dreamreel.core.npz.save_npz` writes it (1.5 GB for 20 minutes at 30 fps
    and 18 ws, held whole); the other members are a few floats a frame.

    ``where`` names the features file in messages, ``params_where`` the stylegan section.

    The generator is loaded on the CPU (its mapping network is all that is used), so the
    same features, params and model file give byte-identical ws on every machine.

    ``stylegan.dynamics`` scales the audio drives by the music's level across sections;
    ``conducting`` (:func:`dreamreel.gan.conduct.resolve`) puts parts in place of the
    bands, onsets, chroma or loudness, and gives each section's scene its own anchors.
    Beside the ws go ``layer_group`` (num_ws,) (0 coarse, 1 middle, 2 fine) and the
    conduct diagnostics (:func:`dreamreel.gan.conduct.conduct_members`).
    """
    fps_num, fps_den = int(features["fps_num"]), int(features["fps_den"])
    model = StyleGANModel(weights, device="cpu", noise_mode=params["noise_mode"], where=params_where)
    gain = dynamics_gain(features, params=params)
    inputs = stylegan_inputs(mapping_inputs(features), gain=gain, conducting=conducting)
    scenes = conducting.scenes if conducting is not None else None
    ws = stylegan_ws_member(inputs, generator=model.generator, params=params, fps=fps_num / fps_den, where=where, params_where=params_where,
                            scenes=scenes)
    walk = {"ws": ws, "fps_num": np.int64(fps_num), "fps_den": np.int64(fps_den)}
    if gain is not None:
        walk["dynamics_gain"] = gain.astype(np.float32)
    if conducting is not None and conducting.drives:
        walk.update(conduct_members(conducting.drives, gain, ws.shape[0]))
    if conducting is not None:
        ws_pixels = getattr(model.generator.synthesis, "ws_pixels", None)
        walk["layer_group"] = layer_groups(model.generator.img_resolution, coarse_max_px=params["coarse_max_px"], middle_max_px=params["middle_max_px"],
                                           pixels=ws_pixels() if ws_pixels else None).astype(np.int64)
    if scenes is not None:
        walk["scene_weights"] = scenes.astype(np.float32)
    if model.is_stylegan3:
        walk["transform"] = input_transforms(inputs, params=params, fps=fps_num / fps_den, img_resolution=model.size_px, where=where)
    else:
        moving = [key for key in INPUT_MOTION_KEYS if params[key]]
        if moving:
            raise DreamreelError(f"{params_where}.{moving[0]}", "moves a StyleGAN3 model's input; this model is StyleGAN2",
                                 "set it to 0, or use a StyleGAN3 model")
    return walk
