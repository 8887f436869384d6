"""A clean-room StyleGAN3 (alias-free, configs t and r) generator in plain PyTorch, float32.

Written from Karras et al., "Alias-Free Generative Adversarial Networks"
(arXiv:2106.12423, section 3 and appendices C-F) and the architecture facts in the
project's research notes; tensor names follow StyleGAN3 model files
(``synthesis.input.freqs``, ``synthesis.L3_52_512.affine.weight``, ...), so a converted
file loads with ``load_state_dict(strict=True)``.

The pieces:

* mapping: the same network as StyleGAN2 (:class:`~.network.MappingNetwork`), 2 layers;
* input: Fourier features ``sin(2 pi (x . f + phase))`` on a grid of pixel centres in
  units of 1/sampling rate, for fixed random frequencies ``f`` of the first cutoff's band.
  ``affine(w)`` gives a rotation (unit vector) and a translation that move the features;
  a user transform (the ``transform`` buffer) is applied too. Frequencies that rotation
  or transform push past the band fade out linearly (amplitude), then a linear mix of
  channels;
* every layer: modulated convolution (weights and styles first scaled to unit mean
  square, then demodulated, then multiplied by ``1/sqrt(magnitude_ema)``), then the
  *filtered leaky ReLU*: bias, up-sample by ``up_factor`` (zeros, FIR ``up_filter`` with
  gain up^2), leaky ReLU (slope 0.2, gain sqrt 2), clamp to +-conv_clamp, FIR
  ``down_filter`` and keep every ``down_factor``-th sample. Padding makes each layer's
  output exactly its planned size. The last layer (ToRGB) is a 1x1, un-demodulated,
  linear layer whose styles carry the weight gain;
* the layers' cutoffs, stopbands, sampling rates, sizes and channels follow geometric
  progressions from the first cutoff to half the output resolution (:func:`layer_plan`);
  the filters themselves are read from the model file (they are stored there), or
  designed here (a Kaiser-windowed sinc, or a radial jinc for config r) for a fresh model.

One deliberate difference from a literal reading: the styles' unit-mean-square scaling is
per sample, not over the batch, so a frame never depends on which frames share its batch
(demodulation cancels any scale of the styles up to its 1e-8 epsilon, so the images agree).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dreamreel.gan.stylegan.network import FullyConnected, MappingNetwork

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)


@dataclass(frozen=True)
class StyleGAN3Config:
    """Everything that fixes a StyleGAN3 generator's structure (defaults: config t)."""

    z_dim: int
    c_dim: int
    w_dim: int
    img_resolution: int
    img_channels: int
    mapping_layers: int = 2
    mapping_lr_multiplier: float = 0.01
    channel_base: int = 32768
    channel_max: int = 512
    num_layers: int = 14
    num_critical: int = 2
    first_cutoff: float = 2.0
    first_stopband: float = 2**2.1
    last_stopband_rel: float = 2**0.3
    margin_size: int = 10
    output_scale: float = 0.25
    conv_kernel: int = 3
    filter_size: int = 6
    lrelu_upsampling: int = 2
    use_radial_filters: bool = False
    conv_clamp: float | None = 256.0

    @property
    def num_ws(self) -> int:
        return self.num_layers + 2  # the input's w, then one per layer (ToRGB included)

    @property
    def config_name(self) -> str:
        return "r" if self.use_radial_filters else "t"


@dataclass(frozen=True)
class LayerPlan:
    """One synthesis layer's numbers, all derived from the config (see :func:`layer_plan`)."""

    name: str
    in_channels: int
    out_channels: int
    in_size: int
    out_size: int
    in_sampling_rate: float
    out_sampling_rate: float
    in_cutoff: float
    out_cutoff: float
    in_half_width: float
    out_half_width: float
    is_torgb: bool
    is_critically_sampled: bool
    kernel: int
    up_factor: int
    down_factor: int
    up_taps: int
    down_taps: int
    down_radial: bool
    padding: tuple[int, int, int, int]  # x before, x after, y before, y after


