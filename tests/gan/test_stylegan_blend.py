"""Blending two StyleGAN2 models (gan.blend): layer swap, interpolation, identity, mismatches."""

from __future__ import annotations

import pytest
import stylegan_info
import torch
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import validate_section
from dreamreel.gan.models.registry import ModelRequest, load_model
from dreamreel.gan.models.stylegan import StyleGANModel
from dreamreel.gan.sections import GAN
from dreamreel.gan.stylegan import network as net
from dreamreel.gan.stylegan.blend import BlendSpec
from dreamreel.gan.stylegan.loader import load_generator
from stylegan_fixtures import tiny_config, tiny_generator, write_nvlabs_pytorch, write_rosinality


@pytest.fixture()
def pair(tmp_path):
    """A (NVlabs pickle) and B (rosinality checkpoint) of the same configuration, different weights."""
    config = tiny_config(conv_clamp=None)
    a, b = tiny_generator(config, seed=1), tiny_generator(config, seed=2)
    return config, a, b, write_nvlabs_pytorch(tmp_path / "a.pkl", a), write_rosinality(tmp_path / "b.pt", b)


def _expected(config, a, b, weight_of_b):
    """A generator built by hand: A's mapping, each block (1 - t) A + t B with t = weight_of_b[px]."""
    expected = net.Generator(config).eval().requires_grad_(False)
    state_a, state_b = a.state_dict(), b.state_dict()
    state = {}
    for name, tensor in state_a.items():
        if name.startswith("synthesis.b"):
            t = weight_of_b[int(name.split(".")[1][1:])]
            state[name] = (1 - t) * tensor + t * state_b[name]
        else:
            state[name] = tensor
    expected.load_state_dict(state)
    return expected


def _ws(config, seed=0):
    return torch.randn([3, config.num_ws, config.w_dim], generator=torch.Generator().manual_seed(seed))


def test_layer_swap_takes_coarse_blocks_from_a_and_fine_from_b(pair):
    config, a, b, path_a, path_b = pair
    blended, info = load_generator(path_a, blend=BlendSpec(str(path_b), swap_at_px=8))
    expected = _expected(config, a, b, {4: 0.0, 8: 0.0, 16: 1.0})
    for name, tensor in expected.state_dict().items():
        torch.testing.assert_close(blended.state_dict()[name], tensor, rtol=0, atol=0, msg=name)
    ws = _ws(config)
    with torch.no_grad():
        image = blended.synthesis(ws)
        torch.testing.assert_close(image, expected.synthesis(ws), rtol=0, atol=1e-6)
        assert not torch.allclose(image, a.synthesis(ws), atol=1e-3) and not torch.allclose(image, b.synthesis(ws), atol=1e-3)
    # The mapping, hence the walk, is A's.
    torch.testing.assert_close(blended.mapping.fc0.weight, a.mapping.fc0.weight, rtol=0, atol=0)
    assert "swap at 8 px" in "\n".join(info.describe())


def test_interpolation_follows_the_curve_in_log2_px(pair):
    config, a, b, path_a, path_b = pair
    # Points at 4 px (t 0) and 16 px (t 1): 8 px lies halfway in log2 px.
    blended, _ = load_generator(path_a, blend=BlendSpec(str(path_b), mix_by_px=((4.0, 0.0), (16.0, 1.0))))
    expected = _expected(config, a, b, {4: 0.0, 8: 0.5, 16: 1.0})
    ws = _ws(config, seed=1)
    with torch.no_grad():
        torch.testing.assert_close(blended.synthesis(ws), expected.synthesis(ws), rtol=0, atol=1e-5)
    # Beyond the points the curve is flat.
    spec = BlendSpec("b", mix_by_px=((8.0, 0.25), (32.0, 0.75)))
    assert [spec.weight_of_b(px) for px in (4, 8, 16, 32, 64)] == [0.25, 0.25, 0.5, 0.75, 0.75]


