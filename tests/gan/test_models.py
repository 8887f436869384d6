"""Frame models: cppn, BigGAN through the real from_pretrained path, strict loading, auto."""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np
import pytest
import torch
from dreamreel.core.errors import DreamreelError
from dreamreel.gan.models.base import ComputeOptions, FrameModel, cpu_has_bf16
from dreamreel.gan.models.biggan import WeightsUnavailable, fold_spectral_norm, load_strict, random_finite_biggan, resolve_weights
from dreamreel.gan.models.cppn import CPPN
from dreamreel.gan.models.registry import ModelRequest, load_model
from gan_helpers import TINY_BIGGAN, tiny_biggan_folder, walk

FP32 = ComputeOptions(device="cpu", precision="fp32", channels_last=False, threads=1)


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    return tiny_biggan_folder(tmp_path_factory.mktemp("tiny-biggan"))


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    cache = tmp_path / "biggan-cache"
    monkeypatch.setenv("PYTORCH_PRETRAINED_BIGGAN_CACHE", str(cache))
    return cache


def batch(n: int = 4, seed: int = 0) -> dict:
    data = walk(n, seed=seed)
    return {k: data[k] for k in ("noise", "classes", "truncation")}


def test_cppn_is_colourful_not_constant_and_follows_the_latents():
    model = CPPN(size_px=48, seed=0)
    assert isinstance(model, FrameModel)
    frames = model.render(batch(3))
    assert frames.shape == (3, 48, 48, 3) and frames.dtype == np.uint8
    assert frames.std(axis=(1, 2)).min() > 10  # varies across the picture, in every channel
    assert frames.reshape(3, -1, 3).std(axis=2).mean() > 5  # colour, not grey
    moved = batch(3)
    moved["noise"] = moved["noise"] + 0.5
    assert np.abs(model.render(moved).astype(int) - frames).mean() > 5
    recoloured = batch(3)
    recoloured["classes"] = np.roll(recoloured["classes"], 100, axis=1)
    assert np.abs(model.render(recoloured).astype(int) - frames).mean() > 2


