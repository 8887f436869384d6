"""A song's notes and parts through the real Makefile: MIDI= with an offset, STEMS=, transcription.

Every bad input is one line, exit 2, and loses nothing: the build that was there stays,
and the fixed input builds on.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from build_helpers import changed, make, piece_dir, scripts_run, snapshot
from conftest import TINY_PARTS, needs_ffmpeg, write_midi

from dreamreel.core.npz import open_npz

pytestmark = [needs_ffmpeg]

# The song is 3 s; tiny.mid is one 2 s bar, placed 0.5 s into it.
PARAMS = """\
piece: {name: song}
features: {fps: 10}
gan: {model: cppn, size_px: 32, segment_s: 1.0}
song: {midi_offset_s: 0.5, midi_tail_s: 1.0}
"""
SONG = ("SONG=song.wav", "MIDI=tiny.mid", "STEMS=stems")


def tone(seconds: float, frequency_hz: float, rate_hz: int, *, where=None) -> np.ndarray:
    t = np.arange(int(round(seconds * rate_hz))) / rate_hz
    audio = 0.3 * np.sin(2 * np.pi * frequency_hz * t)
    return (audio * where(t) if where is not None else audio).astype(np.float32)


def write_stems(folder):
    """Two parts, one in each half of the song."""
    (folder / "stems").mkdir(exist_ok=True)
    soundfile.write(str(folder / "stems/Bass Line.wav"), tone(3.0, 55.0, 44100, where=lambda t: t < 1.5), 44100)
    soundfile.write(str(folder / "stems/Lead.wav"), tone(3.0, 880.0, 44100, where=lambda t: t >= 1.5), 44100)


def write_song(folder, params: str = PARAMS):
    write_midi(folder / "tiny.mid", TINY_PARTS)
    soundfile.write(str(folder / "song.wav"), tone(3.0, 220.0, 44100), 44100)
    write_stems(folder)
    (folder / "params.yaml").write_text(params)
    return folder


def one_error_line(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("dreamreel: error")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    folder = write_song(tmp_path_factory.mktemp("song"))
    make(folder, "notes", "gan", *SONG)
    return folder


def test_the_midi_notes_land_at_song_time(song):
    found = open_npz(piece_dir(song, *SONG) / "gan/notes.npz")
    assert found["parts"].tolist() == ["vibraphone", "marimba"]
    # Vibraphone at 0, 0.5 and 1 s of the MIDI, marimba at 0, 1 and 1.5 s: +0.5 s, at 10 fps.
    assert found["note_on"][:, 0].nonzero()[0].tolist() == [5, 10, 15]
    assert found["note_on"][:, 1].nonzero()[0].tolist() == [5, 15, 20]
    assert (piece_dir(song, *SONG) / "gan/frames.mkv").is_file()
    assert make(song, "-q", "notes", "gan", *SONG, check=False).returncode == 0


def test_the_stems_give_each_part_its_own_features(song):
    features = open_npz(piece_dir(song, *SONG) / "gan/features.npz")
    assert features["part_names"].tolist() == ["bass-line", "lead"]
    rms = features["part_rms"]
    assert rms.shape == (30, 2)
    assert rms[2:13, 0].min() > 0.5 and rms[17:, 0].max() == 0.0
    assert rms[:13, 1].max() == 0.0 and rms[17:28, 1].min() > 0.5


def test_midi_and_stems_build_in_a_folder_of_their_own(song):
    assert len({piece_dir(song, "SONG=song.wav"), piece_dir(song, "SONG=song.wav", "MIDI=tiny.mid"), piece_dir(song, *SONG)}) == 3


def test_a_new_offset_reruns_the_notes_only(song):
    before = snapshot(song, *SONG)
    (song / "params.yaml").write_text(PARAMS.replace("midi_offset_s: 0.5", "midi_offset_s: 0.8"))
    try:
        result = make(song, "notes", *SONG)
        assert scripts_run(result) == ["params.py", "effects_plan.py", "song_notes.py", "notes.py"]
        assert {name for name in changed(before, snapshot(song, *SONG)) if not name.startswith("params/")} == {"song/notes-score.json", "gan/notes.npz"}
        assert open_npz(piece_dir(song, *SONG) / "gan/notes.npz")["note_on"][:, 0].nonzero()[0].tolist() == [8, 13, 18]
    finally:
        (song / "params.yaml").write_text(PARAMS)


def test_a_midi_longer_than_the_song_is_one_line_and_the_fixed_offset_builds(tmp_path):
    write_song(tmp_path)
    make(tmp_path, "notes", *SONG)
    built = open_npz(piece_dir(tmp_path, *SONG) / "gan/notes.npz")["note_on"].copy()
    (tmp_path / "params.yaml").write_text(PARAMS.replace("midi_offset_s: 0.5", "midi_offset_s: 2.0"))
    line = one_error_line(make(tmp_path, "notes", *SONG, check=False))
    assert line.startswith("dreamreel: error: tiny.mid: the MIDI is longer than the song") and "3.00 s long" in line
    assert np.array_equal(open_npz(piece_dir(tmp_path, *SONG) / "gan/notes.npz")["note_on"], built)  # nothing lost
    (tmp_path / "params.yaml").write_text(PARAMS)
    assert scripts_run(make(tmp_path, "notes", *SONG)) == ["params.py", "effects_plan.py", "song_notes.py", "notes.py"]


def test_a_midi_much_shorter_than_the_song_is_one_line(tmp_path):
    write_song(tmp_path, PARAMS.replace("midi_tail_s: 1.0", "midi_tail_s: 0.2"))
    line = one_error_line(make(tmp_path, "notes", "SONG=song.wav", "MIDI=tiny.mid", check=False))
    assert "the MIDI is shorter than the song" in line and "song.midi_tail_s" in line


BAD_STEMS = [
    (lambda folder: [path.unlink() for path in (folder / "stems").iterdir()], "STEMS=stems: stems folder 'stems' holds no WAV files"),
    (lambda folder: (folder / "stems/notes.txt").write_text("x"), "holds 'notes.txt', not WAV files"),
    (lambda folder: (folder / "stems/Lead.wav").write_bytes(b"RIFF not really"), "Lead.wav: not a readable WAV file"),
    (lambda folder: soundfile.write(str(folder / "stems/Lead.wav"), tone(3.0, 880.0, 48000), 48000),
     "the stems are at different sample rates (Bass Line.wav 44100 Hz, Lead.wav 48000 Hz)"),
    (lambda folder: soundfile.write(str(folder / "stems/Lead.wav"), tone(2.0, 880.0, 44100), 44100), "Lead.wav: the stem is 2.00 s long but the song 3.00 s"),
]


def test_a_bad_stems_folder_is_one_line_and_the_fixed_folder_builds(tmp_path):
    # One folder for every case, so the song is imported once: each case damages the
    # stems, is refused in one line, and the restored stems build again.
    write_song(tmp_path)
    make(tmp_path, "audio", *SONG)
    for damage, expected in BAD_STEMS:
        damage(tmp_path)
        line = one_error_line(make(tmp_path, "notes", *SONG, check=False))
        assert expected in line
        for path in (tmp_path / "stems").iterdir():
            path.unlink()
        write_stems(tmp_path)
    make(tmp_path, "notes", *SONG)
    assert open_npz(piece_dir(tmp_path, *SONG) / "gan/features.npz")["part_names"].tolist() == ["bass-line", "lead"]


def test_a_missing_stems_folder_demucs_and_midi_with_a_score_are_one_line(tmp_path):
    write_song(tmp_path)
    assert "STEMS=elsewhere: stems folder 'elsewhere' not found" in one_error_line(make(tmp_path, "notes", "SONG=song.wav", "STEMS=elsewhere", check=False))
    line = one_error_line(make(tmp_path, "notes", "SONG=song.wav", "STEMS=demucs", check=False))
    assert "STEMS=demucs: automatic source separation (demucs) is not built in" in line and "STEMS=stems/" in line
    line = one_error_line(make(tmp_path, "notes", "SCORE=tiny.mid", "MIDI=tiny.mid", check=False))
    assert "MIDI=tiny.mid: a score has its own notes and parts" in line


def test_a_midi_and_transcription_at_once_is_one_line(tmp_path):
    write_song(tmp_path, PARAMS.replace("midi_tail_s: 1.0", "midi_tail_s: 1.0, transcribe: basic-pitch"))
    line = one_error_line(make(tmp_path, "notes", "SONG=song.wav", "MIDI=tiny.mid", check=False))
    assert "song.transcribe" in line and "choose one" in line


def _model_missing() -> str:
    from importlib import metadata

    try:
        import onnxruntime  # noqa: F401

        metadata.distribution("basic-pitch")
    except (ImportError, metadata.PackageNotFoundError) as error:
        return f"basic-pitch's model or onnxruntime is not installed (make setup): {error}"
    return ""


@pytest.mark.skipif(bool(_model_missing()), reason=_model_missing() or "installed")
def test_transcription_gives_a_song_its_notes_and_silence_is_one_line(tmp_path):
    rate = 22050
    t = np.arange(3 * rate) / rate
    # A4 from 0.5 s, E5 from 1.7 s: note-ons at frames 5 and 17 at 10 fps.
    song = sum(0.3 * np.sin(2 * np.pi * f * (t - start)) * ((t >= start) & (t < start + 0.8)) * np.exp(-(t - start).clip(0) * 2)
               for f, start in ((440.0, 0.5), (659.26, 1.7)))
    soundfile.write(str(tmp_path / "song.wav"), song.astype(np.float32), rate)
    # Silence as a song has it: a faint hiss, no notes (the import refuses digital silence).
    hiss = 0.01 * np.random.default_rng(0).standard_normal(3 * rate)
    soundfile.write(str(tmp_path / "silence.wav"), hiss.astype(np.float32), rate)
    (tmp_path / "params.yaml").write_text("piece: {name: song}\nfeatures: {fps: 10}\nsong: {transcribe: basic-pitch}\n")
    make(tmp_path, "notes", "SONG=song.wav")
    found = open_npz(piece_dir(tmp_path, "SONG=song.wav") / "gan/notes.npz")
    assert found["parts"].tolist() == ["transcribed"]
    assert found["note_on"][:, 0].nonzero()[0].tolist() == [5, 17]
    assert np.nanmax(found["pitch_high"][:, 0]) == 76 and np.nanmin(found["pitch_low"][:, 0]) == 69
    line = one_error_line(make(tmp_path, "notes", "SONG=silence.wav", check=False))
    assert "found no notes in the song" in line and "MIDI=" in line
