"""stylegan_info CLI and the FrameModel adapter, on models the tests write."""

from __future__ import annotations

import numpy as np
import pytest
import stylegan_info
import torch
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.params import validate_section
from dreamreel.gan.models.stylegan import StyleGANModel
from dreamreel.gan.sections import STYLEGAN
from stylegan_fixtures import tiny_config, tiny_generator, write_nvlabs_pytorch, write_nvlabs_tensorflow, write_rosinality


def test_info_reports_what_was_found(tmp_path, capsys):
    path = write_nvlabs_pytorch(tmp_path / "model.pkl", tiny_generator(tiny_config(c_dim=3, architecture="resnet")))
    assert stylegan_info.main([str(path), "--build"]) == 0
    out = capsys.readouterr().out
    for expected in ("stylegan2-ada-pytorch (network G_ema)", "16 x 16, 3 channel(s)", "z_dim         8", "w_dim         8",
                     "num_ws        6", "conditional, 3 classes (c_dim 3)", "resnet", "conv_clamp 256.0", "rendered (4, 3, 16, 16)"):
        assert expected in out, out


def test_info_tensorflow_and_rosinality(tmp_path, capsys):
    tf = write_nvlabs_tensorflow(tmp_path / "tf.pkl", tiny_generator(tiny_config()))
    ros = write_rosinality(tmp_path / "ros.pt", tiny_generator(tiny_config(conv_clamp=None)))
    assert stylegan_info.main([str(tf)]) == 0
    assert "stylegan2-tf (network Gs)" in capsys.readouterr().out
    assert stylegan_info.main([str(ros)]) == 0
    out = capsys.readouterr().out
    assert "rosinality (network g_ema)" in out and "torch-zip" in out


def test_info_bad_file_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "page.pkl"
    path.write_text("<html>not found</html>")
    assert run_cli(stylegan_info.main, [str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "not a pickle" in err


def test_adapter_renders_uint8_frames(tmp_path):
    original = tiny_generator(tiny_config())
    path = write_nvlabs_pytorch(tmp_path / "model.pkl", original)
    model = StyleGANModel(path, device="cpu")
    assert model.name == "stylegan" and model.latent_keys == ("ws",) and model.size_px == 16
    assert model.info.sha256[:16] in model.identity and "const" in model.identity
    rng = np.random.default_rng(0)
    features = {name: rng.random(7, np.float32) for name in ("band_low", "band_mid", "band_high", "onset", "rms")}
    features["chroma"] = rng.random((7, 12), np.float32)
    ws = model.ws_from_features(features, params=validate_section("stylegan", STYLEGAN, {}), fps=30.0)
    frames = model.render({"ws": ws[:4]})
    assert frames.dtype == np.uint8 and frames.shape == (4, 16, 16, 3)
    assert frames.std() > 1.0
    with torch.no_grad():
        expected = original.synthesis(torch.from_numpy(ws[:4]), noise_mode="const")
    np.testing.assert_array_equal(frames, (expected * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy())
    np.testing.assert_array_equal(model.render({"ws": ws[:4]}), frames)  # deterministic


def test_render_of_read_only_ws_gives_no_warning(tmp_path):
    """latents.npz slices are read-only; torch warned when it wrapped one without a copy."""
    import warnings

    model = StyleGANModel(write_nvlabs_pytorch(tmp_path / "model.pkl", tiny_generator(tiny_config())), device="cpu")
    ws = np.zeros((2, model.num_ws, model.w_dim), np.float32)
    ws.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frames = model.render({"ws": ws})
    assert frames.shape == (2, 16, 16, 3)


def test_adapter_identity_changes_with_the_weights(tmp_path):
    first = StyleGANModel(write_nvlabs_pytorch(tmp_path / "a.pkl", tiny_generator(tiny_config(), seed=1)), device="cpu")
    second = StyleGANModel(write_nvlabs_pytorch(tmp_path / "b.pkl", tiny_generator(tiny_config(), seed=2)), device="cpu")
    assert first.identity != second.identity
    assert StyleGANModel(tmp_path / "a.pkl", device="cpu", noise_mode="none").identity != first.identity


def test_adapter_rejects_wrong_ws(tmp_path):
    model = StyleGANModel(write_nvlabs_pytorch(tmp_path / "model.pkl", tiny_generator(tiny_config())), device="cpu")
    with pytest.raises(DreamreelError, match="latents.npz: ws: has shape"):
        model.render({"ws": np.zeros((2, 14, 512), np.float32)})
    with pytest.raises(DreamreelError, match="latents.npz: ws: missing"):
        model.render({"noise": np.zeros((2, 128), np.float32)})


def test_a_looped_stylegan_walk_streams_its_ws(tmp_path):
    """latents for a StyleGAN model with 1024-px-sized ws (14 x 512), looped: memory flat in the song's length."""
    import json

    from conduct_helpers import features
    from dreamreel.benchmarks import measure, python_script
    from dreamreel.core.npz import open_npz, save_npz

    from dreamreel.gan.stylegan import network as net

    # Wide ws on a tiny synthesis (4 channels a layer): what the walk holds is sized as for a real model.
    config = net.GeneratorConfig(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3, mapping_layers=2, conv_clamp=256.0,
                                 channels=net.channels_for(resolution=256, channel_base=1024, channel_max=4))
    weights = write_nvlabs_pytorch(tmp_path / "wide.pkl", tiny_generator(config))
    (tmp_path / "model.json").write_text(json.dumps({"model": "stylegan", "weights": str(weights), "loop": True}))
    (tmp_path / "stylegan.json").write_text("{}")
    peaks = []
    # 20 s and 2 minutes at 30 fps: held whole, the longer one's ws are 86 MB more, and
    # bending them as float64 twice that.
    for frames in (600, 3_600):
        save_npz(tmp_path / "features.npz", features(frames))
        out = tmp_path / f"latents-{frames}.npz"
        command = python_script("latents") + [tmp_path / "features.npz", out, "--params", tmp_path / "stylegan.json",
                                               "--model", tmp_path / "model.json", "--stylegan", tmp_path / "stylegan.json"]
        peaks.append(measure(command).peak_rss_mb)
        assert open_npz(out)["ws"].shape == (frames, 14, 512)
        out.unlink()
    print("peak RSS MB", peaks)
    assert peaks[1] < peaks[0] + 25.0, peaks
