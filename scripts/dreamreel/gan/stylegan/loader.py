"""Load a user's StyleGAN2 or StyleGAN3 file (.pkl or .pt) safely and build our generator from it.

The steps: open the path only if it is a regular file (a directory, a FIFO or a device is
named as such); read its first bytes and tell the container from them (plain pickle, zip
or legacy ``torch.save``) before reading anything else; unpickle it from the open file
through :mod:`~dreamreel.stylegan.safe_pickle`, which executes nothing; hand the records to
the family's converter in :mod:`~dreamreel.stylegan.formats`; hash the file in chunks;
build the clean-room :class:`~dreamreel.stylegan.network.Generator` and load every tensor
strictly (a missing or unexpected tensor, or a wrong shape, is an error). Device tags
stored in the file are ignored, so a model saved on a GPU loads on a CPU-only machine.

Every error while reading a file ends as one :class:`DreamreelError` line, in three kinds:
the file asked for something refused (``refused to load``); the file's bytes or records
do not parse (``truncated or corrupted``); or our own code failed on a file it should have
refused cleanly (``internal error``, with the place in our code, so the bug is reported,
not passed off as the file's fault). Text from the file in any message is escaped and cut.
"""

from __future__ import annotations

import contextlib
import hashlib
import lzma
import os
import pickle
import stat
import struct
import traceback
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.gan.stylegan import formats
from dreamreel.gan.stylegan.blend import BlendSpec, blend_arrays, check_blendable
from dreamreel.gan.stylegan.network import GeneratorConfig
from dreamreel.gan.stylegan.network3 import StyleGAN3Config, layer_plan
from dreamreel.gan.stylegan.quoting import one_line, quote
from dreamreel.gan.stylegan.safe_pickle import (
    LEGACY_TORCH_PREFIX,
    LoadContext,
    PersistentRecord,
    Refused,
    TFNetworkRecord,
    load_legacy_torch,
    load_plain_pickle,
    load_zip_torch,
)

MAX_FILE_BYTES = 4 * 2**30
W_AVG_SAMPLES = 4096
W_AVG_SEED = 0

HEAD_BYTES = 512  # enough for every container's signature (tar's sits at 257)
HASH_CHUNK_BYTES = 2**20

# What a corrupted or truncated file makes the pickle and zip machinery raise. Inside the
# parse phase (bytes -> records) any exception is the file's: the C unpickler and zipfile
# raise many kinds on malformed input, and they reach us through our allowed globals too.
_CORRUPTION = (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
               OverflowError, struct.error, UnicodeDecodeError, zipfile.BadZipFile, zipfile.LargeZipFile,
               MemoryError, RecursionError, NotImplementedError, lzma.LZMAError, zlib.error, OSError, LookupError)


@dataclass(frozen=True)
class ModelInfo:
    """What the loader found in a model file.

    ``family`` is one of ``stylegan2-ada-pytorch``, ``stylegan3-repo (cfg stylegan2)``, ``stylegan3-t``, ``stylegan3-r``,
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
    config: GeneratorConfig | StyleGAN3Config
    w_avg_source: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    blend: BlendSpec | None = None
    blend_sha256: str | None = None

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
        if isinstance(c, StyleGAN3Config):
            _, plans = layer_plan(c)
            synthesis = (f"synthesis     StyleGAN3-{c.config_name}, {c.num_layers} layers ({c.num_critical} critically sampled), "
                         f"conv_kernel {c.conv_kernel}, {'radial' if c.use_radial_filters else 'separable'} filters, conv_clamp {c.conv_clamp}")
            channels = " ".join(plan.name for plan in plans)
        else:
            synthesis = f"synthesis     {c.architecture}, noise {'on' if c.use_noise else 'off'}, conv_clamp {c.conv_clamp}"
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
            synthesis,
            f"{'layers' if isinstance(c, StyleGAN3Config) else 'channels':<14}{channels}",
            f"w_avg         {self.w_avg_source}",
        ]
        if self.blend is not None:
            lines.append(f"blend         with {self.blend.path} (sha256 {self.blend_sha256}), {self.blend.describe()}")
        lines += [f"note          {note}" for note in self.notes]
        return lines

    @property
    def identity(self) -> str:
        """What fixes the generator's tensors: the file's hash, and the blend's when there is one."""
        own = self.sha256[:16]
        return own if self.blend is None or self.blend_sha256 is None else f"{own}-blend-{self.blend.identity(self.blend_sha256)}"


