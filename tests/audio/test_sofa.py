"""The SOFA mode: a synthetic HRIR set of pure delays and gains, rendered exactly and blended linearly."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from dreamreel.audio.sofa import read_sofa, render_sofa
from dreamreel.core.errors import DreamreelError, run_cli
from pan_helpers import RATE, control_of, white_noise, write_midi, write_sofa

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import pan8d  # noqa: E402


@pytest.fixture()
def ring(tmp_path):
    return read_sofa(write_sofa(tmp_path / "hrir.sofa"), sample_rate_hz=RATE)


def test_ring_reads_the_horizontal_plane_with_our_azimuth_sign(ring):
    assert list(ring.azimuth_deg) == [-180, -135, -90, -45, 0, 45, 90, 135]
    left_ear_direction = ring.ir[list(ring.azimuth_deg).index(-90)]  # SOFA 90 (left) is our -90
    assert np.argmax(left_ear_direction[0]) == 2 + 2  # it was the third measurement (index 2)


def direct(source, control, ring):
    """Commuted interpolation computed the slow way: full-length weights and np.convolve."""
    from dreamreel.audio.sofa import ring_weights

    count = source.shape[0]
    points = np.arange(len(control.azimuth_deg)) * control.hop_samples
    below, above, weight = ring_weights(ring, control.azimuth_deg)
    out = np.zeros((2, count))
    for direction in range(len(ring.azimuth_deg)):
        share = np.where(below == direction, 1 - weight, 0.0) + np.where(above == direction, weight, 0.0)
        per_sample = np.interp(np.arange(count), points, share)
        if not per_sample.any():
            continue
        for ear in range(2):
            out[ear] += np.convolve(source * per_sample, ring.ir[direction, ear])[:count]
    return out


@pytest.mark.parametrize("azimuth", [0.0, 90.0, -45.0, 22.5, 170.0, -170.0])
def test_static_directions_equal_direct_convolution(ring, azimuth):
    source = white_noise(0.2, seed=8)
    control = control_of(azimuth, source.shape[0])
    rendered = render_sofa(source, control, ring)
    expected = direct(source, control, ring)
    error = np.sum((rendered - expected) ** 2) / np.sum(expected**2)
    assert 10 * np.log10(error) < -100


def test_between_two_directions_is_the_linear_blend(ring):
    source = white_noise(0.2, seed=9)
    halfway = render_sofa(source, control_of(22.5, source.shape[0]), ring)
    front = render_sofa(source, control_of(0.0, source.shape[0]), ring)
    right = render_sofa(source, control_of(45.0, source.shape[0]), ring)
    assert np.allclose(halfway, 0.5 * front + 0.5 * right, atol=1e-6)


def test_moving_source_equals_direct_computation_across_blocks(ring):
    source = white_noise(0.5, seed=10)
    control = control_of(lambda t: 720.0 * t, source.shape[0])
    rendered = render_sofa(source, control, ring, block_samples=1024)
    expected = direct(source, control, ring)
    assert 10 * np.log10(np.sum((rendered - expected) ** 2) / np.sum(expected**2)) < -100


def test_not_a_sofa_file(tmp_path):
    import h5py

    text = tmp_path / "hrir.sofa"
    text.write_text("not an HDF5 file")
    with pytest.raises(DreamreelError, match="not a SOFA file"):
        read_sofa(text, sample_rate_hz=RATE)
    empty = tmp_path / "empty.sofa"
    with h5py.File(str(empty), "w") as handle:
        handle.create_dataset("Other", data=np.zeros(3))
    with pytest.raises(DreamreelError, match="no Data.IR"):
        read_sofa(empty, sample_rate_hz=RATE)


def test_cli_sofa_mode_and_a_file_that_is_not_sofa(tmp_path, capsys):
    score = write_midi(tmp_path / "score.mid", tempos=[(0, 500_000)], meters=[(0, 4, 4)], end_tick=1920)
    stem = tmp_path / "stem.wav"
    soundfile.write(str(stem), np.stack([white_noise(2.0)] * 2).T, RATE, subtype="FLOAT")
    automation = tmp_path / "pan.json"
    automation.write_text(json.dumps([{"from": 1, "to": 2, "curve": "orbit", "azimuth_deg": 0, "period_beats": 4}]))
    good, out = write_sofa(tmp_path / "good.sofa"), tmp_path / "out.wav"
    assert run_cli(pan8d.main, [str(stem), str(out), "--automation", str(automation), "--score", str(score), "--sofa", str(good)]) == 0
    assert soundfile.info(str(out)).frames == 2 * RATE
    bad = tmp_path / "bad.sofa"
    bad.write_bytes(b"\x00" * 100)
    out.unlink()
    assert run_cli(pan8d.main, [str(stem), str(out), "--automation", str(automation), "--score", str(score), "--sofa", str(bad)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "bad.sofa: not a SOFA file" in error
    assert not out.exists()