@dataclass(frozen=True)
class InputPlan:
    channels: int
    size: int
    sampling_rate: float
    bandwidth: float


def layer_plan(config: StyleGAN3Config) -> tuple[InputPlan, list[LayerPlan]]:
    """The input's and every layer's cutoff, band, rate, size and channels (float64 numpy, as stored).

    Cutoffs rise geometrically from ``first_cutoff`` to half the image resolution, reached
    ``num_critical`` layers before the end; stopbands likewise up to ``last_stopband_rel``
    times that. A layer samples at the smallest power of two holding twice its stopband
    (at most the image resolution) and computes on that many pixels plus a margin on each
    side (the last two layers: the image itself). Channels fall as the cutoff rises.
    """
    n = config.num_layers
    exponents = np.minimum(np.arange(n + 1) / (n - config.num_critical), 1.0)
    last_cutoff = config.img_resolution / 2
    last_stopband = last_cutoff * config.last_stopband_rel
    cutoffs = config.first_cutoff * (last_cutoff / config.first_cutoff) ** exponents
    stopbands = config.first_stopband * (last_stopband / config.first_stopband) ** exponents
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, config.img_resolution))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + config.margin_size * 2
    sizes[-2:] = config.img_resolution
    channels = np.rint(np.minimum((config.channel_base / 2) / cutoffs, config.channel_max))
    channels[-1] = config.img_channels

    plans = []
    for index in range(n + 1):
        prev = max(index - 1, 0)
        is_torgb = index == n
        critical = index >= n - config.num_critical
        kernel = 1 if is_torgb else config.conv_kernel
        # Intermediate rate: the leaky ReLU runs at lrelu_upsampling times the higher rate.
        work_rate = max(rates[prev], rates[index]) * (1 if is_torgb else config.lrelu_upsampling)
        up = int(np.rint(work_rate / rates[prev]))
        down = int(np.rint(work_rate / rates[index]))
        up_taps = config.filter_size * up if up > 1 and not is_torgb else 1
        down_taps = config.filter_size * down if down > 1 and not is_torgb else 1
        in_size, out_size = int(sizes[prev]), int(sizes[index])
        # Samples needed before decimation, minus what convolution and up-sampling give,
        # plus what the two FIR filters eat; split so the grid stays centred.
        total = (out_size - 1) * down + 1 - (in_size + kernel - 1) * up + up_taps + down_taps - 2
        before = (total + up) // 2
        after = total - before
        plans.append(LayerPlan(
            name=f"L{index}_{out_size}_{int(channels[index])}", in_channels=int(channels[prev]), out_channels=int(channels[index]),
            in_size=in_size, out_size=out_size, in_sampling_rate=float(rates[prev]), out_sampling_rate=float(rates[index]),
            in_cutoff=float(cutoffs[prev]), out_cutoff=float(cutoffs[index]), in_half_width=float(half_widths[prev]),
            out_half_width=float(half_widths[index]), is_torgb=is_torgb, is_critically_sampled=critical, kernel=kernel,
            up_factor=up, down_factor=down, up_taps=up_taps, down_taps=down_taps,
            down_radial=config.use_radial_filters and not critical, padding=(before, after, before, after)))
    first = InputPlan(channels=int(channels[0]), size=int(sizes[0]), sampling_rate=float(rates[0]), bandwidth=float(cutoffs[0]))
    return first, plans


def ws_pixels(config: StyleGAN3Config) -> list[float]:
    """For each w, the resolution whose detail it shapes: twice its layer's cutoff, shape (num_ws,).

    A StyleGAN2 block of r pixels holds detail up to r/2 cycles per image; a StyleGAN3
    layer holds detail up to its cutoff. So ``2 * cutoff`` puts both on one scale, and
    the audio mapping's coarse/middle/fine split (in pixels) means the same for both:
    at 1024 px the input and the first two layers are coarse (<= 8), the next three
    middle (<= 32), as StyleGAN2's 4, 4 and 10. Sampling rates would not do: they start
    at 16 px for every model, leaving the coarse group (and band_low) empty.
    """
    first, plans = layer_plan(config)
    return [2 * first.bandwidth] + [2 * plan.out_cutoff for plan in plans]