def _kind_of(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def _open_model(path: Path):
    """Open ``path`` for reading if it is a regular, non-empty file of plausible size.

    What the path is decides the message: missing, a dangling link, a directory, a pipe or
    a device. The file is opened non-blocking (a FIFO would otherwise hang the open) and
    checked again through its descriptor, so a swap between the check and the open is caught.
    """
    where = str(path)
    fix = "set gan.weights to your .pkl or .pt file"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise DreamreelError(where, f"is a symbolic link to {quote(os.readlink(path))}, which does not exist", fix) from None
        raise DreamreelError(where, "model file not found", fix) from None
    except OSError as error:
        raise DreamreelError(where, f"cannot be read ({error.strerror})", fix) from None
    except ValueError:  # a NUL byte in the path
        raise DreamreelError(where, "is not a usable path (it holds a NUL character)", fix) from None
    link = f" (a symbolic link to {quote(os.readlink(path))})" if os.path.islink(path) else ""
    if not stat.S_ISREG(info.st_mode):
        raise DreamreelError(where, f"is {_kind_of(info.st_mode)}{link}, not a model file", fix)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise DreamreelError(where, f"cannot be opened ({error.strerror})", fix) from None
    handle = os.fdopen(descriptor, "rb")
    info = os.fstat(handle.fileno())
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        raise DreamreelError(where, f"is {_kind_of(info.st_mode)}{link}, not a model file", fix)
    if info.st_size == 0:
        handle.close()
        raise DreamreelError(where, "model file is empty", "download it again")
    if info.st_size > MAX_FILE_BYTES:
        handle.close()
        raise DreamreelError(where, f"file is {info.st_size} bytes, more than any StyleGAN generator file ({MAX_FILE_BYTES})", "check the path")
    return handle


def _sniff(head: bytes, where: str) -> str:
    if head[:4] == b"PK\x03\x04":
        return "torch-zip"
    if head.startswith(LEGACY_TORCH_PREFIX):
        return "torch-legacy"
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if head[257:262] == b"ustar":
        raise DreamreelError(where, "this is a tar-format torch checkpoint (torch < 0.4), which dreamreel does not read",
                             "load it in a trusted environment and save the state dict again with torch.save")
    raise DreamreelError(where, "not a pickle or torch checkpoint (unknown first bytes)",
                         "gan.weights must be a StyleGAN .pkl (NVlabs) or .pt (rosinality) file; is it an HTML error page or an archive?")


def _sha256(handle) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    while chunk := handle.read(HASH_CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


_REFUSED_FIX = ("dreamreel reads only model data and executed nothing; this file is corrupted or was made to run code"
                " — do not load it elsewhere")
_CORRUPTED_FIX = "download it again and compare its size or checksum with the source"


def _corrupted(where: str, error: BaseException) -> DreamreelError:
    detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return DreamreelError(where, f"truncated or corrupted file ({one_line(detail, 160)})", _CORRUPTED_FIX)


def _internal(where: str, error: BaseException) -> DreamreelError:
    """A failure of our own code on this file, named as ours with the line that failed."""
    frames = traceback.extract_tb(error.__traceback__)
    place = f"{Path(frames[-1].filename).name} line {frames[-1].lineno}" if frames else "unknown place"  # where it was raised
    return DreamreelError(where, f"internal error in dreamreel's loader ({type(error).__name__} at {place}) on this file; "
                                 "nothing in it was executed",
                          "please report it with the file; DREAMREEL_DEBUG=1 shows the traceback")


def _clean(error: DreamreelError) -> DreamreelError:
    """The same error with every part escaped and cut: the last guard on text from the file."""
    fix = one_line(error.fix, 300) if error.fix else None
    return DreamreelError(one_line(error.where, 300), one_line(error.problem), fix)


def read_records(path: str | Path) -> tuple[str, Any, int, str]:
    """Unpickle ``path`` with the allow-list: (container, top-level object of records, size in bytes, sha256).

    Raises :class:`DreamreelError` for everything (see the module doc). The records only
    reference arrays inside the storages; nothing of the file is kept open.
    """
    path = Path(path)
    where = str(path)
    with _open_model(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        try:
            head = handle.read(HEAD_BYTES)
        except OSError as error:
            raise DreamreelError(where, f"cannot be read ({error.strerror})", "check the disk or copy the file again") from None
        container = _sniff(head, where)
        handle.seek(0)
        context = LoadContext(size)
        try:
            if container == "torch-zip":
                top = load_zip_torch(handle, context)
            elif container == "torch-legacy":
                top = load_legacy_torch(handle, context)
            else:
                top = load_plain_pickle(handle, context)
        except Refused as error:
            raise _clean(DreamreelError(where, f"refused to load: {error}", _REFUSED_FIX)) from error
        except _CORRUPTION as error:
            raise _corrupted(where, error) from error
        return container, top, size, _sha256(handle)


def _convert(container: str, top: Any, where: str) -> formats.Converted:
    if isinstance(top, TFNetworkRecord) or (isinstance(top, tuple) and any(isinstance(p, TFNetworkRecord) for p in top)):
        return formats.nvlabs_tensorflow(top, where)
    if isinstance(top, dict):
        if any(isinstance(v, PersistentRecord) for v in top.values()) or {"G_ema", "G", "D"} & set(top):
            return formats.nvlabs_pytorch(top, where)
        if "g_ema" in top or "style.1.weight" in top or container != "pickle":
            return formats.rosinality(top, where)
    raise DreamreelError(where, f"unknown model family (top level is {quote(top)})",
                         "dreamreel reads StyleGAN2 and StyleGAN3 generators from NVlabs (.pkl, PyTorch or TensorFlow) and rosinality (.pt)")


@contextlib.contextmanager
def _reading(where: str):
    """The loader boundary: whatever the file makes our conversion raise becomes one line.

    Our own errors pass (escaped and cut); Refused says what the allow-list or a budget
    refused; running out of memory or stack on a file is the file's doing; anything else
    is a bug of ours this file exposes, reported as such (see the module doc).
    """
    try:
        yield
    except DreamreelError as error:
        raise _clean(error) from error.__cause__
    except Refused as error:  # raised while converting, e.g. the copy budget
        raise _clean(DreamreelError(where, f"refused to load: {error}", _REFUSED_FIX)) from error
    except (MemoryError, RecursionError) as error:
        raise _corrupted(where, error) from error
    except Exception as error:
        # The records are checked before use, so this is a bug of ours that this file
        # exposes: report it as such, in one line, unless the user asks for the traceback.
        if os.environ.get("DREAMREEL_DEBUG"):
            raise
        raise _internal(where, error) from error


def convert_records(container: str, top: Any, where: str) -> tuple[formats.Converted, GeneratorConfig | StyleGAN3Config]:
    """The records of one file (from :func:`read_records`) as tensors in our naming, and the structure they form."""
    with _reading(where):
        converted = _convert(container, top, where)
        config = formats.config_from_tensors(converted, where)
        for name, array in converted.arrays.items():
            if not np.isfinite(array).all():
                raise DreamreelError(where, f"tensor {quote(name)} holds NaN or infinite values", "the file is corrupted; download it again")
    return converted, config


def inspect_model(path: str | Path) -> tuple[ModelInfo, formats.Converted]:
    """Read and convert a model file without building the network.

    Raises
    ------
    DreamreelError
        One line for any problem with the file (see the module doc); set the environment
        variable ``DREAMREEL_DEBUG=1`` to get the traceback of an internal error instead.
    """
    where = str(path)
    with _reading(where):
        container, top, size, sha256 = read_records(path)
    converted, config = convert_records(container, top, where)
    info = ModelInfo(path=where, sha256=sha256, size_bytes=size, container=container,
                     family=converted.family, network=converted.network, config=config,
                     w_avg_source="file" if converted.w_avg_in_file else "estimated", notes=tuple(converted.notes))
    return info, converted


def build_generator(config: GeneratorConfig | StyleGAN3Config, arrays: dict[str, np.ndarray], where: str):
    """Our generator with exactly these tensors: missing, unexpected or misshapen ones are errors."""
    import torch

    from dreamreel.gan.stylegan.network import Generator
    from dreamreel.gan.stylegan.network3 import Generator3

    if isinstance(config, StyleGAN3Config):
        # The file's own filters: nothing is designed (no scipy, no version drift).
        _, plans = layer_plan(config)
        filters = {plan.name: (arrays.get(f"synthesis.{plan.name}.up_filter"), arrays.get(f"synthesis.{plan.name}.down_filter"))
                   for plan in plans}
        generator = Generator3(config, filters=filters)
    else:
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
            # These names come from the file.
            parts.append(f"unexpected {', '.join(quote(name, 40) for name in unexpected[:5])}" + (" ..." if len(unexpected) > 5 else ""))
        kind = "StyleGAN3" if isinstance(config, StyleGAN3Config) else "StyleGAN2"
        raise DreamreelError(where, f"tensors do not form a {kind} generator: {'; '.join(parts)}",
                             "the file is incomplete, or a variant dreamreel does not support")
    for name, array in arrays.items():
        if tuple(array.shape) != tuple(expected[name].shape):
            raise DreamreelError(where, f"tensor {quote(name)} has shape {tuple(array.shape)}, expected {tuple(expected[name].shape)}",
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


def inspect_blend(path: str | Path, blend: BlendSpec) -> tuple[ModelInfo, formats.Converted]:
    """Read A (``path``) and B (``blend.path``) and return A's info with the blended tensors.

    Each file is read by :func:`inspect_model` (each error names its own file); then the
    pair is checked (one line naming every difference) and blended.
    """
    info, converted = inspect_model(path)
    info_b, converted_b = inspect_model(blend.path)
    check_blendable(info.config, info_b.config, where=blend.where, path_b=blend.path)
    arrays = blend_arrays(info.config, converted.arrays, converted_b.arrays, blend)
    blended = formats.Converted(family=converted.family, network=converted.network, arrays=arrays,
                                mapping_lr_multiplier=converted.mapping_lr_multiplier, conv_clamp=converted.conv_clamp,
                                w_avg_in_file=converted.w_avg_in_file, declared=converted.declared, notes=converted.notes)
    return replace(info, blend=blend, blend_sha256=info_b.sha256), blended


def load_generator(path: str | Path, *, device: str = "cpu", blend: BlendSpec | None = None):
    """Load a StyleGAN2 or StyleGAN3 generator from a .pkl or .pt file, optionally blended with a second one.

    Parameters
    ----------
    path : str or Path
        NVlabs PyTorch pickle (ADA, or stylegan3 repo with cfg stylegan2), NVlabs
        TensorFlow pickle, or rosinality checkpoint.
    device : str
        torch device for the returned module (``"cpu"``, ``"cuda"``).
    blend : BlendSpec or None
        A second model of the same configuration to blend with (see :mod:`.blend`); its
        synthesis blocks are swapped in or mixed, the mapping stays this file's.

    Returns
    -------
    (Generator, ModelInfo)
        The generator in eval mode with gradients off, and what was found.

    Raises
    ------
    DreamreelError
        For a missing, empty, truncated, corrupted, malicious, discriminator-only or
        otherwise unsupported file, and for a blend of mismatched models.
    """
    info, converted = inspect_model(path) if blend is None else inspect_blend(path, blend)
    generator = build_generator(info.config, converted.arrays, str(path))
    return generator.to(device), info
