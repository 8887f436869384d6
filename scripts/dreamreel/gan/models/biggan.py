"""BigGAN-deep 128/256/512 through pytorch-pretrained-biggan, loaded strictly and run fast.

Where the weights come from, in order:

1. ``gan.weights``: a local folder with ``config.json`` and ``pytorch_model.bin``.
2. The library's own cache (``PYTORCH_PRETRAINED_BIGGAN_CACHE``, default
   ``~/.pytorch_pretrained_biggan``), filled by an earlier download.
3. A download by the library, only when ``gan.allow_download`` is true. Its HTTP requests
   have no timeout (where DNS resolves but packets are dropped it hangs for minutes), so
   the download runs under a socket timeout.

Without any of them the load fails at once with a message that says where to put the
files; it never touches the network unasked. Whatever the source, the model is built by
the library's real ``BigGAN.from_pretrained(folder)`` and then checked key by key, because
that function loads with ``strict=False`` and would silently keep uninitialised weights.

Speed, each switchable through :class:`~dreamreel.models.base.ComputeOptions`: eval mode
and ``torch.inference_mode``; spectral norm folded into the weights once at load (in train
mode, as the reference renders, every frame pays a power iteration and the weights drift);
channels-last memory layout; bf16 autocast on CPUs with native bf16 and fp16 on CUDA.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamreel.core.errors import DreamreelError, first_sentence
from dreamreel.gan.models.base import ComputeOptions, resolve_compute, set_threads, to_uint8_frames

# Bump when the fused forward pass changes pixels: it is part of every segment's cache key.
FUSED_VERSION = 1
SIZES = {"biggan-deep-128": 128, "biggan-deep-256": 256, "biggan-deep-512": 512}
WEIGHTS_NAME = "pytorch_model.bin"
CONFIG_NAME = "config.json"
DEFAULT_CACHE = Path.home() / ".pytorch_pretrained_biggan"
# Where the library fetches each file; its cache names files after the URL's sha256.
_BASE_URL = "https://s3.amazonaws.com/models.huggingface.co/biggan/"


class WeightsUnavailable(DreamreelError):
    """No weights for a BigGAN model can be had without a (forbidden) download."""


@dataclass(frozen=True)
class WeightsSource:
    """A resolved pair of files and where they came from (for messages and metadata)."""

    config: Path
    weights: Path
    origin: str


def cache_dir() -> Path:
    """The library's cache folder, honouring PYTORCH_PRETRAINED_BIGGAN_CACHE as it does."""
    return Path(os.environ.get("PYTORCH_PRETRAINED_BIGGAN_CACHE", str(DEFAULT_CACHE))).expanduser()


def _urls(name: str) -> tuple[str, str]:
    return f"{_BASE_URL}{name}-pytorch_model.bin", f"{_BASE_URL}{name}-config.json"


def _cached_file(url: str, folder: Path) -> Path | None:
    """The cache entry for ``url``: named sha256(url)[.sha256(etag)], beside a .json record."""
    stem = hashlib.sha256(url.encode("utf-8")).hexdigest()
    if not folder.is_dir():
        return None
    candidates = sorted(p for p in folder.glob(f"{stem}*") if p.suffix != ".json" and p.is_file() and (p.parent / (p.name + ".json")).is_file())
    return candidates[-1] if candidates else None


def resolve_weights(name: str, *, weights: str | None, allow_download: bool = False, timeout_s: float = 30.0, where: str = "params.yaml: gan.weights") -> WeightsSource:
    """Find config.json and pytorch_model.bin for ``name`` without any unasked network access.

    Raises
    ------
    DreamreelError
        A ``weights`` folder that is missing or lacks a file.
    WeightsUnavailable
        No folder given, nothing cached, and downloading not allowed (or failed).
    """
    if weights is not None:
        folder = Path(weights).expanduser()
        if not folder.is_dir():
            raise DreamreelError(f"{where} ({folder})", "weights folder not found", f"make a folder holding {CONFIG_NAME} and {WEIGHTS_NAME} for {name}, or set gan.weights: null")
        missing = [n for n in (CONFIG_NAME, WEIGHTS_NAME) if not (folder / n).is_file()]
        if missing:
            raise DreamreelError(f"{where} ({folder})", f"weights folder lacks {' and '.join(missing)}", f"put {CONFIG_NAME} and {WEIGHTS_NAME} of {name} in it")
        return WeightsSource(folder / CONFIG_NAME, folder / WEIGHTS_NAME, f"folder {folder}")

    folder = cache_dir()
    model_url, config_url = _urls(name)
    cached_model, cached_config = _cached_file(model_url, folder), _cached_file(config_url, folder)
    if cached_model is not None and cached_config is not None:
        return WeightsSource(cached_config, cached_model, f"cache {folder}")
    if not allow_download:
        raise WeightsUnavailable(
            where,
            f"no {name} weights: gan.weights is not set and the cache {folder} has none",
            f"put {CONFIG_NAME} and {WEIGHTS_NAME} of {name} in a folder and set gan.weights to it, "
            "or set gan.allow_download: true on a machine that is online (or PYTORCH_PRETRAINED_BIGGAN_CACHE to a filled cache)",
        )
    return _download(name, folder, timeout_s=timeout_s, where=where)


