"""Hostile model files (issue 13): each is built here, and each must end in one clean line.

Every file below once gave a traceback, printed its own text raw, changed the loader for
the rest of the process, or took gigabytes. The rule they all check: whatever the bytes,
``stylegan_info`` prints exactly one printable ``dreamreel: error:`` line and exits 2.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import warnings
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path

import pytest
import stylegan_info
import torch
from conftest import SCRIPTS
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.gan.stylegan import safe_pickle
from dreamreel.gan.stylegan.loader import load_generator
from stylegan_fixtures import fake_nvlabs_modules, tiny_config, tiny_generator, write_nvlabs_pytorch, write_rosinality

SPOOF = "dreamreel: loaded OK, model verified safe"


def _one_line_error(path, capsys, *fragments) -> str:
    """Run the CLI on ``path``: one printable line, exit 2, the file named, no internal error."""
    assert run_cli(stylegan_info.main, [str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err[:2000]
    line = lines[0]
    assert line.startswith(f"dreamreel: error: {path}: "), line
    assert line.isprintable(), ascii(line[:300])
    assert len(line) < 1000, len(line)
    assert "internal error" not in line and "Traceback" not in captured.err
    for fragment in fragments:
        assert fragment in line, line
    return line


def _checkpoint_zip(path: Path, data_pkl: bytes, storages: dict[str, bytes], *, pickle_method=zipfile.ZIP_STORED) -> Path:
    """A zip-format torch.save archive written by hand (``archive/data.pkl`` + ``archive/data/<key>``)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("archive/data.pkl"), data_pkl, compress_type=pickle_method)
        archive.writestr("archive/byteorder", "little")
        for key, raw in storages.items():
            archive.writestr(f"archive/data/{key}", raw)
    return path


