"""Musical time: (bar, beat, fraction) -> seconds across tempo and meter changes, pickups, beat grids."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from dreamreel.core.errors import DreamreelError
from dreamreel.score.midi_file import read_midi
from dreamreel.score.model import Score
from dreamreel.score.musical_time import MusicalClock
from pan_helpers import changing_midi, clicks

ROOT = Path(__file__).resolve().parents[2]
Q120 = Fraction(500_000, 10**6)  # seconds per quarter at 120 BPM
Q90 = Fraction(666_667, 10**6)  # 90 BPM as the MIDI file stores it (whole microseconds)


@pytest.fixture(scope="module")
def clock(tmp_path_factory) -> MusicalClock:
    path = changing_midi(tmp_path_factory.mktemp("midi") / "changes.mid")
    return MusicalClock.from_score(read_midi(path))


@pytest.mark.parametrize(
    "position, quarters_at_120, quarters_at_90",
    [
        ((1, 1), 0, 0),
        ((2, 1), 4, 0),
        ((2, 3), 6, 0),  # the tempo change, mid-bar
        ((2, 3.5), 6, Fraction(1, 2)),
        ((3, 1), 6, 2),  # 3/4 starts
        ((3, 2, 0.25), 6, Fraction(13, 4)),
        ((4, 1), 6, 5),
        ((5, 1), 6, 8),  # 6/8 starts: beats are eighths
        ((5, 4), 6, Fraction(19, 2)),
        ((6, 1), 6, 11),
        ((7, 6.5), 6, 14 + Fraction(11, 4)),
        ((8, 1), 6, 17),  # the final barline
    ],
)
def test_positions_land_on_hand_computed_seconds(clock, position, quarters_at_120, quarters_at_90):
    expected = quarters_at_120 * Q120 + quarters_at_90 * Q90
    assert clock.position_to_seconds(*position) == pytest.approx(float(expected), abs=1e-9)


def test_beats_count_in_each_bars_own_unit_across_meter_changes(clock):
    ticks = [clock.position_to_tick(bar, 1) for bar in (1, 3, 5, 6, 7)]
    assert [clock.tick_to_beats(float(t)) for t in ticks] == [0, 8, 14, 20, 26]  # 2x4, 2x3, then 6 per 6/8 bar
    assert clock.beats_in_bar(5) == 6 and clock.beat_ticks(5) == 240


def test_beat_seconds_and_bar_seconds_agree_with_positions(clock):
    bars = clock.bar_seconds()
    assert len(bars) == 8
    assert bars[4] == pytest.approx(clock.position_to_seconds(5, 1))
    beats = clock.beat_seconds()
    assert len(beats) == 4 + 4 + 3 + 3 + 6 + 6 + 6
    assert np.all(np.diff(beats) > 0)


def test_tick_to_position_inverts_position_to_tick(clock):
    for bar, beat in ((1, 1.0), (2, 3.5), (5, 4.0), (7, 6.25)):
        assert clock.tick_to_position(float(clock.position_to_tick(bar, beat))) == (bar, pytest.approx(beat))


def test_pickup_is_bar_zero_counted_from_the_end():
    # The demo: 4/4 with a one-beat pickup at q=96, 3/4 at q=126 from bar 9, 4/4 at q=84
    # from bar 19, q=72 from bar 21 beat 3.
    from dreamreel.score.musicxml import read_musicxml

    score = read_musicxml(ROOT / "scores" / "demo.musicxml")
    clock = MusicalClock.from_score(score)
    assert clock.first_bar == 0 and clock.first_beat(0) == 4
    q96, q126, q84 = (Fraction(t.us_per_quarter, 10**6) for t in score.tempos[:3])
    assert clock.position_to_seconds(0, 4) == 0.0
    assert clock.position_to_seconds(1, 1) == pytest.approx(float(q96))
    assert clock.position_to_seconds(9, 1) == pytest.approx(float(q96 * 33))
    assert clock.position_to_seconds(19, 1) == pytest.approx(float(q96 * 33 + q126 * 30))
    assert clock.position_to_seconds(21, 3) == pytest.approx(float(q96 * 33 + q126 * 30 + q84 * 10))
    assert clock.beat_seconds()[0] == 0.0 and clock.beat_seconds()[1] == pytest.approx(float(q96))
    with pytest.raises(DreamreelError, match="pickup holding beats 4 to 4"):
        clock.position_to_tick(0, 1)


def test_positions_outside_the_piece_are_user_errors(clock):
    with pytest.raises(DreamreelError, match="bar 9 is outside the piece"):
        clock.position_to_tick(9, 1)
    with pytest.raises(DreamreelError, match="beat 5 is outside bar 3"):
        clock.position_to_tick(3, 5)
    assert clock.position_to_tick(8, 1) == clock.end_tick


def test_beat_grid_clock_from_tracked_beats():
    beats = np.array([0.3, 0.8, 1.3, 1.8, 2.2, 2.6, 3.0, 3.4])
    clock = MusicalClock.from_beat_times(beats, beats_per_bar=3, duration_s=3.6)
    assert clock.first_bar == 0  # the lead-in before the first beat
    assert clock.position_to_seconds(1, 1) == pytest.approx(0.3)
    assert clock.position_to_seconds(1, 2.5) == pytest.approx(1.05)
    assert clock.position_to_seconds(2, 1) == pytest.approx(1.8)
    assert clock.position_to_seconds(3, 2) == pytest.approx(3.4)
    assert clock.last_bar == 3 and clock.duration_s >= 3.6


@pytest.mark.slow  # librosa import and its numba compilation take ~10 s
def test_beat_tracking_finds_a_click_track_tempo():
    from dreamreel.score.musical_time import song_clock

    audio = clicks(8.0, every_s=0.5)[None, :]
    clock = song_clock(audio, 48_000, beats_per_bar=4)
    bars = np.diff(clock.bar_seconds()[1:-1])
    assert np.allclose(bars, 2.0, atol=0.05)  # 4 beats of 0.5 s


def test_score_without_tempo_or_meter_defaults():
    score = Score(480, [], [], [], [0, 1920, 3840])
    from dreamreel.score.model import MeterChange, TempoChange

    score.tempos = [TempoChange(0, 500_000)]
    score.meters = [MeterChange(0, 4, 4)]
    clock = MusicalClock.from_score(score)
    assert clock.position_to_seconds(2, 3) == pytest.approx(3.0)


def _music_like(seconds: float, rate: int, *, seed: int = 0) -> np.ndarray:
    """Stereo (2, n): a chord changing every 4 s, a kick every 0.48 s (125 BPM) and noisy hats, float32."""
    t = np.arange(int(seconds * rate)) / rate
    root = np.array([220.0, 196.0, 174.61, 246.94])[(t // 4).astype(int) % 4]
    chord = sum(0.1 * np.sin(2 * np.pi * root * ratio * t) for ratio in (1.0, 1.26, 1.5))
    kick = 0.5 * np.exp(-(t % 0.48) * 30) * np.sin(2 * np.pi * 60 * (t % 0.48))
    hats = 0.05 * np.random.default_rng(seed).standard_normal(len(t)) * np.exp(-(t % 0.24) * 60)
    mono = chord + kick + hats
    return np.stack([mono, 0.8 * mono]).astype(np.float32)


@pytest.mark.slow  # librosa's tracker compiles with numba on first use
def test_streamed_beat_tracking_matches_librosa_on_the_whole_song(tmp_path):
    import librosa
    import soundfile
    from dreamreel.core.audio_io import read_audio, summed_mono_blocks
    from dreamreel.score.musical_time import onset_envelope, track_beats, track_beats_streamed

    rate = 22_050
    soundfile.write(tmp_path / "song.wav", _music_like(20.3, rate).T, rate, subtype="PCM_16")
    # Odd read blocks and 37-frame spectrogram blocks: frames straddle both kinds of edge.
    samples, rate, read_blocks = summed_mono_blocks([tmp_path / "song.wav"], block_frames=4097)
    audio, _ = read_audio(tmp_path / "song.wav")
    whole = librosa.onset.onset_strength(y=audio.mean(axis=0), sr=rate, aggregate=np.median)
    streamed = onset_envelope(read_blocks, rate, samples, block_frames=37)
    assert streamed.shape == whole.shape
    # Only the float32 rounding of the mel projection differs (the envelope's values are 0-30).
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-4)
    tracked = track_beats_streamed(read_blocks, rate, samples)
    np.testing.assert_array_equal(tracked, track_beats(audio, rate))
    assert np.allclose(np.diff(tracked[2:-2]), 0.48, atol=0.03)


def _beat_tracking_peak_rss_mb(path: Path) -> float:
    import os
    import sys

    from dreamreel.benchmarks import measure

    scripts = Path(__file__).resolve().parents[2] / "scripts"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(scripts), *filter(None, [os.environ.get("PYTHONPATH")])]))
    code = ("import sys; from dreamreel.core.audio_io import summed_mono_blocks; from dreamreel.score.musical_time import track_beats_streamed; "
            "samples, rate, read_blocks = summed_mono_blocks([sys.argv[1]]); assert len(track_beats_streamed(read_blocks, rate, samples)) > 10")
    return measure([sys.executable, "-c", code, str(path)], env=env).peak_rss_mb


@pytest.mark.slow  # two children import librosa
def test_beat_tracking_a_song_keeps_memory_flat(tmp_path):
    import soundfile

    peaks = []
    # 8 kHz mono keeps the files small; 1 and 8 minutes. Held whole, the 8-minute song,
    # its spectrogram and its tempogram take 100 MB more than the 1-minute one.
    for minutes in (1, 8):
        path = tmp_path / f"song-{minutes}.wav"
        soundfile.write(path, _music_like(minutes * 60.0, 8_000)[0], 8_000, subtype="PCM_16")
        peaks.append(_beat_tracking_peak_rss_mb(path))
    print("peak RSS MB", peaks)
    assert peaks[1] < peaks[0] + 15.0, peaks
