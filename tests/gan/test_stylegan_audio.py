"""Audio mapping: each band moves only its layer group, chroma picks anchors, loudness sets psi."""

from __future__ import annotations

import numpy as np
import pytest
from dreamreel.core.errors import DreamreelError
from dreamreel.core.params import validate_section
from dreamreel.gan.sections import STYLEGAN
from dreamreel.gan.stylegan.audio import follow_envelope, layer_groups, seeded_latents, smooth_zero_phase, stylegan_ws
from stylegan_fixtures import tiny_config, tiny_generator

FPS = 30.0


def _params(**overrides):
    return validate_section("params.yaml: stylegan", STYLEGAN, overrides)


def _features(frames=60, **overrides):
    features = {name: np.zeros(frames, np.float32) for name in ("band_low", "band_mid", "band_high", "onset", "rms", "percussive", "harmonic")}
    features["chroma"] = np.full((frames, 12), 0.5, np.float32)
    features.update(overrides)
    return features


@pytest.fixture(scope="module")
def generator():
    # Resolution 64: two coarse, two middle ... ws 0-3 coarse, 4-7 middle, 8-9 fine.
    return tiny_generator(tiny_config(resolution=64))


def test_layer_groups_follow_the_usual_split():
    assert layer_groups(256, coarse_max_px=8, middle_max_px=32).tolist() == [0] * 4 + [1] * 4 + [2] * 6
    assert layer_groups(1024, coarse_max_px=8, middle_max_px=32).tolist() == [0] * 4 + [1] * 4 + [2] * 10


def test_shape_dtype_and_determinism(generator):
    rng = np.random.default_rng(0)
    features = _features(frames=45, band_low=rng.random(45, np.float32), onset=rng.random(45, np.float32),
                         chroma=rng.random((45, 12), np.float32), rms=rng.random(45, np.float32))
    first = stylegan_ws(features, generator=generator, params=_params(), fps=FPS)
    second = stylegan_ws(features, generator=generator, params=_params(), fps=FPS)
    other_seed = stylegan_ws(features, generator=generator, params=_params(seed=1), fps=FPS)
    assert first.dtype == np.float32 and first.shape == (45, generator.num_ws, generator.w_dim)
    assert first.tobytes() == second.tobytes()
    assert not np.allclose(first, other_seed)


@pytest.mark.parametrize("band, group", [("band_low", 0), ("band_mid", 1), ("band_high", 2)])
def test_each_band_moves_only_its_layer_group(generator, band, group):
    frames = 40
    signal = np.zeros(frames, np.float32)
    signal[10] = 1.0
    quiet = stylegan_ws(_features(frames), generator=generator, params=_params(), fps=FPS)
    loud = stylegan_ws(_features(frames, **{band: signal}), generator=generator, params=_params(), fps=FPS)
    moved = np.abs(loud - quiet).max(axis=(0, 2))
    groups = layer_groups(generator.img_resolution, coarse_max_px=8, middle_max_px=32)
    assert (moved[groups == group] > 1e-3).all()
    assert (moved[groups != group] == 0).all()
    # Nothing before the sound; an instant attack at it; a decay after it.
    delta = np.abs(loud - quiet).max(axis=(1, 2))
    assert (delta[:10] == 0).all() and delta[10] > delta[12] > delta[20] > 0


def test_onset_pulses_every_layer(generator):
    onset = np.zeros(30, np.float32)
    onset[5] = 1.0
    quiet = stylegan_ws(_features(30), generator=generator, params=_params(), fps=FPS)
    pulsed = stylegan_ws(_features(30, onset=onset), generator=generator, params=_params(), fps=FPS)
    assert (np.abs(pulsed - quiet)[5].max(axis=1) > 1e-3).all()
    assert np.abs(pulsed - quiet)[:5].max() == 0


def test_a_single_pitch_class_rests_on_its_anchor(generator):
    chroma = np.zeros((20, 12), np.float32)
    chroma[:, 7] = 1.0
    params = _params(chroma_smoothing_s=0.0, truncation_quiet=1.0, truncation_loud=1.0)
    ws = stylegan_ws(_features(20, chroma=chroma), generator=generator, params=params, fps=FPS)
    anchors, _ = seeded_latents(generator, seed=0, class_index=None)
    np.testing.assert_allclose(ws, np.broadcast_to(anchors[7], ws.shape), rtol=1e-5, atol=1e-5)


