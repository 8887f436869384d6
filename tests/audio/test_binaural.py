"""The renderer: level, ITD, ILD, smoothness and mono compatibility on signals with known answers (48 kHz)."""

from __future__ import annotations

import numpy as np
import pytest
from dreamreel.audio import binaural
from pan_helpers import RATE, control_of, pink_noise, sine, white_noise

WOODWORTH_90_SAMPLES = RATE * 0.0875 / 343.0 * (np.pi / 2 + 1)  # 31.5 samples


def render(signal, azimuth, *, mode="binaural", channels=2):
    audio = np.repeat(signal[None, :], channels, axis=0)
    return binaural.render(audio, RATE, control_of(azimuth, signal.shape[0]), mode=mode)


def window_db(output, signal, window_s=0.4):
    """10 log10((L^2 + R^2) / (2 x^2)) per window, for a stereo input of x on both channels."""
    size = int(window_s * RATE)
    count = signal.shape[0] // size
    out = (output[:, : count * size] ** 2).reshape(2, count, size).sum(axis=(0, 2))
    ref = 2 * (signal[: count * size].astype(np.float64) ** 2).reshape(count, size).sum(axis=1)
    return 10 * np.log10(out / ref)


def lag_of_left_behind_right(output, max_lag=60):
    """The lag (samples) maximising sum L[n] R[n - lag]: positive when the left ear hears it later."""
    left, right = output[0].astype(np.float64), output[1].astype(np.float64)
    core = slice(max_lag, left.shape[0] - max_lag)
    scores = [np.dot(left[core], right[max_lag - lag: right.shape[0] - max_lag - lag]) for lag in range(-max_lag, max_lag + 1)]
    return int(np.argmax(scores)) - max_lag


def band_db(channel, low_hz, high_hz):
    spectrum = np.abs(np.fft.rfft(channel.astype(np.float64))) ** 2
    frequency = np.fft.rfftfreq(channel.shape[0], 1 / RATE)
    return 10 * np.log10(spectrum[(frequency >= low_hz) & (frequency < high_hz)].sum())


@pytest.mark.parametrize("mode", ["binaural", "pan"])
def test_energy_constant_during_a_720_degree_sweep(mode):
    signal = pink_noise(4.0, seed=1)
    levels = window_db(render(signal, lambda t: 720.0 * t / 4.0, mode=mode), signal)
    assert np.all(np.abs(levels) <= 0.5), levels


def test_static_directions_every_15_degrees_within_a_quarter_db():
    signal = pink_noise(0.5, seed=2)
    levels = [window_db(render(signal, float(az)), signal, window_s=0.5)[0] for az in range(-180, 180, 15)]
    assert max(levels) - min(levels) <= 0.5 and max(np.abs(levels)) <= 0.25, levels


def test_equal_power_gains_sum_to_one():
    azimuth = np.linspace(-720, 720, 10_001)
    left, right = binaural.pan_gains(azimuth)
    assert np.max(np.abs(left**2 + right**2 - 1.0)) < 1e-12
    assert binaural.pan_gains(0.0)[0] == pytest.approx(np.sqrt(0.5))
    assert binaural.pan_gains(90.0) == pytest.approx((0.0, 1.0), abs=1e-12)


