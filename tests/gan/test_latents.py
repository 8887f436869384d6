"""The latent walk: reference mapping, determinism, locality, classes by index or name."""

from __future__ import annotations

import json

import numpy as np
import pytest
from dreamreel.core.errors import run_cli
from dreamreel.core.npz import save_npz
from dreamreel.core.params import validate_section
from dreamreel.gan.imagenet import class_names, resolve_class
from dreamreel.gan.latents import make_walk
from dreamreel.gan.sections import LATENTS
from gan_helpers import write_params


def params(**overrides) -> dict:
    return validate_section("test", LATENTS, overrides)


def features(n: int = 300, *, seed: int = 0, fps: int = 30) -> dict:
    rng = np.random.default_rng(seed)
    smooth = lambda x: np.convolve(x, np.ones(5) / 5, mode="same")  # noqa: E731
    chroma = rng.random((n, 12)).astype(np.float32)
    chroma /= chroma.max(axis=1, keepdims=True)
    return {
        "power": smooth(rng.random(n)).astype(np.float32),
        "power_gradient": rng.random(n).astype(np.float32) * 0.3,
        "harmonic": smooth(rng.random(n)).astype(np.float32),
        "percussive": rng.random(n).astype(np.float32) ** 4,
        "onset": (rng.random(n) > 0.9).astype(np.float32),
        "chroma": chroma,
        # A steady level: the dynamics gain is 1 throughout, so these tests see the mapping alone.
        "rms_dbfs": np.full(n, -20.0, np.float32),
        "fps_num": np.int64(fps),
        "fps_den": np.int64(1),
    }


def test_shapes_ranges_and_dtypes():
    walk = make_walk(features(), params=params(truncation=0.6))
    assert walk["noise"].shape == (300, 128) and walk["noise"].dtype == np.float32
    assert walk["classes"].shape == (300, 1000) and walk["classes"].dtype == np.float32
    assert np.all(np.abs(walk["noise"]) <= 2 * 0.6 + 1e-6)
    assert np.all(walk["truncation"] == np.float32(0.6))
    assert np.count_nonzero(walk["classes"].any(axis=0)) == 12


def test_reference_motion_constant_drive_moves_linearly_then_bounces():
    n = 120
    feats = features(n)
    feats["power"] = np.full(n, 0.5, np.float32)
    feats["power_gradient"] = np.zeros(n, np.float32)
    speed = 3.0
    walk = make_walk(feats, params=params(motion_speed_per_s=speed, motion_harmonic_weight=0.0, motion_jitter=0.0, motion_smoothing_s=0.0, pulse_depth=0.0))
    steps = np.diff(walk["noise"].astype(np.float64), axis=0)
    per_frame = speed / 30 * 0.5
    # Every dimension moves by exactly the per-frame step, in one direction or the other.
    np.testing.assert_allclose(np.abs(steps[:10]), per_frame, rtol=1e-4)
    # ...and turns back before leaving ±2 (truncation 1).
    assert np.abs(walk["noise"]).max() <= 2.0
    assert np.any(np.sign(steps[:-1]) != np.sign(steps[1:]))


def test_silence_stops_motion_and_holds_classes():
    feats = features(200)
    for key in ("power", "power_gradient", "harmonic", "onset", "percussive"):
        feats[key][100:] = 0.0
    feats["chroma"][100:] = 0.0
    walk = make_walk(feats, params=params(class_smoothing_s=0.0))
    noise = walk["noise"]
    # The smoothed step dies out within a few time constants; then nothing moves.
    assert np.abs(noise[-1] - noise[-20]).max() < 1e-5
    np.testing.assert_array_equal(walk["classes"][150], walk["classes"][199])
    assert walk["classes"][199].sum() > 0


def test_pulse_springs_back():
    n = 90
    feats = features(n)
    for key in ("power", "power_gradient", "harmonic", "percussive"):
        feats[key][:] = 0.0
    feats["onset"][:] = 0.0
    feats["onset"][30] = 1.0
    walk = make_walk(feats, params=params(pulse_depth=0.5, pulse_decay_s=0.1, pulse_percussive_weight=0.0))
    noise = walk["noise"].astype(np.float64)
    kick = np.abs(noise[30] - noise[29]).max()
    assert kick == pytest.approx(0.5, abs=1e-5)
    assert np.abs(noise[-1] - noise[29]).max() < 1e-3


def test_same_params_same_bytes_and_seed_matters(tmp_path):
    import latents as script

    save_npz(tmp_path / "features.npz", features())
    p = write_params(tmp_path / "latents.json", {"seed": 5, "class_ids": ["golden retriever", 980]})
    outputs = []
    for name in ("a.npz", "b.npz"):
        assert run_cli(script.main, [str(tmp_path / "features.npz"), str(tmp_path / name), "--params", str(p)]) == 0
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    data = np.load(tmp_path / "a.npz")
    assert data["class_indices"].tolist() == [207, 980]
    other = make_walk(features(), params=params(seed=6, class_ids=["golden retriever", 980]))
    assert not np.array_equal(other["noise"], data["noise"])


