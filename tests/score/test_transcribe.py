"""Transcription with basic-pitch's model: notes of a synthetic song at their times and pitches."""

from __future__ import annotations

from importlib import metadata

import numpy as np
import pytest

from dreamreel.core.errors import DreamreelError
from dreamreel.score import transcribe
from dreamreel.score.musical_time import TempoMap
from dreamreel.score.transcribe import HOP_SAMPLES, KEPT_FRAMES, MODEL_RATE_HZ, N_KEYS, NoteTracker, transcribe_blocks


def _installed() -> str:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "onnxruntime is not installed (make setup)"
    try:
        metadata.distribution(transcribe.MODEL_PACKAGE)
    except metadata.PackageNotFoundError:
        return "basic-pitch's model is not installed (make setup: pip install --no-deps basic-pitch==0.4.0)"
    return ""


needs_model = pytest.mark.skipif(bool(_installed()), reason=_installed() or "installed")

PARAMS = {"onset_threshold": 0.5, "frame_threshold": 0.3, "min_note_s": 0.1}
FRAME_S = HOP_SAMPLES / MODEL_RATE_HZ  # 11.6 ms
RATE_HZ = 44100
# (start s, end s, MIDI pitch): a melody, a chord, a low note, and a note on the boundary
# between the first two windows' kept frames (frame 142, 1.649 s).
NOTES = [(0.5, 1.0, 69), (KEPT_FRAMES * FRAME_S, 2.3, 60), (2.6, 3.2, 64), (2.6, 3.2, 67), (4.0, 4.8, 48),
         (6.0, 6.5, 76), (9.5, 10.4, 57), (13.2, 14.0, 62)]
SONG_S = 15.0


def synthetic_song(notes=NOTES, seconds=SONG_S, rate_hz=RATE_HZ) -> np.ndarray:
    """Mono float32: each note a tone with a weak octave, a 5 ms attack and a decay."""
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    song = np.zeros_like(t)
    for start, end, pitch in notes:
        inside = (t >= start) & (t < end)
        local = t[inside] - start
        envelope = np.minimum(1.0, local / 0.005) * np.exp(-local * 2.0) * np.minimum(1.0, (end - t[inside]) / 0.01)
        frequency = 440.0 * 2 ** ((pitch - 69) / 12)
        song[inside] += 0.2 * envelope * (np.sin(2 * np.pi * frequency * local) + 0.2 * np.sin(4 * np.pi * frequency * local))
    return song.astype(np.float32)


def blocks(audio: np.ndarray, size: int):
    return (audio[i:i + size] for i in range(0, len(audio), size))


def found_notes(score):
    tempo = TempoMap.from_score(score)
    return [(tempo.tick_to_seconds(n.start_tick), tempo.tick_to_seconds(n.end_tick), n.pitch, n.velocity) for n in score.parts[0].notes]


@pytest.fixture(scope="module")
def transcribed():
    return transcribe_blocks(blocks(synthetic_song(), 65536), RATE_HZ, params=PARAMS, where="params.yaml: song.transcribe")


@needs_model
def test_every_note_is_found_at_its_pitch_and_within_a_frame_and_a_half_of_its_start(transcribed):
    found = found_notes(transcribed)
    assert [part.name for part in transcribed.parts] == ["transcribed"]
    assert sorted(pitch for _, _, pitch, _ in found) == sorted(pitch for _, _, pitch in NOTES)
    for start, end, pitch in NOTES:
        match = [note for note in found if note[2] == pitch]
        assert len(match) == 1
        assert abs(match[0][0] - start) <= 1.5 * FRAME_S, (pitch, match[0][0], start)
        # Ends are where the model stops hearing the decaying tone: near the written end.
        assert start < match[0][1] <= end + 0.1
        assert 1 <= match[0][3] <= 127


@needs_model
def test_the_notes_do_not_depend_on_how_the_song_is_cut_into_blocks(transcribed):
    again = transcribe_blocks(blocks(synthetic_song(), 3000), RATE_HZ, params=PARAMS, where="song")
    assert found_notes(again) == found_notes(transcribed)


@needs_model
def test_the_model_rate_needs_no_resampling_and_finds_the_same_notes(transcribed):
    at_model_rate = transcribe_blocks(blocks(synthetic_song(rate_hz=MODEL_RATE_HZ), 50000), MODEL_RATE_HZ, params=PARAMS, where="song")
    direct, resampled = found_notes(at_model_rate), found_notes(transcribed)
    assert [note[2] for note in direct] == [note[2] for note in resampled]
    assert [note[0] for note in direct] == pytest.approx([note[0] for note in resampled], abs=1.01 * FRAME_S)


@needs_model
def test_silence_is_one_line_naming_the_way_out():
    with pytest.raises(DreamreelError) as error:
        transcribe_blocks(blocks(np.zeros(3 * RATE_HZ, dtype=np.float32), 65536), RATE_HZ, params=PARAMS, where="params.yaml: song.transcribe")
    message = str(error.value)
    assert "no notes" in message and "MIDI=" in message and "transcribe: off" in message and "\n" not in message


def test_a_missing_model_is_one_line_naming_make_setup(monkeypatch):
    monkeypatch.setattr(transcribe, "MODEL_PACKAGE", "no-such-package-for-dreamreel")
    with pytest.raises(DreamreelError) as error:
        transcribe.model_path("params.yaml: song.transcribe")
    assert "make setup" in str(error.value) and "MIDI=" in str(error.value)


def _activations(frames: int, onsets: dict[int, list[int]], sounding: dict[int, range]) -> tuple[np.ndarray, np.ndarray]:
    """(note, onset) activations: onset peaks of 0.9 at the given frames, note 0.8 over the given ranges."""
    note = np.zeros((frames, N_KEYS), dtype=np.float32)
    onset = np.zeros((frames, N_KEYS), dtype=np.float32)
    for key, at in onsets.items():
        for frame in at:
            onset[frame, key] = 0.9
            onset[frame - 1, key] = onset[frame + 1, key] = 0.4  # a peak, not a plateau
    for key, span in sounding.items():
        note[span, key] = 0.8
    return note, onset


def test_the_tracker_starts_notes_on_onset_peaks_and_ends_them_where_the_note_fades():
    # Key 39 (C4): struck at 10, sounding to 30, struck again at 20 (ends the first note);
    # key 48: a 3-frame blip, shorter than the 5-frame minimum; key 60: sounds with no onset.
    note, onset = _activations(60, {39: [10, 20], 48: [40]}, {39: range(10, 30), 48: range(40, 43), 60: range(0, 60)})
    tracker = NoteTracker(onset_threshold=0.5, frame_threshold=0.3, min_frames=5)
    for start in range(0, 60, 7):  # fed in uneven pieces, as the model's windows come
        tracker.feed(note[start:start + 7], onset[start:start + 7])
    assert tracker.finish() == [(10, 20, 60, 102), (20, 30, 60, 102)]


def test_a_note_sounding_at_the_end_ends_after_the_last_frame():
    note, onset = _activations(20, {0: [15]}, {0: range(15, 20)})
    tracker = NoteTracker(onset_threshold=0.5, frame_threshold=0.3, min_frames=1)
    tracker.feed(note, onset)
    assert tracker.finish() == [(15, 20, 21, 102)]