def _zip_member_span(path: Path, name: str) -> tuple[int, int]:
    """(offset, length) of a member's compressed bytes inside the archive."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    raw = path.read_bytes()
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26 : info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len, info.compress_size


# ---------------------------------------------------------------------------------------
# Tracebacks instead of one line
# ---------------------------------------------------------------------------------------


def test_tf_network_made_by_newobj_without_build(tmp_path, capsys):
    """NEWOBJ makes the record without __init__; with no BUILD after it the state was never set."""
    network = b"\x8c\x14dnnlib.tflib.network\x8c\x07Network\x93)\x81"
    path = tmp_path / "tf.pkl"
    path.write_bytes(b"\x80\x04" + network * 3 + b"\x87.")  # (G, D, Gs), none with a state
    _one_line_error(path, capsys, "TensorFlow network state is malformed")


def test_rosinality_namespace_made_by_newobj_without_build(tmp_path):
    """An empty Namespace pickles as NEWOBJ with no BUILD: a checkpoint without recorded arguments."""
    assert b"\x81q\x01." in pickle.dumps(argparse.Namespace(), protocol=2)  # NEWOBJ, BINPUT, STOP: no BUILD
    generator = tiny_generator(tiny_config(conv_clamp=None))
    good = write_rosinality(tmp_path / "good.pt", generator)
    checkpoint = torch.load(good, weights_only=False)
    checkpoint["args"] = argparse.Namespace()
    path = tmp_path / "model.pt"
    torch.save(checkpoint, path)
    loaded, info = load_generator(path)
    assert any("lr_mlp" in note for note in info.notes)
    torch.testing.assert_close(loaded.mapping.fc0.weight, generator.mapping.fc0.weight, rtol=0, atol=0)


@pytest.mark.parametrize("method", [zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2, zipfile.ZIP_DEFLATED], ids=["lzma", "bzip2", "deflate"])
def test_compressed_and_corrupted_data_pkl(tmp_path, capsys, method):
    good = write_rosinality(tmp_path / "good.pt", tiny_generator(tiny_config(conv_clamp=None)))
    with zipfile.ZipFile(good) as archive:
        prefix = archive.namelist()[0].split("/")[0]
        members = {name: archive.read(name) for name in archive.namelist()}
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        for name, raw in members.items():
            archive.writestr(name, raw, compress_type=method if name.endswith("data.pkl") else zipfile.ZIP_STORED)
    offset, length = _zip_member_span(path, f"{prefix}/data.pkl")
    data = bytearray(path.read_bytes())
    for position in range(offset + length // 3, offset + length // 3 + 24):
        data[position] ^= 0x5A
    path.write_bytes(bytes(data))
    if method == zipfile.ZIP_DEFLATED:
        _one_line_error(path, capsys, "truncated or corrupted")
    else:
        # torch.save never compresses; other methods are refused before a byte is inflated.
        _one_line_error(path, capsys, "is compressed with", "lzma" if method == zipfile.ZIP_LZMA else "bzip2")


def _nested_list_opcodes(depth: int) -> bytes:
    """Pickle opcodes of a list nested ``depth`` deep, built without recursion: [[[...]]]."""
    return b"]" * depth + b"a" * (depth - 1)


def test_setting_nested_50000_deep(tmp_path, capsys):
    sentinel = "ZDIM-SENTINEL-0123456789"
    path = write_nvlabs_pytorch(tmp_path / "model.pkl", tiny_generator(tiny_config()), extra_kwargs={"z_dim": sentinel})
    data = path.read_bytes()
    encoded = b"\x8c" + bytes([len(sentinel)]) + sentinel.encode()
    assert data.count(encoded) == 1
    path.write_bytes(data.replace(encoded, _nested_list_opcodes(50_000)))
    _one_line_error(path, capsys, "file says z_dim = [[[...]]] but its tensors say 8")


# ---------------------------------------------------------------------------------------
# File text reaching the terminal
# ---------------------------------------------------------------------------------------


def _stack_global(module: str, name: str) -> bytes:
    def text(value: str) -> bytes:
        encoded = value.encode("utf-8", "surrogatepass")
        return b"X" + struct.pack("<I", len(encoded)) + encoded

    return b"\x80\x04" + text(module) + text(name) + b"\x93."


def test_global_name_cannot_forge_a_line(tmp_path, capsys):
    path = tmp_path / "evil.pkl"
    path.write_bytes(_stack_global("os\n" + SPOOF + "\n\x1b[2J\x1b[32m", "system\r\x1b]0;title\x07"))
    line = _one_line_error(path, capsys, "forbidden global", "\\n" + SPOOF, "\\x1b[2J")
    assert "\x1b" not in line and "\n" not in line and "\r" not in line


def test_bidi_override_and_huge_name(tmp_path, capsys):
    path = tmp_path / "evil.pkl"
    path.write_bytes(_stack_global("\u202e" + "x" * 5_000_000, "system"))
    line = _one_line_error(path, capsys, "\\u202e", "(5000008 characters)")
    assert len(line) < 500


def test_state_dict_keys_are_escaped_and_cut(tmp_path, capsys):
    """A rosinality g_ema whose keys forge a line or weigh 5 MB."""
    state = OrderedDict([("style.1.weight", torch.zeros(2, 2)), ("ok\n" + SPOOF, torch.zeros(1)), ("k" * 5_000_000, torch.zeros(1))])
    path = tmp_path / "model.pt"
    torch.save({"g_ema": state}, path)
    line = _one_line_error(path, capsys, "g_ema entries with no StyleGAN2 meaning", "'ok\\n" + SPOOF, "(5000000 characters)")
    assert len(line) < 600


def test_zip_storage_key_is_escaped(tmp_path, capsys):
    key = "0\n" + SPOOF + "\x1b[0m"

    class Ref:
        pass

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, key, "cpu", 4) if isinstance(obj, Ref) else None

    buffer = io.BytesIO()
    Pickler(buffer, protocol=2).dump({"g_ema": {"style.1.weight": Ref()}})
    path = _checkpoint_zip(tmp_path / "model.pt", buffer.getvalue(), {})
    line = _one_line_error(path, capsys, "storage", "is missing from the archive", "\\n" + SPOOF)
    assert "\x1b" not in line


# ---------------------------------------------------------------------------------------
# BUILD on the loader's own objects
# ---------------------------------------------------------------------------------------


def _build_on_global(module: str, name: str, state: bytes) -> bytes:
    """A pickle: push a global, BUILD it with ``state`` (opcodes leaving one object), stop."""
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + state + b"b."


def _slot_state(**values: str) -> bytes:
    """(None, {name: value, ...}) in opcodes: BUILD sets these with setattr."""
    items = b"".join(b"X" + struct.pack("<I", len(k)) + k.encode() + b"X" + struct.pack("<I", len(v)) + v.encode() for k, v in values.items())
    return b"N}(" + items + b"u\x86"


@pytest.mark.parametrize("module, name, state", [
    ("torch_utils.persistence", "_reconstruct_persistent_obj", _slot_state(__qualname__="pwned", __doc__="pwned")),
    ("torch_utils.persistence", "_reconstruct_persistent_obj", _slot_state(__module__="os")),
    ("torch", "FloatStorage", _slot_state(name="DoubleStorage")),
    ("numpy", "ndarray", _slot_state(x="y")),
    ("dnnlib.tflib.network", "Network", b"}"),
    ("dnnlib.util", "EasyDict", b"}"),
    ("argparse", "Namespace", b"}"),
    ("collections", "OrderedDict", _slot_state(__qualname__="pwned")),
], ids=["function-qualname", "function-module", "storage-marker", "ndarray-marker", "tf-class", "easydict-class", "namespace-class", "ordereddict"])
def test_build_cannot_touch_the_loaders_globals(tmp_path, capsys, module, name, state):
    before = {key: (getattr(value, "function", value), getattr(value, "name", None)) for key, value in safe_pickle.ALLOWED_GLOBALS.items()}
    attributes = {key: (f.__qualname__, f.__module__, f.__defaults__, f.__doc__) for key, (f, _) in before.items() if callable(f) and hasattr(f, "__defaults__")}
    path = tmp_path / "evil.pkl"
    path.write_bytes(_build_on_global(module, name, state))
    _one_line_error(path, capsys, "BUILD on the loader's global")
    assert {key: (getattr(value, "function", value), getattr(value, "name", None)) for key, value in safe_pickle.ALLOWED_GLOBALS.items()} == before
    assert {key: (f.__qualname__, f.__module__, f.__defaults__, f.__doc__) for key, (f, _) in before.items() if callable(f) and hasattr(f, "__defaults__")} == attributes
    # The loader still reads a good file the same way.
    model = write_nvlabs_pytorch(tmp_path / "good.pkl", tiny_generator(tiny_config()))
    load_generator(model)


def test_function_defaults_cannot_be_rewritten(tmp_path, capsys):
    """BUILD's second half sets attributes with setattr: __defaults__ of an allowed function."""
    defaults = b"N}(X\x0c\x00\x00\x00__defaults__(\x88\x88t" + b"u\x86"
    path = tmp_path / "evil.pkl"
    path.write_bytes(_build_on_global("torch._utils", "_rebuild_tensor_v2", defaults))
    _one_line_error(path, capsys, "BUILD on the loader's global")
    assert safe_pickle._rebuild_tensor.__defaults__ == (False, None, None)


