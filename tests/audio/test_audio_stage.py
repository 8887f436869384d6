"""The audio stage scripts, called in-process through main(argv) on tiny inputs."""

from __future__ import annotations

import json
import subprocess

import import_song
import mix
import numpy as np
import parse_score
import process_stem
import pytest
import render_stems
import soundfile
from conftest import ROOT, TINY_PARTS, needs_ffmpeg, needs_fluidsynth, needs_sox, sine, soundfont, write_midi
from dreamreel.audio import loudness
from dreamreel.core.audio_io import read_audio, write_audio
from dreamreel.core.errors import run_cli
from dreamreel.score.model import load_score_json
from dreamreel.score.musical_time import MusicalClock
from musicxml_helpers import NON_ASCII_NAMES, note, write_musicxml

PART = {"gain_db": 0.0, "mute": False, "tremolo": None, "pan": None,
        "reverb": {"reverberance_pct": 60, "hf_damping_pct": 50, "room_scale_pct": 55, "stereo_depth_pct": 100, "pre_delay_ms": 0, "wet_gain_db": 0}}
MIX = {"dry_gain_db": 0.0, "wet_gain_db": -6.0, "loudness_lufs": -14.0, "true_peak_dbtp": -1.0, "normalize_song": False}


def write_json(path, data):
    path.write_text(json.dumps(data))
    return path


def render(tmp_path, score_path, tail_s=0.5):
    score_json = tmp_path / "score.json"
    assert run_cli(parse_score.main, [str(score_path), str(score_json)]) == 0
    stems_params = write_json(tmp_path / "stems.json", {"soundfont": str(soundfont()), "synth_gain": 0.5, "tail_s": tail_s})
    assert run_cli(render_stems.main, [str(score_json), "--params", str(stems_params), "--out-dir", str(tmp_path / "stems")]) == 0
    return score_json


@needs_fluidsynth
def test_demo_stems_count_length_alignment_and_sound(tmp_path):
    score_json = render(tmp_path, ROOT / "scores" / "demo.musicxml", tail_s=3.0)
    score = load_score_json(score_json)
    stems = sorted((tmp_path / "stems").glob("*.wav"))
    assert [p.stem for p in stems] == sorted(["glockenspiel", "vibraphone", "marimba"])
    expected = round((MusicalClock.from_score(score).duration_s + 3.0) * 48000)
    clock = MusicalClock.from_score(score)
    for path in stems:
        info = soundfile.info(str(path))
        assert (info.samplerate, info.channels, info.frames) == (48000, 2, expected)
        audio, _ = read_audio(path)
        assert np.sqrt(np.mean(audio ** 2)) > 1e-3, f"{path.stem} is silent"
        # The first note sounds where the tempo map puts it (FluidSynth attack within 10 ms).
        part = next(p for p in score.parts if p.name == path.stem)
        first_s = clock.tempo.tick_to_seconds(part.notes[0].start_tick)
        onset_s = np.argmax(np.abs(audio).max(axis=0) > 1e-3) / 48000
        assert first_s - 0.001 <= onset_s <= first_s + 0.010


@needs_fluidsynth
def test_identical_parts_render_identical_stems_sample_for_sample(tmp_path):
    notes = TINY_PARTS["Vibraphone"]
    path = write_midi(tmp_path / "twins.mid", {"A": notes, "B": notes}, tempos=[(0, 500_000), (700, 431_000)])
    render(tmp_path, path)
    a, _ = read_audio(tmp_path / "stems" / "a.wav")
    b, _ = read_audio(tmp_path / "stems" / "b.wav")
    assert a.shape == b.shape and np.array_equal(a, b)


@needs_fluidsynth
def test_non_ascii_part_names_render_one_stem_each(tmp_path):
    path = write_musicxml(tmp_path / "world.musicxml", {name: [note("C", 5, 2) + note("E", 5, 2)] for name in NON_ASCII_NAMES})
    score = load_score_json(render(tmp_path, path, tail_s=0.1))
    assert score.part_names() == ["flute-a-bec", "гитара", "笛子"]
    assert sorted(p.name for p in (tmp_path / "stems").glob("*.wav")) == sorted(["flute-a-bec.wav", "гитара.wav", "笛子.wav"])


