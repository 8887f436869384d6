"""BS.1770 loudness, true peak and the limiter, on signals whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import sine
from dreamreel.audio import loudness

RATES = [44100, 48000, 96000]


def test_k_weighting_matches_the_bs1770_table_at_48k():
    sos = loudness.k_weighting_sos(48000)
    np.testing.assert_allclose(sos[0], [1.53512485958697, -2.69169618940638, 1.19839281085285, 1, -1.69065929318241, 0.73248077421585], atol=1e-10)
    np.testing.assert_allclose(sos[1], [1, -2, 1, 1, -1.99004745483398, 0.99007225036621], atol=1e-10)


@pytest.mark.parametrize("rate", RATES)
def test_full_scale_997hz_sine_in_one_channel_reads_minus_3_01(rate):
    tone = sine(rate, 997.0, 5.0, 1, 1.0)
    stereo = np.vstack([tone, np.zeros_like(tone)])
    assert loudness.integrated_loudness(stereo, rate) == pytest.approx(-3.01, abs=0.05)


@pytest.mark.parametrize("level_db", [-10.0, -23.0, -40.0])
def test_loudness_follows_level(level_db):
    tone = sine(48000, 997.0, 4.0, 2, 10 ** (level_db / 20))
    assert loudness.integrated_loudness(tone, 48000) == pytest.approx(level_db, abs=0.05)  # -3 dB per channel, +3 for two


def test_gating_ignores_silence():
    tone = sine(48000, 997.0, 3.0, 2, 0.1)
    padded = np.concatenate([tone, np.zeros((2, 48000 * 20), np.float32)], axis=1)
    # 27 full 400 ms blocks of tone, 3 blocks that straddle its end (3/4, 1/2, 1/4 full),
    # and no block of pure silence: the absolute gate drops those.
    expected = loudness.integrated_loudness(tone, 48000) + 10 * np.log10((27 + 0.75 + 0.5 + 0.25) / 30)
    assert loudness.integrated_loudness(padded, 48000) == pytest.approx(expected, abs=0.02)
    assert loudness.integrated_loudness(np.zeros((2, 48000), np.float32), 48000) == -np.inf


def test_true_peak_sees_the_peak_between_samples():
    # A quarter-rate sine sampled at 45 degrees: every sample is 0.707, the wave peaks at 1.0.
    n = np.arange(48000)
    wave = np.sin(np.pi / 2 * n + np.pi / 4).astype(np.float32)[None, :]
    assert np.max(np.abs(wave)) == pytest.approx(0.7071, abs=1e-3)
    assert loudness.true_peak_db(wave) == pytest.approx(0.0, abs=0.3)


def test_limiter_gain_never_lets_a_peak_through_and_has_no_steps():
    rng = np.random.default_rng(1)
    envelope = np.abs(rng.standard_normal(48000)) * 0.2
    envelope[[5000, 20000, 20100]] = [2.0, 1.5, 3.0]
    gain = loudness.limiter_gain(envelope, 0.9, sample_rate_hz=48000)
    assert np.all(envelope * gain <= 0.9 + 1e-12)
    assert np.max(np.abs(np.diff(gain))) < 0.01  # ramps over milliseconds, not a jump
    assert gain[40000] == 1.0  # far from any peak, no reduction


@pytest.mark.parametrize("target", [-14.0, -18.0, -23.0])
def test_normalize_hits_the_target_under_the_ceiling(target):
    rng = np.random.default_rng(2)
    audio = (rng.standard_normal((2, 48000 * 6)) * 0.05).astype(np.float32)
    audio[:, ::9600] = 0.95  # clicks that must be limited
    out, report = loudness.normalize(audio, 48000, loudness_lufs=target, true_peak_dbtp=-1.0)
    assert loudness.integrated_loudness(out, 48000) == pytest.approx(target, abs=0.1)
    assert loudness.true_peak_db(out) <= -1.0
    assert report.loudness_out_lufs == pytest.approx(target, abs=0.1)


def test_chunked_measurements_equal_whole_signal_ones():
    from scipy.signal import resample_poly

    rng = np.random.default_rng(4)
    audio = (rng.standard_normal((2, 48000 * 3 + 123)) * 0.2).astype(np.float32)
    np.testing.assert_allclose(loudness.block_loudness(audio, 48000, chunk_steps=3), loudness.block_loudness(audio, 48000), atol=1e-9)
    whole = np.abs(resample_poly(audio.astype(np.float64), 4, 1, axis=-1)).reshape(2, -1, 4).max(axis=(0, 2))
    np.testing.assert_allclose(loudness.oversampled_peak_envelope(audio, chunk_samples=10007), whole, atol=1e-12)


def test_meters_fed_block_by_block_equal_the_whole_song_measures():
    rng = np.random.default_rng(3)
    audio = (0.2 * rng.standard_normal((2, 48000 * 7 + 123))).astype(np.float32)
    audio[:, 100_000:100_050] = 0.95  # a peak across no block boundary in particular
    meter, peak = loudness.LoudnessMeter(48000, 2), loudness.TruePeakMeter(2, chunk_samples=30_000)
    edges = np.concatenate([[0], np.sort(rng.integers(1, audio.shape[1], 40)), [audio.shape[1]]])
    for start, stop in zip(edges[:-1], edges[1:]):
        meter.add(audio[:, start:stop])
        peak.add(audio[:, start:stop])
    assert meter.integrated_lufs() == loudness.integrated_loudness(audio, 48000)
    assert peak.peak_db() == pytest.approx(loudness.true_peak_db(audio), abs=1e-9)


def test_normalising_a_stream_equals_normalising_the_whole_song():
    rng = np.random.default_rng(6)
    audio = (0.05 * rng.standard_normal((2, 48000 * 4 + 77))).astype(np.float32)
    audio[:, ::9600] = 0.95
    whole, report = loudness.normalize(audio, 48000, loudness_lufs=-14.0, true_peak_dbtp=-1.0)

    def read_blocks():
        return (audio[:, first : first + 4097] for first in range(0, audio.shape[1], 4097))

    # 10 007-sample chunks: the limiter's reach (53 ms) and the oversampling's cross chunk edges.
    normalized, streamed = loudness.normalize_stream(read_blocks, 48000, loudness_lufs=-14.0, true_peak_dbtp=-1.0, chunk_samples=10_007)
    result = np.concatenate(list(normalized()), axis=1)
    assert result.dtype == np.float32 and result.shape == audio.shape
    # Only the moving average's running sum may round differently.
    np.testing.assert_allclose(result, whole, rtol=0, atol=1e-7)
    assert streamed.loudness_out_lufs == pytest.approx(report.loudness_out_lufs, abs=1e-9)
    assert streamed.true_peak_out_dbtp <= -1.0 and streamed.limiter_reduction_db > 1.0