# ---------------------------------------------------------------------------------------
# Misleading messages
# ---------------------------------------------------------------------------------------


def test_what_the_path_is(tmp_path, capsys):
    _one_line_error(tmp_path, capsys, "is a directory")
    link = tmp_path / "zero.pkl"
    link.symlink_to("/dev/zero")
    _one_line_error(link, capsys, "is a character device (a symbolic link to '/dev/zero')")
    fifo = tmp_path / "pipe.pkl"
    os.mkfifo(fifo)
    _one_line_error(fifo, capsys, "is a named pipe (FIFO)")  # and it does not hang waiting for a writer
    dangling = tmp_path / "gone.pkl"
    dangling.symlink_to(tmp_path / "nowhere.pkl")
    _one_line_error(dangling, capsys, "is a symbolic link to", "which does not exist")
    _one_line_error(tmp_path / "absent.pkl", capsys, "model file not found")
    with pytest.raises(DreamreelError, match="is not a usable path"):
        load_generator(f"{tmp_path}/model\x00.pkl")


# ---------------------------------------------------------------------------------------
# Memory: bombs, measured in a child process
# ---------------------------------------------------------------------------------------

_CHILD = textwrap.dedent("""
    import json, sys
    from dreamreel.core.errors import DreamreelError
    from dreamreel.gan.stylegan.loader import load_generator

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

    results = {}
    for path in sys.argv[1:]:
        open("/proc/self/clear_refs", "w").write("5")  # restart the peak (VmHWM) from the current RSS
        before = status("VmRSS")
        try:
            load_generator(path)
            outcome = "loaded"
        except DreamreelError as error:
            outcome = str(error)
        results[path] = dict(peak_mb=(status("VmHWM") - before) / 2**20, outcome=outcome)
    print(json.dumps(results))
""")


