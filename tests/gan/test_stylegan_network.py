"""The clean-room generator: invariants from the paper, and agreement with a plain per-sample forward."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from dreamreel.gan.stylegan import network as net
from stylegan_fixtures import tiny_config, tiny_generator

SQRT2 = math.sqrt(2.0)
KERNEL = torch.outer(torch.tensor([1.0, 3.0, 3.0, 1.0]), torch.tensor([1.0, 3.0, 3.0, 1.0])) / 64.0


# ---------------------------------------------------------------------------------------
# A plain reference: one sample at a time, explicit modulated weights, zero insertion and
# a full 2-D filter, written from the paper without reusing the module's code.
# ---------------------------------------------------------------------------------------


def ref_dense(x, weight, bias, lr, lrelu):
    y = x @ (weight * (lr / math.sqrt(weight.shape[1]))).t() + bias * lr
    return F.leaky_relu(y, 0.2) * SQRT2 if lrelu else y


def ref_normalize(x):
    return x / torch.sqrt((x * x).mean(dim=1, keepdim=True) + 1e-8)


def ref_mapping(sd, config, z, c, psi):
    x = ref_normalize(z)
    if config.c_dim:
        y = ref_dense(c, sd["mapping.embed.weight"], sd["mapping.embed.bias"], 1.0, False)
        x = torch.cat([x, ref_normalize(y)], dim=1)
    for index in range(config.mapping_layers):
        x = ref_dense(x, sd[f"mapping.fc{index}.weight"], sd[f"mapping.fc{index}.bias"], config.mapping_lr_multiplier, True)
    w_avg = sd["mapping.w_avg"]
    return (w_avg + psi * (x - w_avg)).unsqueeze(1).repeat(1, config.num_ws, 1)


def ref_fir(x, pad0, pad1, gain):
    """Pad then correlate every channel with the 4x4 filter times gain (x: 1, C, H, W)."""
    x = F.pad(x, [pad0, pad1, pad0, pad1])
    channels = x.shape[1]
    return F.conv2d(x, (KERNEL * gain).flip([0, 1]).expand(channels, 1, 4, 4), groups=channels)


def ref_zero_insert(x, length):
    out = torch.zeros(x.shape[0], x.shape[1], length, length)
    out[:, :, ::2, ::2] = x
    return out


def ref_layer(sd, prefix, x, w, config, up, noise, gain=1.0):
    weight = sd[f"{prefix}.weight"]
    styles = ref_dense(w[None], sd[f"{prefix}.affine.weight"], sd[f"{prefix}.affine.bias"], 1.0, False)[0]
    modulated = weight * styles[None, :, None, None]
    modulated = modulated / torch.sqrt((modulated**2).sum(dim=[1, 2, 3], keepdim=True) + 1e-8)
    if up:
        # A stride-2 transposed convolution is zero insertion then a full convolution.
        stuffed = ref_zero_insert(x, 2 * x.shape[2] - 1)
        x = F.conv2d(F.pad(stuffed, [2, 2, 2, 2]), modulated.flip([2, 3]))
        x = ref_fir(x, 1, 1, 4.0)
    else:
        x = F.conv2d(x, modulated, padding=1)
    if noise and config.use_noise:
        x = x + sd[f"{prefix}.noise_const"] * sd[f"{prefix}.noise_strength"]
    x = F.leaky_relu(x + sd[f"{prefix}.bias"][None, :, None, None], 0.2) * SQRT2 * gain
    if config.conv_clamp is not None:
        x = x.clamp(-config.conv_clamp * gain, config.conv_clamp * gain)
    return x


def ref_torgb(sd, prefix, x, w, config):
    weight = sd[f"{prefix}.weight"]
    styles = ref_dense(w[None], sd[f"{prefix}.affine.weight"], sd[f"{prefix}.affine.bias"], 1.0, False)[0]
    modulated = weight * styles[None, :, None, None] / math.sqrt(weight.shape[1])
    x = F.conv2d(x, modulated) + sd[f"{prefix}.bias"][None, :, None, None]
    return x if config.conv_clamp is None else x.clamp(-config.conv_clamp, config.conv_clamp)


def ref_upsample_image(img):
    return ref_fir(ref_zero_insert(img, 2 * img.shape[2]), 2, 1, 4.0)


def ref_synthesis(sd, config, ws, noise=True):
    images = []
    for sample in range(ws.shape[0]):
        w = ws[sample]
        x = sd["synthesis.b4.const"][None]
        x = ref_layer(sd, "synthesis.b4.conv1", x, w[0], config, up=False, noise=noise)
        img = ref_torgb(sd, "synthesis.b4.torgb", x, w[1], config) if config.architecture == "skip" else None
        index = 1
        for res in net.block_resolutions(config.img_resolution)[1:]:
            p = f"synthesis.b{res}"
            if config.architecture == "resnet":
                shortcut = ref_upsample_image(F.conv2d(x, sd[f"{p}.skip.weight"] / math.sqrt(x.shape[1]))) * math.sqrt(0.5)
                y = ref_layer(sd, f"{p}.conv0", x, w[index], config, up=True, noise=noise)
                x = shortcut + ref_layer(sd, f"{p}.conv1", y, w[index + 1], config, up=False, noise=noise, gain=math.sqrt(0.5))
            else:
                x = ref_layer(sd, f"{p}.conv0", x, w[index], config, up=True, noise=noise)
                x = ref_layer(sd, f"{p}.conv1", x, w[index + 1], config, up=False, noise=noise)
            if config.architecture == "skip" or res == config.img_resolution:
                rgb = ref_torgb(sd, f"{p}.torgb", x, w[index + 2], config)
                img = rgb if img is None else ref_upsample_image(img) + rgb
            index += 2
        images.append(img)
    return torch.cat(images)


@pytest.mark.parametrize("options", [dict(), dict(architecture="resnet"), dict(c_dim=3), dict(conv_clamp=0.3),
                                     dict(architecture="resnet", conv_clamp=0.3, resolution=32), dict(use_noise=False)],
                         ids=["skip", "resnet", "conditional", "clamped", "resnet-clamped-32", "no-noise"])
def test_agrees_with_reference_forward(options):
    config = tiny_config(**options)
    generator = tiny_generator(config, seed=5)
    sd = generator.state_dict()
    z = torch.randn(3, config.z_dim, generator=torch.Generator().manual_seed(0))
    c = torch.eye(config.c_dim)[[0, 2, 1]] if config.c_dim else None
    with torch.no_grad():
        ws = generator.mapping(z, c, truncation_psi=0.6)
        torch.testing.assert_close(ws, ref_mapping(sd, config, z, c, 0.6), rtol=1e-5, atol=1e-5)
        # Give every w its own value, so a wrong w index would show.
        ws = ws + 0.3 * torch.randn(ws.shape, generator=torch.Generator().manual_seed(1))
        ours = generator.synthesis(ws, noise_mode="const")
        torch.testing.assert_close(ours, ref_synthesis(sd, config, ws), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(generator.synthesis(ws, noise_mode="none"), ref_synthesis(sd, config, ws, noise=False), rtol=1e-4, atol=1e-5)
    if "conv_clamp" in options:
        # The clamp binds in this net: without it the picture differs, so the agreement above covers it.
        unclamped = net.Generator(dataclasses.replace(config, conv_clamp=None)).eval()
        unclamped.load_state_dict(sd)
        with torch.no_grad():
            assert not torch.allclose(unclamped.synthesis(ws), ours, atol=1e-3)


def test_demodulated_weights_have_unit_norm():
    generator = tiny_generator(tiny_config(), seed=2)
    ws = torch.randn(5, generator.w_dim) * 3
    for name in ("b4.conv1", "b8.conv0", "b16.conv1"):
        layer = generator.synthesis.get_submodule(name)
        styles = layer.affine(ws)
        effective = layer.weight[None] * styles[:, None, :, None, None] * layer.demodulation(styles)[:, :, None, None, None]
        norms = effective.square().sum(dim=[2, 3, 4]).sqrt()
        torch.testing.assert_close(norms, torch.ones_like(norms), rtol=1e-5, atol=1e-5)


def test_psi_zero_gives_the_w_avg_image():
    config = tiny_config(c_dim=3)
    generator = tiny_generator(config, seed=4)
    z = torch.randn(4, config.z_dim) * 5
    c = torch.eye(3)[[0, 1, 2, 0]]
    with torch.no_grad():
        images = generator(z, c, truncation_psi=0.0)
        w_avg_image = generator.synthesis(generator.mapping.w_avg.expand(1, config.num_ws, -1))
    torch.testing.assert_close(images, w_avg_image.expand_as(images), rtol=0, atol=1e-6)
    assert images.std() > 0.01  # a real picture, not a constant


def test_truncation_cutoff_touches_only_the_first_ws():
    config = tiny_config()
    generator = tiny_generator(config)
    z = torch.randn(2, config.z_dim)
    with torch.no_grad():
        full = generator.mapping(z)
        cut = generator.mapping(z, truncation_psi=0.0, truncation_cutoff=2)
    torch.testing.assert_close(cut[:, :2], generator.mapping.w_avg.expand(2, 2, -1))
    torch.testing.assert_close(cut[:, 2:], full[:, 2:])


def test_noise_modes():
    config = tiny_config()
    generator = tiny_generator(config)
    with torch.no_grad():
        ws = generator.mapping(torch.randn(2, config.z_dim))
        const_a = generator.synthesis(ws, noise_mode="const")
        const_b = generator.synthesis(ws, noise_mode="const")
        none = generator.synthesis(ws, noise_mode="none")
        random_a = generator.synthesis(ws, noise_mode="random")
        random_b = generator.synthesis(ws, noise_mode="random")
    assert torch.equal(const_a, const_b)
    assert not torch.allclose(const_a, none)
    assert not torch.allclose(random_a, random_b)
    with pytest.raises(ValueError, match="noise_mode"):
        generator.synthesis(ws, noise_mode="shimmer")


def test_batch_independence():
    """A sample's image does not depend on the rest of its batch (no cross-sample leakage)."""
    config = tiny_config(architecture="resnet")
    generator = tiny_generator(config)
    with torch.no_grad():
        ws = generator.mapping(torch.randn(4, config.z_dim))
        together = generator.synthesis(ws)
        alone = torch.cat([generator.synthesis(ws[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("resolution, num_ws", [(4, 2), (16, 6), (256, 14), (512, 16), (1024, 18)])
def test_num_ws_and_layer_resolutions(resolution, num_ws):
    assert net.num_ws_for(resolution) == num_ws
    resolutions = net.ws_resolutions(resolution)
    assert len(resolutions) == num_ws and resolutions[0] == 4 and resolutions[-1] == resolution
    assert resolutions == sorted(resolutions)


def test_paper_channel_counts():
    assert net.channels_for(resolution=256, channel_base=16384, channel_max=512) == {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64}


def test_to_uint8():
    images = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0]).reshape(1, 1, 1, 5)
    pixels = net.to_uint8(images)
    assert pixels.dtype == torch.uint8 and pixels.shape == (1, 1, 5, 3)
    assert pixels[0, 0, :, 0].tolist() == [0, 0, 128, 255, 255]
