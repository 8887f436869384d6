"""The safe loader reads every supported family back exactly, and refuses bad files clearly."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
import torch
from dreamreel.core.errors import DreamreelError
from dreamreel.gan.stylegan.loader import inspect_model, load_generator
from stylegan_fixtures import (
    FAKE_MODULES,
    fake_nvlabs_modules,
    rosinality_state,
    tf_variables,
    tiny_config,
    tiny_generator,
    write_nvlabs_pytorch,
    write_nvlabs_tensorflow,
    write_rosinality,
)

# conv_clamp 0.4 is small enough to bind in these tiny nets, so a lost clamp would show.
CONFIGS = {
    "skip": dict(),
    "skip-clamped": dict(conv_clamp=0.4),
    "resnet": dict(architecture="resnet", conv_clamp=0.4),
    "conditional": dict(c_dim=3),
    "no-noise": dict(use_noise=False, conv_clamp=None),
}
WRITERS = {
    "ada-pytorch-p4": lambda path, g: write_nvlabs_pytorch(path, g, protocol=4),
    "ada-pytorch-p3": lambda path, g: write_nvlabs_pytorch(path, g, protocol=3),
    "stylegan3-repo": lambda path, g: write_nvlabs_pytorch(path, g, flat_kwargs=True),
    "tensorflow": lambda path, g: write_nvlabs_tensorflow(path, g),
}
FAMILY = {"ada-pytorch-p4": "stylegan2-ada-pytorch", "ada-pytorch-p3": "stylegan2-ada-pytorch",
          "stylegan3-repo": "stylegan3-repo (cfg stylegan2)", "tensorflow": "stylegan2-tf"}


def _outputs(generator, config, seed=3):
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn([3, config.z_dim], generator=rng)
    c = torch.eye(config.c_dim)[[0, 1, 2]] if config.c_dim else None
    with torch.no_grad():
        return generator(z, c, truncation_psi=0.7, noise_mode="const")


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_nvlabs_round_trip(tmp_path, writer, config_name):
    config = tiny_config(**CONFIGS[config_name])
    original = tiny_generator(config)
    path = WRITERS[writer](tmp_path / "model.pkl", original)
    assert not any(name in sys.modules for name in FAKE_MODULES)

    info, converted = inspect_model(path)
    expected = {name: tensor.numpy() for name, tensor in original.state_dict().items()}
    assert set(converted.arrays) == set(expected)
    for name, array in converted.arrays.items():
        # TF stores modulation biases minus one: adding it back may round in the last bit.
        np.testing.assert_allclose(array, expected[name], rtol=0, atol=1e-6 if writer == "tensorflow" else 0, err_msg=name)

    loaded, info = load_generator(path)
    assert not any(name in sys.modules for name in FAKE_MODULES)
    assert info.family == FAMILY[writer]
    assert (info.resolution, info.config.z_dim, info.config.w_dim, info.num_ws, info.config.c_dim) == (16, 8, 8, 6, config.c_dim)
    assert info.config.architecture == config.architecture and info.config.conv_clamp == config.conv_clamp
    assert info.w_avg_source == "file"
    torch.testing.assert_close(_outputs(loaded, config), _outputs(original, config), rtol=0, atol=1e-6)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_rosinality_round_trip(tmp_path, legacy):
    config = tiny_config(conv_clamp=None)  # rosinality's generator has no activation clamp
    original = tiny_generator(config)
    path = write_rosinality(tmp_path / "model.pt", original, legacy=legacy)
    info, converted = inspect_model(path)
    assert info.family == "rosinality" and info.container == ("torch-legacy" if legacy else "torch-zip")
    for name, tensor in original.state_dict().items():
        np.testing.assert_array_equal(converted.arrays[name], tensor.numpy(), err_msg=name)
    loaded, _ = load_generator(path)
    torch.testing.assert_close(_outputs(loaded, config), _outputs(original, config), rtol=0, atol=1e-6)


def test_rosinality_without_latent_avg_estimates_it(tmp_path):
    config = tiny_config(conv_clamp=None)
    original = tiny_generator(config)
    path = write_rosinality(tmp_path / "model.pt", original, with_latent_avg=False)
    first, info = load_generator(path)
    second, _ = load_generator(path)
    assert info.w_avg_source == "estimated"
    torch.testing.assert_close(first.mapping.w_avg, second.mapping.w_avg, rtol=0, atol=0)
    with torch.no_grad():
        ws = original.mapping(torch.randn(4096, config.z_dim))[:, 0]
    # The estimate is a mean of 4096 samples: close to another such mean, far from zero.
    assert torch.allclose(first.mapping.w_avg, ws.mean(0), atol=0.15)


def test_cuda_saved_pickle_loads_on_cpu(tmp_path):
    config = tiny_config()
    original = tiny_generator(config)
    path = write_nvlabs_pytorch(tmp_path / "cuda.pkl", original, cuda_tag=True)
    assert b"cuda:0" in path.read_bytes()
    loaded, _ = load_generator(path, device="cpu")
    assert next(loaded.parameters()).device.type == "cpu"
    torch.testing.assert_close(_outputs(loaded, config), _outputs(original, config), rtol=0, atol=1e-6)


def test_fixture_has_nvlabs_opcodes(tmp_path):
    """The fixture names the same globals, through the same opcodes, as a real NVlabs snapshot."""
    import io
    import pickletools

    from dreamreel.gan.stylegan import safe_pickle

    path = write_nvlabs_pytorch(tmp_path / "model.pkl", tiny_generator(tiny_config()))
    seen = set()

    class Recording(safe_pickle.SafeUnpickler):
        def find_class(self, module, name):
            seen.add(f"{module}.{name}")
            return super().find_class(module, name)

    Recording(io.BytesIO(path.read_bytes())).load()
    assert {"torch_utils.persistence._reconstruct_persistent_obj", "dnnlib.util.EasyDict", "torch._utils._rebuild_parameter",
            "torch._utils._rebuild_tensor_v2", "torch.storage._load_from_bytes", "collections.OrderedDict"} <= seen
    opcodes = {opcode.name for opcode, _arg, _pos in pickletools.genops(path.read_bytes())}
    assert {"STACK_GLOBAL", "REDUCE", "NEWOBJ", "BINBYTES", "EMPTY_SET"} <= opcodes


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------


def _expect_error(path, *fragments):
    with pytest.raises(DreamreelError) as caught:
        load_generator(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_not_a_pickle(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_text("<html><body>Quota exceeded</body></html>")
    _expect_error(path, "not a pickle or torch checkpoint")


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    _expect_error(empty, "empty")
    _expect_error(tmp_path / "absent.pkl", "not found")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_download(tmp_path, fraction):
    good = write_nvlabs_pytorch(tmp_path / "good.pkl", tiny_generator(tiny_config()))
    data = good.read_bytes()
    path = tmp_path / "partial.pkl"
    path.write_bytes(data[: int(len(data) * fraction)])
    _expect_error(path, "truncated or corrupted")


def test_truncated_rosinality(tmp_path):
    good = write_rosinality(tmp_path / "good.pt", tiny_generator(tiny_config(conv_clamp=None)))
    path = tmp_path / "partial.pt"
    path.write_bytes(good.read_bytes()[:5000])
    _expect_error(path, "truncated or corrupted")


def test_discriminator_only(tmp_path):
    path = write_nvlabs_pytorch(tmp_path / "d.pkl", tiny_generator(tiny_config()), include_generator=False)
    _expect_error(path, "only a discriminator")


def test_unknown_family(tmp_path):
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}, protocol=4))
    _expect_error(path, "unknown model family")
    path.write_bytes(pickle.dumps([1, 2, 3], protocol=4))
    _expect_error(path, "unknown model family")


def test_skeletal_stylegan3_is_refused_clearly(tmp_path):
    """A StyleGAN3 generator (it has a SynthesisInput module) with no mapping layers is named, not misread."""
    from collections import OrderedDict

    with fake_nvlabs_modules() as ns:
        def record(class_name, parameters=None, modules=None):
            state = dict(training=False, _parameters=OrderedDict(parameters or {}), _buffers=OrderedDict(),
                         _modules=OrderedDict(modules or {}), _init_args=(), _init_kwargs={})
            return ns.reconstruct, (dict(type="class", version=6, module_src="", class_name=class_name, state=state),)

        class Node:
            def __init__(self, *parts):
                self.parts = parts

            def __reduce__(self):
                return self.parts

        freqs = torch.zeros(4, 2)
        synthesis_input = Node(*record("SynthesisInput", {"weight": torch.nn.Parameter(torch.zeros(4, 4))}))
        synthesis = Node(*record("SynthesisNetwork", modules={"input": synthesis_input}))
        generator = Node(*record("Generator", modules={"synthesis": synthesis}))
        path = tmp_path / "sg3.pkl"
        path.write_bytes(pickle.dumps({"G_ema": generator, "freqs": freqs}, protocol=4))
    _expect_error(path, "StyleGAN3 generator without mapping layers or synthesis input")


def test_old_tar_checkpoint(tmp_path):
    path = tmp_path / "old.pt"
    header = bytearray(512)
    header[257:262] = b"ustar"
    path.write_bytes(bytes(header) * 2)
    _expect_error(path, "tar-format")


def test_missing_tensor_is_named(tmp_path):
    config = tiny_config(conv_clamp=None)
    state = rosinality_state(tiny_generator(config))
    del state["convs.1.noise.weight"]
    path = tmp_path / "broken.pt"
    torch.save({"g_ema": state}, path)
    _expect_error(path, "missing synthesis.b8.conv1.noise_strength")


def test_unknown_tf_variable_is_named(tmp_path):
    generator = tiny_generator(tiny_config())
    path = write_nvlabs_tensorflow(tmp_path / "tf.pkl", generator)
    data = path.read_bytes().replace(b"16x16/Conv1/bias", b"16x16/Conv9/bias")
    path.write_bytes(data)
    _expect_error(path, "16x16/Conv9/bias")


def test_tf_variable_layout_is_what_the_rules_expect():
    """Spot-check the fixture's TF names against the published naming (noise numbering, const shape)."""
    variables = tf_variables(tiny_generator(tiny_config()))
    synthesis = variables["synthesis"]
    assert synthesis["4x4/Const/const"].shape == (1, 16, 4, 4)
    assert synthesis["noise0"].shape == (1, 1, 4, 4)
    assert synthesis["noise1"].shape == synthesis["noise2"].shape == (1, 1, 8, 8)
    assert synthesis["noise3"].shape == (1, 1, 16, 16)
    assert synthesis["8x8/Conv0_up/weight"].shape == (3, 3, 16, 8)  # HWIO, 16 -> 8 channels
    assert variables["mapping"]["Dense0/weight"].shape == (8, 8)
