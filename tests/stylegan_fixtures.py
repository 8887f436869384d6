"""Test-only writers of StyleGAN2 model files in the three families' formats, with tiny random weights.

No NVIDIA or rosinality code: the files are written from our own clean-room generator.
For the NVlabs formats, throw-away ``torch_utils`` / ``dnnlib`` modules are registered in
``sys.modules`` only while pickling, so ``pickle`` emits the same GLOBAL names and opcode
shapes as a real file; they are removed before anything is loaded.
"""

from __future__ import annotations

import argparse
import contextlib
import pickle
import sys
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from dreamreel.gan.stylegan import network as net
from torch import nn

FAKE_MODULES = ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util", "dnnlib.tflib", "dnnlib.tflib.network")
BLUR = np.outer([1.0, 3.0, 3.0, 1.0], [1.0, 3.0, 3.0, 1.0]) / 64.0


def tiny_config(*, resolution: int = 16, c_dim: int = 0, architecture: str = "skip", conv_clamp: float | None = 256.0,
                use_noise: bool = True, z_dim: int = 8, w_dim: int = 8, mapping_layers: int = 2) -> net.GeneratorConfig:
    return net.GeneratorConfig(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=resolution, img_channels=3,
                               channels=net.channels_for(resolution=resolution, channel_base=64, channel_max=16),
                               mapping_layers=mapping_layers, architecture=architecture, use_noise=use_noise,
                               conv_clamp=conv_clamp)


def tiny_generator(config: net.GeneratorConfig, seed: int = 1) -> net.Generator:
    """A generator whose every tensor (biases, noise strengths, w_avg too) is random."""
    torch.manual_seed(seed)
    generator = net.Generator(config).eval().requires_grad_(False)
    with torch.no_grad():
        for name, tensor in generator.state_dict().items():
            if name.endswith("affine.bias"):
                tensor.add_(torch.randn_like(tensor) * 0.2)
            elif name.endswith(("bias", "noise_strength", "w_avg")):
                tensor.copy_(torch.randn_like(tensor) * 0.3)
    return generator