def test_blend_is_part_of_the_identity(pair, tmp_path):
    config, a, b, path_a, path_b = pair
    plain = StyleGANModel(path_a, device="cpu")
    swap8 = StyleGANModel(path_a, device="cpu", blend=BlendSpec(str(path_b), swap_at_px=8))
    swap4 = StyleGANModel(path_a, device="cpu", blend=BlendSpec(str(path_b), swap_at_px=4))
    mixed = StyleGANModel(path_a, device="cpu", blend=BlendSpec(str(path_b), mix_by_px=((4.0, 0.0), (16.0, 1.0))))
    other_b = write_rosinality(tmp_path / "c.pt", tiny_generator(config, seed=3))
    swap8_c = StyleGANModel(path_a, device="cpu", blend=BlendSpec(str(other_b), swap_at_px=8))
    identities = [model.identity for model in (plain, swap8, swap4, mixed, swap8_c)]
    assert len(set(identities)) == len(identities)
    # Unblended identities are unchanged (caches stay valid); B's path does not matter, its bytes do.
    assert plain.identity == f"stylegan-{plain.info.sha256[:16]}-const-g1"
    moved = tmp_path / "moved.pt"
    moved.write_bytes(path_b.read_bytes())
    assert StyleGANModel(path_a, device="cpu", blend=BlendSpec(str(moved), swap_at_px=8)).identity == swap8.identity


@pytest.mark.parametrize("change, named", [
    (dict(resolution=32), "img_resolution 16 vs 32"),
    (dict(w_dim=6), "w_dim 8 vs 6"),
    (dict(architecture="resnet"), "architecture skip vs resnet"),
    (dict(use_noise=False), "use_noise True vs False"),
])
def test_mismatched_pair_is_one_line_naming_what_differs(pair, tmp_path, change, named):
    config, a, b, path_a, path_b = pair
    other = write_nvlabs_pytorch(tmp_path / "other.pt", tiny_generator(tiny_config(conv_clamp=None, **change)))
    with pytest.raises(DreamreelError) as caught:
        load_generator(path_a, blend=BlendSpec(str(other), swap_at_px=8, where="params.yaml: gan.blend"))
    message = str(caught.value)
    assert message.startswith("params.yaml: gan.blend.with: other.pt cannot be blended with gan.weights:"), message
    assert named in message and "\n" not in message


def test_channel_widths_are_named(pair, tmp_path):
    config, a, b, path_a, path_b = pair
    narrow = net.GeneratorConfig(**{**config.__dict__, "channels": net.channels_for(resolution=16, channel_base=32, channel_max=16)})
    other = write_rosinality(tmp_path / "narrow.pt", tiny_generator(narrow))
    with pytest.raises(DreamreelError, match=r"channels 4 px 8 vs 4, 8 px 4 vs 4|channels .*16 px 4 vs 2"):
        load_generator(path_a, blend=BlendSpec(str(other), swap_at_px=8))


def test_swap_must_name_a_block_below_the_top(pair):
    config, a, b, path_a, path_b = pair
    with pytest.raises(DreamreelError, match="16 is not a layer resolution below this model's top — use one of 4, 8"):
        load_generator(path_a, blend=BlendSpec(str(path_b), swap_at_px=16))


def test_params_section_and_registry(pair):
    config, a, b, path_a, path_b = pair
    values = validate_section("params.yaml: gan", GAN, {"model": "stylegan", "weights": str(path_a), "blend": {"with": str(path_b), "swap_at_px": 8}})
    choice = load_model(ModelRequest(name="stylegan", weights=str(path_a), blend=values["blend"]), where="params.yaml: gan")
    assert "-blend-" in choice.model.identity
    with pytest.raises(DreamreelError, match=r"gan.blend: give exactly one of swap_at_px"):
        BlendSpec.from_params(validate_section("params.yaml: gan", GAN, {"blend": {"with": "b.pt"}})["blend"], where="params.yaml: gan.blend")
    with pytest.raises(DreamreelError, match=r"gan.blend.with: a blend needs the second model file"):
        BlendSpec.from_params(validate_section("params.yaml: gan", GAN, {"blend": {"swap_at_px": 8}})["blend"], where="params.yaml: gan.blend")
    with pytest.raises(DreamreelError, match=r"gan.blend.mix_by_px: resolutions must rise"):
        validate_section("params.yaml: gan", GAN, {"blend": {"with": "b.pt", "mix_by_px": [[16, 0.0], [8, 1.0]]}})
    with pytest.raises(DreamreelError, match=r"gan.blend: blending needs gan.model: stylegan, not cppn"):
        load_model(ModelRequest(name="cppn", blend=values["blend"]), where="params.yaml: gan")


