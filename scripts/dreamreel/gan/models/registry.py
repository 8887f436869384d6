"""Build a frame model by name: ``auto``, ``cppn``, ``biggan-deep-128|256|512``, or a registered one.

``auto`` means BigGAN-deep-128 when its weights can be had (``gan.weights``, the library's
cache, or a download that ``gan.allow_download`` permits), else the weight-free cppn. The
choice is announced loudly on stderr and returned as a :class:`ModelChoice`, which the
renderer writes into the segment manifest and the video's metadata. A model named
explicitly never falls back: missing weights are an error.

More models are added with :func:`register`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Callable

from dreamreel.core.errors import DreamreelError
from dreamreel.gan.models.base import ComputeOptions, FrameModel

AUTO = "auto"
AUTO_BIGGAN = "biggan-deep-128"
CPPN_DEFAULT_SIZE_PX = 256


@dataclass(frozen=True)
class ModelRequest:
    """What params ask for (the ``gan`` section).

    Attributes
    ----------
    name : str
        Model name or ``auto``.
    weights : str or None
        Local weights (a BigGAN folder, a StyleGAN file); None = the model's default source.
    size_px : int or None
        Frame size for models that render at any size (cppn); None = their default.
    seed : int
        Seed of weight-free models.
    allow_download : bool
        Whether a model may fetch its weights over the network.
    download_timeout_s : float
        Socket timeout for such a download.
    compute : ComputeOptions
        Device, precision, layout, threads.
    options : dict
        Settings of one model family (for StyleGAN: the ``stylegan`` section, whose
        ``noise_mode`` changes the pixels).
    blend : dict or None
        The ``gan.blend`` section (StyleGAN only): a second model to blend with.
    """

    name: str = AUTO
    weights: str | None = None
    size_px: int | None = None
    seed: int = 0
    allow_download: bool = False
    download_timeout_s: float = 30.0
    compute: ComputeOptions = field(default_factory=ComputeOptions)
    options: dict = field(default_factory=dict)
    blend: dict | None = None


@dataclass(frozen=True)
class ModelChoice:
    """The model built for a request and why: recorded in the manifest and the video's metadata."""

    model: FrameModel
    requested: str
    chosen: str
    reason: str

    def metadata(self) -> dict[str, str]:
        return {
            "dreamreel_model": self.chosen,
            "dreamreel_model_requested": self.requested,
            "dreamreel_model_identity": self.model.identity,
            "dreamreel_model_reason": self.reason,
        }


Factory = Callable[[str, ModelRequest, str], FrameModel]
_FACTORIES: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    """Make ``name`` buildable: ``factory(name, request, where)`` returns a FrameModel."""
    _FACTORIES[name] = factory


def known_models() -> list[str]:
    return [AUTO, *sorted(_FACTORIES)]


def _build_cppn(name: str, request: ModelRequest, where: str) -> FrameModel:
    from dreamreel.gan.models.cppn import CPPN

    return CPPN(size_px=request.size_px or CPPN_DEFAULT_SIZE_PX, seed=request.seed, compute=request.compute)


def _build_biggan(name: str, request: ModelRequest, where: str) -> FrameModel:
    from dreamreel.gan.models.biggan import BigGANModel, resolve_weights

    source = resolve_weights(name, weights=request.weights, allow_download=request.allow_download, timeout_s=request.download_timeout_s, where=f"{where}.weights")
    return BigGANModel(name, source, compute=request.compute, where=f"{where}.weights")


def _build_stylegan(name: str, request: ModelRequest, where: str) -> FrameModel:
    from dreamreel.gan.models.stylegan import StyleGANModel

    if not request.weights:
        raise DreamreelError(f"{where}.weights", "StyleGAN needs a model file", "set gan.weights to your .pkl (NVlabs) or .pt (rosinality) file")
    from dreamreel.gan.stylegan.blend import BlendSpec

    blend = BlendSpec.from_params(request.blend, where=f"{where}.blend")
    # The options are the stylegan section; it sits beside gan in the same params file.
    stylegan_where = where.rsplit(": ", 1)[0] + ": stylegan" if ": " in where else "params.yaml: stylegan"
    return StyleGANModel(request.weights, device=request.compute.device, noise_mode=request.options.get("noise_mode", "const"), blend=blend, where=stylegan_where)


register("cppn", _build_cppn)
register("stylegan", _build_stylegan)
for _size in (128, 256, 512):
    register(f"biggan-deep-{_size}", _build_biggan)


def announce(message: str) -> None:
    """Print a line nobody can miss on stderr."""
    bar = "=" * min(100, len(message) + 4)
    print(f"{bar}\n  {message}\n{bar}", file=sys.stderr, flush=True)


def load_model(request: ModelRequest, *, where: str = "params.yaml: gan") -> ModelChoice:
    """Build the model ``request`` names; resolve ``auto`` (see module doc)."""
    from dreamreel.gan.models.biggan import WeightsUnavailable

    if request.blend is not None and request.name != "stylegan":
        raise DreamreelError(f"{where}.blend", f"blending needs gan.model: stylegan, not {request.name}", "remove gan.blend or set gan.model: stylegan")

    if request.name == AUTO:
        try:
            model = _FACTORIES[AUTO_BIGGAN](AUTO_BIGGAN, request, where)
        except WeightsUnavailable as missing:
            fallback = _FACTORIES["cppn"]("cppn", request, where)
            reason = f"{AUTO_BIGGAN} weights unavailable ({missing.problem})"
            announce(f"model: auto -> cppn, the weight-free generator: {reason}. Set gan.weights or gan.allow_download for BigGAN.")
            return ModelChoice(fallback, AUTO, "cppn", reason)
        announce(f"model: auto -> {AUTO_BIGGAN} (weights from {model.source.origin})")
        return ModelChoice(model, AUTO, AUTO_BIGGAN, f"weights from {model.source.origin}")
    factory = _FACTORIES.get(request.name)
    if factory is None:
        raise DreamreelError(f"{where}.model", f"unknown model {request.name!r}", f"use one of: {', '.join(known_models())}")
    model = factory(request.name, request, where)
    return ModelChoice(model, request.name, request.name, "named in params")
