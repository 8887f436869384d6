"""A clean-room StyleGAN2 generator in plain PyTorch (float32, any device).

Written from the papers: Karras et al., "Analyzing and Improving the Image Quality of
StyleGAN" (arXiv:1912.04958, appendices B and D) and "Training Generative Adversarial
Networks with Limited Data" (arXiv:2006.06676). Parameter and buffer names follow the
layout of StyleGAN2-ADA model files (``mapping.fc0.weight``,
``synthesis.b64.conv0.affine.bias``, ...), so a converted file loads with
``load_state_dict(strict=True)``.

The pieces:

* equalised learning rate: weights are stored unscaled and multiplied at run time by
  ``lr_multiplier / sqrt(fan_in)``; biases by ``lr_multiplier``;
* mapping: z normalised by its second moment, the embedded label likewise, then
  fully-connected layers with leaky ReLU (slope 0.2, gain sqrt 2); truncation pulls w
  towards the tracked average ``w_avg``;
* synthesis layers: style ``s = affine(w)`` scales the input channels, a 3x3 convolution,
  then demodulation divides each output channel by the norm of its effective weights
  ``sqrt(sum_{in,kh,kw} (W s)^2 + 1e-8)``. Because that factor does not depend on the
  pixels, scaling the activations before and after one shared convolution is exactly the
  per-sample modulated convolution, and is much faster on a CPU;
* up-sampling: a stride-2 transposed convolution followed by the 4x4 binomial FIR blur
  ([1, 3, 3, 1] outer product, sum 1, gain 4); the image path of the skip architecture
  inserts zeros and applies the same blur;
* noise: a per-layer single-channel image times a learned strength, added before the bias;
* bias, activation, gain, then optional clamping of activations to +-conv_clamp*gain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

BLUR_TAPS = (1.0, 3.0, 3.0, 1.0)
LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)
NOISE_MODES = ("const", "random", "none")
ARCHITECTURES = ("skip", "resnet")


def channels_for(*, resolution: int, channel_base: int, channel_max: int) -> dict[int, int]:
    """Feature maps per block, ``min(channel_base // r, channel_max)`` for r = 4 .. resolution."""
    return {res: min(channel_base // res, channel_max) for res in block_resolutions(resolution)}


def block_resolutions(resolution: int) -> list[int]:
    """The block resolutions 4, 8, ..., ``resolution`` (a power of two >= 4)."""
    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return [2**k for k in range(2, int(math.log2(resolution)) + 1)]


def num_ws_for(resolution: int) -> int:
    """How many w vectors synthesis consumes: two per block but one for 4x4, plus the last ToRGB."""
    return 2 * int(math.log2(resolution)) - 2


def ws_resolutions(resolution: int) -> list[int]:
    """The resolution of the first layer each w vector drives (index i -> pixels), shape (num_ws,).

    w 0 drives the 4x4 convolution, w 1 the 4x4 ToRGB (and the up-sampling convolution of
    block 8), and so on: two ws per resolution, ``4 * 2**(i // 2)``. This is the usual
    split of StyleGAN's styles: ws 0-3 coarse (4-8 px), 4-7 middle (16-32 px), the rest fine.
    """
    return [4 * 2 ** (index // 2) for index in range(num_ws_for(resolution))]


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything that fixes the generator's structure and arithmetic.

    ``channels`` maps each block resolution to its feature maps. ``conv_clamp`` is None
    or the activation clamp of every synthesis layer (before the gain).
    """

    z_dim: int
    c_dim: int
    w_dim: int
    img_resolution: int
    img_channels: int
    channels: dict[int, int] = field(hash=False)
    mapping_layers: int = 8
    embed_features: int | None = None
    layer_features: int | None = None
    mapping_lr_multiplier: float = 0.01
    architecture: str = "skip"
    use_noise: bool = True
    conv_clamp: float | None = None

    @property
    def num_ws(self) -> int:
        return num_ws_for(self.img_resolution)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row of ``x`` (B, F) to unit mean square."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


def bias_act(x: torch.Tensor, bias: torch.Tensor | None, *, lrelu: bool, gain: float, clamp: float | None) -> torch.Tensor:
    """Add a per-channel bias (channel axis 1), apply leaky ReLU if asked, scale, clamp."""
    if bias is not None:
        x = x + bias.reshape([1, -1] + [1] * (x.ndim - 2))
    if lrelu:
        x = F.leaky_relu(x, LRELU_SLOPE)
    if gain != 1.0:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def _blur_taps(device: torch.device, dtype: torch.dtype, gain_1d: float) -> torch.Tensor:
    taps = torch.tensor(BLUR_TAPS, device=device, dtype=dtype)
    return taps * (gain_1d / taps.sum())


def blur(x: torch.Tensor, *, pad: tuple[int, int], gain: float) -> torch.Tensor:
    """Pad by (before, after) on both axes and convolve with the separable 4x4 binomial filter.

    The 2-D filter is ``outer(t, t) / sum(t)^2 * gain`` with t = [1, 3, 3, 1]; it is
    symmetric, so correlation and convolution agree. Output edge = input + before + after - 3.
    """
    channels = x.shape[1]
    taps = _blur_taps(x.device, x.dtype, math.sqrt(gain))
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    x = F.conv2d(x, taps.reshape(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    return F.conv2d(x, taps.reshape(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


def upsample2d(x: torch.Tensor) -> torch.Tensor:
    """Double the edge: insert zeros after every sample, then blur with gain 4 and pads (2, 1)."""
    batch, channels, height, width = x.shape
    stuffed = x.new_zeros([batch, channels, height * 2, width * 2])
    stuffed[:, :, ::2, ::2] = x
    return blur(stuffed, pad=(2, 1), gain=4.0)


class FullyConnected(nn.Module):
    """Equalised-learning-rate dense layer: ``y = act(x (W lr/sqrt(in))^T + b lr)``."""

    def __init__(self, in_features: int, out_features: int, *, lrelu: bool = False, lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init) / lr_multiplier))
        self.lrelu = lrelu
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain)
        return bias_act(x, self.bias * self.bias_gain, lrelu=self.lrelu, gain=LRELU_GAIN if self.lrelu else 1.0, clamp=None)


class MappingNetwork(nn.Module):
    """z (B, z_dim) and label c (B, c_dim) -> ws (B, num_ws, w_dim), with truncation."""

    def __init__(self, *, z_dim: int, c_dim: int, w_dim: int, num_ws: int, num_layers: int = 8,
                 embed_features: int | None = None, layer_features: int | None = None, lr_multiplier: float = 0.01):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws, self.num_layers = z_dim, c_dim, w_dim, num_ws, num_layers
        embed_features = (w_dim if embed_features is None else embed_features) if c_dim else 0
        layer_features = w_dim if layer_features is None else layer_features
        if c_dim:
            self.embed = FullyConnected(c_dim, embed_features)
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        for index in range(num_layers):
            layer = FullyConnected(features[index], features[index + 1], lrelu=True, lr_multiplier=lr_multiplier)
            setattr(self, f"fc{index}", layer)
        self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float | torch.Tensor = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
        """Map latents to ws.

        Parameters
        ----------
        z : Tensor, shape (B, z_dim)
        c : Tensor or None, shape (B, c_dim), one-hot class labels (required when c_dim > 0)
        truncation_psi : float or Tensor of shape (B,)
            1 keeps w; 0 gives ``w_avg``; in between interpolates.
        truncation_cutoff : int or None
            Truncate only the first ``cutoff`` ws (all when None).

        Returns
        -------
        Tensor, shape (B, num_ws, w_dim)
        """
        parts = []
        if self.z_dim:
            parts.append(normalize_2nd_moment(z.to(torch.float32)))
        if self.c_dim:
            if c is None:
                raise ValueError(f"this generator is conditional: pass c of shape (B, {self.c_dim})")
            parts.append(normalize_2nd_moment(self.embed(c.to(torch.float32))))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        for index in range(self.num_layers):
            x = getattr(self, f"fc{index}")(x)
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        return truncate(ws, self.w_avg, truncation_psi, truncation_cutoff)


def truncate(ws: torch.Tensor, w_avg: torch.Tensor, psi: float | torch.Tensor, cutoff: int | None = None) -> torch.Tensor:
    """``w_avg + psi (w - w_avg)`` on the first ``cutoff`` ws; ``psi`` a float or shape (B,)."""
    if isinstance(psi, (int, float)) and psi == 1.0:
        return ws
    psi_t = torch.as_tensor(psi, dtype=ws.dtype, device=ws.device).reshape(-1, 1, 1)
    cutoff = ws.shape[1] if cutoff is None else cutoff
    head = w_avg + psi_t * (ws[:, :cutoff] - w_avg)
    return torch.cat([head, ws[:, cutoff:]], dim=1)


class SynthesisLayer(nn.Module):
    """Modulated, demodulated 3x3 convolution (optionally up-sampling x2), noise, bias, lrelu."""

    def __init__(self, in_channels: int, out_channels: int, *, w_dim: int, resolution: int, up: int = 1,
                 use_noise: bool = True, conv_clamp: float | None = None, kernel_size: int = 3):
        super().__init__()
        if up not in (1, 2) or kernel_size != 3:
            raise ValueError("synthesis layers are 3x3, with up = 1 or 2")
        self.up, self.resolution, self.use_noise, self.conv_clamp = up, resolution, use_noise, conv_clamp
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))

    def demodulation(self, styles: torch.Tensor) -> torch.Tensor:
        """1 / norm of each sample's effective weights ``W[o,i,:,:] * s[b,i]``, shape (B, out).

        sum_{i,kh,kw} (W s_i)^2 = sum_i s_i^2 sum_{kh,kw} W^2, one matrix product.
        """
        energy = self.weight.square().sum(dim=[2, 3])
        return torch.rsqrt(styles.square() @ energy.t() + 1e-8)

    def forward(self, x: torch.Tensor, w: torch.Tensor, *, noise_mode: str = "const", gain: float = 1.0) -> torch.Tensor:
        styles = self.affine(w)
        x = x * styles[:, :, None, None]
        if self.up == 1:
            x = F.conv2d(x, self.weight, padding=1)
        else:
            # Transposed conv gives 2r+1 samples per axis; the blur (pads 1, 1) brings it to 2r.
            x = F.conv_transpose2d(x, self.weight.transpose(0, 1), stride=2)
            x = blur(x, pad=(1, 1), gain=4.0)
        x = x * self.demodulation(styles)[:, :, None, None]
        if self.use_noise and noise_mode != "none":
            if noise_mode == "const":
                noise = self.noise_const
            else:
                noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device, dtype=x.dtype)
            x = x + noise * self.noise_strength
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        return bias_act(x, self.bias, lrelu=True, gain=LRELU_GAIN * gain, clamp=clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 convolution to image channels, without demodulation, linear."""

    def __init__(self, in_channels: int, out_channels: int, *, w_dim: int, conv_clamp: float | None = None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1.0 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = F.conv2d(x * styles[:, :, None, None], self.weight)
        return bias_act(x, self.bias, lrelu=False, gain=1.0, clamp=self.conv_clamp)


class SkipLayer(nn.Module):
    """Residual path of a resnet block: unmodulated 1x1 convolution, up-sampled x2, no bias."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.weight_gain = 1.0 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, *, gain: float) -> torch.Tensor:
        # A 1x1 convolution and a per-channel blur commute; convolving first is cheaper.
        return upsample2d(F.conv2d(x, self.weight * self.weight_gain)) * gain


class SynthesisBlock(nn.Module):
    """One resolution: (const | up-conv), conv, and ToRGB / skip as the architecture asks."""

    def __init__(self, in_channels: int, out_channels: int, *, w_dim: int, resolution: int, img_channels: int,
                 is_last: bool, architecture: str, use_noise: bool, conv_clamp: float | None):
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}")
        self.in_channels, self.architecture = in_channels, architecture
        layer = dict(w_dim=w_dim, resolution=resolution, use_noise=use_noise, conv_clamp=conv_clamp)
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, up=2, **layer)
        self.conv1 = SynthesisLayer(out_channels, out_channels, **layer)
        self.has_torgb = is_last or architecture == "skip"
        if self.has_torgb:
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp)
        if in_channels and architecture == "resnet":
            self.skip = SkipLayer(in_channels, out_channels)
        self.num_conv = 1 if in_channels == 0 else 2
        self.num_torgb = 1 if self.has_torgb else 0

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor, *, noise_mode: str):
        """``ws`` (B, num_conv + num_torgb, w_dim); returns the new (features, image)."""
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
            x = self.conv1(x, ws[:, 0], noise_mode=noise_mode)
        elif self.architecture == "resnet":
            half = math.sqrt(0.5)
            shortcut = self.skip(x, gain=half)
            x = self.conv0(x, ws[:, 0], noise_mode=noise_mode)
            x = shortcut + self.conv1(x, ws[:, 1], noise_mode=noise_mode, gain=half)
        else:
            x = self.conv0(x, ws[:, 0], noise_mode=noise_mode)
            x = self.conv1(x, ws[:, 1], noise_mode=noise_mode)
        if img is not None:
            img = upsample2d(img)
        if self.has_torgb:
            rgb = self.torgb(x, ws[:, self.num_conv])
            img = rgb if img is None else img + rgb
        return x, img


class SynthesisNetwork(nn.Module):
    """ws (B, num_ws, w_dim) -> image (B, img_channels, R, R), about [-1, 1]."""

    def __init__(self, *, w_dim: int, img_resolution: int, img_channels: int, channels: dict[int, int],
                 architecture: str = "skip", use_noise: bool = True, conv_clamp: float | None = None):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.resolutions = block_resolutions(img_resolution)
        previous = 0
        for res in self.resolutions:
            block = SynthesisBlock(previous, channels[res], w_dim=w_dim, resolution=res, img_channels=img_channels,
                                   is_last=res == img_resolution, architecture=architecture,
                                   use_noise=use_noise, conv_clamp=conv_clamp)
            setattr(self, f"b{res}", block)
            previous = channels[res]
        self.num_ws = num_ws_for(img_resolution)

    def forward(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape (B, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        ws = ws.to(torch.float32)
        x = img = None
        start = 0
        for res in self.resolutions:
            block = getattr(self, f"b{res}")
            # ToRGB of block r shares its w with conv0 of block 2r, so the index advances by num_conv.
            x, img = block(x, img, ws[:, start : start + block.num_conv + block.num_torgb], noise_mode=noise_mode)
            start += block.num_conv
        return img


class Generator(nn.Module):
    """StyleGAN2 generator: ``mapping(z, c, truncation_psi)`` then ``synthesis(ws, noise_mode)``."""

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        self.z_dim, self.c_dim, self.w_dim = config.z_dim, config.c_dim, config.w_dim
        self.img_resolution, self.img_channels = config.img_resolution, config.img_channels
        self.num_ws = config.num_ws
        self.mapping = MappingNetwork(z_dim=config.z_dim, c_dim=config.c_dim, w_dim=config.w_dim, num_ws=self.num_ws,
                                      num_layers=config.mapping_layers, embed_features=config.embed_features,
                                      layer_features=config.layer_features, lr_multiplier=config.mapping_lr_multiplier)
        self.synthesis = SynthesisNetwork(w_dim=config.w_dim, img_resolution=config.img_resolution,
                                          img_channels=config.img_channels, channels=config.channels,
                                          architecture=config.architecture, use_noise=config.use_noise,
                                          conv_clamp=config.conv_clamp)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const") -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) float in about [-1, 1] -> (B, H, W, 3) uint8; one channel is repeated to grey."""
    pixels = (images * 127.5 + 128.0).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    if pixels.shape[-1] == 1:
        pixels = pixels.expand(-1, -1, -1, 3)
    return pixels.contiguous()