def design_lowpass(taps: int, *, cutoff: float, width: float, fs: float, radial: bool = False) -> np.ndarray | None:
    """A low-pass FIR of ``taps`` taps (None for 1: no filter): Kaiser-windowed sinc, or radial jinc.

    Used for fresh models; loaded models use the filters stored in their file.
    """
    import scipy.signal
    import scipy.special

    if taps == 1:
        return None
    if not radial:
        return scipy.signal.firwin(numtaps=taps, cutoff=cutoff, width=width, fs=fs).astype(np.float32)
    x = (np.arange(taps) - (taps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    with np.errstate(invalid="ignore", divide="ignore"):
        jinc = scipy.special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    jinc[r == 0] = cutoff * 1.0  # the limit of j1(2 pi c r) / (pi r) at r = 0 (only for odd taps)
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(taps, width / (fs / 2)))
    window = np.kaiser(taps, beta)
    f = jinc * np.outer(window, window)
    return (f / f.sum()).astype(np.float32)


def upfirdn2d(x: torch.Tensor, f: torch.Tensor | None, *, up: int = 1, down: int = 1,
              padding: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Up-sample (insert up-1 zeros after each sample), pad, convolve with ``f``, keep every ``down``-th sample.

    ``f`` is 1-D (separable: applied along x, then y, each with gain ``sqrt(gain)``) or 2-D,
    or None (a single tap). Negative padding crops. Convolution, not correlation: the
    filter is flipped (our low-pass filters are symmetric, so it does not matter for them).
    """
    batch, channels, height, width = x.shape
    if up > 1:
        stuffed = x.new_zeros([batch, channels, height * up, width * up])
        stuffed[:, :, ::up, ::up] = x
        x = stuffed
    pad_x0, pad_x1, pad_y0, pad_y1 = padding
    x = F.pad(x, [max(pad_x0, 0), max(pad_x1, 0), max(pad_y0, 0), max(pad_y1, 0)])
    x = x[:, :, max(-pad_y0, 0) : x.shape[2] - max(-pad_y1, 0), max(-pad_x0, 0) : x.shape[3] - max(-pad_x1, 0)]
    if f is None:
        x = x * gain
    elif f.ndim == 1:
        taps = f.flip(0).to(x.dtype) * math.sqrt(gain)
        x = F.conv2d(x, taps.reshape(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
        x = F.conv2d(x, taps.reshape(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)
    else:
        kernel = f.flip(0, 1).to(x.dtype) * gain
        x = F.conv2d(x, kernel[None, None].expand(channels, 1, -1, -1), groups=channels)
    return x[:, :, ::down, ::down] if down > 1 else x


class FourierInput(nn.Module):
    """Fourier features moved by ``affine(w)`` (rotation, translation) and the user ``transform``."""

    def __init__(self, plan: InputPlan, *, w_dim: int):
        super().__init__()
        self.plan = plan
        self.weight = nn.Parameter(torch.randn([plan.channels, plan.channels]))
        self.affine = FullyConnected(w_dim, 4)
        # Rows of a 3x3 homogeneous transform of the feature plane, applied after affine(w).
        self.register_buffer("transform", torch.eye(3))
        # A fresh model's frequencies: random directions, radii pulled into the band
        # (a loaded model brings its own).
        freqs = torch.randn([plan.channels, 2])
        radii = freqs.norm(dim=1, keepdim=True)
        self.register_buffer("freqs", freqs / (radii * radii.square().exp().pow(0.25)) * plan.bandwidth)
        self.register_buffer("phases", torch.rand([plan.channels]) - 0.5)

    def forward(self, w: torch.Tensor, transform: torch.Tensor | None = None) -> torch.Tensor:
        """Features for ws (B, w_dim); ``transform`` (B, 3, 3) is applied on top of the stored one, per sample."""
        batch = w.shape[0]
        params = self.affine(w)  # (cos-like, sin-like, tx, ty) of each sample
        params = params / params[:, :2].norm(dim=1, keepdim=True)  # the rotation part becomes a unit vector
        cos, sin, tx, ty = params.unbind(1)
        rotation = torch.zeros([batch, 3, 3], device=w.device, dtype=w.dtype)
        rotation[:, 0, 0], rotation[:, 0, 1], rotation[:, 1, 0], rotation[:, 1, 1], rotation[:, 2, 2] = cos, -sin, sin, cos, 1.0
        translation = torch.eye(3, device=w.device, dtype=w.dtype).repeat(batch, 1, 1)
        translation[:, 0, 2], translation[:, 1, 2] = -tx, -ty
        base = self.transform.unsqueeze(0) if transform is None else transform.to(w.dtype) @ self.transform.unsqueeze(0)
        transform = rotation @ translation @ base
        # Moving the plane by (A, t) turns sin(2 pi (x.f + p)) into sin(2 pi (x.(A^T f) + (f.t + p))).
        phases = self.phases.unsqueeze(0) + (self.freqs.unsqueeze(0) @ transform[:, :2, 2:]).squeeze(2)
        freqs = self.freqs.unsqueeze(0) @ transform[:, :2, :2]  # (B, C, 2)
        plan = self.plan
        # Frequencies moved past the band fade out linearly before half the sampling rate.
        amplitudes = (1 - (freqs.norm(dim=2) - plan.bandwidth) / (plan.sampling_rate / 2 - plan.bandwidth)).clamp(0, 1)
        # Pixel centres in units of 1/sampling_rate, centred on the origin: (i + 0.5 - size/2) / rate.
        coords = (torch.arange(plan.size, device=w.device, dtype=w.dtype) + 0.5 - plan.size / 2) / plan.sampling_rate
        grid_y, grid_x = torch.meshgrid(coords, coords, indexing="ij")
        grid = torch.stack([grid_x, grid_y], dim=-1)  # (H, W, 2), x first
        angle = torch.einsum("hwk,bck->bhwc", grid, freqs) + phases[:, None, None, :]
        x = torch.sin(angle * (2 * math.pi)) * amplitudes[:, None, None, :]
        x = x @ (self.weight / math.sqrt(plan.channels)).t()
        return x.permute(0, 3, 1, 2)


class AliasFreeLayer(nn.Module):
    """Modulated convolution, then the filtered leaky ReLU (or, for ToRGB, a linear 1x1 layer)."""

    def __init__(self, plan: LayerPlan, *, w_dim: int, conv_clamp: float | None, up_filter: np.ndarray | None = None,
                 down_filter: np.ndarray | None = None):
        super().__init__()
        self.plan = plan
        self.conv_clamp = conv_clamp
        self.affine = FullyConnected(w_dim, plan.in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn([plan.out_channels, plan.in_channels, plan.kernel, plan.kernel]))
        self.bias = nn.Parameter(torch.zeros([plan.out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))
        self.register_buffer("up_filter", None if up_filter is None else torch.as_tensor(up_filter, dtype=torch.float32))
        self.register_buffer("down_filter", None if down_filter is None else torch.as_tensor(down_filter, dtype=torch.float32))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        plan = self.plan
        styles = self.affine(w)
        weight = self.weight
        if plan.is_torgb:
            styles = styles / math.sqrt(plan.in_channels * plan.kernel**2)
        else:
            # Unit mean square first (a range guard for half precision; demodulation
            # cancels it up to its epsilon). Per sample: frames never depend on their batch.
            weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
            styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
        # Effective per-sample weights W[o, i] * s[b, i], demodulated per output channel.
        modulated = weight.unsqueeze(0) * styles[:, None, :, None, None]
        if not plan.is_torgb:
            modulated = modulated * (modulated.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
        modulated = modulated * self.magnitude_ema.rsqrt()
        batch = x.shape[0]
        x = F.conv2d(x.reshape(1, -1, *x.shape[2:]), modulated.reshape(-1, plan.in_channels, plan.kernel, plan.kernel),
                     padding=plan.kernel - 1, groups=batch)
        x = x.reshape(batch, plan.out_channels, *x.shape[2:])
        return self.filtered_lrelu(x)

    def filtered_lrelu(self, x: torch.Tensor) -> torch.Tensor:
        """Bias, up-sample and filter, activation and clamp, filter and down-sample."""
        plan = self.plan
        x = x + self.bias.reshape(1, -1, 1, 1)
        x = upfirdn2d(x, self.up_filter, up=plan.up_factor, padding=plan.padding, gain=plan.up_factor**2)
        if not plan.is_torgb:
            x = F.leaky_relu(x, LRELU_SLOPE) * LRELU_GAIN
        if self.conv_clamp is not None:
            x = x.clamp(-self.conv_clamp, self.conv_clamp)
        return upfirdn2d(x, self.down_filter, down=plan.down_factor)


class SynthesisNetwork3(nn.Module):
    """ws (B, num_ws, w_dim) -> image (B, img_channels, R, R), about [-1, 1]."""

    def __init__(self, config: StyleGAN3Config, *, filters: dict[str, tuple[np.ndarray | None, np.ndarray | None]] | None = None):
        super().__init__()
        self.config = config
        self.w_dim, self.img_resolution, self.img_channels = config.w_dim, config.img_resolution, config.img_channels
        self.num_ws = config.num_ws
        input_plan, plans = layer_plan(config)
        self.input = FourierInput(input_plan, w_dim=config.w_dim)
        self.layer_names = [plan.name for plan in plans]
        for plan in plans:
            if filters is not None and plan.name in filters:
                up_filter, down_filter = filters[plan.name]
            else:
                up_filter = design_lowpass(plan.up_taps, cutoff=plan.in_cutoff, width=plan.in_half_width * 2,
                                           fs=plan.in_sampling_rate * plan.up_factor)
                down_filter = design_lowpass(plan.down_taps, cutoff=plan.out_cutoff, width=plan.out_half_width * 2,
                                             fs=plan.in_sampling_rate * plan.up_factor, radial=plan.down_radial)
            setattr(self, plan.name, AliasFreeLayer(plan, w_dim=config.w_dim, conv_clamp=config.conv_clamp,
                                                    up_filter=up_filter, down_filter=down_filter))

    def ws_pixels(self) -> list[float]:
        """The StyleGAN2-equivalent resolution of each w, shape (num_ws,): see :func:`ws_pixels`."""
        return ws_pixels(self.config)

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", transform: torch.Tensor | None = None) -> torch.Tensor:
        """``noise_mode`` is accepted for the StyleGAN2 signature (StyleGAN3 has no noise inputs);
        ``transform`` (B, 3, 3) moves each sample's input (see :class:`FourierInput`)."""
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape (B, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        if transform is not None and tuple(transform.shape) != (ws.shape[0], 3, 3):
            raise ValueError(f"transform must have shape ({ws.shape[0]}, 3, 3), got {tuple(transform.shape)}")
        ws = ws.to(torch.float32)
        x = self.input(ws[:, 0], transform)
        for index, name in enumerate(self.layer_names):
            x = getattr(self, name)(x, ws[:, index + 1])
        return x * self.config.output_scale


class Generator3(nn.Module):
    """StyleGAN3 generator: ``mapping(z, c, truncation_psi)`` then ``synthesis(ws)``, as :class:`~.network.Generator`."""

    def __init__(self, config: StyleGAN3Config, *, filters: dict | None = None):
        super().__init__()
        self.config = config
        self.z_dim, self.c_dim, self.w_dim = config.z_dim, config.c_dim, config.w_dim
        self.img_resolution, self.img_channels = config.img_resolution, config.img_channels
        self.num_ws = config.num_ws
        self.mapping = MappingNetwork(z_dim=config.z_dim, c_dim=config.c_dim, w_dim=config.w_dim, num_ws=self.num_ws,
                                      num_layers=config.mapping_layers, lr_multiplier=config.mapping_lr_multiplier)
        self.synthesis = SynthesisNetwork3(config, filters=filters)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const") -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode)