@needs_fluidsynth
def test_one_part_rendered_alone_is_the_same_stem_byte_for_byte(tmp_path, tiny_midi, capsys):
    score_json = render(tmp_path, tiny_midi)
    params = tmp_path / "stems.json"
    alone = tmp_path / "alone"
    assert run_cli(render_stems.main, [str(score_json), "--params", str(params), "--out-dir", str(alone), "--part", "marimba"]) == 0
    assert [p.name for p in alone.iterdir()] == ["marimba.wav"]
    assert (alone / "marimba.wav").read_bytes() == (tmp_path / "stems" / "marimba.wav").read_bytes()
    capsys.readouterr()
    assert run_cli(render_stems.main, [str(score_json), "--params", str(params), "--out-dir", str(alone), "--part", "xylophone"]) == 2
    assert "no part 'xylophone'" in capsys.readouterr().err and [p.name for p in alone.iterdir()] == ["marimba.wav"]


@needs_fluidsynth
def test_missing_soundfont_is_a_clear_error(tmp_path, tiny_midi, capsys):
    score_json = tmp_path / "score.json"
    run_cli(parse_score.main, [str(tiny_midi), str(score_json)])
    params = write_json(tmp_path / "stems.json", {"soundfont": str(tmp_path / "nope.sf2"), "synth_gain": 0.5, "tail_s": 0.5})
    assert run_cli(render_stems.main, [str(score_json), "--params", str(params), "--out-dir", str(tmp_path / "stems")]) == 2
    message = capsys.readouterr().err
    assert "soundfont not found" in message and "nope.sf2" in message and "make setup" in message
    assert not (tmp_path / "stems").exists() or not any((tmp_path / "stems").iterdir())


@needs_fluidsynth
def test_stems_on_a_full_disk_are_one_line_and_leave_nothing(tmp_path, tiny_midi, capsys):
    """libsndfile reports a full disk as "System error": the message must still say so."""
    from system_helpers import full_disk

    score_json = tmp_path / "score.json"
    assert run_cli(parse_score.main, [str(tiny_midi), str(score_json)]) == 0
    params = write_json(tmp_path / "stems.json", {"soundfont": str(soundfont()), "synth_gain": 0.5, "tail_s": 0.5})
    capsys.readouterr()
    with full_disk(tmp_path / "build") as build:
        status = run_cli(render_stems.main, [str(score_json), "--params", str(params), "--out-dir", str(build / "stems")])
        err = capsys.readouterr().err.strip()
        left = sorted(path.name for path in (build / "stems").iterdir())
    assert status == 2
    first = load_score_json(score_json).parts[0].name
    assert err == f"dreamreel: error: {build / 'stems' / first}.wav: cannot write: no space left on the disk — free some space there, then run make again"
    assert left == []


@needs_sox
def test_process_stem_writes_dry_and_wet_of_the_same_length(tmp_path, tiny_midi):
    score_json = tmp_path / "score.json"
    run_cli(parse_score.main, [str(tiny_midi), str(score_json)])
    stem = tmp_path / "vibraphone.wav"
    write_audio(stem, sine(48000, 440, 1.0, 2).copy(), 48000)
    params = write_json(tmp_path / "vibraphone.json", dict(PART, gain_db=-6.0, tremolo={"speed_hz": 6, "depth_pct": 33}))
    args = [str(stem), "--params", str(params), "--score", str(score_json), "--dry", str(tmp_path / "d.wav"), "--wet", str(tmp_path / "w.wav")]
    assert run_cli(process_stem.main, args) == 0
    dry, _ = read_audio(tmp_path / "d.wav")
    wet, _ = read_audio(tmp_path / "w.wav")
    assert dry.shape == wet.shape == (2, 48000)
    assert np.max(np.abs(dry)) == pytest.approx(0.5 * 10 ** (-6 / 20), rel=0.02)


def test_mute_and_pan_slot(tmp_path, tiny_midi, capsys):
    score_json = tmp_path / "score.json"
    run_cli(parse_score.main, [str(tiny_midi), str(score_json)])
    stem = tmp_path / "marimba.wav"
    write_audio(stem, sine(48000, 440, 0.5, 2).copy(), 48000)
    params = write_json(tmp_path / "m.json", dict(PART, mute=True, reverb=None))
    args = [str(stem), "--params", str(params), "--score", str(score_json), "--dry", str(tmp_path / "d.wav"), "--wet", str(tmp_path / "w.wav")]
    assert run_cli(process_stem.main, args) == 0
    assert not read_audio(tmp_path / "d.wav")[0].any()


