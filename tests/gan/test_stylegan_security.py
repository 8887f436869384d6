"""Malicious or mangled model files are refused, and nothing in them ever runs."""

from __future__ import annotations

import argparse
import copyreg
import importlib
import os
import pickle
import random
import struct
import sys
import time

import numpy as np
import pytest
import torch
from dreamreel.core.errors import DreamreelError
from dreamreel.gan.stylegan.loader import load_generator
from dreamreel.gan.stylegan.safe_pickle import LEGACY_TORCH_PREFIX
from stylegan_fixtures import (
    tiny_config,
    tiny_config3,
    tiny_generator,
    tiny_generator3,
    write_nvlabs_pytorch,
    write_nvlabs_stylegan3,
    write_nvlabs_tensorflow,
    write_rosinality,
)


def _reduce_call(module: str, name: str, argument: bytes | str) -> bytes:
    """A protocol-2 pickle whose only action is ``module.name(argument)``."""
    if isinstance(argument, str):
        encoded = argument.encode()
        push = b"X" + struct.pack("<I", len(encoded)) + encoded
    else:
        push = b"B" + struct.pack("<I", len(argument)) + argument
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + push + b"\x85R."


def _refused(path, marker):
    with pytest.raises(DreamreelError) as caught:
        load_generator(path)
    assert not marker.exists(), "the payload ran"
    assert str(path) in str(caught.value)
    return str(caught.value)


@pytest.mark.parametrize("module, name, kind", [
    ("os", "system", "shell"),
    ("posix", "system", "shell"),
    ("subprocess", "getoutput", "shell"),
    ("builtins", "eval", "python"),
    ("builtins", "exec", "python"),
    ("builtins", "getattr", "python"),
    ("copyreg", "_reconstructor", "python"),
    ("torch", "load", "python"),
    ("numpy", "load", "python"),
    ("torch._utils", "_rebuild_from_type_v2", "python"),
    ("torch_utils.persistence.os", "system", "shell"),
    ("dnnlib.util", "EasyDict.__init__.__globals__", "python"),
])
def test_forbidden_globals(tmp_path, module, name, kind):
    marker = tmp_path / "pwned"
    payload = f"touch {marker}" if kind == "shell" else f"open({str(marker)!r}, 'w').close()"
    path = tmp_path / "evil.pkl"
    path.write_bytes(_reduce_call(module, name, payload))
    message = _refused(path, marker)
    assert f"forbidden global '{module}.{name}'" in message


def test_pickled_object_with_reduce_to_system(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": Payload()}, protocol=4))
    assert "forbidden global" in _refused(path, marker)


def test_nested_storage_blob_with_payload(tmp_path):
    """A storage blob (the nested torch.save inside a tensor) carrying a REDUCE to os.system."""
    marker = tmp_path / "pwned"
    blob = (LEGACY_TORCH_PREFIX + b"."
            + pickle.dumps(1001, protocol=2)
            + pickle.dumps({"protocol_version": 1001, "little_endian": True, "type_sizes": {}}, protocol=2)
            + _reduce_call("os", "system", f"touch {marker}"))
    assert blob.startswith(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2))
    path = tmp_path / "evil.pkl"
    path.write_bytes(_reduce_call("torch.storage", "_load_from_bytes", blob))
    assert "forbidden global 'os.system'" in _refused(path, marker)


def test_persistent_record_source_is_never_executed(tmp_path, monkeypatch):
    """An NVlabs record's module_src is code that would run under NVlabs' loader; ours keeps only its hash."""
    marker = tmp_path / "pwned"
    monkeypatch.chdir(tmp_path)  # the fixture's embedded source would `touch pwned` here
    path = write_nvlabs_pytorch(tmp_path / "model.pkl", tiny_generator(tiny_config()))
    assert b"os.system('touch pwned')" in path.read_bytes()
    load_generator(path)
    assert not marker.exists()


def test_extension_opcode_goes_through_the_allow_list(tmp_path):
    marker = tmp_path / "pwned"
    copyreg.add_extension("os", "system", 0x7A)
    try:
        path = tmp_path / "evil.pkl"
        command = f"touch {marker}".encode()
        path.write_bytes(b"\x80\x02\x82\x7a" + b"X" + struct.pack("<I", len(command)) + command + b"\x85R.")
        assert "forbidden global 'os.system'" in _refused(path, marker)
    finally:
        copyreg.remove_extension("os", "system", 0x7A)


