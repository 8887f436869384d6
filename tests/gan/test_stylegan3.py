"""StyleGAN3 t and r: the clean-room generator against a float64 reference written from the facts.

The reference below is deliberately naive and separate from dreamreel's code: numpy and
scipy in float64, one sample and one channel at a time, filters as full 2-D kernels,
up-sampling by explicit zero insertion, every step as the architecture facts state it
(Fourier features, modulated and demodulated convolution with input gain, filtered
leaky ReLU with its padding, output scale). The generator must match it to 1e-4.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch
from dreamreel.core.errors import DreamreelError
from dreamreel.gan.stylegan.loader import load_generator
from dreamreel.gan.stylegan.network3 import StyleGAN3Config, layer_plan
from stylegan_fixtures import tiny_config3, tiny_generator3, write_nvlabs_stylegan3

# The layer lists of NVlabs' released configurations, as the research notes give them.
PUBLISHED = {
    (1024, "t"): "L0_36_512 L1_36_512 L2_52_512 L3_52_512 L4_84_512 L5_148_512 L6_148_512 L7_276_323 L8_276_203 L9_532_128 "
                 "L10_1044_81 L11_1044_51 L12_1044_32 L13_1024_32 L14_1024_3",
    (1024, "r"): "L0_36_1024 L1_36_1024 L2_52_1024 L3_52_1024 L4_84_1024 L5_148_1024 L6_148_1024 L7_276_645 L8_276_406 L9_532_256 "
                 "L10_1044_161 L11_1044_102 L12_1044_64 L13_1024_64 L14_1024_3",
    (256, "t"): "L0_36_512 L1_36_512 L2_36_512 L3_52_512 L4_52_512 L5_84_512 L6_84_512 L7_148_512 L8_148_512 L9_148_362 "
                "L10_276_256 L11_276_181 L12_276_128 L13_256_128 L14_256_3",
}


@pytest.mark.parametrize("resolution, kind", sorted(PUBLISHED))
def test_layer_plan_gives_the_published_layers(resolution, kind):
    r = kind == "r"
    config = StyleGAN3Config(z_dim=512, c_dim=0, w_dim=512, img_resolution=resolution, img_channels=3,
                             channel_base=65536 if r else 32768, channel_max=1024 if r else 512,
                             conv_kernel=1 if r else 3, use_radial_filters=r)
    _, plans = layer_plan(config)
    assert " ".join(plan.name for plan in plans) == PUBLISHED[(resolution, kind)]
    assert config.num_ws == 16
    for plan in plans:  # each layer's output is exactly its planned size (see _reference_layer)
        conv = (plan.in_size + plan.kernel - 1) * plan.up_factor + sum(plan.padding[:2]) - (plan.up_taps - 1) - (plan.down_taps - 1)
        assert math.ceil(conv / plan.down_factor) == plan.out_size, plan.name


# ---------------------------------------------------------------------------------------
# The float64 reference
# ---------------------------------------------------------------------------------------


def _dense(w, weight, bias, lr=1.0):
    return w @ (weight * lr / math.sqrt(weight.shape[1])).T + bias * lr


def _reference_input(state, plan, w, transform):
    """Fourier features for one w (w_dim,) -> (C, size, size)."""
    p = _dense(w, state["synthesis.input.affine.weight"], state["synthesis.input.affine.bias"])
    p = p / np.hypot(p[0], p[1])
    c, s, tx, ty = p
    rotate = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    move = np.array([[1, 0, -tx], [0, 1, -ty], [0, 0, 1]])
    m = rotate @ move @ transform
    freqs0, phases0 = state["synthesis.input.freqs"], state["synthesis.input.phases"]
    freqs = freqs0 @ m[:2, :2]
    phases = phases0 + freqs0 @ m[:2, 2]
    amplitude = np.clip(1 - (np.linalg.norm(freqs, axis=1) - plan.bandwidth) / (plan.sampling_rate / 2 - plan.bandwidth), 0, 1)
    out = np.zeros((plan.channels, plan.size, plan.size))
    for channel in range(plan.channels):
        for i in range(plan.size):  # row: y
            y = (i + 0.5 - plan.size / 2) / plan.sampling_rate
            for j in range(plan.size):  # column: x
                x = (j + 0.5 - plan.size / 2) / plan.sampling_rate
                out[channel, i, j] = math.sin(2 * math.pi * (x * freqs[channel, 0] + y * freqs[channel, 1] + phases[channel])) * amplitude[channel]
    mix = state["synthesis.input.weight"] / math.sqrt(plan.channels)
    return np.einsum("oc,chw->ohw", mix, out)


def _kernel2d(f):
    if f is None:
        return np.ones((1, 1))
    return np.outer(f, f) if f.ndim == 1 else f


def _reference_layer(state, plan, x, w, conv_clamp):
    """One layer for one sample: x (C_in, H, W) -> (C_out, H', W')."""
    prefix = f"synthesis.{plan.name}."
    weight = state[prefix + "weight"]
    styles = _dense(w, state[prefix + "affine.weight"], state[prefix + "affine.bias"])
    if plan.is_torgb:
        styles = styles / math.sqrt(plan.in_channels * plan.kernel**2)
    else:
        weight = weight / np.sqrt(np.mean(weight**2, axis=(1, 2, 3), keepdims=True))
        styles = styles / math.sqrt(np.mean(styles**2))
    effective = weight * styles[None, :, None, None]
    if not plan.is_torgb:
        effective = effective / np.sqrt(np.sum(effective**2, axis=(1, 2, 3), keepdims=True) + 1e-8)
    effective = effective / math.sqrt(state[prefix + "magnitude_ema"])
    k = plan.kernel
    padded = np.pad(x, ((0, 0), (k - 1, k - 1), (k - 1, k - 1)))
    size = padded.shape[1] - k + 1
    y = np.zeros((plan.out_channels, size, size))
    for o in range(plan.out_channels):
        for i in range(plan.in_channels):  # cross-correlation, as a convolution layer computes it
            y[o] += scipy.signal.correlate2d(padded[i], effective[o, i], mode="valid")
    y += state[prefix + "bias"][:, None, None]
    up, down = plan.up_factor, plan.down_factor
    stuffed = np.zeros((plan.out_channels, size * up, size * up))
    stuffed[:, ::up, ::up] = y
    before_x, after_x, before_y, after_y = plan.padding
    stuffed = np.pad(stuffed, ((0, 0), (max(before_y, 0), max(after_y, 0)), (max(before_x, 0), max(after_x, 0))))
    stuffed = stuffed[:, max(-before_y, 0) : stuffed.shape[1] - max(-after_y, 0), max(-before_x, 0) : stuffed.shape[2] - max(-after_x, 0)]
    up_kernel = _kernel2d(state.get(prefix + "up_filter")) * up**2
    z = np.stack([scipy.signal.convolve2d(channel, up_kernel, mode="valid") for channel in stuffed])
    if not plan.is_torgb:
        z = np.where(z >= 0, z, 0.2 * z) * math.sqrt(2)
    if conv_clamp is not None:
        z = np.clip(z, -conv_clamp, conv_clamp)
    down_kernel = _kernel2d(state.get(prefix + "down_filter"))
    z = np.stack([scipy.signal.convolve2d(channel, down_kernel, mode="valid") for channel in z])
    return z[:, ::down, ::down]


def _reference_synthesis(generator, ws):
    state = {name: tensor.double().numpy() for name, tensor in generator.state_dict().items()}
    config = generator.config
    input_plan, plans = layer_plan(config)
    images = []
    for sample in ws.double().numpy():
        x = _reference_input(state, input_plan, sample[0], state["synthesis.input.transform"])
        for index, plan in enumerate(plans):
            x = _reference_layer(state, plan, x, sample[index + 1], config.conv_clamp)
        images.append(x * config.output_scale)
    return np.stack(images)


@pytest.mark.parametrize("kind, resolution", [("t", 16), ("t", 32), ("r", 32)])
def test_synthesis_matches_the_float64_reference(kind, resolution):
    generator = tiny_generator3(tiny_config3(config=kind, resolution=resolution))
    with torch.no_grad():
        # A user transform too: a small rotation and shift of the Fourier features.
        angle = 0.3
        generator.synthesis.input.transform.copy_(torch.tensor([[math.cos(angle), -math.sin(angle), 0.05],
                                                               [math.sin(angle), math.cos(angle), -0.02], [0, 0, 1]]))
        ws = generator.mapping(torch.randn([2, 8], generator=torch.Generator().manual_seed(5)), truncation_psi=0.8)
        ws = ws + 0.3 * torch.randn(ws.shape, generator=torch.Generator().manual_seed(6))  # a different w per layer
        ours = generator.synthesis(ws).double().numpy()
    reference = _reference_synthesis(generator, ws)
    assert ours.shape == reference.shape == (2, 3, resolution, resolution)
    assert np.abs(reference).max() > 0.05  # a real picture, not a blank one
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-4)


def test_clamp_binds_and_is_matched():
    """A small conv_clamp so that the clamp really cuts (a lost clamp would show)."""
    generator = tiny_generator3(tiny_config3(config="t", resolution=16, conv_clamp=0.3))
    ws = generator.mapping(torch.randn([1, 8], generator=torch.Generator().manual_seed(2)))
    with torch.no_grad():
        ours = generator.synthesis(ws).double().numpy()
    np.testing.assert_allclose(ours, _reference_synthesis(generator, ws), rtol=0, atol=1e-4)
    assert np.abs(ours).max() <= 0.3 * generator.config.output_scale + 1e-6


def test_filters_are_low_pass_with_their_cutoff():
    """The designed filters pass DC at unit gain and stop what lies beyond cutoff + half width."""
    generator = tiny_generator3(tiny_config3(config="r", resolution=32))
    _, plans = layer_plan(generator.config)
    for plan in plans:
        layer = getattr(generator.synthesis, plan.name)
        fs = plan.in_sampling_rate * plan.up_factor
        for f, cutoff, half_width in ((layer.up_filter, plan.in_cutoff, plan.in_half_width), (layer.down_filter, plan.out_cutoff, plan.out_half_width)):
            if f is None:
                continue
            f = f.double().numpy()
            assert f.sum() == pytest.approx(1.0, abs=1e-5)
            taps = f if f.ndim == 1 else f.sum(axis=0)  # a radial filter's cut along one axis
            freqs, response = scipy.signal.freqz(taps, worN=2048, fs=fs)
            stop = cutoff + half_width
            if stop < fs / 2:
                assert np.abs(response[freqs >= stop * 1.15]).max() < 0.05, plan.name


# ---------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["t", "r"])
@pytest.mark.parametrize("c_dim", [0, 3])
def test_nvlabs_stylegan3_round_trip(tmp_path, kind, c_dim):
    original = tiny_generator3(tiny_config3(config=kind, resolution=32, c_dim=c_dim))
    path = write_nvlabs_stylegan3(tmp_path / "sg3.pkl", original)
    loaded, info = load_generator(path)
    assert info.family == f"stylegan3-{kind}" and info.num_ws == 6 and info.config.c_dim == c_dim
    z = torch.randn([2, 8], generator=torch.Generator().manual_seed(1))
    c = torch.eye(3)[[0, 2]] if c_dim else None
    with torch.no_grad():
        torch.testing.assert_close(loaded(z, c, truncation_psi=0.6), original(z, c, truncation_psi=0.6), rtol=0, atol=0)


def test_inconsistent_settings_are_one_line(tmp_path):
    def fewer_layers(kind, state):
        if kind == "SynthesisNetwork3":
            state["_init_kwargs"]["num_layers"] = 6

    path = write_nvlabs_stylegan3(tmp_path / "sg3.pkl", tiny_generator3(tiny_config3()), tamper=fewer_layers)
    with pytest.raises(DreamreelError, match="StyleGAN3 layers .* are not the ones its settings give"):
        load_generator(path)

    def wrong_padding(kind, state):
        if kind == "AliasFreeLayer" and not state["is_torgb"]:
            state["padding"] = [0, 0, 0, 0]

    path = write_nvlabs_stylegan3(tmp_path / "sg3b.pkl", tiny_generator3(tiny_config3()), tamper=wrong_padding)
    with pytest.raises(DreamreelError, match=r"stores padding = \[0, 0, 0, 0\], its settings give"):
        load_generator(path)


def test_stylegan3_audio_bands_follow_layer_rates(tmp_path):
    from dreamreel.core.params import validate_section
    from dreamreel.gan.models.stylegan import StyleGANModel
    from dreamreel.gan.sections import STYLEGAN

    model = StyleGANModel(write_nvlabs_stylegan3(tmp_path / "sg3.pkl", tiny_generator3(tiny_config3(resolution=32))), device="cpu")
    rng = np.random.default_rng(0)
    features = {name: rng.random(5, np.float32) for name in ("band_low", "band_mid", "band_high", "onset", "rms")}
    features["chroma"] = rng.random((5, 12), np.float32)
    ws = model.ws_from_features(features, params=validate_section("stylegan", STYLEGAN, {}), fps=30.0)
    assert ws.shape == (5, 6, 8) and model.latent_keys == ("ws", "transform")
    frames = model.render({"ws": ws, "transform": np.repeat(np.eye(3, dtype=np.float32)[None], 5, axis=0)})
    assert frames.shape == (5, 32, 32, 3) and frames.std() > 0.5


# ---------------------------------------------------------------------------------------
# Equivariance: the property the architecture is built for (arXiv:2106.12423, section 3)
# ---------------------------------------------------------------------------------------


def _psnr(a, b, peak):
    return float(10 * torch.log10(peak**2 / (a - b).pow(2).mean()))


@pytest.mark.parametrize("kind", ["t", "r"])
def test_translating_the_input_translates_the_image(kind):
    """The input transform maps image coordinates to feature coordinates: a shift of -k/R moves the picture k pixels right."""
    resolution = 32
    generator = tiny_generator3(tiny_config3(config=kind, resolution=resolution, num_layers=6))
    ws = generator.mapping(torch.randn([2, 8], generator=torch.Generator().manual_seed(5)))
    margin = resolution // 4
    with torch.no_grad():
        still = generator.synthesis(ws)
        peak = 2 * still.abs().max()
        for k in (1, 3):
            generator.synthesis.input.transform.copy_(torch.tensor([[1.0, 0.0, -k / resolution], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
            moved = generator.synthesis(ws)
            right = _psnr(moved[..., margin:-margin, margin + k : -margin], still[..., margin:-margin, margin : -margin - k], peak)
            left = _psnr(moved[..., margin:-margin, margin : -margin - k], still[..., margin:-margin, margin + k : -margin], peak)
            assert right > 60 and right > left + 20, (k, right, left)


def test_config_r_rotates_with_its_input():
    """Config r (1x1 convolutions, radial filters) is rotation equivariant: a quarter turn of the features turns the picture."""
    resolution = 32
    generator = tiny_generator3(tiny_config3(config="r", resolution=resolution, num_layers=6))
    ws = generator.mapping(torch.randn([2, 8], generator=torch.Generator().manual_seed(5)))
    margin = resolution // 4
    with torch.no_grad():
        still = generator.synthesis(ws)
        generator.synthesis.input.transform.copy_(torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
        turned = generator.synthesis(ws)
    inner = (..., slice(margin, -margin), slice(margin, -margin))
    assert _psnr(turned[inner], torch.rot90(still, 1, dims=(2, 3))[inner], 2 * still.abs().max()) > 100


# ---------------------------------------------------------------------------------------
# The audio mapping moves the picture through the input transform
# ---------------------------------------------------------------------------------------


def _features(frames, **values):
    base = {name: np.zeros(frames, np.float32) for name in ("band_low", "band_mid", "band_high", "onset", "rms")}
    base["chroma"] = np.full((frames, 12), 0.5, np.float32)
    base.update({name: np.full(frames, value, np.float32) for name, value in values.items()})
    return base


def _params(**values):
    from dreamreel.core.params import validate_section
    from dreamreel.gan.sections import STYLEGAN

    return validate_section("stylegan", STYLEGAN, values)


def test_input_transforms_are_identity_by_default_and_follow_the_formulas():
    from dreamreel.gan.stylegan.audio import input_transforms

    still = input_transforms(_features(4, band_low=1.0, onset=1.0), params=_params(), fps=10.0, img_resolution=32)
    np.testing.assert_array_equal(still, np.repeat(np.eye(3, dtype=np.float32)[None], 4, axis=0))
    # A quarter turn per second: after 1 s the features are turned back by 90 degrees.
    spin = input_transforms(_features(11), params=_params(input_spin_deg_per_s=90.0), fps=10.0, img_resolution=32)
    np.testing.assert_allclose(spin[10], [[0, 1, 0], [-1, 0, 0], [0, 0, 1]], atol=1e-6)
    # A full bass slides the picture input_shift_px along x at t = 0 (the direction turns later).
    shift = input_transforms(_features(3, band_low=1.0), params=_params(input_shift_px=4.0, input_shift_period_s=1000.0), fps=10.0, img_resolution=32)
    np.testing.assert_allclose(shift[0], [[1, 0, -4 / 32], [0, 1, 0], [0, 0, 1]], atol=1e-6)


def test_the_bass_slides_a_stylegan3_picture_by_whole_pixels(tmp_path):
    """Through the model: frames whose bass slides them 2 px equal the still frame moved 2 px."""
    from dreamreel.gan.models.stylegan import StyleGANModel
    from dreamreel.gan.stylegan.audio import input_transforms

    model = StyleGANModel(write_nvlabs_stylegan3(tmp_path / "sg3.pkl", tiny_generator3(tiny_config3(resolution=32, num_layers=6))), device="cpu")
    params = _params(input_shift_px=2.0, input_shift_period_s=1000.0, band_release_s=0.0)
    ws = np.repeat(model.ws_from_features(_features(1), params=_params(), fps=10.0), 2, axis=0)
    transform = input_transforms(_features(2, band_low=np.array([0.0, 1.0])), params=params, fps=10.0, img_resolution=32)
    still, slid = model.render({"ws": ws, "transform": transform}).astype(np.float64)
    inner = slice(8, -8)
    assert np.abs(slid[inner, 10:-8] - still[inner, 8:-10]).max() <= 1.0  # uint8 rounding
    assert np.abs(slid[inner, 8:-8] - still[inner, 8:-8]).max() > 5.0  # it did move


def test_input_motion_on_a_stylegan2_model_is_an_error(tmp_path):
    from dreamreel.gan.models.stylegan import stylegan_walk
    from stylegan_fixtures import tiny_config, tiny_generator, write_nvlabs_pytorch

    path = write_nvlabs_pytorch(tmp_path / "sg2.pkl", tiny_generator(tiny_config()))
    features = _features(3)
    features.update(fps_num=np.int64(10), fps_den=np.int64(1), bands=np.zeros((3, 3), np.float32), rms_dbfs=np.full(3, -20.0, np.float32))
    with pytest.raises(DreamreelError, match="stylegan.input_spin_deg_per_s: moves a StyleGAN3 model's input; this model is StyleGAN2"):
        stylegan_walk(features, weights=path, params=_params(input_spin_deg_per_s=10.0))
    assert "transform" not in stylegan_walk(features, weights=path, params=_params())


def test_band_groups_of_a_1024_model_match_stylegan2s():
    """Coarse, middle and fine ws are about as many as StyleGAN2's at 1024 px (there 4, 4, 10)."""
    from dreamreel.gan.stylegan.audio import layer_groups
    from dreamreel.gan.stylegan.network3 import ws_pixels

    config = StyleGAN3Config(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3)
    groups = layer_groups(1024, coarse_max_px=8, middle_max_px=32, pixels=ws_pixels(config))
    assert np.bincount(groups, minlength=3).tolist() == [3, 3, 10]
    assert groups.tolist() == sorted(groups.tolist())  # coarse first, fine last


def test_info_cli_describes_a_stylegan3_file(tmp_path, capsys):
    import stylegan_info

    path = write_nvlabs_stylegan3(tmp_path / "sg3.pkl", tiny_generator3(tiny_config3(config="r", resolution=32)))
    assert stylegan_info.main([str(path), "--build"]) == 0
    out = capsys.readouterr().out
    for expected in ("family        stylegan3-r (network G_ema)", "StyleGAN3-r, 4 layers (2 critically sampled), conv_kernel 1, radial filters",
                     "layers        L0_", "num_ws        6", "rendered (4, 3, 32, 32)"):
        assert expected in out, out


def test_layers_with_different_clamps_are_refused(tmp_path):
    def one_layer_unclamped(kind, state):
        if kind == "AliasFreeLayer" and state["is_torgb"]:
            state["conv_clamp"] = None

    path = write_nvlabs_stylegan3(tmp_path / "sg3.pkl", tiny_generator3(tiny_config3()), tamper=one_layer_unclamped)
    with pytest.raises(DreamreelError, match=r"layer L4_16_3 clamps at None, the network at 256.0"):
        load_generator(path)