@contextlib.contextmanager
def fake_nvlabs_modules():
    """Register stand-ins for torch_utils.persistence and dnnlib while a fixture is written."""
    for name in FAKE_MODULES:
        assert name not in sys.modules, f"{name} is already imported"
    modules = {name: types.ModuleType(name) for name in FAKE_MODULES}

    def _reconstruct_persistent_obj(meta):
        raise RuntimeError("the fixture's persistence hook must never be called")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    modules["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj

    class EasyDict(dict):
        pass

    EasyDict.__module__ = "dnnlib.util"
    EasyDict.__qualname__ = "EasyDict"
    modules["dnnlib.util"].EasyDict = EasyDict
    modules["dnnlib"].EasyDict = EasyDict

    class Network:
        def __init__(self, state):
            self._state = state

        def __getstate__(self):
            return self._state

    Network.__module__ = "dnnlib.tflib.network"
    Network.__qualname__ = "Network"
    modules["dnnlib.tflib.network"].Network = Network
    sys.modules.update(modules)
    try:
        yield types.SimpleNamespace(reconstruct=_reconstruct_persistent_obj, EasyDict=EasyDict, Network=Network)
    finally:
        for name in FAKE_MODULES:
            sys.modules.pop(name, None)


# ---------------------------------------------------------------------------------------
# NVlabs PyTorch pickle
# ---------------------------------------------------------------------------------------

NV_CLASS = {
    net.Generator: "Generator", net.MappingNetwork: "MappingNetwork", net.FullyConnected: "FullyConnectedLayer",
    net.SynthesisNetwork: "SynthesisNetwork", net.SynthesisBlock: "SynthesisBlock", net.SynthesisLayer: "SynthesisLayer",
    net.ToRGBLayer: "ToRGBLayer", net.SkipLayer: "Conv2dLayer",
}
_TORCH_STATE_KEYS = ("training", "_parameters", "_buffers", "_non_persistent_buffers_set", "_modules")


def _nv_state(module: nn.Module, ns, *, flat_kwargs: bool, top_config: net.GeneratorConfig, lr: float, embed: nn.Module | None,
              extra_kwargs: dict | None = None) -> dict:
    """The instance __dict__ an NVlabs module of the same kind would carry."""
    state = {key: value for key, value in module.__dict__.items() if key.startswith("_") and "hook" in key}
    state.update({key: module.__dict__[key] for key in _TORCH_STATE_KEYS})
    state["_parameters"] = OrderedDict(module._parameters)
    state["_buffers"] = OrderedDict(module._buffers)
    state["_init_args"] = ()
    c = top_config
    if isinstance(module, net.Generator):
        mapping_kwargs = ns.EasyDict(num_layers=c.mapping_layers)
        synthesis = dict(channel_base=64, channel_max=16, num_fp16_res=4, conv_clamp=c.conv_clamp, architecture=c.architecture)
        kwargs = dict(z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, img_resolution=c.img_resolution, img_channels=c.img_channels,
                      mapping_kwargs=mapping_kwargs)
        if flat_kwargs:
            kwargs.update(synthesis, fused_modconv_default="inference_only")
        else:
            kwargs["synthesis_kwargs"] = ns.EasyDict(synthesis)
        kwargs.update(extra_kwargs or {})
        state["_init_kwargs"] = kwargs
        state.update(z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, img_resolution=c.img_resolution, num_ws=c.num_ws)
    elif isinstance(module, net.MappingNetwork):
        state["_init_kwargs"] = dict(z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, num_ws=c.num_ws, num_layers=c.mapping_layers)
        state.update(num_layers=c.mapping_layers, w_avg_beta=0.995)
    elif isinstance(module, net.FullyConnected):
        in_features = module.weight.shape[1]
        layer_lr = lr if module.lrelu else 1.0
        if module.lrelu:
            state["_init_kwargs"] = dict(activation="lrelu", lr_multiplier=layer_lr)
        else:
            state["_init_kwargs"] = {} if module is embed else dict(bias_init=1)
        state.update(activation="lrelu" if module.lrelu else "linear", weight_gain=np.float64(layer_lr / np.sqrt(in_features)),
                     bias_gain=np.float64(layer_lr))
    elif isinstance(module, net.SynthesisNetwork):
        state["_init_kwargs"] = dict(w_dim=c.w_dim, img_resolution=c.img_resolution, img_channels=c.img_channels,
                                     channel_base=64, channel_max=16, num_fp16_res=4, conv_clamp=c.conv_clamp)
        state.update(block_resolutions=net.block_resolutions(c.img_resolution), num_ws=c.num_ws)
    elif isinstance(module, net.SynthesisBlock):
        state["_buffers"]["resample_filter"] = torch.tensor(BLUR, dtype=torch.float32)
        state["_init_kwargs"] = dict(architecture=c.architecture, conv_clamp=c.conv_clamp)
        state.update(architecture=c.architecture, num_conv=module.num_conv, num_torgb=module.num_torgb, use_fp16=False)
    elif isinstance(module, net.SynthesisLayer):
        state["_buffers"]["resample_filter"] = torch.tensor(BLUR, dtype=torch.float32)
        state["_init_kwargs"] = dict(resolution=module.resolution, up=module.up, conv_clamp=module.conv_clamp, use_noise=module.use_noise)
        state.update(resolution=module.resolution, up=module.up, use_noise=module.use_noise, activation="lrelu",
                     conv_clamp=module.conv_clamp, padding=1, act_gain=np.float64(np.sqrt(2)))
    elif isinstance(module, net.ToRGBLayer):
        state["_init_kwargs"] = dict(conv_clamp=module.conv_clamp)
        state.update(conv_clamp=module.conv_clamp, weight_gain=np.float64(module.weight_gain))
    elif isinstance(module, net.SkipLayer):
        state["_buffers"]["resample_filter"] = torch.tensor(BLUR, dtype=torch.float32)
        state["_init_kwargs"] = dict(kernel_size=1, bias=False, up=2)
        state.update(activation="linear", up=2, down=1, conv_clamp=None, padding=0, weight_gain=np.float64(module.weight_gain))
    else:
        raise TypeError(type(module))
    return state


class _FakeDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)


