"""Blending two StyleGAN generators of the same shape, resolution by resolution.

Model A is ``gan.weights``; model B is ``gan.blend.with``; both StyleGAN2 or both StyleGAN3.
Synthesis tensors are grouped by the layer they belong to, and each layer has a
resolution: a StyleGAN2 block's (``synthesis.b{px}.*``: its convolutions, noise, ToRGB and
skip), a StyleGAN3 layer's sampling rate (``synthesis.L{i}_*``; the Fourier input counts
at the first rate). Each group is taken from A, from B, or mixed:

* **layer swap** (``swap_at_px``): blocks at and below ``swap_at_px`` come from A, the
  rest from B. Coarse layers set layout and pose, fine layers texture and colour, so a
  "textures" model's coarse blocks under a "modern art" model's fine ones keep the shapes
  of one and the surface of the other;
* **interpolation** (``mix_by_px``): every tensor of block ``px`` is ``(1 - t) A + t B``,
  with t read from a curve over resolution (linear in log2 px between the given points,
  flat beyond them), so the change from A to B can be gradual.

StyleGAN3's low-pass filters are part of the structure, not of the training, and stay
A's. The mapping network and ``w_avg`` always come from A: the walk (``latents.npz``) is made
by A's mapping, so a blend changes the pictures, never the walk, and editing it re-renders
without re-walking. Blending means something when B was fine-tuned from A (they share
the w space); the tensors only have to agree in shape, which is checked first, naming
every difference.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.gan.stylegan.network import GeneratorConfig, block_resolutions
from dreamreel.gan.stylegan.network3 import StyleGAN3Config, layer_plan

_BLOCK = re.compile(r"synthesis\.b(\d+)\.")
_LAYER3 = re.compile(r"synthesis\.(input|L\d+_\d+_\d+)\.")
_FILTERS3 = (".up_filter", ".down_filter")
# Everything the synthesis arithmetic depends on besides the tensor values.
_SHAPE_FIELDS = ("img_resolution", "img_channels", "w_dim", "architecture", "use_noise", "conv_clamp")
# For StyleGAN3: every setting but the mapping's (which always comes from A).
_SHAPE_FIELDS3 = ("img_resolution", "img_channels", "w_dim", "channel_base", "channel_max", "num_layers", "num_critical",
                  "first_cutoff", "first_stopband", "last_stopband_rel", "margin_size", "output_scale", "conv_kernel",
                  "filter_size", "lrelu_upsampling", "use_radial_filters", "conv_clamp")


@dataclass(frozen=True)
class BlendSpec:
    """A blend with a second model: ``swap_at_px`` or ``mix_by_px`` (exactly one).

    ``mix_by_px`` is a tuple of ``(px, t)`` points, px rising, t the weight of B in [0, 1].
    ``where`` names the params entry in messages (``"params.yaml: gan.blend"``).
    """

    path: str
    swap_at_px: int | None = None
    mix_by_px: tuple[tuple[float, float], ...] | None = None
    where: str = "gan.blend"

    @classmethod
    def from_params(cls, values: Mapping[str, Any] | None, *, where: str = "params.yaml: gan.blend") -> "BlendSpec | None":
        """The ``gan.blend`` section (already validated) as a spec; None when there is no blend."""
        if values is None:
            return None
        if not values.get("with"):
            raise DreamreelError(f"{where}.with", "a blend needs the second model file", "set gan.blend.with to a .pkl or .pt file")
        swap, mix = values.get("swap_at_px"), values.get("mix_by_px")
        if (swap is None) == (mix is None):
            raise DreamreelError(where, "give exactly one of swap_at_px (layer swap) and mix_by_px (interpolation)",
                                 "e.g. gan.blend: {with: media/other.pkl, swap_at_px: 32}")
        points = None if mix is None else tuple((float(px), float(t)) for px, t in mix)
        return cls(path=str(values["with"]), swap_at_px=None if swap is None else int(swap), mix_by_px=points, where=where)

    def weight_of_b(self, px: int) -> float:
        """t at one block resolution: 0 takes the block from A, 1 from B."""
        if self.swap_at_px is not None:
            return 0.0 if px <= self.swap_at_px else 1.0
        assert self.mix_by_px is not None
        x = math.log2(px)
        xs = [math.log2(point_px) for point_px, _ in self.mix_by_px]
        ts = [t for _, t in self.mix_by_px]
        return float(np.interp(x, xs, ts))

    def describe(self) -> str:
        if self.swap_at_px is not None:
            return f"swap at {self.swap_at_px} px"
        return "mix " + ", ".join(f"{px:g} px: {t:g}" for px, t in self.mix_by_px or ())

    def identity(self, sha256_b: str) -> str:
        """What fixes the blended pixels besides A: B's content and the blend's numbers (not B's path)."""
        canonical = json.dumps({"b": sha256_b, "swap_at_px": self.swap_at_px, "mix_by_px": self.mix_by_px}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def check_blendable(config_a: GeneratorConfig, config_b: GeneratorConfig, *, where: str, path_b: str) -> None:
    """Refuse, in one line naming every difference, two generators whose synthesis tensors cannot be mixed."""
    if type(config_a) is not type(config_b):
        kinds = ["StyleGAN3" if isinstance(c, StyleGAN3Config) else "StyleGAN2" for c in (config_a, config_b)]
        raise DreamreelError(f"{where}.with", f"{Path(path_b).name} is {kinds[1]} and gan.weights is {kinds[0]}; a blend needs two of a kind",
                             "blend two StyleGAN2 models or two StyleGAN3 models")
    differences = []
    for name in _SHAPE_FIELDS3 if isinstance(config_a, StyleGAN3Config) else _SHAPE_FIELDS:
        a, b = getattr(config_a, name), getattr(config_b, name)
        if a != b:
            differences.append(f"{name} {a} vs {b}")
    if isinstance(config_a, GeneratorConfig) and config_a.img_resolution == config_b.img_resolution and config_a.channels != config_b.channels:
        differing = [f"{px} px {config_a.channels[px]} vs {config_b.channels[px]}"
                     for px in sorted(config_a.channels) if config_a.channels[px] != config_b.channels.get(px)]
        differences.append("channels " + ", ".join(differing[:4]) + (" ..." if len(differing) > 4 else ""))
    if differences:
        raise DreamreelError(f"{where}.with", f"{Path(path_b).name} cannot be blended with gan.weights: {'; '.join(differences)} (gan.weights vs gan.blend.with)",
                             "blend two models of the same configuration, e.g. one fine-tuned from the other")


def _layer_pixels(config: GeneratorConfig | StyleGAN3Config) -> tuple[dict[str, int], re.Pattern]:
    """Each synthesis layer group's resolution, and the pattern that finds a tensor's group."""
    if isinstance(config, StyleGAN3Config):
        input_plan, plans = layer_plan(config)
        pixels = {"input": int(input_plan.sampling_rate)} | {plan.name: int(plan.out_sampling_rate) for plan in plans}
        return pixels, _LAYER3
    return {str(px): px for px in block_resolutions(config.img_resolution)}, _BLOCK


def blend_arrays(config: GeneratorConfig | StyleGAN3Config, arrays_a: Mapping[str, np.ndarray], arrays_b: Mapping[str, np.ndarray],
                 spec: BlendSpec) -> dict[str, np.ndarray]:
    """The blended tensor dict: A's mapping and w_avg, synthesis layers from A, B or mixed.

    ``config`` is A's (and, after :func:`check_blendable`, B's) structure.
    """
    pixels, pattern = _layer_pixels(config)
    choices = sorted(set(pixels.values()))[:-1]  # swapping at the top resolution would take nothing from B
    if spec.swap_at_px is not None and spec.swap_at_px not in choices:
        raise DreamreelError(f"{spec.where}.swap_at_px", f"{spec.swap_at_px} is not a layer resolution below this model's top",
                             f"use one of {', '.join(map(str, choices))}")
    blended: dict[str, np.ndarray] = {}
    for name, a in arrays_a.items():
        match = pattern.match(name)
        if match is None or name.endswith(_FILTERS3):
            blended[name] = a  # mapping network, w_avg, StyleGAN3 filters: always A's
            continue
        b = arrays_b.get(name)
        if b is None or b.shape != a.shape:
            raise DreamreelError(f"{spec.where}.with", f"tensor {name} is {'missing' if b is None else f'shaped {b.shape}, not {a.shape}'} in {Path(spec.path).name}",
                                 "blend two models of the same configuration")
        t = spec.weight_of_b(pixels[match[1]])
        # asarray: a 0-d tensor (noise strength) would otherwise come out a numpy scalar.
        blended[name] = a if t == 0.0 else b if t == 1.0 else np.asarray((1.0 - t) * a + t * b, dtype=np.float32)
    return blended
