"""Each stem analysed on its own (part_* in features.npz), beside the unchanged summed features."""

from __future__ import annotations

import numpy as np
from conftest import sine
from dreamreel.core.errors import run_cli
from dreamreel.core.npz import open_npz
from dreamreel.core.params import validate_section
from dreamreel.gan import features
from dreamreel.gan.sections import FEATURES
from gan_helpers import music, write_params, write_wav



def params(**overrides) -> dict:
    return validate_section("test", FEATURES, overrides)


def test_one_part_alone_has_the_bands_onsets_and_rms_of_the_whole_analysis(monkeypatch):
    rate = 11025  # a low analysis rate keeps the test quick
    mono = music(rate, 2.0)[0]
    whole = features.analyze(mono[None], sample_rate_hz=rate, params=params(analysis_rate_hz=rate))
    monkeypatch.setattr(features, "STFT_BLOCK", 30)  # and block by block
    part = features.analyze_part_blocks(lambda: iter([mono[:7000], mono[7000:]]), samples=mono.size, sample_rate_hz=rate,
                                        params=params(analysis_rate_hz=rate))
    for key in features.PART_FEATURE_KEYS:
        np.testing.assert_allclose(part[key], whole[key], rtol=1e-4, atol=1e-5, err_msg=key)


def test_the_cli_adds_part_features_and_keeps_the_summed_ones_byte_identical(tmp_path):
    import analyze as script

    low = sine(48000, 110.0, 2.0, 2, 0.4).copy()
    high = sine(48000, 4000.0, 2.0, 2, 0.4).copy()
    high[:, :48000] = 0.0  # the second part is silent for its first second
    stems = [write_wav(tmp_path / "bass.wav", low, 48000), write_wav(tmp_path / "flute.wav", high, 48000)]
    p = write_params(tmp_path / "features.json", {"fps": 10})
    assert run_cli(script.main, [*map(str, stems), str(tmp_path / "sum.npz"), "--params", str(p)]) == 0
    assert run_cli(script.main, [*map(str, stems), str(tmp_path / "parts.npz"), "--params", str(p), "--part-names", "bass", "flute"]) == 0
    summed, parts = open_npz(tmp_path / "sum.npz"), open_npz(tmp_path / "parts.npz")
    assert set(parts) - set(summed) == {"part_names", "part_bands", "part_onset", "part_rms"}
    for key in summed:
        assert summed[key].tobytes() == parts[key].tobytes(), key
    assert parts["part_names"].tolist() == ["bass", "flute"]
    assert parts["part_bands"].shape == (20, 2, 3) and parts["part_rms"].shape == (20, 2) and parts["part_onset"].shape == (20, 2)
    bands = parts["part_bands"]
    assert bands[5, 0, 0] > 0.9 and bands[5, 0, 2] < 0.1  # the bass is low
    assert bands[15, 1, 2] > 0.9 and bands[15, 1, 0] < 0.1  # the flute is high
    assert np.all(parts["part_rms"][:9, 1] == 0) and np.all(parts["part_rms"][12:, 1] > 0.5)  # silent, then sounding


def test_part_names_must_match_the_files(tmp_path, capsys):
    import analyze as script

    stem = write_wav(tmp_path / "a.wav", sine(48000, 440.0, 1.0, 2, 0.3), 48000)
    p = write_params(tmp_path / "features.json", {})
    assert run_cli(script.main, [str(stem), str(tmp_path / "f.npz"), "--params", str(p), "--part-names", "a", "b"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "dreamreel: error: analyze.py --part-names: 2 names for 1 audio files (a b) — give one different name per audio file, in the same order"
    assert not (tmp_path / "f.npz").exists()


def test_a_part_is_analysed_without_holding_the_song(analysis_window_sizes):
    held = analysis_window_sizes
    rate = 11025
    mono = music(rate, 12.0)[0]
    features.analyze_part_blocks(lambda: (mono[i : i + 4096] for i in range(0, mono.size, 4096)), samples=mono.size,
                                 sample_rate_hz=rate, params=params(analysis_rate_hz=rate))
    # One block of 64 frames, its STFT window and one read block: well under a second of the 12 s.
    bound = 64 * features.ANALYSIS_HOP + features.N_FFT + 4096
    assert held and max(held) <= bound < mono.size
