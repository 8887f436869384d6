"""The frame-model contract shared by every generator the renderer can drive.

The segment renderer only ever sees this interface: it hashes a segment's latent slice
together with ``identity`` and ``size_px``, calls :meth:`FrameModel.render` batch by batch
and pipes the frames to ffmpeg. It never asks what kind of model it holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class FrameModel(Protocol):
    """A generator of square RGB frames from per-frame latents.

    Attributes
    ----------
    name : str
        ``"biggan-deep-128"``, ``"cppn"``, ``"stylegan"``.
    identity : str
        The name plus everything else that changes pixels (a hash of the weights, the
        numeric precision, ...). It goes into segment cache keys.
    size_px : int
        Edge of the square frames :meth:`render` returns.
    latent_keys : tuple of str
        The arrays of latents.npz this model reads, e.g. ``("noise", "classes", "truncation")``.
    """

    name: str
    identity: str
    size_px: int
    latent_keys: tuple[str, ...]

    def render(self, latents: dict[str, np.ndarray]) -> np.ndarray:
        """One batch: each array has the frame axis first (B, ...). Returns uint8 (B, H, W, 3) RGB."""
        ...


@dataclass(frozen=True)
class ComputeOptions:
    """Where and how a torch model runs; every field can be overridden from params.

    Attributes
    ----------
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda"``.
    precision : str
        ``"auto"`` (fp16 on CUDA, bf16 on CPUs with native bf16, else fp32), ``"fp32"``,
        ``"bf16"`` or ``"fp16"``.
    channels_last : bool
        Use the NHWC memory layout, which oneDNN and cuDNN convolve faster.
    threads : int or None
        CPU threads for torch; None = all cores.
    """

    device: str = "auto"
    precision: str = "auto"
    channels_last: bool = True
    threads: int | None = None


def cpu_has_bf16() -> bool:
    """True when this CPU computes bf16 natively (AVX-512 BF16 or AMX)."""
    import torch

    checker = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    if checker is None:
        return False
    if not checker():
        return False
    # oneDNN emulates bf16 on plain AVX-512, which is slower than fp32: require the real thing.
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_compute(options: ComputeOptions, *, where: str = "params.yaml: gan") -> tuple[str, str]:
    """The concrete (device, precision) for ``options`` on this machine; ``where`` names the gan section in messages."""
    import torch

    from dreamreel.core.errors import DreamreelError

    device = options.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise DreamreelError(f"{where}.device", "cuda was asked for but no CUDA device is available", "set gan.device: auto or cpu")
    precision = options.precision
    if precision == "auto":
        precision = "fp16" if device == "cuda" else ("bf16" if cpu_has_bf16() else "fp32")
    if precision == "fp16" and device == "cpu":
        raise DreamreelError(f"{where}.precision", "fp16 is for CUDA; CPUs compute it slowly or not at all", "use bf16 or fp32 on the CPU")
    return device, precision


def set_threads(threads: int | None) -> int:
    """Give torch ``threads`` CPU threads (None: every core this process may use)."""
    import torch

    count = threads or len(os.sched_getaffinity(0))
    torch.set_num_threads(count)
    return count


def to_uint8_frames(images) -> np.ndarray:
    """Turn a torch batch in [-1, 1], shape (B, 3, H, W), into uint8 (B, H, W, 3) RGB.

    Rounds to the nearest level: 0 for -1, 255 for +1.
    """
    import torch

    scaled = ((images.float().clamp(-1.0, 1.0) + 1.0) * 127.5).round_()
    return scaled.to(torch.uint8).permute(0, 2, 3, 1).contiguous().cpu().numpy()
