"""The effects on synthetic frames whose right answer is known: geometry, colour, keying, identity."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from dreamreel.video.effects import apply_effects
from dreamreel.video.keying import follow, key_effects, shape
from dreamreel.video.sections import EFFECTS_KNOWN, effect_entries

SIZE = 64


def entries(*specs) -> list[dict]:
    """Checked entries from (effect, amount) pairs or full dicts, keyed to onset unless given."""
    raw = [spec if isinstance(spec, dict) else {"effect": spec[0], "by": "onset", "amount": spec[1]} for spec in specs]
    return effect_entries(raw)


def run(frames: np.ndarray, chain: list[dict], values) -> np.ndarray:
    table = np.broadcast_to(np.asarray(values, dtype=np.float64).reshape(len(chain), -1), (len(chain), len(frames)))
    return apply_effects(frames, table, chain, first_frame=0)


def pattern(size: int = SIZE) -> np.ndarray:
    """One frame (1, size, size, 3) with no symmetry: red ramps right, green ramps down, a blue block upper left."""
    ramp = np.linspace(0, 255, size)
    frame = np.zeros((size, size, 3), np.uint8)
    frame[..., 0] = np.round(ramp)[None, :]
    frame[..., 1] = np.round(ramp)[:, None]
    frame[size // 8 : size // 4, size // 8 : size // 4, 2] = 255
    return frame[None]


def disc(radius_px: float, size: int = SIZE) -> np.ndarray:
    """A white disc of ``radius_px`` centred on a black frame, (1, size, size, 3)."""
    centre = (np.arange(size) + 0.5 - size / 2.0)
    inside = np.hypot(centre[None, :], centre[:, None]) <= radius_px
    return np.repeat((inside * 255).astype(np.uint8)[None, ..., None], 3, axis=-1)


def radius_of(frame: np.ndarray) -> float:
    """The radius of a centred bright disc, from its area."""
    return float(np.sqrt((frame[..., 0] > 127).sum() / np.pi))


# ---- Amount 0 and frames without effects ---------------------------------------------------

@pytest.mark.parametrize("effect", sorted(EFFECTS_KNOWN))
def test_an_amount_of_zero_is_the_identity_bit_for_bit(effect):
    frames = np.concatenate([pattern(), pattern()[:, ::-1]])
    spec = EFFECTS_KNOWN[effect]
    chain = entries((effect, spec.maximum or spec.minimum))
    assert np.array_equal(run(frames, chain, [0.0, 0.0]), frames)


def test_a_frame_whose_effects_are_all_off_keeps_its_bytes_beside_one_that_changes():
    frames = np.concatenate([pattern(), pattern()])
    chain = entries(("swirl", 1.0), ("hue", 0.3), ("blur", 0.02))
    values = np.array([[0.0, 1.0], [0.0, 0.3], [0.0, 0.02]])
    out = apply_effects(frames, values, chain, first_frame=0)
    assert np.array_equal(out[0], frames[0])
    assert np.abs(out[1].astype(int) - frames[1]).mean() > 10


# ---- Geometry -------------------------------------------------------------------------------

def test_a_quarter_turn_is_a_clockwise_rotation_by_90_degrees():
    frame = pattern()
    out = run(frame, entries(("rotate", 0.25)), [0.25])
    # Clockwise on screen (y down): the left column becomes the top row.
    expected = np.rot90(frame[0], k=-1)
    assert np.abs(out[0].astype(int) - expected).max() <= 1


@pytest.mark.parametrize("turns", [1.0, -2.0])
def test_whole_turns_give_the_picture_back(turns):
    frame = pattern()
    assert np.abs(run(frame, entries(("rotate", turns)), [turns])[0].astype(int) - frame[0]).max() <= 1


@pytest.mark.parametrize("amount,factor", [(1.0, 2.0), (0.5, 1.5), (-0.5, 0.5)])
def test_zoom_scales_by_one_plus_the_amount(amount, factor):
    radius = 8.0
    out = run(disc(radius), entries(("zoom", amount)), [amount])[0]
    # Zoomed out, the picture is mirrored around itself: measure the copy in the middle.
    keep = int(SIZE / 2 * min(factor, 1.0))
    middle = out[SIZE // 2 - keep : SIZE // 2 + keep, SIZE // 2 - keep : SIZE // 2 + keep]
    assert radius_of(middle) == pytest.approx(radius * factor, abs=0.75)


def test_swirl_keeps_its_centre_and_everything_outside_the_inscribed_circle():
    frame = pattern()
    out = run(frame, entries(("swirl", 1.0)), [1.0])[0].astype(int)
    centre = np.arange(SIZE) + 0.5 - SIZE / 2.0
    radius = np.hypot(centre[None, :], centre[:, None]) / (SIZE / 2.0)
    assert np.abs(out[radius >= 1.0] - frame[0][radius >= 1.0]).max() <= 1
    middle = SIZE // 2 - 1, SIZE // 2 + 1
    assert np.abs(out[middle[0] : middle[1], middle[0] : middle[1]] - frame[0][middle[0] : middle[1], middle[0] : middle[1]]).max() <= 2
    ring = (radius > 0.3) & (radius < 0.6)
    assert np.abs(out[ring] - frame[0][ring]).mean() > 20


def test_translate_moves_by_a_fraction_of_the_width_towards_its_angle():
    frame = pattern()
    right = run(frame, entries({"effect": "translate", "by": "onset", "amount": 0.25}), [0.25])[0]
    assert np.array_equal(right[:, 16:], frame[0][:, :-16])
    down = run(frame, entries({"effect": "translate", "by": "onset", "amount": 0.25, "angle_deg": 90.0}), [0.25])[0]
    assert np.array_equal(down[16:], frame[0][:-16])


def test_shake_moves_the_whole_frame_rigidly_and_differently_each_frame():
    frames = np.concatenate([pattern()] * 3)
    out = run(frames, entries(("shake", 0.1)), [0.1])
    moved = [np.abs(out[k].astype(int) - frames[k]).mean() for k in range(3)]
    assert all(m > 5 for m in moved)
    assert not np.array_equal(out[0], out[1]) and not np.array_equal(out[1], out[2])


def test_chromatic_split_grows_red_shrinks_blue_and_keeps_green():
    frame = disc(10.0)
    out = run(frame, entries(("chromatic", 0.2)), [0.2])[0]
    assert np.abs(out[..., 1].astype(int) - frame[0, ..., 1]).max() <= 1
    assert radius_of(out[None, ..., [0, 0, 0]]) == pytest.approx(12.0, abs=0.75)
    assert radius_of(out[None, ..., [2, 2, 2]]) == pytest.approx(8.0, abs=0.75)


def test_geometry_composes_in_list_order_with_one_resampling():
    frame = pattern()
    chain = entries(("rotate", 0.25), ("rotate", 0.25))
    once = run(frame, chain, [[0.25], [0.25]])[0]
    assert np.abs(once.astype(int) - np.rot90(frame[0], k=2)).max() <= 1


# ---- Colour and filters ------------------------------------------------------------------

def test_flash_goes_to_white_and_to_black():
    frame = pattern()
    assert (run(frame, entries(("flash", 1.0)), [1.0]) == 255).all()
    assert (run(frame, entries(("flash", -1.0)), [-1.0]) == 0).all()
    half = run(frame, entries(("flash", 0.5)), [0.5])[0].astype(int)
    assert np.abs(half - (frame[0] + (255 - frame[0].astype(int)) / 2)).max() <= 1


def test_contrast_of_minus_one_is_flat_grey_and_saturation_of_minus_one_is_grey():
    frame = pattern()
    assert (run(frame, entries(("contrast", -1.0)), [-1.0]) == 128).all()
    grey = run(frame, entries(("saturation", -1.0)), [-1.0])[0].astype(int)
    assert np.abs(grey[..., 0] - grey[..., 1]).max() <= 1 and np.abs(grey[..., 1] - grey[..., 2]).max() <= 1


def test_hue_turns_keep_greys_and_a_whole_turn_is_the_identity():
    frame = pattern()
    assert np.abs(run(frame, entries(("hue", 1.0)), [1.0]).astype(int) - frame).max() <= 1
    greys = np.repeat(np.arange(0, 256, 4, dtype=np.uint8)[None, None, :, None], 3, axis=-1)
    assert np.abs(run(greys, entries(("hue", 0.3)), [0.3]).astype(int) - greys).max() <= 1
    # A third of a turn cycles red to green to blue.
    red = np.zeros((1, 4, 4, 3), np.uint8)
    red[..., 0] = 255
    assert np.abs(run(red, entries(("hue", 1 / 3)), [1 / 3])[0, 0, 0].astype(int) - [0, 255, 0]).max() <= 1


def test_blur_and_sharpen_keep_a_flat_picture_and_blur_softens_an_edge():
    flat = np.full((1, 32, 32, 3), 90, np.uint8)
    assert np.array_equal(run(flat, entries(("blur", 0.05)), [0.05]), flat)
    assert np.array_equal(run(flat, entries(("sharpen", 4.0)), [4.0]), flat)
    edge = np.zeros((1, 32, 32, 3), np.uint8)
    edge[:, :, 16:] = 255
    soft = run(edge, entries(("blur", 0.05)), [0.05])[0, 0, :, 0].astype(int)
    assert 0 < soft[15] < 128 < soft[16] < 255
    sharp = run(np.clip(edge.astype(int) * 0.5 + 64, 0, 255).astype(np.uint8), entries(("sharpen", 4.0)), [4.0])[0, 0, :, 0].astype(int)
    assert sharp[15] < 64 and sharp[16] > 191


# ---- Keying ----------------------------------------------------------------------------------

def features(onset) -> dict:
    onset = np.asarray(onset, np.float32)
    return {"onset": onset, "bands": np.zeros((len(onset), 3), np.float32), "fps_num": np.int64(10), "fps_den": np.int64(1)}


def test_an_onset_on_one_frame_changes_that_frame_and_no_other():
    onset = np.zeros(12)
    onset[7] = 1.0
    chain = entries(("swirl", 1.0))
    table = key_effects(chain, features=features(onset), fps=Fraction(10), n_frames=12)
    frames = np.concatenate([pattern()] * 12)
    out = apply_effects(frames, table, chain, first_frame=0)
    changed = [k for k in range(12) if not np.array_equal(out[k], frames[k])]
    assert changed == [7]


def test_beats_and_bars_land_on_the_frame_of_their_instant():
    chain = effect_entries([{"effect": "flash", "by": "beat", "amount": 1.0}, {"effect": "rotate", "by": "bar_phase", "amount": 1.0}])
    beats = np.array([0.0, 0.5, 1.04, 1.56])
    bars = np.array([0.0, 1.04, 2.08])
    table = key_effects(chain, features=features(np.zeros(20)), fps=Fraction(10), n_frames=20, beat_times_s=beats, bar_times_s=bars)
    assert list(np.flatnonzero(table[0])) == [0, 5, 10, 16]
    assert table[1][0] == 0.0 and table[1][11] == pytest.approx(0.06 / 1.04)
    assert table[1][10] == pytest.approx(1.0 / 1.04)


def test_release_decays_by_one_over_e_in_release_s_and_attack_rises_likewise():
    fps = Fraction(100)
    step = np.r_[np.ones(1), np.zeros(100)]
    out = follow(step, fps=fps, attack_s=0.0, release_s=0.5)
    assert out[0] == 1.0 and out[50] == pytest.approx(np.exp(-1.0), rel=1e-9)
    rise = follow(np.ones(101), fps=fps, attack_s=0.2, release_s=0.0)
    assert rise[19] == pytest.approx(1 - np.exp(-1.0), rel=1e-9)
    assert np.array_equal(follow(step, fps=fps, attack_s=0.0, release_s=0.0), step)


@pytest.mark.parametrize("curve", ["linear", "ease_in", "ease_out", "smooth", "step"])
def test_every_curve_keeps_zero_and_one(curve):
    assert list(shape(np.array([0.0, 1.0]), curve)) == [0.0, 1.0]