def _raw_zip(path: Path, members: list[tuple[str, int, bytes, int]]) -> Path:
    """A zip written byte by byte: (name, method, compressed bytes, declared size) per member.

    The declared size may be a lie, and the CRC is left 0: zipfile checks it only after
    the whole member is read, which a safe loader never does for a bomb.
    """
    out = io.BytesIO()
    central = []
    for name, method, payload, declared in members:
        offset = out.tell()
        encoded = name.encode()
        header = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, 0, len(payload), declared, len(encoded), 0)
        out.write(header + encoded + payload)
        central.append(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, 0, len(payload), declared,
                                   len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    directory = b"".join(central)
    out.write(directory + struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), start, 0))
    path.write_bytes(out.getvalue())
    return path


def _deflated_pickle_bomb(inflated_mib: int) -> bytes:
    """Raw deflate of a pickle that claims ~``inflated_mib`` MiB of bytes, in ~1 KB per MiB.

    After a full flush the compressor starts afresh, so every MiB of zeros deflates to the
    same block: compress one and repeat it, instead of deflating a gigabyte here.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = b"\x80\x04\x8e" + struct.pack("<Q", inflated_mib * 2**20)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(2**20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert block == compressor.compress(bytes(2**20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return first + block * inflated_mib + compressor.flush()


def _shared_storage_views(path: Path, *, views: int, storage_mib: int) -> Path:
    """An NVlabs pickle whose G_ema has ``views`` parameters, all views of one storage.

    One is named ``synthesis.b4.const`` so the file passes the family check and reaches
    the copying of its tensors.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # TypedStorage is deprecated, but it is what real files hold
        storage = torch.zeros(storage_mib * 2**18).storage()
    _load_from_bytes, (blob,) = storage.__reduce__()

    class Storage:
        def __reduce__(self):
            return _load_from_bytes, (blob,)

    class View:
        def __init__(self, shared):
            self.shared = shared

        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, (self.shared, 0, (storage_mib * 2**18,), (1,), False, OrderedDict())

    shared = Storage()
    with fake_nvlabs_modules() as ns:
        class Record:
            def __reduce__(self):
                names = ["synthesis.b4.const"] + [f"w{i}" for i in range(1, views)]
                state = dict(training=False, _parameters=OrderedDict((name, View(shared)) for name in names),
                             _buffers=OrderedDict(), _modules=OrderedDict(), _init_args=(), _init_kwargs={})
                return ns.reconstruct, (dict(type="class", version=6, module_src="", class_name="Generator", state=state),)

        path.write_bytes(pickle.dumps({"G_ema": Record()}, protocol=4))
    return path