def write_nvlabs_pytorch(path: Path, generator: net.Generator, *, flat_kwargs: bool = False, protocol: int = 4,
                         lr: float = 0.01, include_generator: bool = True, cuda_tag: bool = False,
                         extra_kwargs: dict | None = None) -> Path:
    """Write ``dict(G, D, G_ema, augment_pipe, training_set_kwargs)`` like an NVlabs snapshot.

    ``extra_kwargs`` replace or add keys of the generator's constructor settings (``_init_kwargs``).
    """
    import torch.serialization as serialization

    config = generator.config
    with fake_nvlabs_modules() as ns:
        class Pickler(pickle.Pickler):
            def reducer_override(self, obj):
                if isinstance(obj, _FakeDiscriminator):
                    state = {key: obj.__dict__[key] for key in _TORCH_STATE_KEYS}
                    state.update(_init_args=(), _init_kwargs=dict(c_dim=config.c_dim), _parameters=OrderedDict(obj._parameters))
                    state["_modules"] = OrderedDict()
                    meta = dict(type="class", version=6, module_src="# fixture discriminator\n", class_name="Discriminator", state=state)
                    return ns.reconstruct, (meta,), None
                if isinstance(obj, nn.Module):
                    state = _nv_state(obj, ns, flat_kwargs=flat_kwargs, top_config=config, lr=lr,
                                      embed=getattr(generator.mapping, "embed", None), extra_kwargs=extra_kwargs)
                    meta = dict(type="class", version=6, module_src="import os  # fixture source, must never run\nos.system('touch pwned')\n",
                                class_name=NV_CLASS[type(obj)], state=state)
                    return ns.reconstruct, (meta,), None
                return NotImplemented

        data = dict(D=_FakeDiscriminator(), augment_pipe=None,
                    training_set_kwargs=ns.EasyDict(class_name="training.dataset.ImageFolderDataset", resolution=config.img_resolution))
        if include_generator:
            data["G"] = generator
            data["G_ema"] = generator
        original_tag = serialization.location_tag
        if cuda_tag:
            serialization.location_tag = lambda storage: "cuda:0"
        try:
            with open(path, "wb") as handle:
                Pickler(handle, protocol=protocol).dump(data)
        finally:
            serialization.location_tag = original_tag
    return path


# ---------------------------------------------------------------------------------------
# NVlabs TensorFlow pickle
# ---------------------------------------------------------------------------------------


def tf_variables(generator: net.Generator) -> dict[str, dict[str, np.ndarray]]:
    """Our tensors renamed and transformed the way TF StyleGAN2 stores them, per component."""
    components: dict[str, dict[str, np.ndarray]] = {"": {}, "mapping": {}, "synthesis": {}}
    for name, tensor in generator.state_dict().items():
        value = tensor.numpy().copy()
        if name == "mapping.w_avg":
            components[""]["dlatent_avg"] = value
            continue
        parts = name.split(".")
        if parts[0] == "mapping":
            layer = "LabelEmbed" if parts[1] == "embed" else f"Dense{parts[1][2:]}"
            components["mapping"][f"{layer}/{parts[2]}"] = value.T.copy() if parts[2] == "weight" else value
            continue
        res = int(parts[1][1:])
        scope = f"{res}x{res}"
        if parts[2] == "const":
            components["synthesis"][f"{scope}/Const/const"] = value[None]
            continue
        layer = {"conv0": "Conv0_up", "conv1": "Conv" if res == 4 else "Conv1", "torgb": "ToRGB", "skip": "Skip"}[parts[2]]
        leaf = ".".join(parts[3:])
        if leaf == "noise_const":
            index = 2 * int(np.log2(res)) - (5 if parts[2] == "conv0" else 4)
            components["synthesis"][f"noise{index}"] = value[None, None]
            continue
        if leaf == "weight":
            value = value.transpose(2, 3, 1, 0)
            if parts[2] in ("conv0", "skip"):
                value = value[::-1, ::-1]
            value = np.ascontiguousarray(value)
        elif leaf == "affine.weight":
            value = value.T.copy()
        elif leaf == "affine.bias":
            value = value - 1.0
        tf_leaf = {"weight": "weight", "bias": "bias", "affine.weight": "mod_weight", "affine.bias": "mod_bias", "noise_strength": "noise_strength"}[leaf]
        components["synthesis"][f"{scope}/{layer}/{tf_leaf}"] = value
    return components