def test_broken_second_model_names_its_own_file(pair, tmp_path, capsys):
    config, a, b, path_a, path_b = pair
    broken = tmp_path / "broken.pt"
    broken.write_bytes(path_b.read_bytes()[:3000])
    with pytest.raises(DreamreelError, match=f"^{broken}: truncated or corrupted"):
        load_generator(path_a, blend=BlendSpec(str(broken), swap_at_px=8))


def test_info_cli_checks_and_renders_a_blend(pair, tmp_path, capsys):
    config, a, b, path_a, path_b = pair
    assert stylegan_info.main([str(path_a), "--blend-with", str(path_b), "--mix-by-px", "4:0,16:1", "--build"]) == 0
    out = capsys.readouterr().out
    assert f"blend         with {path_b}" in out and "mix 4 px: 0, 16 px: 1" in out and "rendered (4, 3, 16, 16)" in out
    other = write_nvlabs_pytorch(tmp_path / "big.pkl", tiny_generator(tiny_config(resolution=32)))
    assert run_cli(stylegan_info.main, [str(path_a), "--blend-with", str(other), "--swap-at-px", "8"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "img_resolution 16 vs 32" in err


def test_stylegan3_pair_blends_by_sampling_rate(tmp_path):
    from dreamreel.gan.stylegan.network3 import Generator3, layer_plan
    from stylegan_fixtures import tiny_config3, tiny_generator3, write_nvlabs_stylegan3

    config = tiny_config3(config="t", resolution=32)
    a, b = tiny_generator3(config, seed=1), tiny_generator3(config, seed=2)
    path_a, path_b = write_nvlabs_stylegan3(tmp_path / "a.pkl", a), write_nvlabs_stylegan3(tmp_path / "b.pkl", b)
    input_plan, plans = layer_plan(config)
    rates = {"input": input_plan.sampling_rate} | {plan.name: plan.out_sampling_rate for plan in plans}
    assert sorted(set(rates.values())) == [16.0, 32.0]
    blended, info = load_generator(path_a, blend=BlendSpec(str(path_b), swap_at_px=16))
    expected = Generator3(config).eval()
    state_a, state_b = a.state_dict(), b.state_dict()
    expected.load_state_dict({name: state_b[name] if name.startswith("synthesis.") and not name.endswith("_filter")
                              and rates[name.split(".")[1]] > 16 else tensor for name, tensor in state_a.items()})
    ws = a.mapping(torch.randn([2, 8], generator=torch.Generator().manual_seed(3)))
    with torch.no_grad():
        torch.testing.assert_close(blended.synthesis(ws), expected.synthesis(ws), rtol=0, atol=1e-6)
    assert info.identity.startswith(info.sha256[:16] + "-blend-")
    sg2 = write_nvlabs_pytorch(tmp_path / "sg2.pkl", tiny_generator(tiny_config(resolution=32)))
    with pytest.raises(DreamreelError, match="sg2.pkl is StyleGAN2 and gan.weights is StyleGAN3"):
        load_generator(path_a, blend=BlendSpec(str(sg2), swap_at_px=16))
    other = write_nvlabs_stylegan3(tmp_path / "r.pkl", tiny_generator3(tiny_config3(config="r", resolution=32)))
    with pytest.raises(DreamreelError, match="conv_kernel 3 vs 1; use_radial_filters False vs True"):
        load_generator(path_a, blend=BlendSpec(str(other), swap_at_px=16))