def test_pan_mode_sample_gains_hold_between_control_points():
    signal = np.ones(RATE // 2, dtype=np.float32)
    output = render(signal, lambda t: 1440.0 * t, mode="pan", channels=1)
    assert np.max(np.abs(output[0].astype(np.float64) ** 2 + output[1] ** 2 - 1.0)) < 1e-5


@pytest.mark.parametrize("azimuth, expected", [(90, WOODWORTH_90_SAMPLES), (-90, -WOODWORTH_90_SAMPLES), (0, 0), (180, 0)])
def test_itd_sign_and_size(azimuth, expected):
    output = render(white_noise(0.5, seed=3), azimuth)
    assert abs(lag_of_left_behind_right(output) - expected) <= 1.0


def test_ild_head_shadow_at_90_degrees():
    signal = white_noise(1.0, seed=4)
    right = render(signal, 90)
    assert band_db(right[1], 4000, 8000) - band_db(right[0], 4000, 8000) >= 15.0
    front = render(signal, 0)
    assert abs(band_db(front[1], 4000, 8000) - band_db(front[0], 4000, 8000)) < 1.0
    for azimuth in (30, 60, 120, 150):
        a, b = render(signal, azimuth), render(signal, -azimuth)
        assert band_db(a[0], 500, 16000) == pytest.approx(band_db(b[1], 500, 16000), abs=0.1)


def test_behind_is_darker_than_in_front():
    signal = white_noise(1.0, seed=5)
    front, back = render(signal, 30), render(signal, 150)  # same lateral angle, same ITD

    def tilt(output):  # highs against lows, both ears
        return sum(band_db(c, 4000, 12000) - band_db(c, 100, 800) for c in output)

    assert tilt(back) < tilt(front) - 2.0


@pytest.mark.parametrize("mode", ["binaural", "pan"])
def test_no_clicks_when_a_200_hz_sine_rotates(mode):
    signal = sine(200.0, 2.0)
    output = render(signal, lambda t: 720.0 * t, mode=mode)  # 2 turns per second
    for channel in output.astype(np.float64):
        spectrum = np.abs(np.fft.rfft(channel * np.hanning(channel.shape[0]))) ** 2
        frequency = np.fft.rfftfreq(channel.shape[0], 1 / RATE)
        assert 10 * np.log10(spectrum[frequency > 6000].sum() / spectrum.sum()) <= -90.0
        steps = np.abs(np.diff(channel))
        assert steps.max() <= 1.05 * 2 * np.pi * 200 / RATE * np.abs(channel).max() * 1.1


def test_stepped_automation_would_click():
    # The old tool's 1 ms steps, for contrast: the same measure fails by a wide margin.
    signal = sine(200.0, 2.0)
    steps = np.floor(np.arange(signal.shape[0]) / 48) * 48 / RATE
    lateral = np.sin(np.radians(720.0 * steps))
    theta = (lateral + 1) * np.pi / 4
    left = signal * np.cos(theta)
    spectrum = np.abs(np.fft.rfft(left * np.hanning(left.shape[0]))) ** 2
    frequency = np.fft.rfftfreq(left.shape[0], 1 / RATE)
    assert 10 * np.log10(spectrum[frequency > 6000].sum() / spectrum.sum()) > -90.0


def test_mono_compatible_downmix():
    signal = pink_noise(0.5, seed=6)
    for azimuth in range(-180, 180, 30):
        output = render(signal, float(azimuth))
        mono = output.mean(axis=0)
        level = 10 * np.log10(np.sum(mono.astype(np.float64) ** 2) / np.sum(signal.astype(np.float64) ** 2))
        assert -3.0 <= level <= 0.5, (azimuth, level)


def test_distance_and_gain_scale_the_level():
    signal = pink_noise(0.5, seed=7)
    audio = np.repeat(signal[None, :], 2, axis=0)
    near = binaural.render(audio, RATE, control_of(45.0, signal.shape[0], distance_m=0.5, gain_db=-6.0))
    reference = binaural.render(audio, RATE, control_of(45.0, signal.shape[0]))
    ratio = 10 * np.log10(np.sum(near.astype(np.float64) ** 2) / np.sum(reference.astype(np.float64) ** 2))
    assert ratio == pytest.approx(20 * np.log10(2.0) - 6.0, abs=0.01)


def test_output_shape_and_silence():
    silent = np.zeros((2, 1000), dtype=np.float32)
    for mode in ("binaural", "pan"):
        output = binaural.render(silent, RATE, control_of(30.0, 1000), mode=mode)
        assert output.shape == (2, 1000) and output.dtype == np.float32 and not output.any()