def test_a_change_at_the_end_leaves_the_start_byte_identical():
    base = features(300)
    changed = {k: np.array(v) for k, v in base.items()}
    for key in ("power", "onset", "harmonic"):
        changed[key][240:] = np.random.default_rng(9).random(60)
    changed["chroma"][240:] = 1.0
    a = make_walk(base, params=params())
    b = make_walk(changed, params=params())
    margin = round(0.46 * 30)  # the centred class smoothing reaches this far back
    for key in ("noise", "classes"):
        assert a[key][: 240 - margin].tobytes() == b[key][: 240 - margin].tobytes(), key
        assert not np.array_equal(a[key][250:], b[key][250:])


def test_class_order_power_gives_the_strongest_pitch_class_the_first_class():
    feats = features(100)
    feats["chroma"][:] = 0.1
    feats["chroma"][:, 7] = 1.0  # G dominates
    walk = make_walk(feats, params=params(class_ids=[11, 22, 33], class_order="power", class_smoothing_s=0.0))
    weights = walk["classes"][-1, [11, 22, 33]]
    assert weights[0] == pytest.approx(1.0, abs=1e-3) and weights[1] < 0.2


def test_class_names_resolve():
    assert len(class_names()) == 1000
    assert resolve_class("Golden Retriever", where="t") == 207
    assert resolve_class("tabby cat", where="t") == 281
    assert resolve_class(999, where="t") == 999
    assert resolve_class("42", where="t") == 42


