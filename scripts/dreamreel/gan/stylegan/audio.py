"""Audio features -> StyleGAN ws, one w per style layer: the picture moves by layer.

StyleGAN's styles act at different scales: the first ws (4-8 px layers) set pose and
layout, the middle ones (16-32 px) features, the last ones (64 px and up) texture and
colour. Following the idea of "Stylizing Audio Reactive Visuals" (2019), each frequency
band drives its own group of layers:

* low band  -> coarse layers, mid band -> middle layers, high band -> fine layers; each
  band pushes its group along a fixed, seeded direction in W, with an instant attack and
  an exponential release so the motion follows the music without jitter;
* onsets -> a short pulse along a fourth direction, on every layer;
* chroma -> the resting point: twelve seeded anchor latents, one per pitch class, mixed
  with weights ``chroma ** chroma_sharpness`` and smoothed without lag, so a change of key
  or chord travels across the anchors;
* loudness (rms) -> truncation: quiet passages sit close to the average image (psi
  ``truncation_quiet``), loud ones move further out (``truncation_loud``).

Gains are in units of one typical latent distance: each direction is ``w(z) - w_avg``
for a seeded z. Everything is seeded and computed on the CPU in float32, so the same
features and params give byte-identical ws.

StyleGAN3 also moves as a whole: its Fourier-feature input can be rotated and shifted
(:func:`input_transforms`). The bass slides the picture, onsets kick a turn, and a steady
spin can be added; one 3x3 transform per frame goes to ``latents.npz`` beside the ws.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.core.npz import StreamedArray
from dreamreel.gan.sections import STYLEGAN

REQUIRED_FEATURES = ("band_low", "band_mid", "band_high", "onset", "chroma", "rms")
PITCH_CLASSES = 12
GROUPS = ("coarse", "middle", "fine")


def validate_features(features: Mapping[str, Any], *, where: str) -> int:
    """Check the arrays the mapping reads; return the frame count N.

    ``band_low``, ``band_mid``, ``band_high``, ``onset``, ``rms``: float (N,), in [0, 1];
    ``chroma``: float (N, 12), in [0, 1]. Other arrays are ignored.
    """
    frames = None
    for name in REQUIRED_FEATURES:
        if name not in features:
            raise DreamreelError(f"{where}: {name}", "feature missing", f"the analysis stage must write {', '.join(REQUIRED_FEATURES)}")
        array = np.asarray(features[name])
        expected_ndim = 2 if name == "chroma" else 1
        if array.ndim != expected_ndim or (name == "chroma" and array.shape[1] != PITCH_CLASSES):
            shape = "(N, 12)" if name == "chroma" else "(N,)"
            raise DreamreelError(f"{where}: {name}", f"has shape {array.shape}, expected {shape}", "rerun the analysis stage")
        if frames is None:
            frames = array.shape[0]
        elif array.shape[0] != frames:
            raise DreamreelError(f"{where}: {name}", f"has {array.shape[0]} frames, band_low has {frames}", "rerun the analysis stage")
        if array.dtype.kind != "f" or not np.isfinite(array).all() or array.size and (array.min() < 0.0 or array.max() > 1.0):
            raise DreamreelError(f"{where}: {name}", "values must be finite floats normalised to [0, 1]", "rerun the analysis stage")
    if not frames:
        raise DreamreelError(where, "no frames", "the song is empty or the analysis stage failed")
    return frames


def layer_groups(resolution: int, *, coarse_max_px: int, middle_max_px: int, pixels=None) -> np.ndarray:
    """Group index (0 coarse, 1 middle, 2 fine) of each w, shape (num_ws,), from the layer resolutions.

    ``pixels`` gives each w's resolution directly (StyleGAN3: each layer's sampling rate);
    by default StyleGAN2's two ws per resolution.
    """
    from dreamreel.gan.stylegan.network import ws_resolutions

    pixels = np.asarray(ws_resolutions(resolution) if pixels is None else pixels)
    return np.where(pixels <= coarse_max_px, 0, np.where(pixels <= middle_max_px, 1, 2))


def _pole(time_constant_s: float, fps: float) -> float:
    """Per-frame decay factor of a one-pole filter with this time constant (0 s: no memory)."""
    return float(np.exp(-1.0 / (time_constant_s * fps))) if time_constant_s > 0 else 0.0


def smooth_zero_phase(x: np.ndarray, *, time_constant_s: float, fps: float) -> np.ndarray:
    """One-pole low-pass run forward then backward along axis 0: no lag, unit gain at DC.

    x : float array (N, ...) sampled at ``fps`` frames per second.
    """
    from scipy.signal import lfilter

    a = _pole(time_constant_s, fps)
    if a == 0.0:
        return np.array(x, dtype=np.float64)
    b, den = [1.0 - a], [1.0, -a]
    # Start each pass at the edge value, so the ends do not fade in from zero.
    forward, _ = lfilter(b, den, x, axis=0, zi=a * x[:1])
    backward, _ = lfilter(b, den, forward[::-1], axis=0, zi=a * forward[-1:])
    return backward[::-1]


def follow_envelope(x: np.ndarray, *, release_s: float, fps: float) -> np.ndarray:
    """Peak follower: rises with ``x`` at once, decays exponentially with ``release_s``; (N,) -> (N,)."""
    a = _pole(release_s, fps)
    out = np.empty(len(x), dtype=np.float64)
    level = 0.0
    for index, value in enumerate(np.asarray(x, dtype=np.float64)):
        level = max(float(value), level * a)
        out[index] = level
    return out


INPUT_MOTION_KEYS = ("input_shift_px", "input_spin_deg_per_s", "input_pulse_deg")


def input_transforms(features: Mapping[str, Any], *, params: Mapping[str, Any], fps: float, img_resolution: int,
                     where: str = "features.npz") -> np.ndarray:
    """Per-frame transforms of a StyleGAN3 input, float32 (N, 3, 3); identity when the input_* gains are 0.

    The picture is turned by ``spin * t + pulse_deg * onset_envelope`` and then slid by
    ``input_shift_px * band_low_envelope`` output pixels along a direction that turns
    once per ``input_shift_period_s``. The input's transform maps picture coordinates to
    feature coordinates, so it is the inverse of that motion; one output pixel is
    ``1 / img_resolution`` of the feature plane.
    """
    _check_params(params, "params: stylegan")
    frames = validate_features(features, where=where)
    t = np.arange(frames) / fps
    angle = np.deg2rad(params["input_spin_deg_per_s"] * t)
    if params["input_pulse_deg"]:
        angle = angle + np.deg2rad(params["input_pulse_deg"]) * follow_envelope(features["onset"], release_s=params["pulse_decay_s"], fps=fps)
    slide = np.zeros((frames, 2))
    if params["input_shift_px"]:
        distance = follow_envelope(features["band_low"], release_s=params["band_release_s"], fps=fps) * params["input_shift_px"] / img_resolution
        heading = 2 * np.pi * t / params["input_shift_period_s"]
        slide = distance[:, None] * np.stack([np.cos(heading), np.sin(heading)], axis=1)
    # Inverse of (slide after turn): turn back by -angle after sliding back by -slide.
    cos, sin = np.cos(angle), np.sin(angle)
    inverse = np.zeros((frames, 3, 3))
    inverse[:, 0, 0], inverse[:, 0, 1], inverse[:, 1, 0], inverse[:, 1, 1] = cos, sin, -sin, cos
    inverse[:, :2, 2] = -np.einsum("nij,nj->ni", inverse[:, :2, :2], slide)
    inverse[:, 2, 2] = 1.0
    return inverse.astype(np.float32)


def _check_params(params: Mapping[str, Any], where: str) -> None:
    missing = [key for key in STYLEGAN.fields if key not in params]
    if missing:
        raise DreamreelError(where, f"stylegan parameters lack {', '.join(missing)}", "pass the stylegan section written by scripts/params.py")
    if params["middle_max_px"] <= params["coarse_max_px"]:
        raise DreamreelError(f"{where}.middle_max_px", "must be larger than coarse_max_px",
                             "e.g. coarse_max_px: 8, middle_max_px: 32")


def seeded_latents(generator, *, seed: int, class_index: int | None, where: str = "params.yaml: stylegan") -> tuple[np.ndarray, np.ndarray]:
    """The 12 anchor ws and the 4 directions (low, mid, high, pulse), float64 (12, w_dim), (4, w_dim).

    ``generator`` is a :class:`~dreamreel.stylegan.network.Generator`; z comes from
    ``numpy.random.default_rng(seed)``; w = mapping(z, c) untruncated.
    """
    import torch

    if generator.c_dim and class_index is None:
        raise DreamreelError(f"{where}.class_index", f"this model is conditional ({generator.c_dim} classes)",
                             f"set stylegan.class_index to a class from 0 to {generator.c_dim - 1}")
    if not generator.c_dim and class_index is not None:
        raise DreamreelError(f"{where}.class_index", "this model is unconditional", "leave stylegan.class_index empty")
    if generator.c_dim and class_index >= generator.c_dim:
        raise DreamreelError(f"{where}.class_index", f"class {class_index} does not exist (the model has {generator.c_dim})",
                             f"use a class from 0 to {generator.c_dim - 1}")
    count = PITCH_CLASSES + 4
    z = np.random.default_rng(seed).standard_normal((count, generator.z_dim)).astype(np.float32)
    device = generator.mapping.w_avg.device
    c = None
    if generator.c_dim:
        c = torch.zeros([count, generator.c_dim], device=device)
        c[:, class_index] = 1.0
    with torch.no_grad():
        w = generator.mapping(torch.from_numpy(z).to(device), c)[:, 0].double().cpu().numpy()
    w_avg = generator.mapping.w_avg.double().cpu().numpy()
    return w[:PITCH_CLASSES], w[PITCH_CLASSES:] - w_avg


def scene_anchors(generator, *, seed: int, scene: int, class_index: int | None, where: str = "params.yaml: stylegan") -> np.ndarray:
    """The 12 anchor ws of a section's scene, float64 (12, w_dim); scene 0's are the walk's own."""
    if scene == 0:
        return seeded_latents(generator, seed=seed, class_index=class_index, where=where)[0]
    return seeded_latents(generator, seed=[int(seed), SCENE_STREAM, int(scene)], class_index=class_index, where=where)[0]


