"""The old tool's effects.json: its curve shapes reproduced at 1 ms resolution, and its bad input refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from dreamreel.audio.automation_file import load_automation_file
from dreamreel.audio.effects_json import import_effects
from dreamreel.core.errors import DreamreelError
from dreamreel.score.midi_file import read_midi
from dreamreel.score.musical_time import MusicalClock
from pan_helpers import write_midi

# 4/4 at 120 BPM: a beat is 0.5 s, a bar 2 s; 8 bars = 16 s.
OLD = {
    "vibes": [
        {"effect": "none", "m1": 1, "b1": 1, "m2": 1, "b2": 3},
        {"effect": "straight", "m1": 1, "b1": 3, "m2": 2, "b2": 1, "ear_i": -0.5, "ear_f": 0.25},
        {"effect": "whole_cosine", "m1": 2, "b1": 1, "m2": 3, "b2": 1, "ear_i": 0.25, "ear_mid": -0.1},
        {"effect": "quarter_sine", "m1": 3, "b1": 1, "m2": 3, "b2": 3, "ear_i": -0.8, "ear_f": 0.4},
        {"effect": "straight", "m1": 3, "b1": 3, "m2": 4, "b2": 1, "ear_i": 0.4},
        {"effect": "half_cosine", "m1": 4, "b1": 1, "m2": 5, "b2": 1, "ear_i": 0.4, "ear_f": -0.25},
        {"effect": "half_sine", "m1": 5, "b1": 1, "m2": 6, "b2": 1, "ear_i": -0.25, "ear_mid": 0.6},
        {"effect": "sawtooth", "m1": 6, "b1": 1, "m2": 7, "b2": 1, "ear_i": -0.9, "ear_f": 0.9, "cycles": 2},
        {"effect": "sawtooth", "m1": 7, "b1": 1, "m2": 8, "b2": 1, "ear_i": -0.5, "ear_f": 0.5, "cycles": "per_beat"},
        {"effect": "none", "m1": 8, "b1": 1, "m2": "end"},
    ],
    "marimba": [{"effect": "none", "m1": 1, "b1": 1, "m2": "end"}],
}


def old_ear(t: np.ndarray) -> np.ndarray:
    """The old tool's ear position, written from its curve definitions (u from 0 to 1 per keyframe)."""
    e = np.zeros_like(t)

    def span(a, b):
        mask = (t >= a) & (t < b)
        return mask, (t[mask] - a) / (b - a)

    m, u = span(1, 2); e[m] = -0.5 + 0.75 * u
    m, u = span(2, 4); e[m] = 0.25 + (-0.1 - 0.25) * (1 - np.cos(2 * np.pi * u)) / 2
    m, u = span(4, 5); e[m] = -0.8 + 1.2 * np.sin(np.pi * u / 2)
    m, u = span(5, 6); e[m] = 0.4
    m, u = span(6, 8); e[m] = 0.4 - 0.65 * (1 - np.cos(np.pi * u)) / 2
    m, u = span(8, 10); e[m] = -0.25 + 0.85 * np.sin(np.pi * u)
    m, u = span(10, 12); e[m] = -0.9 + 1.8 * ((2 * u) % 1.0)
    m, u = span(12, 14); e[m] = -0.5 + 1.0 * ((4 * u) % 1.0)
    return e


@pytest.fixture()
def clock(tmp_path) -> MusicalClock:
    path = write_midi(tmp_path / "steady.mid", tempos=[(0, 500_000)], meters=[(0, 4, 4)], end_tick=8 * 1920)
    return MusicalClock.from_score(read_midi(path))


def test_importer_reproduces_the_old_curve_shapes_at_1_ms(clock, tmp_path):
    path = tmp_path / "effects.json"
    path.write_text(json.dumps(OLD))
    automation = load_automation_file(path, clock, part="vibes")
    times = np.arange(19_000) / 1000.0  # to the end of the 3 s tail after bar 8
    azimuth = automation.evaluate(times, end_s=19.0)[0]
    ours, theirs = np.sin(np.radians(azimuth)), old_ear(times)
    sawtooth_wraps = ((times >= 10) & (times < 14)) & (np.abs((times * 4) % 1.0) < 1e-9)
    assert np.max(np.abs(ours - theirs)[~sawtooth_wraps]) < 1e-6
    assert np.all(azimuth >= -90) and np.all(azimuth <= 90)  # the front half: asin(ear)


def test_end_adds_a_three_second_tail(clock):
    automation = import_effects(OLD, clock, where="effects.json", part="marimba")
    assert automation.segments[-1].end_tick == pytest.approx(clock.seconds_to_tick(16.0 + 3.0))


@pytest.mark.parametrize(
    "keyframes, field, message",
    [
        ([{"effect": "spin", "m1": 1, "b1": 1, "m2": 2, "b2": 1}], "vibes[0].effect", "unknown effect 'spin'"),
        ([{"effect": "straight", "m1": 1, "b1": 1, "m2": 2, "b2": 1, "ear_i": "left"}], "vibes[0].ear_i", "must be a number"),
        ([{"effect": "straight", "m1": 1, "b1": 1, "m2": 2, "b2": 1, "ear_i": 1.5}], "vibes[0].ear_i", "outside -1 to 1"),
        ([{"effect": "none", "m1": 2, "b1": 1, "m2": 3, "b2": 1}, {"effect": "none", "m1": 1, "b1": 1, "m2": 2, "b2": 1}], "vibes[1].m1", "overlaps or comes before"),
        ([{"effect": "none", "m1": 1, "b1": 1, "m2": 12, "b2": 1}], "effects.json: vibes[0].m2", "bar 12 is outside"),
    ],
)
def test_bad_old_keyframes(clock, keyframes, field, message):
    with pytest.raises(DreamreelError) as caught:
        import_effects({"vibes": keyframes}, clock, where="effects.json")
    assert field in str(caught.value) and message in str(caught.value)


def test_several_parts_need_a_choice(clock):
    with pytest.raises(DreamreelError, match="choose one with --part"):
        import_effects(OLD, clock, where="effects.json")