@pytest.mark.parametrize(
    "class_ids, message",
    [
        ([1000], "outside 0–999"),
        ([-1], "outside 0–999"),
        (["golden retreiver"], "unknown ImageNet class name"),
        (["crane"], "ambiguous"),
        ([1, 1], "listed twice"),
        (list(range(13)), "at most 12"),
    ],
)
def test_bad_classes_exit_2_and_write_nothing(tmp_path, capsys, class_ids, message):
    import latents as script

    save_npz(tmp_path / "features.npz", features(30))
    p = write_params(tmp_path / "latents.json", {"class_ids": class_ids})
    out = tmp_path / "latents.npz"
    assert run_cli(script.main, [str(tmp_path / "features.npz"), str(out), "--params", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "class_ids" in err and err.count("\n") == 0
    assert not out.exists()


@pytest.mark.parametrize("class_order", ["pitch", "power"])
def test_the_streamed_walk_is_written_to_the_same_bytes_as_the_whole_one(tmp_path, class_order):
    from dreamreel.gan.latents import walk_members

    feats, p = features(300), params(class_order=class_order)
    save_npz(tmp_path / "whole.npz", make_walk(feats, params=p))
    # 7-frame blocks: the motion state, the jitter period and the class rows cross block edges.
    save_npz(tmp_path / "streamed.npz", walk_members(feats, params=p, block_frames=7))
    assert (tmp_path / "streamed.npz").read_bytes() == (tmp_path / "whole.npz").read_bytes()


def latents_peak_rss_mb(tmp_path, n_frames: int) -> float:
    from dreamreel.benchmarks import measure, python_script

    feats = tmp_path / f"features-{n_frames}.npz"
    save_npz(feats, features(n_frames))
    p = write_params(tmp_path / "latents.json", {})
    return measure(python_script("latents") + [feats, tmp_path / f"latents-{n_frames}.npz", "--params", p]).peak_rss_mb


def test_latents_memory_does_not_grow_with_the_song(tmp_path):
    # 2 000 frames is a minute at 30 fps, 24 000 frames 13 minutes. Held whole, the classes
    # alone (N x 1000 float32, then a second copy to write them) grow by 176 MB.
    short, long = latents_peak_rss_mb(tmp_path, 2_000), latents_peak_rss_mb(tmp_path, 24_000)
    # What is held per frame is the features and class weights: about 0.3 kB a frame.
    assert long < short + 25.0, (short, long)


def test_a_streamed_walk_is_looped_to_the_same_bytes_as_the_whole_one(tmp_path):
    from dreamreel.gan.latents import close_loop, walk_members

    feats, p = features(300), params()
    save_npz(tmp_path / "whole.npz", close_loop(make_walk(feats, params=p)))
    # Blocks of 1 and 7 frames: the last two frames are found across block edges.
    for block_frames in (1, 7):
        save_npz(tmp_path / "streamed.npz", close_loop(walk_members(feats, params=p, block_frames=block_frames)))
        assert (tmp_path / "streamed.npz").read_bytes() == (tmp_path / "whole.npz").read_bytes()


def test_looped_latents_memory_does_not_grow_with_the_song(tmp_path):
    # Bent whole, 12 000 frames (under 7 minutes at 30 fps) of classes held as float64
    # would add 96 MB, the float32 copies 48 MB more.
    model = tmp_path / "model.json"
    model.write_text(json.dumps({"model": "auto", "weights": None, "loop": True}))
    peaks = []
    for n_frames in (2_000, 12_000):
        from dreamreel.benchmarks import measure, python_script

        feats = tmp_path / f"features-{n_frames}.npz"
        save_npz(feats, features(n_frames))
        p = write_params(tmp_path / "latents.json", {})
        peaks.append(measure(python_script("latents") + [feats, tmp_path / f"looped-{n_frames}.npz", "--params", p, "--model", model]).peak_rss_mb)
    print("peak RSS MB", peaks)
    assert peaks[1] < peaks[0] + 15.0, peaks


def _steps(array: np.ndarray) -> np.ndarray:
    flat = array.reshape(len(array), -1).astype(np.float64)
    return np.linalg.norm(np.diff(flat, axis=0), axis=1)


def _cut(array: np.ndarray) -> float:
    """The jump from the last frame back to the first, as the looping video shows it."""
    flat = array.reshape(len(array), -1).astype(np.float64)
    return float(np.linalg.norm(flat[0] - flat[-1]))


def test_a_closed_loop_cuts_from_the_last_frame_to_the_first_like_an_ordinary_step():
    from dreamreel.gan.latents import close_loop

    walk = make_walk(features(600), params=params())
    looped = close_loop(walk)
    for key in ("noise", "classes"):
        typical = float(np.median(_steps(walk[key])))
        assert _cut(walk[key]) > 5 * typical  # an open walk jumps at the cut ...
        assert _cut(looped[key]) <= 1.5 * max(typical, float(_steps(looped[key])[-1]))  # ... a closed one does not
        assert looped[key].dtype == walk[key].dtype and looped[key].shape == walk[key].shape
        np.testing.assert_array_equal(looped[key][0], walk[key][0])
    # The bend is spread thinly: no step of the loop is much larger than the walk's own.
    assert _steps(looped["noise"]).max() <= _steps(walk["noise"]).max() + _cut(walk["noise"]) / 600 + 1e-6
    np.testing.assert_array_equal(looped["truncation"], walk["truncation"])


def test_the_cut_of_a_closed_loop_is_the_last_step_plus_an_nth_of_the_gap():
    from dreamreel.gan.latents import close_loop

    rng = np.random.default_rng(3)
    walk = {"noise": np.cumsum(rng.normal(size=(50, 4)), axis=0)}
    looped = close_loop(walk)["noise"]
    a = walk["noise"]
    gap = a[0] - (2 * a[-1] - a[-2])
    np.testing.assert_allclose(looped[0] - looped[-1], (a[-1] - a[-2]) + gap / 50, atol=1e-12)
    # Every other step moves by the same extra gap / N.
    np.testing.assert_allclose(np.diff(looped, axis=0) - np.diff(a, axis=0), np.tile(gap / 50, (49, 1)), atol=1e-12)


def test_a_stylegan3_transform_loop_closes_the_turn_modulo_a_whole_turn_and_stays_a_rotation():
    from dreamreel.gan.latents import close_loop

    frames = 90
    angle = np.deg2rad(400.0) * np.arange(frames) / frames + 0.3 * np.sin(np.arange(frames) / 7.0)
    shift = np.stack([np.linspace(0, 0.2, frames), 0.05 * np.sin(np.arange(frames) / 5.0)], axis=1)
    matrix = np.zeros((frames, 3, 3))
    matrix[:, 0, 0], matrix[:, 0, 1], matrix[:, 1, 0], matrix[:, 1, 1] = np.cos(angle), np.sin(angle), -np.sin(angle), np.cos(angle)
    matrix[:, :2, 2], matrix[:, 2, 2] = shift, 1.0
    closed = close_loop({"transform": matrix.astype(np.float32)})["transform"].astype(np.float64)
    # Still rotations: orthonormal 2x2 parts.
    rotation = closed[:, :2, :2]
    np.testing.assert_allclose(np.einsum("nij,nkj->nik", rotation, rotation), np.tile(np.eye(2), (frames, 1, 1)), atol=1e-5)
    turned = np.unwrap(np.arctan2(closed[:, 0, 1], closed[:, 0, 0]))
    steps = np.diff(turned)
    # The cut back to the first frame turns (modulo a whole turn) by the last step plus at
    # most half a turn / N, not by the 40 degrees the open walk is off.
    cut = (turned[0] - turned[-1] + np.pi) % (2 * np.pi) - np.pi
    assert abs(cut - steps[-1]) <= np.pi / frames + 1e-5
    assert abs(cut) < np.deg2rad(10)
    # The spin goes on: the loop makes up 40 degrees over the walk, not the whole 400.
    assert turned[-1] - turned[0] > np.deg2rad(300)
    np.testing.assert_allclose(closed[0], matrix[0], atol=1e-6)