def write_nvlabs_tensorflow(path: Path, generator: net.Generator, *, protocol: int = 3, lr: float = 0.01) -> Path:
    """Write ``(G, D, Gs)`` of dnnlib.tflib.network.Network states like a TF StyleGAN2 pickle."""
    config = generator.config
    variables = tf_variables(generator)
    kwargs = dict(num_channels=3, resolution=config.img_resolution, label_size=config.c_dim, latent_size=config.z_dim,
                  dlatent_size=config.w_dim, mapping_layers=config.mapping_layers, mapping_lrmul=lr,
                  architecture=config.architecture, fmap_base=32, fmap_max=16, truncation_psi=0.5, conv_clamp=config.conv_clamp)
    with fake_nvlabs_modules() as ns:
        def network(name, func, own, components):
            return ns.Network(dict(version=4, name=name, static_kwargs=dict(kwargs), components=ns.EasyDict(components),
                                   build_module_src="raise SystemExit('fixture source must never run')\n", build_func_name=func,
                                   variables=list(own.items())))

        def full(name):
            mapping = network("G_mapping", "G_mapping", variables["mapping"], {})
            synthesis = network("G_synthesis", "G_synthesis_stylegan2", variables["synthesis"], {})
            own = dict(variables[""], lod=np.float32(0.0).reshape(()))
            return network(name, "G_main", own, dict(mapping=mapping, synthesis=synthesis))

        discriminator = network("D", "D_stylegan2", {"Output/weight": np.ones((4, 1), np.float32)}, {})
        with open(path, "wb") as handle:
            pickle.dump((full("G"), discriminator, full("Gs")), handle, protocol=protocol)
    return path


# ---------------------------------------------------------------------------------------
# rosinality checkpoint
# ---------------------------------------------------------------------------------------


def rosinality_state(generator: net.Generator) -> OrderedDict:
    """Our tensors renamed to rosinality's Generator layout."""
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    resolutions = net.block_resolutions(generator.img_resolution)
    for name, tensor in generator.state_dict().items():
        parts = name.split(".")
        if parts[0] == "mapping":
            if parts[1].startswith("fc"):
                out[f"style.{int(parts[1][2:]) + 1}.{parts[2]}"] = tensor.clone()
            continue
        res = int(parts[1][1:])
        k = resolutions.index(res) - 1
        if parts[2] == "const":
            out["input.input"] = tensor[None].clone()
            continue
        module = {"conv0": f"convs.{2 * k}", "conv1": "conv1" if res == 4 else f"convs.{2 * k + 1}",
                  "torgb": "to_rgb1" if res == 4 else f"to_rgbs.{k}"}[parts[2]]
        leaf = ".".join(parts[3:])
        if leaf == "noise_const":
            index = 0 if res == 4 else 2 * int(np.log2(res)) - (5 if parts[2] == "conv0" else 4)
            out[f"noises.noise_{index}"] = tensor[None, None].clone()
        elif leaf == "weight":
            out[f"{module}.conv.weight"] = tensor[None].clone()
        elif leaf.startswith("affine."):
            out[f"{module}.conv.modulation.{leaf[7:]}"] = tensor.clone()
        elif leaf == "noise_strength":
            out[f"{module}.noise.weight"] = tensor.reshape(1).clone()
        elif leaf == "bias":
            out[f"{module}.{'bias' if parts[2] == 'torgb' else 'activate.bias'}"] = tensor.reshape(1, -1, 1, 1).clone() if parts[2] == "torgb" else tensor.clone()
    for k in range(len(resolutions) - 1):
        out[f"convs.{2 * k}.conv.blur.kernel"] = torch.tensor(BLUR * 4.0, dtype=torch.float32)
        out[f"to_rgbs.{k}.upsample.kernel"] = torch.tensor(BLUR * 4.0, dtype=torch.float32)
    return out


