"""Load a user's StyleGAN2 file (.pkl or .pt) safely and build our generator from it.

The steps: read the file (size-capped) and hash it; tell the container from its first
bytes (plain pickle, zip or legacy ``torch.save``); unpickle it through
:mod:`~dreamreel.stylegan.safe_pickle`, which executes nothing; hand the records to the
family's converter in :mod:`~dreamreel.stylegan.formats`; build the clean-room
:class:`~dreamreel.stylegan.network.Generator` and load every tensor strictly (a missing
or unexpected tensor, or a wrong shape, is an error). Device tags stored in the file are
ignored, so a model saved on a GPU loads on a CPU-only machine.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.gan.stylegan import formats
from dreamreel.gan.stylegan.network import GeneratorConfig
from dreamreel.gan.stylegan.safe_pickle import LEGACY_TORCH_PREFIX, PersistentRecord, Refused, TFNetworkRecord, load_legacy_torch, load_plain_pickle, load_zip_torch

MAX_FILE_BYTES = 4 * 2**30
W_AVG_SAMPLES = 4096
W_AVG_SEED = 0

# What a corrupted or truncated file makes the pickle machinery raise.
_CORRUPTION = (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
               OverflowError, struct.error, UnicodeDecodeError, zipfile.BadZipFile, zipfile.LargeZipFile,
               MemoryError, RecursionError, NotImplementedError)


@dataclass(frozen=True)
class ModelInfo:
    """What the loader found in a model file.

    ``family`` is one of ``stylegan2-ada-pytorch``, ``stylegan3-repo (cfg stylegan2)``,
    ``stylegan2-tf``, ``rosinality``; ``container`` one of ``pickle``, ``torch-zip``,
    ``torch-legacy``; ``network`` names the generator taken from the file (``G_ema``,
    ``Gs``, ``g_ema``). ``w_avg_source`` is ``file`` or ``estimated`` (mean of
    :data:`W_AVG_SAMPLES` mapped latents with seed :data:`W_AVG_SEED`).
    """

    path: str
    sha256: str
    size_bytes: int
    container: str
    family: str
    network: str
    config: GeneratorConfig
    w_avg_source: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def resolution(self) -> int:
        return self.config.img_resolution

    @property
    def num_ws(self) -> int:
        return self.config.num_ws

    def describe(self) -> list[str]:
        """Human-readable lines: family, resolution, sizes, conditioning, settings."""
        c = self.config
        conditioning = f"conditional, {c.c_dim} classes" if c.c_dim else "unconditional"
        channels = " ".join(f"{res}:{ch}" for res, ch in sorted(c.channels.items()))
        lines = [
            f"file          {self.path}",
            f"sha256        {self.sha256}",
            f"container     {self.container} ({self.size_bytes} bytes)",
            f"family        {self.family} (network {self.network})",
            f"resolution    {c.img_resolution} x {c.img_resolution}, {c.img_channels} channel(s)",
            f"z_dim         {c.z_dim}",
            f"w_dim         {c.w_dim}",
            f"num_ws        {c.num_ws}",
            f"conditioning  {conditioning} (c_dim {c.c_dim})",
            f"mapping       {c.mapping_layers} layers, lr multiplier {c.mapping_lr_multiplier:g}",
            f"synthesis     {c.architecture}, noise {'on' if c.use_noise else 'off'}, conv_clamp {c.conv_clamp}",
            f"channels      {channels}",
            f"w_avg         {self.w_avg_source}",
        ]
        lines += [f"note          {note}" for note in self.notes]
        return lines


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise DreamreelError(str(path), "model file not found", "set gan.weights to your .pkl or .pt file")
    size = path.stat().st_size
    if size == 0:
        raise DreamreelError(str(path), "model file is empty", "download it again")
    if size > MAX_FILE_BYTES:
        raise DreamreelError(str(path), f"file is {size} bytes, more than any StyleGAN2 generator file ({MAX_FILE_BYTES})", "check the path")
    return path.read_bytes()


def _sniff(data: bytes, where: str) -> str:
    if data[:4] == b"PK\x03\x04":
        return "torch-zip"
    if data.startswith(LEGACY_TORCH_PREFIX):
        return "torch-legacy"
    if len(data) > 1 and data[0] == 0x80 and 2 <= data[1] <= 5:
        return "pickle"
    if data[257:262] == b"ustar":
        raise DreamreelError(where, "this is a tar-format torch checkpoint (torch < 0.4), which dreamreel does not read",
                             "load it in a trusted environment and save the state dict again with torch.save")
    raise DreamreelError(where, "not a pickle or torch checkpoint (unknown first bytes)",
                         "gan.weights must be a StyleGAN2 .pkl (NVlabs) or .pt (rosinality) file; is it an HTML error page or an archive?")


def read_records(path: str | Path) -> tuple[str, Any, bytes]:
    """Unpickle ``path`` with the allow-list: (container, top-level object of records, file bytes)."""
    path = Path(path)
    where = str(path)
    data = _read(path)
    container = _sniff(data, where)
    try:
        if container == "torch-zip":
            top = load_zip_torch(io.BytesIO(data))
        elif container == "torch-legacy":
            top = load_legacy_torch(io.BytesIO(data))
        else:
            top = load_plain_pickle(io.BytesIO(data))
    except Refused as error:
        raise DreamreelError(where, f"refused to load: {error}",
                             "dreamreel reads only model data and executed nothing; this file is corrupted or was made to run code — do not load it elsewhere") from None
    except _CORRUPTION as error:
        raise DreamreelError(where, f"truncated or corrupted file ({type(error).__name__}: {error})",
                             "download it again and compare its size or checksum with the source") from None
    return container, top, data


def _convert(container: str, top: Any, where: str) -> formats.Converted:
    if isinstance(top, TFNetworkRecord) or (isinstance(top, tuple) and any(isinstance(p, TFNetworkRecord) for p in top)):
        return formats.nvlabs_tensorflow(top, where)
    if isinstance(top, dict):
        if any(isinstance(v, PersistentRecord) for v in top.values()) or {"G_ema", "G", "D"} & set(top):
            return formats.nvlabs_pytorch(top, where)
        if "g_ema" in top or "style.1.weight" in top or container != "pickle":
            return formats.rosinality(top, where)
    raise DreamreelError(where, f"unknown model family (top level is a {type(top).__name__})",
                         "dreamreel reads StyleGAN2 generators from NVlabs (.pkl, PyTorch or TensorFlow) and rosinality (.pt)")


def inspect_model(path: str | Path) -> tuple[ModelInfo, formats.Converted]:
    """Read and convert a model file without building the network."""
    where = str(path)
    container, top, data = read_records(path)
    converted = _convert(container, top, where)
    config = formats.config_from_tensors(converted, where)
    for name, array in converted.arrays.items():
        if not np.isfinite(array).all():
            raise DreamreelError(where, f"tensor {name} holds NaN or infinite values", "the file is corrupted; download it again")
    info = ModelInfo(path=where, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), container=container,
                     family=converted.family, network=converted.network, config=config,
                     w_avg_source="file" if converted.w_avg_in_file else "estimated", notes=tuple(converted.notes))
    return info, converted


def build_generator(config: GeneratorConfig, arrays: dict[str, np.ndarray], where: str):
    """Our generator with exactly these tensors: missing, unexpected or misshapen ones are errors."""
    import torch

    from dreamreel.gan.stylegan.network import Generator

    generator = Generator(config)
    expected = generator.state_dict()
    estimate_w_avg = "mapping.w_avg" not in arrays
    provided = set(arrays) | ({"mapping.w_avg"} if estimate_w_avg else set())
    missing = sorted(set(expected) - provided)
    unexpected = sorted(provided - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:5])}" + (" ..." if len(unexpected) > 5 else ""))
        raise DreamreelError(where, f"tensors do not form a StyleGAN2 generator: {'; '.join(parts)}",
                             "the file is incomplete, or a variant dreamreel does not support")
    for name, array in arrays.items():
        if tuple(array.shape) != tuple(expected[name].shape):
            raise DreamreelError(where, f"tensor {name} has shape {tuple(array.shape)}, expected {tuple(expected[name].shape)}",
                                 "the file is inconsistent; download it again")
    state = {name: torch.from_numpy(array) for name, array in arrays.items()}
    if estimate_w_avg:
        state["mapping.w_avg"] = torch.zeros_like(expected["mapping.w_avg"])
    generator.load_state_dict(state, strict=True)
    generator.eval().requires_grad_(False)
    if estimate_w_avg:
        if config.c_dim:
            raise DreamreelError(where, "conditional model without a stored w_avg", "truncation needs w_avg; use a file that stores it")
        with torch.no_grad():
            rng = torch.Generator().manual_seed(W_AVG_SEED)
            z = torch.randn([W_AVG_SAMPLES, config.z_dim], generator=rng)
            generator.mapping.w_avg.copy_(generator.mapping(z)[:, 0].mean(dim=0))
    return generator


def load_generator(path: str | Path, *, device: str = "cpu"):
    """Load a StyleGAN2 generator from a .pkl or .pt file.

    Parameters
    ----------
    path : str or Path
        NVlabs PyTorch pickle (ADA, or stylegan3 repo with cfg stylegan2), NVlabs
        TensorFlow pickle, or rosinality checkpoint.
    device : str
        torch device for the returned module (``"cpu"``, ``"cuda"``).

    Returns
    -------
    (Generator, ModelInfo)
        The generator in eval mode with gradients off, and what was found.

    Raises
    ------
    DreamreelError
        For a missing, empty, truncated, corrupted, malicious, discriminator-only,
        StyleGAN3 or otherwise unsupported file.
    """
    info, converted = inspect_model(path)
    generator = build_generator(info.config, converted.arrays, str(path))
    return generator.to(device), info
