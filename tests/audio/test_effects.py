"""Per-part effects: gain, SoX tremolo and reverb, and the dry/wet chains."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import needs_sox, sine
from dreamreel.audio.effects import Gain, Reverb, Tremolo, apply_chain, part_chains

REVERB = dict(reverberance_pct=60, hf_damping_pct=50, room_scale_pct=55, stereo_depth_pct=100, pre_delay_ms=0, wet_gain_db=0)


def test_gain_is_exact():
    audio = sine(48000, 440, 0.1, 2).copy()
    np.testing.assert_allclose(Gain(-6.0)(audio, 48000), audio * 10 ** (-6 / 20), rtol=1e-6)


@needs_sox
@pytest.mark.parametrize("speed_hz", [4.0, 6.0])
def test_tremolo_modulates_at_its_speed(speed_hz):
    rate = 8000
    audio = sine(rate, 1000, 2.0, 1).copy()
    out = Tremolo(speed_hz=speed_hz, depth_pct=50)(audio, rate)
    envelope = np.abs(out[0]).reshape(-1, 8).max(axis=1)  # 1 kHz rate envelope
    spectrum = np.abs(np.fft.rfft(envelope - envelope.mean()))
    peak_hz = np.argmax(spectrum) * (rate / 8) / len(envelope)
    assert peak_hz == pytest.approx(speed_hz, abs=0.6)
    assert out.shape == audio.shape


@needs_sox
def test_reverb_is_wet_only_rings_after_the_input_and_does_not_clip_loud_input():
    rate = 48000
    audio = np.zeros((2, rate), np.float32)
    audio[:, 1000:1480] = 0.99 * np.hanning(480)  # a loud burst, then silence
    out = Reverb(**REVERB)(audio, rate)
    tail = out[:, 12000:]
    assert np.sqrt(np.mean(tail ** 2)) > 1e-4  # it rings on after the burst
    assert not np.allclose(out[0], out[1])  # wide: the channels differ
    assert np.max(np.abs(out)) < 4.0 and np.isfinite(out).all()
    # Wet only: no copy of the dry burst at its own instant.
    assert np.max(np.abs(out[:, 1000:1200])) < 0.5 * 0.99


@needs_sox
def test_chains_follow_params():
    settings = {"gain_db": -6.0, "mute": False, "tremolo": {"speed_hz": 6, "depth_pct": 33}, "reverb": REVERB, "pan": None}
    dry, wet = part_chains(settings)
    assert [type(e).__name__ for e in dry] == ["Tremolo", "Gain"]
    assert [type(e).__name__ for e in wet] == ["Tremolo", "Reverb", "Gain"]
    marker = Gain(0.0)
    _, wet = part_chains(dict(settings, tremolo=None), pan=marker)
    assert wet[0] is marker and type(wet[1]).__name__ == "Reverb"  # the 8D slot sits before the reverb
    out = apply_chain(dry, sine(48000, 440, 0.5, 2).copy(), 48000)
    assert out.dtype == np.float32 and out.shape == (2, 24000)