# A stream of its own for the scenes' anchors, apart from the seed's own draw.
SCENE_STREAM = 1001


# Frames per block of the streamed ws: at 18 ws of 512 floats, 9 MB a block. A multiple of
# 64, so each block's matrix product runs through the same BLAS kernels as the whole one would.
WS_BLOCK_FRAMES = 256


def stylegan_ws(features: Mapping[str, Any], *, generator, params: Mapping[str, Any], fps: float,
                where: str = "features.npz", params_where: str = "params.yaml: stylegan", scenes: np.ndarray | None = None) -> np.ndarray:
    """Map per-frame audio features to StyleGAN ws, all frames as one array; see :func:`stylegan_ws_member`.

    Returns
    -------
    ndarray, float32, shape (N, num_ws, w_dim)
        The ws for ``latents.npz``; frame k is at k / fps seconds.
    """
    return stylegan_ws_member(features, generator=generator, params=params, fps=fps, where=where, params_where=params_where,
                              scenes=scenes).collect()


def stylegan_ws_member(features: Mapping[str, Any], *, generator, params: Mapping[str, Any], fps: float,
                       where: str = "features.npz", params_where: str = "params.yaml: stylegan", scenes: np.ndarray | None = None,
                       block_frames: int = WS_BLOCK_FRAMES) -> StreamedArray:
    """Map per-frame audio features to StyleGAN ws, produced a block of frames at a time.

    Parameters
    ----------
    features : mapping of str to ndarray
        The analysis output (``features.npz``): ``band_low``, ``band_mid``,
        ``band_high``, ``onset``, ``rms`` float (N,) and ``chroma`` float (N, 12), all
        in [0, 1], one row per video frame.
    generator : dreamreel.stylegan.network.Generator
        The loaded model (its mapping network, ``w_avg`` and sizes are used).
    params : mapping
        The ``stylegan`` params section (:data:`STYLEGAN`, defaults filled in).
    fps : float
        Video frame rate the features are sampled at (frames per second).
    where : str
        Name of the features file, for error messages.
    params_where : str
        The stylegan section as messages name it (``"<the user's params file>: stylegan"``).
    scenes : ndarray, float (N, S), optional
        Each section's share of the resting point per frame (rows sum to 1): scene s
        mixes anchors of its own (:func:`scene_anchors`) with the same chroma weights.
    block_frames : int
        Frames per block.

    Returns
    -------
    StreamedArray, float32, shape (N, num_ws, w_dim)
        The ws for ``latents.npz``; frame k is at k / fps seconds. What is held whole is
        a few dozen floats a frame (the chroma weights, the band and pulse envelopes, the
        truncation); the ws themselves (18 x 512 floats a frame at 1024 px) exist a block
        at a time. Every smoothing runs on those per-frame drives before the blocks, and
        each block's arithmetic is the whole array's row by row, so the bytes do not
        depend on ``block_frames``.
    """
    _check_params(params, params_where)
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    frames = validate_features(features, where=where)
    anchors, directions = seeded_latents(generator, seed=params["seed"], class_index=params["class_index"], where=params_where)
    w_avg = generator.mapping.w_avg.double().cpu().numpy()

    weights = np.asarray(features["chroma"], dtype=np.float64) ** params["chroma_sharpness"]
    totals = weights.sum(axis=1, keepdims=True)
    # Silence has no pitch: rest on the plain mean of the anchors there.
    weights = np.where(totals > 1e-12, weights / np.maximum(totals, 1e-12), 1.0 / PITCH_CLASSES)
    weights = smooth_zero_phase(weights, time_constant_s=params["chroma_smoothing_s"], fps=fps)
    weights /= weights.sum(axis=1, keepdims=True)
    scene_sets = []
    if scenes is not None:
        for scene in range(scenes.shape[1]):
            share = np.asarray(scenes[:, scene], dtype=np.float64)
            if share.any():
                own = anchors if scene == 0 else scene_anchors(generator, seed=params["seed"], scene=scene, class_index=params["class_index"], where=params_where)
                scene_sets.append((share, own))

    ws_pixels = getattr(generator.synthesis, "ws_pixels", None)  # StyleGAN3 tells its layers' rates
    groups = layer_groups(generator.img_resolution, coarse_max_px=params["coarse_max_px"], middle_max_px=params["middle_max_px"],
                          pixels=ws_pixels() if ws_pixels else None)
    pushes = []
    for group, (band, gain) in enumerate((("band_low", "low_gain"), ("band_mid", "mid_gain"), ("band_high", "high_gain"))):
        layers = np.flatnonzero(groups == group)
        if len(layers) == 0 or params[gain] == 0:
            continue
        pushes.append((layers, follow_envelope(features[band], release_s=params["band_release_s"], fps=fps) * params[gain], directions[group]))
    pulse = None
    if params["pulse_gain"]:
        pulse = follow_envelope(features["onset"], release_s=params["pulse_decay_s"], fps=fps) * params["pulse_gain"]

    loudness = np.clip(smooth_zero_phase(np.asarray(features["rms"], dtype=np.float64),
                                         time_constant_s=params["loudness_smoothing_s"], fps=fps), 0.0, 1.0)
    psi = (params["truncation_quiet"] + (params["truncation_loud"] - params["truncation_quiet"]) * loudness).astype(np.float32)
    w_avg32 = w_avg.astype(np.float32)
    num_ws = generator.num_ws

    def blocks():
        for first in range(0, frames, block_frames):
            rows = slice(first, min(frames, first + block_frames))
            if scenes is None:
                base = (weights[rows] @ anchors).astype(np.float32)  # (B, w_dim)
            else:
                mixed = np.zeros((rows.stop - first, anchors.shape[1]))
                for share, own in scene_sets:
                    mixed += share[rows, None] * (weights[rows] @ own)
                base = mixed.astype(np.float32)
            ws = np.repeat(base[:, None, :], num_ws, axis=1)
            for layers, push, direction in pushes:
                ws[:, layers, :] += (push[rows, None] * direction[None, :]).astype(np.float32)[:, None, :]
            if pulse is not None:
                ws += (pulse[rows, None] * directions[3][None, :]).astype(np.float32)[:, None, :]
            ws -= w_avg32
            ws *= psi[rows, None, None]
            ws += w_avg32
            yield ws

    return StreamedArray((frames, num_ws, generator.w_dim), np.dtype(np.float32), blocks)


def mapping_inputs(features: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The arrays :func:`stylegan_ws` reads, from the analysis stage's features.npz.

    features.npz keeps the three bands together as ``bands`` (N, 3), low to high; the
    mapping names them one by one. Everything else is passed through as it is.
    """
    inputs = {name: np.asarray(features[name]) for name in ("onset", "rms", "chroma") if name in features}
    if "bands" in features:
        bands = np.asarray(features["bands"])
        if bands.ndim == 2 and bands.shape[1] == 3:
            inputs.update(band_low=bands[:, 0], band_mid=bands[:, 1], band_high=bands[:, 2])
    return inputs