def _download(name: str, folder: Path, *, timeout_s: float, where: str) -> WeightsSource:
    """Fill the cache through the library's own downloader, with a socket timeout."""
    from pytorch_pretrained_biggan import file_utils

    model_url, config_url = _urls(name)
    previous = socket.getdefaulttimeout()
    # requests passes no timeout, so urllib3 falls back to the socket default: bound it.
    socket.setdefaulttimeout(timeout_s)
    try:
        config = file_utils.cached_path(config_url, cache_dir=str(folder))
        weights = file_utils.cached_path(model_url, cache_dir=str(folder))
    except Exception as error:  # noqa: BLE001 - any network/IO failure is the user's to fix
        raise WeightsUnavailable(
            where,
            f"downloading {name} failed ({type(error).__name__}: {str(error)[:200]})",
            f"check the network, or put {CONFIG_NAME} and {WEIGHTS_NAME} in a folder and set gan.weights",
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
    return WeightsSource(Path(config), Path(weights), f"downloaded to {folder}")


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 4 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _checkpoint_keys(path: Path, *, where: str) -> set[str]:
    """The parameter names in a checkpoint, without keeping its tensors in memory.

    Zip-format checkpoints are memory-mapped, so only the index is read; older pickle
    files are loaded and dropped at once.
    """
    import torch

    try:
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - a corrupt or foreign file is a user problem
        raise DreamreelError(
            f"{where} ({path})",
            f"not a readable weights file, truncated or damaged ({first_sentence(error)})",
            "download it again (an interrupted download leaves a file like this), or set gan.weights: null to use the cache",
        ) from None
    if not isinstance(state, dict):
        raise DreamreelError(f"{where} ({path})", "does not hold a state dict", "use the pytorch_model.bin of pytorch-pretrained-biggan")
    return set(state)


def load_strict(source: WeightsSource, *, name: str, where: str = "params.yaml: gan.weights"):
    """Build the model with the library's ``from_pretrained`` and verify every key.

    Returns the model (train mode, as the library leaves it).
    """
    from pytorch_pretrained_biggan import BigGAN

    try:
        config = json.loads(source.config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DreamreelError(f"{where} ({source.config})", f"not a readable BigGAN config ({error})", "use the config.json that came with the weights") from None
    expected = SIZES[name]
    if config.get("output_dim") != expected:
        raise DreamreelError(f"{where} ({source.config})", f"config is for {config.get('output_dim')} px images, not {name}", f"use the {name} files or set gan.model to match")
    present = _checkpoint_keys(source.weights, where=where)

    # from_pretrained wants a folder holding exactly these two names: link them in a temp one.
    with tempfile.TemporaryDirectory(prefix="dreamreel-biggan-") as staging:
        os.symlink(source.config.resolve(), os.path.join(staging, CONFIG_NAME))
        os.symlink(source.weights.resolve(), os.path.join(staging, WEIGHTS_NAME))
        try:
            model = BigGAN.from_pretrained(staging)
        except RuntimeError as error:
            raise DreamreelError(f"{where} ({source.weights})", f"weights do not fit the config ({first_sentence(error)})", "use the config.json that came with these weights") from None
    wanted = set(model.state_dict())
    missing, extra = sorted(wanted - present), sorted(present - wanted)
    if missing or extra:
        detail = []
        if missing:
            detail.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if extra:
            detail.append(f"{len(extra)} unexpected (e.g. {extra[0]})")
        raise DreamreelError(f"{where} ({source.weights})", f"weights do not match {name}: {', '.join(detail)}", "use the complete pytorch_model.bin for this model")
    return model


def fold_spectral_norm(model) -> int:
    """Replace every spectral-normed weight by weight/sigma (sigma from the stored u, v).

    After this the model has plain weights: no power iteration per forward, and eval and
    train give the same result. Returns the number of layers folded.
    """
    import torch
    from torch.nn.utils import remove_spectral_norm
    from torch.nn.utils.spectral_norm import SpectralNorm

    folded = 0
    with torch.no_grad():
        for module in list(model.modules()):
            hooks = [hook for hook in module._forward_pre_hooks.values() if isinstance(hook, SpectralNorm)]  # noqa: SLF001
            if hooks:
                remove_spectral_norm(module, name=hooks[0].name)
                folded += 1
    return folded


def _stats(bn, truncation: float):
    """Running mean and variance for ``truncation``, interpolated exactly as the library does."""
    import math

    coef, start = math.modf(truncation / bn.step_size)
    start = int(start)
    if coef != 0.0:
        mean = bn.running_means[start] * coef + bn.running_means[start + 1] * (1 - coef)
        var = bn.running_vars[start] * coef + bn.running_vars[start + 1] * (1 - coef)
    else:
        mean, var = bn.running_means[start], bn.running_vars[start]
    return mean, var


class _FusedGenerator:
    """BigGAN-deep's forward pass with each batch norm and ReLU fused into two passes.

    The library normalises with five full-size elementwise passes per batch norm
    ((x - mean) / sqrt(var + eps) * weight + bias, then ReLU), which cost more than the
    convolutions on a CPU. Here the per-frame affine is folded into one scale and shift
    (B, C), computed in fp32 from the conditioning projections, and applied with one
    ``addcmul`` and an in-place ReLU. The 80 projections of the conditioning vector run as
    one GEMM. Convolutions, attention and projections run in ``dtype`` with weights
    converted once (autocast would recast every weight on every batch).
    Same arithmetic as the library up to rounding; spectral norm must already be folded.
    """

    def __init__(self, model, *, dtype, device: str, channels_last: bool):
        import torch

        self.model = model
        self.dtype = dtype
        self.channels_last = channels_last
        generator = model.generator
        self.channel_width = generator.config.channel_width
        # Convolution and attention weights in the compute dtype, converted once.
        from pytorch_pretrained_biggan.model import SelfAttn

        for module in generator.modules():
            if isinstance(module, (torch.nn.Conv2d, SelfAttn)):
                module.to(device=device, dtype=dtype)
                if channels_last:
                    module.to(memory_format=torch.channels_last)
        self._stats_cache: dict[float, list] = {}
        # Every conditional batch norm's scale and offset projections stacked into one
        # matrix: one GEMM per batch instead of 80 skinny ones, which are bound by
        # reading their weights. In the compute dtype, like the convolutions.
        blocks = []
        self._cond_slices: dict[int, tuple[int, int]] = {}
        position = 0
        for bn in self._batch_norms():
            if bn.conditional:
                channels = bn.scale.weight.shape[0]
                blocks += [bn.scale.weight, bn.offset.weight]
                self._cond_slices[id(bn)] = (position, channels)
                position += 2 * channels
        self._cond_weight = torch.cat(blocks, dim=0).to(device=device, dtype=dtype).contiguous()
        self._gen_z_weight = generator.gen_z.weight.to(device=device, dtype=dtype)
        self._gen_z_bias = generator.gen_z.bias.to(device=device, dtype=dtype)

    def _bn_tables(self, truncation: float) -> list:
        """Per-truncation (mean, rsqrt(var + eps)) of every batch norm, cached."""
        import torch

        tables = self._stats_cache.get(truncation)
        if tables is None:
            tables = []
            for bn in self._batch_norms():
                mean, var = _stats(bn, truncation)
                tables.append((mean.float(), torch.rsqrt(var.float() + bn.eps)))
            self._stats_cache[truncation] = tables
        return tables

    def _batch_norms(self):
        from pytorch_pretrained_biggan.model import GenBlock

        for layer in self.model.generator.layers:
            if isinstance(layer, GenBlock):
                yield from (layer.bn_0, layer.bn_1, layer.bn_2, layer.bn_3)
        yield self.model.generator.bn

    def _bn_relu(self, x, bn, table, projections):
        import torch

        mean, inv_std = table
        if bn.conditional:
            start, channels = self._cond_slices[id(bn)]
            gain = (1.0 + projections[:, start : start + channels]) * inv_std
            shift = projections[:, start + channels : start + 2 * channels] - mean * gain
        else:
            gain = (bn.weight.float() * inv_std).expand(x.shape[0], -1)
            shift = (bn.bias.float() - mean * gain).expand(x.shape[0], -1)
        gain = gain.to(self.dtype)[:, :, None, None]
        shift = shift.to(self.dtype)[:, :, None, None]
        return torch.addcmul(shift, x, gain).relu_()

    def __call__(self, noise, classes, truncation: float):
        import torch
        import torch.nn.functional as F
        from pytorch_pretrained_biggan.model import GenBlock

        generator = self.model.generator
        tables = iter(self._bn_tables(truncation))
        embed = F.linear(classes, self.model.embeddings.weight)
        cond = torch.cat((noise, embed), dim=1).to(self.dtype)
        projections = F.linear(cond, self._cond_weight).float()
        h = F.linear(cond, self._gen_z_weight, self._gen_z_bias)
        # The library's TF layout: (B, 4, 4, C) viewed as NCHW is already channels-last.
        h = h.view(-1, 4, 4, 16 * self.channel_width).permute(0, 3, 1, 2).to(self.dtype)
        h = h.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)
        for layer in generator.layers:
            if not isinstance(layer, GenBlock):
                h = layer(h)
                continue
            skip = h
            h = layer.conv_0(self._bn_relu(h, layer.bn_0, next(tables), projections))
            h = self._bn_relu(h, layer.bn_1, next(tables), projections)
            if layer.up_sample:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = layer.conv_1(h)
            h = layer.conv_2(self._bn_relu(h, layer.bn_2, next(tables), projections))
            h = layer.conv_3(self._bn_relu(h, layer.bn_3, next(tables), projections))
            if layer.drop_channels:
                skip = skip[:, : skip.shape[1] // 2]
            if layer.up_sample:
                skip = F.interpolate(skip, scale_factor=2, mode="nearest")
            h = h.add_(skip)
        h = self._bn_relu(h, generator.bn, next(tables), projections)
        h = generator.conv_to_rgb(h)[:, :3]
        return torch.tanh(h.float())


class BigGANModel:
    """BigGAN-deep behind the FrameModel contract.

    Parameters
    ----------
    name : str
        ``biggan-deep-128``, ``-256`` or ``-512``.
    source : WeightsSource
        Resolved files (see :func:`resolve_weights`).
    compute : ComputeOptions
        Device, precision, memory layout and threads.
    where : str
        The params key that named the weights, for messages (``"params.yaml: gan.weights"``).
    """

    latent_keys = ("noise", "classes", "truncation")

    def __init__(self, name: str, source: WeightsSource, *, compute: ComputeOptions | None = None, where: str = "params.yaml: gan.weights"):
        import torch

        compute = compute or ComputeOptions()
        self.name = name
        self.size_px = SIZES[name]
        self.source = source
        # where names gan.weights; the compute keys sit beside it in the gan section.
        self.device, self.precision = resolve_compute(compute, where=where.rsplit(".", 1)[0])
        set_threads(compute.threads)
        model = load_strict(source, name=name, where=where)
        model.eval()
        fold_spectral_norm(model)
        model.requires_grad_(False)
        self.channels_last = bool(compute.channels_last)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model.to(self.device)
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.precision]
        self.forward = _FusedGenerator(self.model, dtype=dtype, device=self.device, channels_last=self.channels_last)
        digest = file_sha256(source.weights)[:16]
        self.identity = f"{name}:{digest}:{self.device}-{self.precision}{'-cl' if self.channels_last else ''}:fused{FUSED_VERSION}"

    def render(self, latents: dict[str, np.ndarray]) -> np.ndarray:
        """One batch: ``noise`` (B, 128), ``classes`` (B, 1000), ``truncation`` (B,) → uint8 (B, H, W, 3)."""
        import torch

        noise = torch.from_numpy(np.array(latents["noise"], dtype=np.float32)).to(self.device)
        classes = torch.from_numpy(np.array(latents["classes"], dtype=np.float32)).to(self.device)
        truncation = np.asarray(latents["truncation"], dtype=np.float64)
        outputs = []
        with torch.inference_mode():
            # The library takes one truncation per call: split the batch where it changes.
            start = 0
            while start < len(truncation):
                stop = start + 1
                while stop < len(truncation) and truncation[stop] == truncation[start]:
                    stop += 1
                images = self.forward(noise[start:stop], classes[start:stop], float(truncation[start]))
                outputs.append(to_uint8_frames(images))
                start = stop
        return np.concatenate(outputs, axis=0)


def random_finite_biggan(config_kwargs: dict | None = None, *, seed: int = 0, power_iterations: int = 3):
    """A randomly initialised BigGAN whose outputs are finite, for tests and benchmarks.

    A fresh model gives NaN: the final unconditional batch norm's weight and bias are
    uninitialised memory (set here to 1 and 0), and the spectral-norm vectors need power
    iterations before eval (a few forward passes in train mode under no_grad).

    Returns the model in eval mode, spectral norm not folded (like a loaded checkpoint).
    """
    import torch
    from pytorch_pretrained_biggan import BigGAN, BigGANConfig

    torch.manual_seed(seed)
    config = BigGANConfig(**(config_kwargs or {}))
    model = BigGAN(config)
    with torch.no_grad():
        model.generator.bn.weight.fill_(1.0)
        model.generator.bn.bias.fill_(0.0)
        model.train()
        noise = torch.zeros(1, config.z_dim)
        classes = torch.zeros(1, config.num_classes)
        classes[0, 0] = 1.0
        for _ in range(power_iterations):
            model(noise, classes, 1.0)
    model.eval()
    return model