def test_bombs_stay_small(tmp_path):
    files = {}
    bomb = _deflated_pickle_bomb(1024)
    files["zip-1GiB-declared"] = _raw_zip(tmp_path / "declared.pt", [("archive/data.pkl", zipfile.ZIP_DEFLATED, bomb, 2**30 + 11)])
    files["zip-1GiB-declared-30MiB"] = _raw_zip(tmp_path / "lying.pt", [("archive/data.pkl", zipfile.ZIP_DEFLATED, bomb, 30 * 2**20)])
    files["100-views-of-16MiB"] = _shared_storage_views(tmp_path / "views.pkl", views=100, storage_mib=16)
    # LONG_BINPUT 2**31 - 1: the C unpickler sizes its memo array by the index (32 GB, zeroed).
    files["memo-index-2**31"] = tmp_path / "memo.pkl"
    files["memo-index-2**31"].write_bytes(b"\x80\x02Nr\xff\xff\xff\x7f.")
    for name, head in (("sparse-2GiB-junk", b"<html>"), ("sparse-2GiB-pickle", b"\x80\x04")):
        path = tmp_path / f"{name}.pkl"
        with open(path, "wb") as handle:
            handle.write(head)
            handle.truncate(2 * 2**30)  # a hole: no disk, and no memory unless someone reads it
        files[name] = path
    assert files["zip-1GiB-declared"].stat().st_size < 2**21
    env = dict(os.environ, PYTHONPATH=str(SCRIPTS))
    result = subprocess.run([sys.executable, "-c", _CHILD, *map(str, files.values())], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout)
    peaks = {name: measured[str(path)] for name, path in files.items()}
    print("\npeak RSS above the loader's baseline:", json.dumps({name: round(r["peak_mb"], 1) for name, r in peaks.items()}))
    for name, report in peaks.items():
        assert report["outcome"] != "loaded", name
        assert "internal error" not in report["outcome"], report["outcome"]
    assert "inflates to 1073741835 bytes" in peaks["zip-1GiB-declared"]["outcome"]
    assert "add up to more than" in peaks["100-views-of-16MiB"]["outcome"]
    assert "not a pickle" in peaks["sparse-2GiB-junk"]["outcome"]
    assert "unknown model family" in peaks["memo-index-2**31"]["outcome"]
    limits_mb = {"memo-index-2**31": 20, "zip-1GiB-declared": 20, "zip-1GiB-declared-30MiB": 100, "100-views-of-16MiB": 100, "sparse-2GiB-junk": 20, "sparse-2GiB-pickle": 20}
    for name, limit in limits_mb.items():
        assert peaks[name]["peak_mb"] < limit, (name, peaks[name])


# ---------------------------------------------------------------------------------------
# Telling a bad file from a bug of ours
# ---------------------------------------------------------------------------------------


def test_a_bug_of_ours_is_named_as_one(tmp_path, capsys, monkeypatch):
    """A failure in our converter is one line that calls itself an internal error, with the place."""
    from dreamreel.gan.stylegan import formats

    def broken(converted, where):
        return converted.no_such_attribute

    monkeypatch.setattr(formats, "config_from_tensors", broken)
    path = write_nvlabs_pytorch(tmp_path / "model.pkl", tiny_generator(tiny_config()))
    assert run_cli(stylegan_info.main, [str(path)]) == 2
    line = capsys.readouterr().err.strip()
    assert "internal error in dreamreel's loader (AttributeError at test_stylegan_hostile.py line" in line, line
    monkeypatch.setenv("DREAMREEL_DEBUG", "1")
    with pytest.raises(AttributeError):
        load_generator(path)


def test_stylegan3_settings_cannot_claim_a_huge_generator(tmp_path, capsys):
    """Settings and layer names that promise 20,000 channels over a file of a few kB are refused before anything is built."""
    from dreamreel.gan.stylegan.network3 import layer_plan
    from stylegan_fixtures import tiny_config3, tiny_generator3, write_nvlabs_stylegan3

    small = tiny_config3()
    huge = type(small)(**{**small.__dict__, "channel_base": 2**30, "channel_max": 20_000})
    names = [plan.name for plan in layer_plan(huge)[1]]
    assert names[0].endswith("_20000")

    def claim(kind, state):
        if kind == "SynthesisNetwork3":
            state["_init_kwargs"].update(channel_base=huge.channel_base, channel_max=huge.channel_max)
            children = list(state["_modules"].items())
            state["_modules"] = OrderedDict([children[0]] + [(name, child) for name, (_, child) in zip(names, children[1:])])
        if kind == "AliasFreeLayer":
            for key in ("padding", "up_factor", "down_factor"):
                state.pop(key)

    path = write_nvlabs_stylegan3(tmp_path / "sg3.pkl", tiny_generator3(small), tamper=claim)
    assert path.stat().st_size < 100_000
    _one_line_error(path, capsys, "synthesis.input.weight has shape (16, 16), the file's StyleGAN3 settings give (20000, 20000)")