def write_rosinality(path: Path, generator: net.Generator, *, legacy: bool = False, with_latent_avg: bool = True) -> Path:
    config = generator.config
    checkpoint = {"g_ema": rosinality_state(generator), "d": OrderedDict(w=torch.ones(2)),
                  "args": argparse.Namespace(size=config.img_resolution, latent=config.w_dim, n_mlp=config.mapping_layers, channel_multiplier=2)}
    if with_latent_avg:
        checkpoint["latent_avg"] = generator.mapping.w_avg.clone()
    torch.save(checkpoint, path, _use_new_zipfile_serialization=not legacy)
    return path


# ---------------------------------------------------------------------------------------
# StyleGAN3 (NVlabs pickle of our clean-room Generator3)
# ---------------------------------------------------------------------------------------


def tiny_config3(*, resolution: int = 16, config: str = "t", c_dim: int = 0, num_layers: int = 4, conv_clamp: float | None = 256.0):
    from dreamreel.gan.stylegan import network3

    radial = config == "r"
    return network3.StyleGAN3Config(z_dim=8, c_dim=c_dim, w_dim=8, img_resolution=resolution, img_channels=3, channel_base=128,
                                    channel_max=16, num_layers=num_layers, num_critical=2, margin_size=4,
                                    conv_kernel=1 if radial else 3, use_radial_filters=radial, conv_clamp=conv_clamp)


def tiny_generator3(config, seed: int = 1):
    """A StyleGAN3 generator whose every tensor is random (styles, biases, magnitudes, transform)."""
    from dreamreel.gan.stylegan import network3

    torch.manual_seed(seed)
    generator = network3.Generator3(config).eval().requires_grad_(False)
    with torch.no_grad():
        for name, tensor in generator.state_dict().items():
            if name.endswith("affine.bias") and not name.startswith("synthesis.input"):
                tensor.add_(torch.randn_like(tensor) * 0.2)
            elif name.endswith("input.affine.weight"):
                tensor.copy_(torch.randn_like(tensor))  # NVlabs starts it at zero; training moves it
            elif name.endswith(("bias", "w_avg")):
                tensor.copy_(torch.randn_like(tensor) * 0.3)
            elif name.endswith("magnitude_ema"):
                tensor.copy_(torch.rand([]) + 0.5)
    return generator


NV_CLASS3 = {"Generator3": "Generator", "MappingNetwork": "MappingNetwork", "FullyConnected": "FullyConnectedLayer",
             "SynthesisNetwork3": "SynthesisNetwork", "FourierInput": "SynthesisInput", "AliasFreeLayer": "SynthesisLayer"}


