"""Keyframe automation: curve shapes, musical timing, unwrapping, smoothing, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from dreamreel.audio.automation import parse_automation, smooth
from dreamreel.core.errors import DreamreelError
from dreamreel.score.midi_file import read_midi
from dreamreel.score.musical_time import MusicalClock
from pan_helpers import HOP, RATE, changing_midi

WHERE = "params.yaml: parts.vibraphone.pan"


@pytest.fixture()
def clock(tmp_path) -> MusicalClock:
    return MusicalClock.from_score(read_midi(changing_midi(tmp_path / "changes.mid")))


def azimuth_at(automation, seconds):
    return automation.evaluate(np.atleast_1d(np.asarray(seconds, dtype=float)), end_s=16.0)[0]


@pytest.mark.parametrize(
    "curve, middle",
    [("linear", 0.5), ("cosine", 0.5), ("sine_in", 1 - np.cos(np.pi / 4)), ("sine_out", np.sin(np.pi / 4))],
)
def test_eased_curves_have_exact_endpoints_and_shape(clock, curve, middle):
    automation = parse_automation([{"from": 1, "to": 2, "curve": curve, "azimuth_deg": [-90, 90]}], clock, where=WHERE)
    start, stop = clock.position_to_seconds(1, 1), clock.position_to_seconds(2, 1)
    values = azimuth_at(automation, [start, (start + stop) / 2, stop, stop + 1.0])
    assert values == pytest.approx([-90, -90 + 180 * middle, 90, 90])


def test_keyframe_timing_exact_across_a_tempo_change_and_a_3_4_to_6_8_change(clock):
    # From the tempo change (bar 2 beat 3, mid-bar) to beat 4 of the first 6/8 bar.
    automation = parse_automation([{"from": [2, 3], "to": [5, 4], "azimuth_deg": [0, 90]}], clock, where=WHERE)
    start = float(3 * 0.5 * 2)  # 6 quarters at 120 BPM
    stop = 6 * 0.5 + 9.5 * 0.666667  # then 9.5 quarters at 90 BPM (as stored: 666667 us)
    assert clock.position_to_seconds(5, 4) == pytest.approx(stop, abs=1e-9)
    before, at_start, at_stop = azimuth_at(automation, [start - 1e-6, start, stop])
    assert (before, at_start, at_stop) == (0.0, 0.0, pytest.approx(90.0))
    # Halfway in musical time (ticks), not in seconds: tick 2880 + (7440 - 2880) / 2.
    middle = clock.tick_to_seconds(2880 + (6720 + 3 * 240 - 2880) / 2)
    assert azimuth_at(automation, middle)[0] == pytest.approx(45.0)
    # In the rendered control the keyframe lands on its sample within one control period.
    control = automation.control(int(15 * RATE), RATE)
    moving = np.nonzero(np.abs(np.diff(control.azimuth_deg)) > 1e-9)[0]
    assert abs(moving[0] * HOP / RATE - start) <= (automation.smoothing_ms * 1e-3 / 2 + HOP / RATE)


def test_orbit_counts_beats_in_each_meter_and_never_jumps(clock):
    automation = parse_automation(
        [{"from": 3, "to": 7, "curve": "orbit", "azimuth_deg": 10, "period_beats": 3}], clock, where=WHERE,
    )
    seconds = [clock.position_to_seconds(bar, 1) for bar in (3, 4, 5, 6, 7)]
    # 3/4: one turn per bar; 6/8 (six eighth-note beats): two turns per bar.
    assert azimuth_at(automation, seconds) == pytest.approx([10, 370, 730, 1450, 2170])
    control = automation.control(int(14 * RATE), RATE)
    assert np.max(np.abs(np.diff(control.azimuth_deg))) < 5.0  # unwrapped: no 360-degree jump
    counter = parse_automation(
        [{"from": 3, "to": 4, "curve": "orbit", "azimuth_deg": 0, "period_beats": 3, "direction": "counterclockwise"}],
        clock, where=WHERE,
    )
    assert azimuth_at(counter, clock.position_to_seconds(4, 1))[0] == pytest.approx(-360)


def test_next_segment_continues_from_where_an_orbit_ended(clock):
    automation = parse_automation(
        [
            {"from": 1, "to": 2, "curve": "orbit", "azimuth_deg": 0, "period_beats": 2},  # two turns: ends at 720
            {"from": 2, "to": 3, "curve": "linear", "azimuth_deg": [0, 90]},
        ],
        clock, where=WHERE,
    )
    assert azimuth_at(automation, [clock.position_to_seconds(2, 1), clock.position_to_seconds(3, 1)]) == pytest.approx([720, 810])


def test_sawtooth_per_beat_and_by_cycles(clock):
    per_beat = parse_automation([{"from": 1, "to": 2, "curve": "sawtooth", "azimuth_deg": [-90, 90], "cycles": "per_beat"}], clock, where=WHERE)
    quarter = 0.5
    assert azimuth_at(per_beat, [0.0, quarter / 2, quarter * 0.999, quarter, 1.25 * quarter]) == pytest.approx([-90, 0, 89.82, -90, -45])
    twice = parse_automation([{"from": 1, "to": 2, "curve": "sawtooth", "azimuth_deg": [0, 60], "cycles": 2}], clock, where=WHERE)
    assert azimuth_at(twice, [0.5, 1.0, 1.5]) == pytest.approx([30, 0, 30])


def test_gaps_hold_and_distance_and_gain_follow_the_curve(clock):
    automation = parse_automation(
        {"mode": "pan", "smoothing_ms": 0, "keyframes": [
            {"from": 1, "to": 2, "curve": "cosine", "azimuth_deg": [0, 90], "distance_m": [1, 2], "gain_db": [0, -6]},
            {"from": 3, "to": "end", "curve": "hold", "azimuth_deg": 45},
        ]},
        clock, where=WHERE,
    )
    assert automation.mode == "pan"
    azimuth, distance, gain = automation.evaluate(np.array([1.0, 3.0, 5.0, 15.0]), end_s=16.0)
    assert azimuth == pytest.approx([45, 90, 45, 45])
    assert distance == pytest.approx([1.5, 2.0, 1.0, 1.0])
    assert gain == pytest.approx([-3, -6, 0, 0])


def test_smoothing_keeps_ramps_and_centres_steps():
    ramp = np.arange(100.0)
    assert smooth(ramp, 7.5)[10:-10] == pytest.approx(ramp[10:-10])
    step = np.r_[np.zeros(50), np.ones(50)]
    smoothed = smooth(step, 7.5)
    assert np.all(np.diff(smoothed) >= 0) and smoothed[0] == 0 and smoothed[-1] == 1
    assert smoothed[49] + smoothed[50] == pytest.approx(1.0)  # symmetric about the step


@pytest.mark.parametrize(
    "spec, field, message",
    [
        ([{"from": 2, "to": 3, "azimuth_deg": 0}, {"from": 1, "to": 2, "azimuth_deg": 0}], "pan[1].from", "out of order"),
        ([{"from": 1, "to": 3, "azimuth_deg": 0}, {"from": 2, "to": 4, "azimuth_deg": 0}], "pan[1].from", "overlaps"),
        ([{"from": 1, "to": 12, "azimuth_deg": 0}], "pan[0].to", "bar 12 is outside the piece"),
        ([{"from": 1, "to": 2, "azimuth_deg": 0}, {"from": 2, "to": 3, "curve": "spiral", "azimuth_deg": [0, 1]}], "pan[1].curve", "unknown curve 'spiral'"),
        ([{"from": 1, "to": 2, "curve": "linear", "azimuth_deg": ["left", 90]}], "pan[0].azimuth_deg", "must be a number"),
        ([{"from": 1, "to": 2, "curve": "hold", "azimuth_deg": "left"}], "pan[0].azimuth_deg", "must be a number"),
        ([{"from": 2, "to": 1, "azimuth_deg": 0}], "pan[0].to", "must come after from"),
        ([{"from": 1, "to": 2, "curve": "orbit", "azimuth_deg": 0}], "pan[0].period_beats", "missing"),
        ([{"from": 1, "to": 2, "curve": "sawtooth", "azimuth_deg": [0, 1], "cycles": 0}], "pan[0].cycles", "whole number"),
        ([{"from": "9:3", "to": 10, "azimuth_deg": 0}], "pan[0].from", "not a position"),
        ([{"from": 1, "to": 2, "azimuth_deg": 0, "speed": 3}], "pan[0].speed", "unknown key"),
        ({"keyframes": [], "mode": "pan"}, "pan.keyframes", "expected a list"),
        ({"keyframes": [{"from": 1, "to": 2, "azimuth_deg": 0}], "mode": "surround"}, "pan.mode", "unknown mode"),
    ],
)
def test_bad_automation_names_the_field(clock, spec, field, message):
    with pytest.raises(DreamreelError) as caught:
        parse_automation(spec, clock, where=WHERE)
    text = str(caught.value)
    assert f"params.yaml: parts.vibraphone.{field}" in text, text
    assert message in text
    assert "\n" not in text
