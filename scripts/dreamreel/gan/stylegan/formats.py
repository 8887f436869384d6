"""The three StyleGAN2 families, each turned into one flat tensor dict in StyleGAN2-ADA naming.

Every family ends as a :class:`Converted`: tensors named like ``G_ema.state_dict()`` of
an ADA model (``mapping.fc0.weight``, ``synthesis.b64.conv0.affine.bias``, ...) plus the
few settings that tensor shapes cannot tell (mapping learning-rate multiplier, activation
clamp). Structure (sizes, channels, architecture) is then read from the shapes alone by
:func:`config_from_tensors`, so slim or unusual configurations need no table.

* NVlabs PyTorch pickles (stylegan2-ada-pytorch, and the stylegan3 repository with
  ``--cfg=stylegan2``): a dict of persistent-object records; tensors sit in each record's
  ``_parameters`` / ``_buffers``, children in ``_modules``.
* NVlabs TensorFlow pickles (stylegan2, stylegan2-ada): ``(G, D, Gs)`` network states
  with ``(name, array)`` variable lists, converted by the published rules (dense weights
  transposed, conv kernels HWIO -> OIHW, up-sampling kernels flipped, modulation biases +1).
* rosinality ``.pt`` checkpoints (``torch.save`` of ``{'g_ema': state_dict, ...}``).

Each function raises :class:`~dreamreel.errors.DreamreelError` naming the file for
anything it cannot read; nothing here trusts a type it has not checked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.gan.stylegan.network import GeneratorConfig, block_resolutions
from dreamreel.gan.stylegan.network3 import StyleGAN3Config, layer_plan
from dreamreel.gan.stylegan.quoting import quote
from dreamreel.gan.stylegan.safe_pickle import AttrDict, NamespaceRecord, NdarrayRecord, PersistentRecord, TensorRecord, TFNetworkRecord

DEFAULT_MAPPING_LR = 0.01
BLUR_FILTER = np.outer([1.0, 3.0, 3.0, 1.0], [1.0, 3.0, 3.0, 1.0]) / 64.0


@dataclass
class Converted:
    """One generator in ADA naming, with what the shapes cannot say.

    ``arrays`` maps state-dict names to float32 numpy arrays. ``conv_clamp`` and
    ``mapping_lr_multiplier`` come from the file or, when it does not record them, from
    the family's documented default (then ``notes`` says so). ``declared`` holds sizes the
    file states in its settings, cross-checked against the shapes.
    """

    family: str
    network: str
    arrays: dict[str, np.ndarray]
    mapping_lr_multiplier: float
    conv_clamp: float | None
    w_avg_in_file: bool = True
    declared: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stylegan3: StyleGAN3Config | None = None


def _fail(where: str, problem: str, fix: str = "check that this is a StyleGAN2 or StyleGAN3 generator file (.pkl from NVlabs, .pt from rosinality)") -> DreamreelError:
    return DreamreelError(where, problem, fix)


def _path(prefix: str, name: Any) -> str:
    """A dotted tensor or module name from the file, quoted as one (the key may not even be text)."""
    return quote(prefix + name) if isinstance(name, str) else f"{quote(prefix)} key {quote(name)}"


def _some_keys(mapping: dict) -> str:
    """The first few keys of a dict from the file, quoted (they may be any hashable value)."""
    keys = [key for _, key in zip(range(8), mapping)]
    return ", ".join(quote(key, 30) for key in keys) + (", ..." if len(mapping) > len(keys) else "")


def _as_array(value: Any, where: str, name: str) -> np.ndarray:
    """A float32 numpy array from a tensor or numpy record."""
    if isinstance(value, TensorRecord):
        array = value.array()
        if value.dtype_name == "bfloat16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
    elif isinstance(value, NdarrayRecord) and value.array is not None:
        array = value.array
    else:
        raise _fail(where, f"{quote(name)} is not a tensor")
    if array.dtype.kind not in "fiub":
        raise _fail(where, f"{quote(name)} has non-numeric data")
    return np.asarray(array, dtype=np.float32, order="C")


# ---------------------------------------------------------------------------------------
# NVlabs PyTorch pickles
# ---------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, (dict, AttrDict)) else value


def _flatten(record: PersistentRecord, where: str) -> tuple[dict[str, TensorRecord], dict[str, PersistentRecord]]:
    """Walk ``_modules`` from ``record``: dotted name -> tensor, and path -> record."""
    tensors: dict[str, TensorRecord] = {}
    records: dict[str, PersistentRecord] = {}
    stack: list[tuple[str, PersistentRecord, int]] = [("", record, 0)]
    while stack:
        prefix, node, depth = stack.pop()
        if depth > 16 or len(records) > 10000:
            raise _fail(where, "module tree is implausibly deep or large")
        records[prefix.rstrip(".")] = node
        state = node.state
        for slot in ("_parameters", "_buffers"):
            entries = state.get(slot, {})
            if not isinstance(entries, dict):
                raise _fail(where, f"{quote(prefix + slot)} of a {quote(node.class_name)} is not a mapping")
            for name, value in entries.items():
                if value is None:
                    continue
                if not isinstance(name, str) or not isinstance(value, TensorRecord):
                    raise _fail(where, f"{_path(prefix, name)} of a {quote(node.class_name)} is not a tensor")
                tensors[prefix + name] = value
        children = state.get("_modules", {})
        if not isinstance(children, dict):
            raise _fail(where, f"{quote(prefix)}_modules of a {quote(node.class_name)} is not a mapping")
        for name, child in children.items():
            if child is None:
                continue
            if not isinstance(name, str) or not isinstance(child, PersistentRecord):
                raise _fail(where, f"{_path(prefix, name)} is a module of unknown kind (not a persistent NVlabs class)")
            stack.append((f"{prefix}{name}.", child, depth + 1))
    return tensors, records


def _record_setting(record: PersistentRecord | None, name: str) -> tuple[bool, Any]:
    """A setting a record stores as an attribute or constructor keyword: (found, value)."""
    if record is None:
        return False, None
    state = record.state
    if name in state and not isinstance(state[name], (dict, list, tuple)):
        return True, state[name]
    kwargs = state.get("_init_kwargs")
    if isinstance(kwargs, dict) and name in kwargs:
        return True, kwargs[name]
    return False, None


def _number_or_none(value: Any, where: str, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, f"setting {quote(name)} = {quote(value)} is not a number")
    return float(value)


def _check_lrelu(records: dict[str, PersistentRecord], where: str) -> None:
    for path, record in records.items():
        found, activation = _record_setting(record, "activation")
        is_mapping_fc = path.startswith("mapping.fc")
        is_synthesis_conv = re.fullmatch(r"synthesis\.b\d+\.conv[01]", path) is not None
        if found and (is_mapping_fc or is_synthesis_conv) and activation != "lrelu":
            raise _fail(where, f"{quote(path)} uses activation {quote(activation)}; only leaky ReLU StyleGAN2 models are supported")


def nvlabs_pytorch(top: Any, where: str) -> Converted:
    """A StyleGAN2 generator from an NVlabs PyTorch pickle (ADA or stylegan3 repo, cfg stylegan2)."""
    if not isinstance(top, dict):
        raise _fail(where, "pickle does not hold a dict of networks (G, D, G_ema)")
    network = "G_ema" if "G_ema" in top else "G" if "G" in top else None
    if network is None:
        if "D" in top:
            raise _fail(where, "file holds only a discriminator (D), no generator", "use a snapshot that contains G_ema (network-snapshot-*.pkl)")
        keys = _some_keys(top)
        raise _fail(where, f"no generator in this pickle (keys: {keys})")
    generator = top[network]
    if not isinstance(generator, PersistentRecord):
        raise _fail(where, f"{network} is not an NVlabs network record")
    tensors, records = _flatten(generator, where)
    class_names = {record.class_name for record in records.values()}
    if "SynthesisInput" in class_names or "synthesis.input.freqs" in tensors:
        return _nvlabs_stylegan3(generator, tensors, records, network, where)
    if "synthesis.b4.const" not in tensors:
        raise _fail(where, f"{network} is not a StyleGAN2 generator (no synthesis.b4.const; classes: {quote(sorted(class_names)[:6], 200)})")

    kwargs = generator.state.get("_init_kwargs")
    if not isinstance(kwargs, dict):
        raise _fail(where, f"{network} has no constructor settings (_init_kwargs)")
    kwargs = _plain(kwargs)
    ada = "synthesis_kwargs" in kwargs
    family = "stylegan2-ada-pytorch" if ada else "stylegan3-repo (cfg stylegan2)"
    synthesis_kwargs = _plain(kwargs.get("synthesis_kwargs", kwargs))
    mapping_kwargs = _plain(kwargs.get("mapping_kwargs", {}))
    if not isinstance(synthesis_kwargs, dict) or not isinstance(mapping_kwargs, dict):
        raise _fail(where, f"{network} constructor settings are malformed")
    notes: list[str] = []
    _check_lrelu(records, where)

    arrays: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        array = _as_array(value, where, name)
        if name.endswith("resample_filter"):
            if array.shape != (4, 4) or not np.allclose(array, BLUR_FILTER, atol=1e-6):
                raise _fail(where, f"{quote(name)} is not the [1,3,3,1] blur filter; other resampling filters are not supported")
            continue
        arrays[name] = array

    # Mapping learning rate: each layer's own keyword, else the mapping's, else the default.
    lrs = set()
    for path, record in records.items():
        if re.fullmatch(r"mapping\.fc\d+", path):
            found, value = _record_setting(record, "lr_multiplier")
            if not found:
                found, value = _record_setting(records.get("mapping"), "lr_multiplier")
            if not found and "lr_multiplier" in mapping_kwargs:
                found, value = True, mapping_kwargs["lr_multiplier"]
            if not found:
                value = DEFAULT_MAPPING_LR
                note = f"mapping learning-rate multiplier not recorded; assumed {DEFAULT_MAPPING_LR}"
                if note not in notes:
                    notes.append(note)
            lrs.add(_number_or_none(value, where, f"{path}.lr_multiplier"))
    if len(lrs) != 1 or None in lrs or min(lrs) <= 0:
        raise _fail(where, f"mapping layers disagree on their learning-rate multiplier ({sorted(map(str, lrs))})")
    embed_found, embed_lr = _record_setting(records.get("mapping.embed"), "lr_multiplier")
    if embed_found and _number_or_none(embed_lr, where, "mapping.embed.lr_multiplier") != 1.0:
        raise _fail(where, "label embedding with a learning-rate multiplier other than 1 is not supported")

    # Activation clamp: every synthesis layer states its own; they must agree.
    clamps = set()
    fallback_found, fallback = _record_setting(generator, "conv_clamp")
    if not fallback_found and "conv_clamp" in synthesis_kwargs:
        fallback_found, fallback = True, synthesis_kwargs["conv_clamp"]
    for path, record in records.items():
        if re.fullmatch(r"synthesis\.b\d+\.(conv[01]|torgb)", path):
            found, value = _record_setting(record, "conv_clamp")
            if not found:
                found, value = _record_setting(records.get(path.rsplit(".", 1)[0]), "conv_clamp")
            if not found:
                found, value = fallback_found, fallback
            if not found:
                if "conv_clamp not recorded; assumed none" not in notes:
                    notes.append("conv_clamp not recorded; assumed none")
                value = None
            clamps.add(_number_or_none(value, where, f"{path}.conv_clamp"))
    if len(clamps) > 1:
        raise _fail(where, f"synthesis layers use different conv_clamp values ({sorted(map(str, clamps))}); not supported")
    conv_clamp = clamps.pop() if clamps else None
    if conv_clamp is not None and conv_clamp <= 0:
        raise _fail(where, f"conv_clamp {conv_clamp!r} must be positive")

    declared = {key: kwargs[key] for key in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels") if key in kwargs}
    if "architecture" in synthesis_kwargs:
        declared["architecture"] = synthesis_kwargs["architecture"]
    return Converted(family=family, network=network, arrays=arrays, mapping_lr_multiplier=lrs.pop(),
                     conv_clamp=conv_clamp, w_avg_in_file="mapping.w_avg" in arrays, declared=declared, notes=notes)


# The StyleGAN3 synthesis settings a file may record, with the defaults of NVlabs'
# constructors; config r is recorded as conv_kernel 1 and use_radial_filters True.
_STYLEGAN3_SETTINGS: dict[str, tuple[type, Any]] = {
    "channel_base": (int, 32768), "channel_max": (int, 512), "num_layers": (int, 14), "num_critical": (int, 2),
    "first_cutoff": (float, 2.0), "first_stopband": (float, 2**2.1), "last_stopband_rel": (float, 2**0.3),
    "margin_size": (int, 10), "output_scale": (float, 0.25), "conv_kernel": (int, 3), "filter_size": (int, 6),
    "lrelu_upsampling": (int, 2), "use_radial_filters": (bool, False),
}


def _nvlabs_stylegan3(generator: PersistentRecord, tensors: dict[str, TensorRecord], records: dict[str, PersistentRecord],
                      network: str, where: str) -> Converted:
    """A StyleGAN3 (t or r) generator: settings from the synthesis record, then the generator's, then the defaults.

    The layer list the settings imply (names carry each layer's size and channels) must
    equal the file's own, in order, and each layer's stored filter sizes, padding and
    factors must agree with it: a strong check that the settings were read right.
    """
    kwargs = _plain(generator.state.get("_init_kwargs"))
    synthesis = records.get("synthesis")
    if not isinstance(kwargs, dict) or synthesis is None:
        raise _fail(where, f"{network} has no constructor settings or synthesis network")
    synthesis_kwargs = _plain(synthesis.state.get("_init_kwargs"))
    synthesis_kwargs = synthesis_kwargs if isinstance(synthesis_kwargs, dict) else {}
    settings: dict[str, Any] = {}
    for key, (kind, default) in _STYLEGAN3_SETTINGS.items():
        value = synthesis_kwargs.get(key, kwargs.get(key, default))
        if kind is bool:
            if not isinstance(value, bool):
                raise _fail(where, f"setting {key} = {quote(value)} is not true or false")
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
                raise _fail(where, f"setting {key} = {quote(value)} is not a whole number")
            value = int(value)
        else:
            value = _number_or_none(value, where, key)
            if value is None or value <= 0:
                raise _fail(where, f"setting {key} = {quote(value)} must be a positive number")
        settings[key] = value
    clamp_found, clamp = _record_setting(synthesis, "conv_clamp")
    if not clamp_found:
        clamp = kwargs.get("conv_clamp", 256)
    conv_clamp = _number_or_none(clamp, where, "conv_clamp")
    if not 1 <= settings["num_critical"] < settings["num_layers"] <= 64 or settings["conv_kernel"] not in (1, 3):
        raise _fail(where, f"StyleGAN3 settings out of range: num_layers {settings['num_layers']}, num_critical "
                           f"{settings['num_critical']}, conv_kernel {settings['conv_kernel']}")

    arrays = {name: _as_array(value, where, name) for name, value in tensors.items()}
    layers = 0
    while f"mapping.fc{layers}.weight" in arrays:
        layers += 1
    if layers == 0 or "synthesis.input.weight" not in arrays:
        raise _fail(where, "StyleGAN3 generator without mapping layers or synthesis input")
    w_dim, _ = arrays[f"mapping.fc{layers - 1}.weight"].shape
    c_dim = embed = 0
    if "mapping.embed.weight" in arrays:
        embed, c_dim = arrays["mapping.embed.weight"].shape
    z_dim = arrays["mapping.fc0.weight"].shape[1] - embed
    resolution = kwargs.get("img_resolution", synthesis_kwargs.get("img_resolution"))
    img_channels = kwargs.get("img_channels", synthesis_kwargs.get("img_channels"))
    if type(resolution) is not int or type(img_channels) is not int or not 16 <= resolution <= 4096 or img_channels not in (1, 3):
        raise _fail(where, f"StyleGAN3 generator with img_resolution {quote(resolution)} and img_channels {quote(img_channels)}")
    _check_lrelu({path: record for path, record in records.items() if path.startswith("mapping")}, where)
    lr_found, lr = _record_setting(records.get("mapping.fc0"), "lr_multiplier")
    if not lr_found:
        mapping_kwargs = _plain(kwargs.get("mapping_kwargs", {}))
        lr = mapping_kwargs.get("lr_multiplier", DEFAULT_MAPPING_LR) if isinstance(mapping_kwargs, dict) else DEFAULT_MAPPING_LR
    lr = _number_or_none(lr, where, "mapping lr_multiplier")
    if lr is None or lr <= 0:
        raise _fail(where, f"mapping lr_multiplier {quote(lr)} must be positive")
    config = StyleGAN3Config(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=resolution, img_channels=img_channels,
                             mapping_layers=layers, mapping_lr_multiplier=lr, conv_clamp=conv_clamp, **settings)
    if z_dim < 0 or (embed and embed != w_dim):
        raise _fail(where, "StyleGAN3 mapping network shapes are inconsistent")

    _, plans = layer_plan(config)
    children = synthesis.state.get("_modules", {})
    stored = [name for name, child in children.items() if child is not None] if isinstance(children, dict) else []
    expected = ["input"] + [plan.name for plan in plans]
    if stored != expected:
        raise _fail(where, f"StyleGAN3 layers {quote(stored[:4] + ['...'] + stored[-2:], 160)} are not the ones its settings give "
                           f"({quote(expected[:4] + ['...'] + expected[-2:], 160)})",
                    "the file's settings are unusual or inconsistent; dreamreel reads StyleGAN3 t and r generators")
    for plan in plans:
        record = records.get(f"synthesis.{plan.name}")
        found, layer_clamp = _record_setting(record, "conv_clamp")
        if found and _number_or_none(layer_clamp, where, f"{plan.name}.conv_clamp") != conv_clamp:
            raise _fail(where, f"layer {plan.name} clamps at {quote(layer_clamp)}, the network at {conv_clamp}; one clamp for all layers is supported")
        for attribute, value in (("up_factor", plan.up_factor), ("down_factor", plan.down_factor), ("conv_kernel", plan.kernel),
                                 ("padding", list(plan.padding)), ("is_torgb", plan.is_torgb)):
            if record is None or attribute not in record.state:
                continue  # advisory: only checked when the file records it
            stored_value = record.state[attribute]
            if isinstance(stored_value, tuple):
                stored_value = list(stored_value)
            if stored_value != value:
                raise _fail(where, f"layer {plan.name} stores {attribute} = {quote(record.state[attribute])}, its settings give {value}")
        for slot, taps, radial in (("up_filter", plan.up_taps, False), ("down_filter", plan.down_taps, plan.down_radial)):
            name = f"synthesis.{plan.name}.{slot}"
            shape = None if taps == 1 else (taps, taps) if radial else (taps,)
            have = arrays[name].shape if name in arrays else None
            if have != shape:
                raise _fail(where, f"{name} has shape {have}, the layer's settings give {shape}")
    # Every tensor's shape, checked before a generator of this size is built: the settings
    # come from the file, and a claim of a million channels over a few kilobytes of
    # weights must not make us allocate terabytes.
    input_plan, _ = layer_plan(config)
    expected_shapes = {"synthesis.input.weight": (input_plan.channels, input_plan.channels), "synthesis.input.affine.weight": (4, w_dim),
                       "synthesis.input.affine.bias": (4,), "synthesis.input.transform": (3, 3), "synthesis.input.freqs": (input_plan.channels, 2),
                       "synthesis.input.phases": (input_plan.channels,)}
    for plan in plans:
        prefix = f"synthesis.{plan.name}."
        expected_shapes.update({prefix + "weight": (plan.out_channels, plan.in_channels, plan.kernel, plan.kernel), prefix + "bias": (plan.out_channels,),
                                prefix + "affine.weight": (plan.in_channels, w_dim), prefix + "affine.bias": (plan.in_channels,),
                                prefix + "magnitude_ema": ()})
    for name, shape in expected_shapes.items():
        have = arrays[name].shape if name in arrays else None
        if have != shape:
            raise _fail(where, f"{name} has shape {have}, the file's StyleGAN3 settings give {shape}")
    family = f"stylegan3-{config.config_name}"
    return Converted(family=family, network=network, arrays=arrays, mapping_lr_multiplier=lr, conv_clamp=conv_clamp,
                     w_avg_in_file="mapping.w_avg" in arrays, declared={}, notes=[], stylegan3=config)


# ---------------------------------------------------------------------------------------
# NVlabs TensorFlow pickles
# ---------------------------------------------------------------------------------------

# TF kwargs that describe training, sampling or speed, not the arithmetic of the generator.
_TF_IGNORED_KWARGS = {
    "truncation_psi", "truncation_cutoff", "truncation_psi_val", "truncation_cutoff_val", "dlatent_avg_beta",
    "style_mixing_prob", "is_training", "is_validation", "return_dlatents", "is_template_graph", "components",
    "mapping_func", "synthesis_func", "func_name", "randomize_noise", "fused_modconv", "dtype", "num_fp16_res",
    "structure", "conditioning", "use_instance_norm", "fmap_base", "fmap_decay", "fmap_min", "fmap_max",
    "mapping_fmaps", "label_fmaps", "dlatent_broadcast", "use_noise",
}
_TF_LEAF = {"weight": "weight", "bias": "bias", "mod_weight": "affine.weight", "mod_bias": "affine.bias", "noise_strength": "noise_strength"}


def _tf_variables(network: TFNetworkRecord, where: str, prefix: str = "", depth: int = 0) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """All variables of a TF network and its components, names prefixed ``component/``."""
    state = network.state
    if depth > 4 or not isinstance(state, dict):
        raise _fail(where, "TensorFlow network state is malformed")
    version = state.get("version")
    if version not in (2, 3, 4):
        raise _fail(where, f"TensorFlow network format version {quote(version)} is not supported (2, 3 or 4)")
    variables: dict[str, np.ndarray] = {}
    raw = state.get("variables")
    if not isinstance(raw, list):
        raise _fail(where, "TensorFlow network has no variable list")
    for item in raw:
        if not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], str):
            raise _fail(where, "TensorFlow variable list is malformed")
        value = item[1]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            array = np.asarray(value, dtype=np.float32)
        else:
            array = _as_array(value, where, prefix + item[0])
        variables[prefix + item[0]] = array
    kwargs = state.get("static_kwargs", {})
    if not isinstance(kwargs, dict):
        raise _fail(where, "TensorFlow network settings (static_kwargs) are malformed")
    settings = dict(kwargs)
    components = state.get("components", {})
    if not isinstance(components, dict):
        raise _fail(where, "TensorFlow network components are malformed")
    for name, component in components.items():
        if not isinstance(name, str) or not isinstance(component, TFNetworkRecord):
            raise _fail(where, f"TensorFlow component {quote(name)} is not a network")
        child_vars, child_settings = _tf_variables(component, where, f"{prefix}{name}/", depth + 1)
        variables.update(child_vars)
        for key, value in child_settings.items():
            settings.setdefault(key, value)
    return variables, settings


def _hwio_to_oihw(array: np.ndarray, flip: bool) -> np.ndarray:
    if array.ndim != 4:
        raise ValueError("convolution kernel must be 4-D")
    if flip:
        array = array[::-1, ::-1]
    return np.ascontiguousarray(array.transpose(3, 2, 0, 1))


def _tf_rename(name: str, value: np.ndarray) -> tuple[str, np.ndarray] | None:
    """One TF variable -> (ADA name, converted array); None for a variable that is dropped."""
    if name == "dlatent_avg":
        return "mapping.w_avg", value
    if name in ("lod", "synthesis/lod"):
        return None  # progressive-growing level of detail: always 0 in StyleGAN2, no arithmetic
    match = re.fullmatch(r"mapping/Dense(\d+)/(weight|bias)", name)
    if match:
        return f"mapping.fc{match[1]}.{match[2]}", value.T.copy() if match[2] == "weight" else value
    match = re.fullmatch(r"mapping/LabelEmbed/(weight|bias)", name)
    if match:
        return f"mapping.embed.{match[1]}", value.T.copy() if match[1] == "weight" else value
    match = re.fullmatch(r"synthesis/noise(\d+)", name)
    if match:
        index = int(match[1])
        res = 2 ** ((index + 5) // 2)
        layer = "conv1" if index == 0 or index % 2 == 0 else "conv0"
        return f"synthesis.b{res}.{layer}.noise_const", value.reshape(value.shape[-2:])
    match = re.fullmatch(r"synthesis/4x4/Const/const", name)
    if match:
        return "synthesis.b4.const", value.reshape(value.shape[1:])
    match = re.fullmatch(r"synthesis/(\d+)x\1/(Conv|Conv0_up|Conv1|ToRGB|Skip)/(\w+)", name)
    if match:
        res, layer_tf, leaf = int(match[1]), match[2], match[3]
        layer = {"Conv": "conv1", "Conv0_up": "conv0", "Conv1": "conv1", "ToRGB": "torgb", "Skip": "skip"}[layer_tf]
        if layer_tf == "Conv" and res != 4 or leaf not in _TF_LEAF:
            raise KeyError(name)
        if leaf == "weight":
            value = _hwio_to_oihw(value, flip=layer_tf in ("Conv0_up", "Skip"))
        elif leaf == "mod_weight":
            value = value.T.copy()
        elif leaf == "mod_bias":
            value = value + 1.0  # TF stores the modulation bias minus its initial value 1
        return f"synthesis.b{res}.{layer}.{_TF_LEAF[leaf]}", value
    raise KeyError(name)


def nvlabs_tensorflow(top: Any, where: str) -> Converted:
    """A StyleGAN2 generator from an NVlabs TensorFlow pickle ``(G, D, Gs)``."""
    if isinstance(top, tuple) and len(top) == 3 and all(isinstance(part, TFNetworkRecord) for part in top):
        gs, network = top[2], "Gs"
    elif isinstance(top, TFNetworkRecord):
        gs, network = top, "network"
    else:
        raise _fail(where, "TensorFlow pickle does not hold (G, D, Gs)")
    variables, settings = _tf_variables(gs, where)
    names = set(variables)
    if any("ToRGB_lod" in name for name in names):
        raise _fail(where, "this TensorFlow model uses the 'orig' StyleGAN2 architecture (configs a-d); not supported",
                    "use a config-e or config-f model")
    if any("LabelConcat" in name for name in names):
        raise _fail(where, "conditional StyleGAN2-TF models (LabelConcat) are not supported", "use an unconditional model, or a StyleGAN2-ADA one")
    if "G_synthesis_stylegan2" not in str(settings.get("synthesis_func", "G_synthesis_stylegan2")):
        raise _fail(where, f"synthesis network {quote(settings.get('synthesis_func'))} is not StyleGAN2's", "use a config-e or config-f model")
    arrays: dict[str, np.ndarray] = {}
    unknown: list[str] = []
    for name in sorted(variables):
        try:
            renamed = _tf_rename(name, variables[name])
        except (KeyError, ValueError):
            unknown.append(name)
            continue
        if renamed is not None:
            arrays[renamed[0]] = np.asarray(renamed[1], dtype=np.float32, order="C")
    if unknown:
        raise _fail(where, f"TensorFlow variables with no StyleGAN2 meaning: {', '.join(quote(name) for name in unknown[:5])}")

    notes = []
    for key, expected in (("nonlinearity", "lrelu"), ("mapping_nonlinearity", "lrelu"), ("normalize_latents", True)):
        if key in settings and settings[key] != expected:
            raise _fail(where, f"TensorFlow setting {key} = {quote(settings[key])} is not supported (only {expected!r})")
    kernel = settings.get("resample_kernel", [1, 3, 3, 1])
    if not isinstance(kernel, (list, tuple)) or list(kernel) != [1, 3, 3, 1]:
        raise _fail(where, f"resample_kernel {quote(kernel)} is not supported (only [1, 3, 3, 1])")
    lr = _number_or_none(settings.get("mapping_lrmul", DEFAULT_MAPPING_LR), where, "mapping_lrmul")
    if lr is None or lr <= 0:
        raise _fail(where, f"mapping_lrmul {quote(lr)} must be a positive number")
    if "mapping_lrmul" not in settings:
        notes.append(f"mapping_lrmul not recorded; assumed {DEFAULT_MAPPING_LR}")
    conv_clamp = _number_or_none(settings.get("conv_clamp"), where, "conv_clamp")
    if conv_clamp is not None and conv_clamp <= 0:
        raise _fail(where, f"conv_clamp {conv_clamp!r} must be positive")
    known = {"latent_size", "label_size", "dlatent_size", "resolution", "num_channels", "mapping_layers", "mapping_lrmul",
             "nonlinearity", "mapping_nonlinearity", "normalize_latents", "resample_kernel", "conv_clamp", "architecture"}
    for key in sorted(set(settings) - known - _TF_IGNORED_KWARGS):
        notes.append(f"TensorFlow setting {quote(key)} = {quote(settings[key])} not recognised (ignored)")
    declared = {}
    for tf_key, key in (("latent_size", "z_dim"), ("label_size", "c_dim"), ("dlatent_size", "w_dim"),
                        ("resolution", "img_resolution"), ("num_channels", "img_channels"), ("architecture", "architecture")):
        if tf_key in settings:
            declared[key] = settings[tf_key]
    return Converted(family="stylegan2-tf", network=network, arrays=arrays, mapping_lr_multiplier=lr,
                     conv_clamp=conv_clamp, w_avg_in_file="mapping.w_avg" in arrays, declared=declared, notes=notes)


# ---------------------------------------------------------------------------------------
# rosinality checkpoints
# ---------------------------------------------------------------------------------------

ROSINALITY_UP_KERNEL = BLUR_FILTER * 4.0


def _rosinality_rename(name: str, value: np.ndarray) -> tuple[str, np.ndarray] | None:
    match = re.fullmatch(r"style\.(\d+)\.(weight|bias)", name)
    if match and int(match[1]) >= 1:
        return f"mapping.fc{int(match[1]) - 1}.{match[2]}", value
    if name == "input.input":
        return "synthesis.b4.const", value.reshape(value.shape[1:])
    match = re.fullmatch(r"noises\.noise_(\d+)", name)
    if match:
        index = int(match[1])
        res = 2 ** ((index + 5) // 2)
        layer = "conv1" if index == 0 or index % 2 == 0 else "conv0"
        return f"synthesis.b{res}.{layer}.noise_const", value.reshape(value.shape[-2:])
    match = re.fullmatch(r"(conv1|to_rgb1|convs\.(\d+)|to_rgbs\.(\d+))\.(.+)", name)
    if not match:
        raise KeyError(name)
    module, leaf = match[1], match[4]
    if module == "conv1":
        prefix = "synthesis.b4.conv1"
    elif module == "to_rgb1":
        prefix = "synthesis.b4.torgb"
    elif match[2] is not None:
        index = int(match[2])
        prefix = f"synthesis.b{8 * 2 ** (index // 2)}.conv{index % 2}"
    else:
        prefix = f"synthesis.b{8 * 2 ** int(match[3])}.torgb"
    if leaf in ("conv.blur.kernel", "upsample.kernel"):
        if value.shape != (4, 4) or not np.allclose(value, ROSINALITY_UP_KERNEL, atol=1e-6):
            raise ValueError(f"{quote(name)} is not the [1,3,3,1] up-sampling kernel")
        return None
    if leaf == "conv.weight":
        return f"{prefix}.weight", value.reshape(value.shape[1:])
    if leaf in ("conv.modulation.weight", "conv.modulation.bias"):
        return f"{prefix}.affine.{leaf.rsplit('.', 1)[1]}", value
    if leaf == "noise.weight" and module != "to_rgb1" and not module.startswith("to_rgbs"):
        return f"{prefix}.noise_strength", value.reshape(())
    if leaf in ("activate.bias", "bias"):
        return f"{prefix}.bias", value.reshape(-1)
    raise KeyError(name)


def rosinality(top: Any, where: str) -> Converted:
    """A StyleGAN2 generator from a rosinality ``.pt`` checkpoint (``g_ema``)."""
    if not isinstance(top, dict):
        raise _fail(where, "checkpoint does not hold a dict")
    if "g_ema" in top:
        state, network = top["g_ema"], "g_ema"
    elif "style.1.weight" in top:
        state, network = top, "state_dict"
    elif "d" in top:
        raise _fail(where, "checkpoint holds no g_ema generator", "use a checkpoint saved by rosinality's train.py or convert_weight.py")
    else:
        keys = _some_keys(top)
        raise _fail(where, f"not a rosinality StyleGAN2 checkpoint (keys: {keys})")
    if not isinstance(state, dict):
        raise _fail(where, "g_ema is not a state dict")
    arrays: dict[str, np.ndarray] = {}
    unknown: list[str] = []
    for name, value in state.items():
        if not isinstance(name, str):
            raise _fail(where, "g_ema has a non-text key")
        try:
            renamed = _rosinality_rename(name, _as_array(value, where, name))
        except KeyError:
            unknown.append(name)
            continue
        except ValueError as error:
            raise _fail(where, str(error)) from None
        if renamed is not None:
            arrays[renamed[0]] = np.asarray(renamed[1], dtype=np.float32, order="C")
    if unknown:
        raise _fail(where, f"g_ema entries with no StyleGAN2 meaning: {', '.join(quote(name) for name in sorted(unknown)[:5])}",
                    "SWAGAN and other variants are not supported; use a plain rosinality StyleGAN2 checkpoint")
    if "latent_avg" in top and top["latent_avg"] is not None:
        arrays["mapping.w_avg"] = _as_array(top["latent_avg"], where, "latent_avg").reshape(-1)
    declared: dict[str, Any] = {}
    notes: list[str] = []
    args = top.get("args")
    if isinstance(args, NamespaceRecord):
        for arg, key in (("size", "img_resolution"), ("latent", "w_dim")):
            if arg in args.values:
                declared[key] = args.values[arg]
    lr = DEFAULT_MAPPING_LR
    if isinstance(args, NamespaceRecord) and "lr_mlp" in args.values:
        lr = _number_or_none(args.values["lr_mlp"], where, "args.lr_mlp")
        if lr is None or lr <= 0:
            raise _fail(where, f"args.lr_mlp {quote(lr)} must be a positive number")
    else:
        notes.append(f"mapping learning-rate multiplier (lr_mlp) not recorded; assumed rosinality's default {DEFAULT_MAPPING_LR}")
    return Converted(family="rosinality", network=network, arrays=arrays, mapping_lr_multiplier=lr, conv_clamp=None,
                     w_avg_in_file="mapping.w_avg" in arrays, declared=declared, notes=notes)


# ---------------------------------------------------------------------------------------
# Structure from shapes
# ---------------------------------------------------------------------------------------


def config_from_tensors(converted: Converted, where: str) -> GeneratorConfig | StyleGAN3Config:
    """Read the generator's structure from its tensor shapes and check it against the file's own settings.

    A StyleGAN3 file's structure is already known from its settings and checked layer by
    layer; its shapes are checked when the tensors are loaded.
    """
    if converted.stylegan3 is not None:
        return converted.stylegan3
    shapes = {name: array.shape for name, array in converted.arrays.items()}

    def shape(name: str, ndim: int) -> tuple[int, ...]:
        if name not in shapes:
            raise _fail(where, f"missing tensor {quote(name)}")
        if len(shapes[name]) != ndim:
            raise _fail(where, f"{name} has shape {shapes[name]}, expected {ndim} dimensions")
        return shapes[name]

    layers = 0
    while f"mapping.fc{layers}.weight" in shapes:
        layers += 1
    if layers == 0:
        raise _fail(where, "no mapping network (mapping.fc0.weight)")
    w_dim = shape(f"mapping.fc{layers - 1}.weight", 2)[0]
    layer_features = shape("mapping.fc0.weight", 2)[0] if layers > 1 else None
    c_dim = embed_features = 0
    if "mapping.embed.weight" in shapes:
        embed_features, c_dim = shape("mapping.embed.weight", 2)
    z_dim = shape("mapping.fc0.weight", 2)[1] - embed_features
    resolutions = sorted(int(m[1]) for name in shapes if (m := re.fullmatch(r"synthesis\.b(\d+)\.conv1\.weight", name)))
    if not resolutions:
        raise _fail(where, "no synthesis blocks (synthesis.b4.conv1.weight)")
    resolution = resolutions[-1]
    try:
        expected = block_resolutions(resolution)
    except ValueError:
        expected = []
    if resolutions != expected:
        raise _fail(where, f"synthesis blocks {resolutions} are not 4, 8, ..., a power of two")
    channels = {res: shape(f"synthesis.b{res}.conv1.weight", 4)[0] for res in resolutions}
    img_channels = shape(f"synthesis.b{resolution}.torgb.weight", 4)[0]
    architecture = "resnet" if any(name.endswith(".skip.weight") for name in shapes) else "skip"
    use_noise = "synthesis.b4.conv1.noise_strength" in shapes
    if z_dim < 0 or min(z_dim + embed_features, w_dim, img_channels, *channels.values()) <= 0:
        raise _fail(where, "tensor shapes do not describe a StyleGAN2 generator")
    if img_channels not in (1, 3):
        raise _fail(where, f"generator makes {img_channels}-channel images; only 1 (grey) or 3 (RGB) are supported")

    derived = dict(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=resolution, img_channels=img_channels, architecture=architecture)
    for key, value in converted.declared.items():
        if key in derived and value != derived[key]:
            raise _fail(where, f"file says {key} = {quote(value)} but its tensors say {derived[key]!r}", "the file is inconsistent or corrupted; download it again")
    return GeneratorConfig(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=resolution, img_channels=img_channels,
                           channels=channels, mapping_layers=layers, embed_features=embed_features or None,
                           layer_features=layer_features, mapping_lr_multiplier=converted.mapping_lr_multiplier,
                           architecture=architecture, use_noise=use_noise, conv_clamp=converted.conv_clamp)