def test_loudness_sets_truncation(generator):
    """In silence, with no band or onset, w = w_avg + psi_quiet (mean anchor - w_avg)."""
    params = _params(truncation_quiet=0.25, truncation_loud=1.0, loudness_smoothing_s=0.0)
    anchors, _ = seeded_latents(generator, seed=0, class_index=None)
    w_avg = generator.mapping.w_avg.double().numpy()
    silent = stylegan_ws(_features(10, chroma=np.zeros((10, 12), np.float32)), generator=generator, params=params, fps=FPS)
    np.testing.assert_allclose(silent[0, 0], w_avg + 0.25 * (anchors.mean(0) - w_avg), rtol=1e-5, atol=1e-5)
    loud = stylegan_ws(_features(10, chroma=np.zeros((10, 12), np.float32), rms=np.ones(10, np.float32)),
                       generator=generator, params=params, fps=FPS)
    np.testing.assert_allclose(loud[0, 0], anchors.mean(0), rtol=1e-5, atol=1e-5)


def test_smoothing_and_envelope_closed_forms():
    step = np.r_[np.zeros(50), np.ones(50)]
    smoothed = smooth_zero_phase(step, time_constant_s=0.2, fps=FPS)
    np.testing.assert_allclose(smoothed[[0, -1]], [0.0, 1.0], atol=1e-3)
    np.testing.assert_allclose(smoothed[49] + smoothed[50], 1.0, atol=1e-9)  # no lag: symmetric about the step
    impulse = np.zeros(10)
    impulse[2] = 1.0
    envelope = follow_envelope(impulse, release_s=1.0 / FPS, fps=FPS)
    np.testing.assert_allclose(envelope[2:6], np.exp(-np.arange(4)), rtol=1e-12)


def test_missing_feature_is_named(generator):
    features = _features(10)
    del features["band_mid"]
    with pytest.raises(DreamreelError, match="features.npz: band_mid: feature missing"):
        stylegan_ws(features, generator=generator, params=_params(), fps=FPS)


@pytest.mark.parametrize("name, value, problem", [
    ("chroma", np.zeros((10, 11), np.float32), "expected \\(N, 12\\)"),
    ("rms", np.full(10, 1.5, np.float32), "normalised to \\[0, 1\\]"),
    ("onset", np.zeros(9, np.float32), "9 frames"),
])
def test_bad_features(generator, name, value, problem):
    with pytest.raises(DreamreelError, match=problem):
        stylegan_ws(_features(10, **{name: value}), generator=generator, params=_params(), fps=FPS)


def test_class_index_rules():
    conditional = tiny_generator(tiny_config(c_dim=3))
    unconditional = tiny_generator(tiny_config())
    with pytest.raises(DreamreelError, match="stylegan.class_index: this model is conditional"):
        stylegan_ws(_features(5), generator=conditional, params=_params(), fps=FPS)
    with pytest.raises(DreamreelError, match="stylegan.class_index: this model is unconditional"):
        stylegan_ws(_features(5), generator=unconditional, params=_params(class_index=1), fps=FPS)
    with pytest.raises(DreamreelError, match="class 3 does not exist"):
        stylegan_ws(_features(5), generator=conditional, params=_params(class_index=3), fps=FPS)
    assert stylegan_ws(_features(5), generator=conditional, params=_params(class_index=2), fps=FPS).shape == (5, 6, 8)


def test_group_bounds_are_checked(generator):
    with pytest.raises(DreamreelError, match="stylegan.middle_max_px"):
        stylegan_ws(_features(5), generator=generator, params=_params(coarse_max_px=32, middle_max_px=16), fps=FPS)


def test_schema_defaults_and_validation():
    defaults = _params()
    assert defaults["noise_mode"] == "const" and defaults["class_index"] is None
    with pytest.raises(DreamreelError, match="stylegan.noise_mode"):
        _params(noise_mode="random")


def test_the_ws_are_the_same_whatever_the_block_size(generator):
    from dreamreel.gan.stylegan.audio import stylegan_ws_member

    rng = np.random.default_rng(3)
    features = _features(frames=200, band_low=rng.random(200, np.float32), band_high=rng.random(200, np.float32),
                         onset=rng.random(200, np.float32), rms=rng.random(200, np.float32), chroma=rng.random((200, 12)).astype(np.float32))
    scenes = np.zeros((200, 2))
    scenes[:, 0] = np.clip(np.arange(200) / 100.0, 0, 1)
    scenes[:, 1] = 1.0 - scenes[:, 0]
    for shared in ({}, {"scenes": scenes}):
        # 7-frame blocks: the smoothed chroma, envelopes and psi are read across block edges.
        one = stylegan_ws_member(features, generator=generator, params=_params(pulse_gain=0.5), fps=FPS, block_frames=1000, **shared)
        small = stylegan_ws_member(features, generator=generator, params=_params(pulse_gain=0.5), fps=FPS, block_frames=7, **shared)
        assert [len(block) for block in small.blocks()][:2] == [7, 7]
        assert small.collect().tobytes() == one.collect().tobytes()