def test_cppn_is_deterministic_per_seed_and_resolution_free():
    a = CPPN(size_px=32, seed=3).render(batch(2))
    b = CPPN(size_px=32, seed=3).render(batch(2))
    c = CPPN(size_px=32, seed=4).render(batch(2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    big = CPPN(size_px=64, seed=3).render(batch(2)).astype(float)
    shrunk = big.reshape(2, 32, 2, 32, 2, 3).mean(axis=(2, 4))
    assert np.abs(shrunk - a).mean() < 6  # the same picture, only sharper


def test_tiny_biggan_loads_through_from_pretrained_and_renders(tiny_weights):
    choice = load_model(ModelRequest(name="biggan-deep-128", weights=str(tiny_weights), compute=FP32))
    model = choice.model
    assert isinstance(model, FrameModel) and model.size_px == 128
    assert model.identity.startswith("biggan-deep-128:")
    frames = model.render(batch(3))
    assert frames.shape == (3, 128, 128, 3) and frames.dtype == np.uint8
    assert frames.std() > 1
    other = model.render(batch(3, seed=1))
    assert not np.array_equal(frames, other)


def test_fused_forward_matches_the_library(tiny_weights):
    from dreamreel.gan.models.biggan import BigGANModel, WeightsSource

    source = WeightsSource(tiny_weights / "config.json", tiny_weights / "pytorch_model.bin", "test")
    reference = load_strict(source, name="biggan-deep-128")
    reference.eval()
    data = batch(3)
    with torch.no_grad():
        expected = reference(torch.from_numpy(data["noise"]), torch.from_numpy(data["classes"]), 0.8)
    expected_frames = ((expected.clamp(-1, 1) + 1) * 127.5).permute(0, 2, 3, 1).numpy()
    ours = BigGANModel("biggan-deep-128", source, compute=FP32).render(data).astype(np.float64)
    assert np.abs(ours - expected_frames).max() <= 0.5 + 1e-3  # rounding only


def test_folding_spectral_norm_keeps_eval_outputs():
    model = random_finite_biggan(TINY_BIGGAN, seed=1)
    data = batch(2)
    args = (torch.from_numpy(data["noise"]), torch.from_numpy(data["classes"]), 0.8)
    with torch.no_grad():
        before = model(*args)
        assert fold_spectral_norm(model) > 10
        after = model(*args)
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no native bf16")
def test_bf16_stays_close_to_fp32(tiny_weights):
    fp32 = load_model(ModelRequest(name="biggan-deep-128", weights=str(tiny_weights), compute=FP32)).model
    bf16 = load_model(ModelRequest(name="biggan-deep-128", weights=str(tiny_weights), compute=ComputeOptions(precision="bf16", threads=1))).model
    assert fp32.identity != bf16.identity
    difference = np.abs(fp32.render(batch(2)).astype(int) - bf16.render(batch(2)).astype(int))
    assert difference.mean() < 2 and difference.max() < 40


def _copy_without(source, target, *, drop=None, add=None):
    target.mkdir()
    state = torch.load(source / "pytorch_model.bin", weights_only=True)
    if drop:
        state.pop(drop)
    if add:
        state[add] = torch.zeros(1)
    torch.save(state, target / "pytorch_model.bin")
    (target / "config.json").write_text((source / "config.json").read_text())
    return target


def test_strict_load_rejects_missing_keys(tiny_weights, tmp_path):
    broken = _copy_without(tiny_weights, tmp_path / "missing", drop="generator.bn.weight")
    with pytest.raises(DreamreelError, match="1 missing.*generator.bn.weight"):
        load_model(ModelRequest(name="biggan-deep-128", weights=str(broken), compute=FP32))


def test_strict_load_rejects_extra_keys(tiny_weights, tmp_path):
    broken = _copy_without(tiny_weights, tmp_path / "extra", add="generator.surprise")
    with pytest.raises(DreamreelError, match="unexpected.*generator.surprise"):
        load_model(ModelRequest(name="biggan-deep-128", weights=str(broken), compute=FP32))


def test_truncated_weights_are_one_full_line_naming_the_file_and_the_fix(tiny_weights, tmp_path):
    """pytorch_model.bin cut in half (an interrupted download) used to give torch's message
    sliced mid-sentence."""
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "config.json").write_text((tiny_weights / "config.json").read_text())
    data = (tiny_weights / "pytorch_model.bin").read_bytes()
    (cut / "pytorch_model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(DreamreelError) as caught:
        load_model(ModelRequest(name="biggan-deep-128", weights=str(cut), compute=FP32), where="night.yaml: gan")
    message = str(caught.value)
    assert message.startswith(f"night.yaml: gan.weights ({cut / 'pytorch_model.bin'}): not a readable weights file, truncated or damaged (")
    assert message.endswith("— download it again (an interrupted download leaves a file like this), or set gan.weights: null to use the cache")
    assert "\n" not in message and "If you are seeing this error" not in message


def test_first_sentence_keeps_a_library_message_whole():
    from dreamreel.core.errors import first_sentence

    error = RuntimeError("PytorchStreamReader failed reading zip archive: failed finding central directory. This is an internal miniz error. If you are seeing this error, there is a high\nlikelihood ...")
    assert first_sentence(error) == "PytorchStreamReader failed reading zip archive: failed finding central directory"
    assert first_sentence(ValueError("version 1.2 unsupported")) == "version 1.2 unsupported"
    assert first_sentence(EOFError()) == "EOFError"


def test_weights_folder_lacking_a_file(tmp_path, tiny_weights):
    folder = tmp_path / "half"
    folder.mkdir()
    (folder / "config.json").write_text((tiny_weights / "config.json").read_text())
    with pytest.raises(DreamreelError, match="lacks pytorch_model.bin"):
        resolve_weights("biggan-deep-128", weights=str(folder))
    with pytest.raises(DreamreelError, match="weights folder not found"):
        resolve_weights("biggan-deep-128", weights=str(tmp_path / "nowhere"))


def test_wrong_size_config_is_rejected(tiny_weights):
    with pytest.raises(DreamreelError, match="not biggan-deep-256"):
        load_model(ModelRequest(name="biggan-deep-256", weights=str(tiny_weights), compute=FP32))


def test_offline_without_weights_fails_fast_and_never_downloads(empty_cache, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    started = time.monotonic()
    with pytest.raises(WeightsUnavailable, match="gan.weights"):
        load_model(ModelRequest(name="biggan-deep-512", compute=FP32))
    assert time.monotonic() - started < 5


def test_download_is_bounded_by_a_timeout(empty_cache, monkeypatch):
    from pytorch_pretrained_biggan import file_utils

    seen = {}

    def fake_cached_path(url, cache_dir=None):
        import socket

        seen["timeout"] = socket.getdefaulttimeout()
        raise OSError("network unreachable")

    monkeypatch.setattr(file_utils, "cached_path", fake_cached_path)
    with pytest.raises(WeightsUnavailable, match="downloading biggan-deep-128 failed"):
        resolve_weights("biggan-deep-128", weights=None, allow_download=True, timeout_s=7.0)
    assert seen["timeout"] == 7.0


def test_auto_falls_back_to_cppn_loudly(empty_cache, capsys):
    choice = load_model(ModelRequest(name="auto", size_px=32, compute=FP32))
    assert choice.chosen == "cppn" and choice.requested == "auto"
    assert "weights unavailable" in choice.reason
    assert choice.metadata()["dreamreel_model"] == "cppn"
    assert "auto -> cppn" in capsys.readouterr().err


def test_auto_uses_biggan_from_the_library_cache(empty_cache, tiny_weights, capsys):
    empty_cache.mkdir()
    base = "https://s3.amazonaws.com/models.huggingface.co/biggan/biggan-deep-128"
    for url, source in ((f"{base}-pytorch_model.bin", "pytorch_model.bin"), (f"{base}-config.json", "config.json")):
        name = hashlib.sha256(url.encode()).hexdigest() + "." + hashlib.sha256(b'"etag"').hexdigest()
        (empty_cache / name).write_bytes((tiny_weights / source).read_bytes())
        (empty_cache / (name + ".json")).write_text(json.dumps({"url": url, "etag": '"etag"'}))
    choice = load_model(ModelRequest(name="auto", compute=FP32))
    assert choice.chosen == "biggan-deep-128"
    assert "auto -> biggan-deep-128" in capsys.readouterr().err


def test_explicit_name_never_falls_back_and_unknown_names_fail(empty_cache):
    with pytest.raises(WeightsUnavailable):
        load_model(ModelRequest(name="biggan-deep-128", compute=FP32))
    with pytest.raises(DreamreelError, match="unknown model 'biggan-deep-64'"):
        load_model(ModelRequest(name="biggan-deep-64", compute=FP32))
