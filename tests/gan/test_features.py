"""Features at exact video frame instants, local normalisation, and bad audio."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import sine
from dreamreel.core.errors import run_cli
from dreamreel.core.params import validate_section
from dreamreel.core.timing import frame_count, parse_fps
from dreamreel.gan.features import analyze, peak_normalise, pool_to_frames
from dreamreel.gan.sections import FEATURES
from gan_helpers import music, write_params, write_wav

SR = 22050


def params(**overrides) -> dict:
    return validate_section("test", FEATURES, overrides)


@pytest.mark.parametrize("fps", [24, 25, 30, 60, "30000/1001"])
@pytest.mark.parametrize("seconds", [1.0, 1.013])
def test_frame_count_is_ceil_of_duration_times_fps(fps, seconds):
    samples = int(round(seconds * 48000))
    rate = parse_fps(fps, where="t")
    expected = math.ceil(Fraction(samples, 48000) * rate)
    assert frame_count(samples, 48000, rate) == expected
    result = analyze(sine(48000, 440.0, seconds, 2, 0.3), sample_rate_hz=48000, params=params(fps=fps))
    for key in ("power", "power_gradient", "onset", "percussive", "harmonic", "rms"):
        assert result[key].shape == (expected,)
    assert result["chroma"].shape == (expected, 12)
    assert result["bands"].shape == (expected, 3)
    assert Fraction(int(result["fps_num"]), int(result["fps_den"])) == rate


def test_pooling_a_ramp_gives_the_frame_instants():
    hop_s = Fraction(256, SR)
    fps = Fraction(30)
    times = np.arange(2000) * float(hop_s)
    pooled = pool_to_frames(times, hop_s=hop_s, fps=fps, n_frames=40, mode="mean")
    # Each window [(k - 1/2)/fps, (k + 1/2)/fps) is centred on k/fps, up to one fine hop.
    instants = np.arange(40) / 30.0
    assert np.all(np.abs(pooled[1:] - instants[1:]) <= float(hop_s) / 2 + 1e-12)
    peaks = pool_to_frames(times, hop_s=hop_s, fps=fps, n_frames=40, mode="max")
    assert np.all(peaks[1:] < instants[1:] + 0.5 / 30 + 1e-12)


def test_peak_normaliser_decays_with_the_release_time():
    fps = Fraction(10)
    values = np.array([1.0] + [0.5] * 30)
    out = peak_normalise(values, fps=fps, release_s=1.0)
    k = np.arange(1, 31)
    expected = 0.5 / np.maximum(0.5, np.exp(-k / 10.0))
    assert out[0] == 1.0
    np.testing.assert_allclose(out[1:], expected, rtol=1e-12)


def test_chroma_of_a_pure_a_peaks_at_a():
    result = analyze(sine(SR, 440.0, 1.5, 2, 0.3), sample_rate_hz=SR, params=params())
    assert int(np.argmax(result["chroma"][10:30].mean(axis=0))) == 9  # C=0 ... A=9


def test_onsets_land_on_the_frames_of_the_clicks():
    audio = np.zeros((1, SR * 2), dtype=np.float32)
    audio[0] += 0.01 * np.random.default_rng(0).standard_normal(SR * 2).astype(np.float32)
    for at_s in (0.5, 1.2):
        start = int(at_s * SR)
        audio[0, start : start + 400] += np.hanning(400).astype(np.float32) * np.sign(np.sin(np.arange(400)))
    result = analyze(audio, sample_rate_hz=SR, params=params(fps=30))
    onset = result["onset"]
    for at_s in (0.5, 1.2):
        frame = round(at_s * 30)
        window = onset[frame - 1 : frame + 3]
        assert window.max() > 0.8, (at_s, onset[frame - 3 : frame + 4])
    # Between the clicks only the low noise floor remains.
    assert onset[int(0.8 * 30) : int(1.1 * 30)].max() < 0.5


def test_a_preview_matches_the_same_stretch_of_the_full_song():
    full = music(SR, 6.0)
    preview = full[:, : SR * 3]
    a = analyze(full, sample_rate_hz=SR, params=params())
    b = analyze(preview, sample_rate_hz=SR, params=params())
    # Away from the preview's end (STFT, HPSS and CQT windows reach ~0.4 s ahead) they agree.
    stop = 2 * 30
    for key in ("power", "rms", "onset", "percussive", "harmonic", "bands", "chroma"):
        np.testing.assert_allclose(a[key][:stop], b[key][:stop], atol=2e-3, err_msg=key)


def test_silence_inside_a_song_reads_zero_not_nan():
    audio = music(SR, 3.0)
    audio[:, SR : 2 * SR] = 0.0
    result = analyze(audio, sample_rate_hz=SR, params=params())
    quiet = slice(40, 50)
    for key in ("power", "onset", "percussive", "harmonic", "rms", "chroma", "bands"):
        assert np.all(np.isfinite(result[key]))
        assert np.all(result[key][quiet] == 0.0), key


def test_cli_is_deterministic(tmp_path):
    song = write_wav(tmp_path / "song.wav", music(48000, 2.0), 48000)
    p = write_params(tmp_path / "features.json", {"fps": "30000/1001"})
    for name in ("a.npz", "b.npz"):
        assert run_cli(__import__("analyze").main, [str(song), str(tmp_path / name), "--params", str(p)]) == 0
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    data = np.load(tmp_path / "a.npz")
    assert int(data["n_frames"]) == math.ceil(2.0 * 30000 / 1001)


def test_cli_sums_several_stems(tmp_path, capsys):
    import analyze as script

    first, second = music(48000, 2.0, seed=1), 0.5 * music(48000, 2.0, seed=2)[:, ::-1].copy()
    stems = [write_wav(tmp_path / "a.wav", first, 48000), write_wav(tmp_path / "b.wav", second, 48000)]
    mixed = write_wav(tmp_path / "mix.wav", first + second, 48000)
    p = write_params(tmp_path / "features.json", {})
    assert run_cli(script.main, [*map(str, stems), str(tmp_path / "stems.npz"), "--params", str(p)]) == 0
    assert run_cli(script.main, [str(mixed), str(tmp_path / "mix.npz"), "--params", str(p)]) == 0
    from_stems, from_mix = np.load(tmp_path / "stems.npz"), np.load(tmp_path / "mix.npz")
    for key in ("power", "bands", "chroma", "onset", "rms"):
        np.testing.assert_allclose(from_stems[key], from_mix[key], atol=1e-4, err_msg=key)

    # Stems of different lengths cannot be summed: one line naming the odd one out.
    short = write_wav(tmp_path / "short.wav", first[:, :-480], 48000)
    capsys.readouterr()
    assert run_cli(script.main, [str(stems[0]), str(short), str(tmp_path / "bad.npz"), "--params", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "short.wav" in err and not (tmp_path / "bad.npz").exists()


@pytest.mark.parametrize(
    "audio, features, message",
    [
        (np.zeros((2, 48000), np.float32), {}, "silent"),
        (np.full((2, 48000), 1e-6, np.float32), {}, "silent"),
        (sine(48000, 440, 0.01, 2, 0.3), {"fps": 30}, "shorter than one video frame"),
        (sine(48000, 440, 1.0, 2, 0.3), {"fps": 0}, "fps"),
        (sine(48000, 440, 1.0, 2, 0.3), {"fps": -30}, "fps"),
        (sine(48000, 440, 1.0, 2, 0.3), {"fps": 100000}, "fps"),
        (sine(48000, 440, 1.0, 2, 0.3), {"fps": "thirty"}, "fps"),
        (sine(48000, 440, 1.0, 2, 0.3), {"band_edges_hz": [3000, 200]}, "band_edges_hz"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, audio, features, message):
    import analyze as script

    song = write_wav(tmp_path / "song.wav", audio, 48000)
    p = write_params(tmp_path / "features.json", features)
    out = tmp_path / "gan" / "features.npz"
    assert run_cli(script.main, [str(song), str(out), "--params", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err
    assert not out.exists()
    leftovers = list((tmp_path / "gan").iterdir()) if (tmp_path / "gan").exists() else []
    assert leftovers == []


def test_missing_audio_file_is_a_user_error(tmp_path, capsys):
    import analyze as script

    p = write_params(tmp_path / "features.json", {})
    assert run_cli(script.main, [str(tmp_path / "nope.wav"), str(tmp_path / "f.npz"), "--params", str(p)]) == 2
    assert "nope.wav" in capsys.readouterr().err


def test_blockwise_analysis_equals_whole_song_analysis(monkeypatch):
    import dreamreel.gan.features as features
    import librosa

    monkeypatch.setattr(features, "STFT_BLOCK", 40)
    mono = music(SR, 6.0)[0]
    basis = librosa.filters.mel(sr=SR, n_fft=features.N_FFT, n_mels=features.N_MELS, fmax=8000)
    masks = [np.arange(features.N_MELS) < 40, np.arange(features.N_MELS) >= 40]
    window = features._SampleWindow([mono[i : i + 5000] for i in range(0, len(mono), 5000)], len(mono))
    fps, n_frames = Fraction(30), 180
    pooled = features._frame_features(window, sample_rate_hz=SR, mel_basis=basis, band_masks=masks, fps=fps, n_frames=n_frames)

    def fine_of(values, mode="mean"):
        """A whole-song fine-grid feature pooled onto the frames, as the blockwise analysis pools."""
        return features.pool_to_frames(values, hop_s=Fraction(features.ANALYSIS_HOP, SR), fps=fps, n_frames=n_frames, mode=mode)

    magnitude = np.abs(librosa.stft(mono, n_fft=features.N_FFT, hop_length=features.ANALYSIS_HOP, center=True))
    mel = basis @ magnitude**2
    whole_h, whole_p = librosa.decompose.hpss(magnitude, kernel_size=features.HPSS_KERNEL)
    np.testing.assert_allclose(pooled["power"], fine_of(mel.mean(axis=0)), rtol=1e-5)
    np.testing.assert_allclose(pooled["bands"], fine_of(np.stack([mel[m].mean(axis=0) for m in masks])), rtol=1e-5)
    np.testing.assert_allclose(pooled["harmonic"], fine_of((whole_h**2).sum(axis=0)), rtol=1e-5)
    np.testing.assert_allclose(pooled["percussive"], fine_of((whole_p**2).sum(axis=0)), rtol=1e-5)
    padded = np.pad(mono.astype(np.float64), features.N_FFT // 2)
    expected_ms = librosa.util.frame(padded**2, frame_length=features.N_FFT, hop_length=features.ANALYSIS_HOP).mean(axis=0)
    np.testing.assert_allclose(pooled["mean_square"], fine_of(expected_ms[: mel.shape[1]]), rtol=1e-6, atol=1e-12)
    whole_chroma = librosa.feature.chroma_cqt(y=mono, sr=SR, hop_length=features.ANALYSIS_HOP, tuning=0.0)
    np.testing.assert_allclose(pooled["chroma"], fine_of(whole_chroma), atol=1e-4)
    # The onset pass rereads the mel rows from disk with the song's loudest value as the
    # floor, as librosa does with the whole spectrogram in memory.
    whole_onset = librosa.onset.onset_strength(S=librosa.power_to_db(mel, ref=1.0), sr=SR, hop_length=features.ANALYSIS_HOP)
    np.testing.assert_allclose(pooled["onset"], fine_of(whole_onset, "max"), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("fps", [Fraction(24), Fraction(30000, 1001), Fraction(60)])
@pytest.mark.parametrize("mode", ["mean", "max"])
def test_pooling_block_by_block_equals_pooling_the_whole_feature(fps, mode):
    import dreamreel.gan.features as features

    rng = np.random.default_rng(1)
    values = rng.random((3, 5003)).astype(np.float32)
    hop_s = Fraction(256, SR)
    n_frames = math.ceil(5003 * hop_s * fps)
    pooler = features._FramePooler(count=5003, hop_s=hop_s, fps=fps, n_frames=n_frames, mode=mode)
    cuts = [0, 1, 2, 700, 701, 2048, 4000, 5003]
    for a, b in zip(cuts[:-1], cuts[1:]):
        pooler.add(values[:, a:b])
    whole = pool_to_frames(values, hop_s=hop_s, fps=fps, n_frames=n_frames, mode=mode)
    assert pooler.result().tobytes() == whole.tobytes()


def test_streamed_blocks_of_any_size_give_the_same_bytes_as_the_song_in_memory():
    import dreamreel.gan.features as features

    audio = music(48000, 4.0)
    whole = analyze(audio, sample_rate_hz=48000, params=params())
    mono = audio.mean(axis=0, dtype=np.float32)
    cuts = [0, 1, 4097, 60000, 60001, 150000, mono.size]
    streamed = features.analyze_blocks(lambda: (mono[a:b] for a, b in zip(cuts[:-1], cuts[1:])), samples=mono.size, sample_rate_hz=48000, params=params())
    assert whole.keys() == streamed.keys()
    for key in whole:
        assert np.array_equal(whole[key], streamed[key]), key


def test_the_analysis_never_holds_the_song(monkeypatch, analysis_window_sizes):
    import dreamreel.gan.features as features

    monkeypatch.setattr(features, "MONO_BLOCK_SAMPLES", 4096)
    held = analysis_window_sizes
    rate = 11025  # a low analysis rate keeps the test quick
    audio = music(rate, 12.0)
    analyze(audio, sample_rate_hz=rate, params=params(analysis_rate_hz=rate))
    # A block of 64 frames plus 2 s of CQT context on each side and one read block: about
    # 6 s, never the 12 s song.
    bound = (64 + 2 * features._chroma_context_frames(rate)) * features.ANALYSIS_HOP + features.N_FFT + 4096
    assert held and max(held) <= bound < audio.shape[1]


def test_a_silent_song_is_refused_before_any_analysis(monkeypatch, tmp_path, capsys):
    import analyze as script
    import dreamreel.gan.features as features

    def no_analysis(*args, **kwargs):
        raise AssertionError("a silent song must be refused by the first pass")

    monkeypatch.setattr(features, "_frame_features", no_analysis)
    song = write_wav(tmp_path / "silence.wav", np.zeros((2, 48000 * 30), np.float32), 48000)
    p = write_params(tmp_path / "features.json", {})
    assert run_cli(script.main, [str(song), str(tmp_path / "f.npz"), "--params", str(p)]) == 2
    assert "silent" in capsys.readouterr().err


def test_an_analysis_rate_too_low_for_the_chroma_transform_is_refused_by_the_params_split():
    """Below about 8.4 kHz the chroma transform's top octave passes Nyquist and it crashes."""
    from dreamreel import schema
    from dreamreel.core.errors import DreamreelError

    with pytest.raises(DreamreelError, match="features.analysis_rate_hz: 8000 is out of range"):
        schema.validate({"piece": {"score": "a.mid"}, "features": {"analysis_rate_hz": 8000}})
    assert schema.validate({"piece": {"score": "a.mid"}, "features": {"analysis_rate_hz": 11025}}).sections["features"]["analysis_rate_hz"] == 11025