def test_mix_sums_buses_exactly_and_hits_the_loudness_target(tmp_path):
    rng = np.random.default_rng(3)
    paths = {}
    for name in ("a.dry", "a.wet", "b.dry", "b.wet"):
        paths[name] = tmp_path / f"{name}.wav"
        write_audio(paths[name], (rng.standard_normal((2, 48000 * 3)) * 0.05).astype(np.float32), 48000)
    params = write_json(tmp_path / "mix.json", MIX)
    out = tmp_path / "master.wav"
    assert run_cli(mix.main, [str(out), "--params", str(params), "--dry", str(paths["a.dry"]), str(paths["b.dry"]), "--wet", str(paths["a.wet"]), str(paths["b.wet"])]) == 0
    master, rate = read_audio(out)
    info = soundfile.info(str(out))
    assert (rate, master.shape[0], info.subtype) == (48000, 2, "PCM_24")
    assert loudness.integrated_loudness(master, rate) == pytest.approx(-14.0, abs=0.5)
    assert loudness.true_peak_db(master) <= -1.0
    # A plain sum, scaled once: the master is proportional to dry + 10^(-6/20) wet.
    parts = {k: read_audio(p)[0].astype(np.float64) for k, p in paths.items()}
    expected = parts["a.dry"] + parts["b.dry"] + 10 ** (-6 / 20) * (parts["a.wet"] + parts["b.wet"])
    ratio = np.dot(master.ravel(), expected.ravel()) / np.dot(expected.ravel(), expected.ravel())
    assert np.max(np.abs(master - ratio * expected)) < 2e-3


def test_mix_of_mismatched_lengths_is_an_error(tmp_path, capsys):
    write_audio(tmp_path / "a.wav", np.zeros((2, 100), np.float32) + 0.1, 48000)
    write_audio(tmp_path / "b.wav", np.zeros((2, 90), np.float32) + 0.1, 48000)
    params = write_json(tmp_path / "mix.json", MIX)
    assert run_cli(mix.main, [str(tmp_path / "m.wav"), "--params", str(params), "--dry", str(tmp_path / "a.wav"), "--wet", str(tmp_path / "b.wav")]) == 2
    assert "does not match" in capsys.readouterr().err and not (tmp_path / "m.wav").exists()


@needs_ffmpeg
@pytest.mark.parametrize("rate, channels, suffix", [(22050, 1, ".wav"), (44100, 2, ".flac"), (96000, 1, ".wav"), (44100, 2, ".mp3"), (48000, 2, ".ogg")])
def test_song_becomes_a_48k_stereo_master(tmp_path, rate, channels, suffix):
    source = tmp_path / "source.wav"
    soundfile.write(str(source), sine(rate, 440, 2.0, channels).T, rate)
    song = tmp_path / f"song{suffix}"
    if suffix != ".wav":
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(source), str(song)], check=True)
    else:
        song = source
    out = tmp_path / "master.wav"
    assert run_cli(import_song.main, [str(song), str(out), "--params", str(write_json(tmp_path / "mix.json", MIX))]) == 0
    master, master_rate = read_audio(out)
    assert master_rate == 48000 and master.shape[0] == 2
    assert master.shape[1] == pytest.approx(96000, abs=2400)  # mp3/ogg pad a little
    assert np.max(np.abs(master)) == pytest.approx(0.5, abs=0.05)  # a finished song keeps its level


@needs_ffmpeg
@pytest.mark.parametrize("kind, words", [("text", "not an audio file"), ("empty", "empty"), ("silent", "silent"), ("missing", "not found")])
def test_bad_songs_are_clear_errors(tmp_path, kind, words, capsys):
    song = tmp_path / "song.wav"
    if kind == "text":
        song = tmp_path / "song.mp3"
        song.write_text("these are lyrics, not audio")
    elif kind == "empty":
        soundfile.write(str(song), np.zeros((0, 2), np.float32), 48000)
    elif kind == "silent":
        soundfile.write(str(song), np.zeros((48000, 2), np.float32), 48000)
    out = tmp_path / "master.wav"
    assert run_cli(import_song.main, [str(song), str(out), "--params", str(write_json(tmp_path / "mix.json", MIX))]) == 2
    message = capsys.readouterr().err
    assert words in message and str(song) in message and message.count("\n") == 1
    assert not out.exists()