def _nv_state3(module: nn.Module, ns, top) -> dict:
    c = top.config
    state = {key: module.__dict__[key] for key in _TORCH_STATE_KEYS}
    state["_parameters"] = OrderedDict(module._parameters)
    state["_buffers"] = OrderedDict(module._buffers)  # None filters stay, as NVlabs registers them
    state["_init_args"] = ()
    kind = type(module).__name__
    layer_kwargs = dict(conv_kernel=c.conv_kernel, use_radial_filters=c.use_radial_filters, conv_clamp=c.conv_clamp)
    if kind == "Generator3":
        kwargs = dict(z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, img_resolution=c.img_resolution, img_channels=c.img_channels,
                      mapping_kwargs=ns.EasyDict(num_layers=c.mapping_layers), channel_base=c.channel_base, channel_max=c.channel_max,
                      magnitude_ema_beta=0.999, num_fp16_res=4, num_layers=c.num_layers, margin_size=c.margin_size, **layer_kwargs)
        state["_init_kwargs"] = kwargs
        state.update(z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, img_resolution=c.img_resolution, img_channels=c.img_channels)
    elif kind == "MappingNetwork":
        state["_init_kwargs"] = dict(z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, num_ws=c.num_ws, num_layers=c.mapping_layers)
        state.update(num_layers=c.mapping_layers, w_avg_beta=0.998)
    elif kind == "FullyConnected":
        state["_init_kwargs"] = dict(activation="lrelu" if module.lrelu else "linear", lr_multiplier=module.bias_gain)
        state.update(activation="lrelu" if module.lrelu else "linear", weight_gain=np.float64(module.weight_gain))
    elif kind == "SynthesisNetwork3":
        state["_init_kwargs"] = dict(w_dim=c.w_dim, img_resolution=c.img_resolution, img_channels=c.img_channels,
                                     channel_base=c.channel_base, channel_max=c.channel_max, num_layers=c.num_layers,
                                     margin_size=c.margin_size, num_fp16_res=4, **layer_kwargs)
        state.update(num_ws=c.num_ws, layer_names=list(module.layer_names), margin_size=c.margin_size, output_scale=c.output_scale)
    elif kind == "FourierInput":
        plan = module.plan
        state["_init_kwargs"] = dict(w_dim=c.w_dim, channels=plan.channels, size=plan.size, sampling_rate=plan.sampling_rate, bandwidth=plan.bandwidth)
        state.update(size=np.array([plan.size, plan.size]), sampling_rate=plan.sampling_rate, bandwidth=plan.bandwidth)
    elif kind == "AliasFreeLayer":
        plan = module.plan
        state["_init_kwargs"] = dict(w_dim=c.w_dim, is_torgb=plan.is_torgb, in_channels=plan.in_channels, out_channels=plan.out_channels,
                                     **layer_kwargs)
        state.update(is_torgb=plan.is_torgb, conv_kernel=plan.kernel, up_factor=plan.up_factor, down_factor=plan.down_factor,
                     padding=list(plan.padding), in_size=np.array([plan.in_size] * 2), out_size=np.array([plan.out_size] * 2),
                     conv_clamp=c.conv_clamp)
    else:
        raise TypeError(kind)
    return state


def write_nvlabs_stylegan3(path: Path, generator, *, protocol: int = 4, tamper=None) -> Path:
    """Write ``dict(G, D, G_ema, ...)`` like a StyleGAN3 snapshot; ``tamper(kind, state)`` may edit states."""
    with fake_nvlabs_modules() as ns:
        class Pickler(pickle.Pickler):
            def reducer_override(self, obj):
                if isinstance(obj, _FakeDiscriminator):
                    state = {key: obj.__dict__[key] for key in _TORCH_STATE_KEYS}
                    state.update(_init_args=(), _init_kwargs={}, _parameters=OrderedDict(obj._parameters), _modules=OrderedDict())
                    return ns.reconstruct, (dict(type="class", version=6, module_src="", class_name="Discriminator", state=state),)
                if isinstance(obj, nn.Module):
                    state = _nv_state3(obj, ns, generator)
                    if tamper is not None:
                        tamper(type(obj).__name__, state)
                    meta = dict(type="class", version=6, module_src="# fixture source, never run\n", class_name=NV_CLASS3[type(obj).__name__], state=state)
                    return ns.reconstruct, (meta,), None
                return NotImplemented

        data = dict(G=generator, D=_FakeDiscriminator(), G_ema=generator, augment_pipe=None, training_set_kwargs=None)
        with open(path, "wb") as handle:
            Pickler(handle, protocol=protocol).dump(data)
    return path