def test_persistent_id_in_a_plain_pickle(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(b"\x80\x02X\x04\x00\x00\x00evilQ.")
    assert "persistent references are not allowed" in _refused(path, tmp_path / "never")


def test_object_dtype_array(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": np.array([None, "x"], dtype=object)}, protocol=4))
    assert "numpy dtype" in _refused(path, tmp_path / "never")


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torch_checkpoint_with_payload(tmp_path, legacy):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.pt"
    torch.save({"g_ema": {"style.1.weight": torch.zeros(2)}, "args": argparse.Namespace(evil=Payload())}, path,
               _use_new_zipfile_serialization=not legacy)
    assert "forbidden global" in _refused(path, marker)


# ---------------------------------------------------------------------------------------
# Random corruption: never a crash, never an import, never code, never an internal error
# ---------------------------------------------------------------------------------------

FUZZ_KINDS = ("nvlabs-pytorch", "nvlabs-stylegan3", "nvlabs-tensorflow", "rosinality-legacy", "rosinality-zip")
FUZZ_SECONDS = 1.5  # per kind; the sequence is seeded, so a slower machine runs a prefix of it
FUZZ_MIN_CASES = 40


def _fixture(kind, directory):
    generator = tiny_generator(tiny_config(resolution=8, conv_clamp=None))
    if kind == "nvlabs-pytorch":
        return write_nvlabs_pytorch(directory / "model.pkl", generator)
    if kind == "nvlabs-tensorflow":
        return write_nvlabs_tensorflow(directory / "model.pkl", generator)
    if kind == "nvlabs-stylegan3":
        return write_nvlabs_stylegan3(directory / "model.pkl", tiny_generator3(tiny_config3()))
    return write_rosinality(directory / "model.pt", generator, legacy=kind == "rosinality-legacy")


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One random corruption: flipped bytes, a run inserted or deleted, a splice, or a cut."""
    mangled = bytearray(data)
    kind = rng.choice(("flip", "flip", "insert", "delete", "splice", "cut"))
    if kind == "flip":
        for _flip in range(rng.randint(1, 4)):
            mangled[rng.randrange(len(mangled))] = rng.randrange(256)
    elif kind == "insert":
        at = rng.randrange(len(mangled))
        mangled[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    elif kind == "delete":
        at = rng.randrange(len(mangled))
        del mangled[at : at + rng.randint(1, 8)]
    elif kind == "splice":
        source, target, length = rng.randrange(len(mangled)), rng.randrange(len(mangled)), rng.randint(2, 64)
        mangled[target : target + length] = data[source : source + length]
    else:
        del mangled[rng.randrange(1, len(mangled)) :]
    return bytes(mangled)


@pytest.mark.parametrize("kind", FUZZ_KINDS)
def test_random_corruption(tmp_path, monkeypatch, kind):
    good = _fixture(kind, tmp_path)
    load_generator(good)  # warm up: lazy imports inside torch/numpy happen now, not during the fuzz
    importlib.import_module("encodings.cp437")  # zipfile's codec for names without the UTF-8 flag (a fixed stdlib name)
    data = good.read_bytes()
    rng = random.Random(f"dreamreel-fuzz-{kind}")
    calls = []
    for target, name in ((os, "system"), (os, "popen"), (os, "execv"), (os, "posix_spawn")):
        monkeypatch.setattr(target, name, lambda *a, _n=name, **k: calls.append(_n))
    modules_before = set(sys.modules)
    outcomes = {"loaded": 0, "refused": 0}
    path = tmp_path / "fuzzed.bin"
    deadline = time.monotonic() + FUZZ_SECONDS
    case = 0
    while case < FUZZ_MIN_CASES or time.monotonic() < deadline:
        path.write_bytes(_mutate(data, rng))
        try:
            load_generator(path)
            outcomes["loaded"] += 1
        except DreamreelError as error:
            outcomes["refused"] += 1
            message = str(error)
            # An internal error is a bug of ours this file exposes: the fuzz must never find one.
            assert "internal error" not in message, (case, message)
            assert message.isprintable() and len(message) < 1000, (case, ascii(message[:300]))
        case += 1
    assert calls == []
    assert set(sys.modules) == modules_before, set(sys.modules) - modules_before
    assert outcomes["refused"] > 0 and outcomes["loaded"] + outcomes["refused"] == case


# ---------------------------------------------------------------------------------------
# Record-level fuzz: odd values where the converters expect settings, names and tensors
# ---------------------------------------------------------------------------------------

RECORD_FUZZ_SECONDS = 1.5


def _odd_value(rng: random.Random):
    nested = []
    for _ in range(rng.choice((3, 100))):
        nested = [nested]
    return rng.choice([None, True, -1, 0, 2**70, 1e308, float("nan"), "", "x\n\x1b[31m", "lrelu", b"\x00", (), [], {}, nested,
                       {"a": 1}, [1, 2, 3], (1.5, "x"), 3.5, 7, "G_ema"])


def _containers(value, depth=0):
    """Every dict and list inside a record tree (records' states included), to pick one to mutate."""
    from dreamreel.gan.stylegan.safe_pickle import NamespaceRecord, PersistentRecord, TFNetworkRecord

    if depth > 12:
        return
    if isinstance(value, (PersistentRecord, TFNetworkRecord)):
        value = value.state
    elif isinstance(value, NamespaceRecord):
        value = value.values
    if isinstance(value, dict):
        yield value
        for item in list(value.values()):
            yield from _containers(item, depth + 1)
    elif isinstance(value, (list, tuple)):
        if isinstance(value, list):
            yield value
        for item in value:
            yield from _containers(item, depth + 1)


@pytest.mark.parametrize("kind", FUZZ_KINDS)
def test_record_mutations_never_reach_an_internal_error(tmp_path, kind):
    """Parse a good file, then put odd values in its records: every outcome is a model or one clean error."""
    from dreamreel.gan.stylegan.loader import build_generator, convert_records, read_records

    good = _fixture(kind, tmp_path)
    container, _, _, _ = read_records(good)
    rng = random.Random(f"dreamreel-record-fuzz-{kind}")
    deadline = time.monotonic() + RECORD_FUZZ_SECONDS
    case = 0
    while case < 20 or time.monotonic() < deadline:
        _, top, _, _ = read_records(good)  # fresh records each time: mutations must not leak between cases
        containers = list(_containers(top))
        for _ in range(rng.randint(1, 3)):
            target = rng.choice(containers)
            if isinstance(target, dict) and target:
                key = rng.choice(list(target))
                if rng.random() < 0.2:
                    del target[key]
                else:
                    target[key] = _odd_value(rng)
            elif isinstance(target, list) and target:
                target[rng.randrange(len(target))] = _odd_value(rng)
        try:
            converted, config = convert_records(container, top, "fuzzed.pkl")
            build_generator(config, converted.arrays, "fuzzed.pkl")
        except DreamreelError as error:
            message = str(error)
            assert "internal error" not in message, (case, message)
            assert message.isprintable() and len(message) < 1000, (case, ascii(message[:300]))
        case += 1
