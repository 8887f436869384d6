"""scripts/pan8d.py, the wet/dry chain slot and the preview picture, called in-process on tiny inputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from dreamreel.core.errors import run_cli
from pan_helpers import RATE, clicks, pink_noise, write_midi

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import pan8d  # noqa: E402
import preview_pan  # noqa: E402
import process_stem  # noqa: E402

ORBIT = [{"from": 1, "to": 3, "curve": "orbit", "azimuth_deg": 0, "period_beats": 2}]


@pytest.fixture()
def files(tmp_path):
    """A 2-bar 4/4 score at 240 BPM (2 s) and a 2 s stereo stem."""
    score = write_midi(tmp_path / "score.mid", tempos=[(0, 250_000)], meters=[(0, 4, 4)], end_tick=2 * 1920)
    stem = tmp_path / "stem.wav"
    noise = pink_noise(2.0, seed=11)
    soundfile.write(str(stem), np.stack([noise, noise]).T, RATE, subtype="FLOAT")
    return tmp_path, score, stem


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_cli_renders_binaural_and_plots(files):
    folder, score, stem = files
    automation = write(folder / "pan.json", ORBIT)
    out, plot = folder / "out.wav", folder / "pan.png"
    assert run_cli(pan8d.main, [str(stem), str(out), "--automation", str(automation), "--score", str(score), "--plot", str(plot)]) == 0
    rendered, rate = soundfile.read(str(out), always_2d=True)
    assert rate == RATE and rendered.shape == (2 * RATE, 2)
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Four turns in 2 s: the left-right balance swings, the total level does not.
    level = (rendered**2).reshape(-1, 4800, 2).sum(axis=1)
    balance = 10 * np.log10(level[:, 1] / level[:, 0])
    assert balance.max() > 3 and balance.min() < -3


def test_cli_pan_mode_from_yaml_with_score_json(files):
    from dreamreel.score.midi_file import read_midi

    folder, score, stem = files
    score_json = folder / "score.json"
    score_json.write_bytes(read_midi(score).to_json())
    automation = folder / "pan.yaml"
    automation.write_text("mode: binaural\nkeyframes:\n  - {from: 1, to: [2, 3], curve: linear, azimuth_deg: [-90, 90]}\n")
    out = folder / "out.wav"
    assert run_cli(pan8d.main, [str(stem), str(out), "--automation", str(automation), "--score", str(score_json), "--mode", "pan"]) == 0
    rendered, _ = soundfile.read(str(out), always_2d=True)
    assert abs(rendered[:100, 1]).max() < 1e-5  # hard left at the start: nothing on the right
    assert abs(rendered[-100:, 0]).max() < 1e-5  # hard right after [2, 3]


def test_cli_imports_an_old_effects_json(files):
    folder, score, stem = files
    old = write(folder / "effects.json", {"vibes": [{"effect": "straight", "m1": 1, "b1": 1, "m2": 2, "b2": 1, "ear_i": -1, "ear_f": 1},
                                                   {"effect": "none", "m1": 2, "b1": 1, "m2": "end"}]})
    out = folder / "out.wav"
    assert run_cli(pan8d.main, [str(stem), str(out), "--automation", str(old), "--score", str(score), "--mode", "pan"]) == 0
    rendered, _ = soundfile.read(str(out), always_2d=True)
    assert abs(rendered[:50, 1]).max() < 0.01 * abs(rendered[:50, 0]).max()  # ear -1: the left


@pytest.mark.slow  # beat tracking: librosa import and numba compilation
def test_cli_song_with_beat_tracking(files):
    folder, _, _ = files
    song = folder / "song.wav"
    click = clicks(6.0, every_s=0.5)
    soundfile.write(str(song), np.stack([click, click]).T, RATE, subtype="FLOAT")
    automation = write(folder / "pan.json", [{"from": 1, "to": 2, "curve": "linear", "azimuth_deg": [-90, 90]}])
    out = folder / "out.wav"
    assert run_cli(pan8d.main, [str(song), str(out), "--automation", str(automation), "--beats-per-bar", "4"]) == 0
    assert soundfile.info(str(out)).frames == click.shape[0]


BAD = [
    ([{"from": 2, "to": 3, "azimuth_deg": 0}, {"from": 1, "to": 2, "azimuth_deg": 0}], "[1].from", "out of order"),
    ([{"from": 1, "to": 3, "azimuth_deg": 0}, {"from": 2, "to": 3, "azimuth_deg": 0}], "[1].from", "overlaps"),
    ([{"from": 1, "to": 9, "azimuth_deg": 0}], "[0].to", "bar 9 is outside"),
    ([{"from": 1, "to": 2, "curve": "zigzag", "azimuth_deg": [0, 90]}], "[0].curve", "unknown curve"),
    ([{"from": 1, "to": 2, "curve": "linear", "azimuth_deg": [0, "right"]}], "[0].azimuth_deg", "must be a number"),
]


@pytest.mark.parametrize("keyframes, field, message", BAD)
def test_cli_bad_automation_exits_2_with_one_line_and_no_output(files, capsys, keyframes, field, message):
    folder, score, stem = files
    automation = write(folder / "pan.json", keyframes)
    out, plot = folder / "out.wav", folder / "pan.png"
    status = run_cli(pan8d.main, [str(stem), str(out), "--automation", str(automation), "--score", str(score), "--plot", str(plot)])
    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1 and f"pan.json: pan{field}" in error and message in error, error
    assert not out.exists() and not plot.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["pan.json", "score.mid", "stem.wav"]


def test_cli_bad_files_exit_2(files, capsys):
    folder, score, stem = files
    automation = write(folder / "pan.json", ORBIT)
    out = folder / "out.wav"
    not_yaml = folder / "broken.yaml"
    not_yaml.write_text("- {from: 1, to: [2\n")
    for argv in (
        [str(stem), str(out), "--automation", str(not_yaml), "--score", str(score)],
        [str(folder / "missing.wav"), str(out), "--automation", str(automation), "--score", str(score)],
        [str(stem), str(out), "--automation", str(automation)],
        [str(stem), str(out), "--automation", str(automation), "--score", str(folder / "nothing.mid")],
    ):
        assert run_cli(pan8d.main, argv) == 2
        assert capsys.readouterr().err.count("\n") == 1
        assert not out.exists()


def test_chain_slot_moves_the_dry_and_wet_buses(files):
    from dreamreel.score.midi_file import read_midi

    folder, score, stem = files
    score_json = folder / "score.json"
    score_json.write_bytes(read_midi(score).to_json())
    params = write(folder / "stem.json", {"gain_db": 0.0, "mute": False, "tremolo": None, "reverb": None,
                                          "pan": {"mode": "pan", "keyframes": [{"from": 1, "to": 3, "curve": "linear", "azimuth_deg": [-90, 90]}]}})
    dry, wet = folder / "stem.dry.wav", folder / "stem.wet.wav"
    assert run_cli(process_stem.main, [str(stem), "--params", str(params), "--score", str(score_json), "--dry", str(dry), "--wet", str(wet)]) == 0
    for path in (dry, wet):
        rendered, _ = soundfile.read(str(path), always_2d=True)
        assert abs(rendered[:50, 1]).max() < 1e-5 and abs(rendered[-50:, 0]).max() < 1e-3
    first = dry.read_bytes()
    assert run_cli(process_stem.main, [str(stem), "--params", str(params), "--score", str(score_json), "--dry", str(dry), "--wet", str(wet)]) == 0
    assert dry.read_bytes() == first  # deterministic: same inputs, same bytes


def test_chain_slot_names_the_params_field(files, capsys):
    from dreamreel.score.midi_file import read_midi

    folder, score, stem = files
    score_json = folder / "score.json"
    score_json.write_bytes(read_midi(score).to_json())
    params = write(folder / "vibraphone.json", {"gain_db": 0.0, "mute": False, "tremolo": None, "reverb": None,
                                                "pan": [{"from": 1, "to": 2, "azimuth_deg": 0}, {"from": 2, "to": 3, "curve": "wobble", "azimuth_deg": [0, 1]}]})
    dry, wet = folder / "vibraphone.dry.wav", folder / "vibraphone.wet.wav"
    stem = stem.rename(folder / "vibraphone.wav")
    status = run_cli(process_stem.main, [str(stem), "--params", str(params), "--score", str(score_json), "--dry", str(dry), "--wet", str(wet)])
    assert status == 2
    assert "params.yaml: parts.vibraphone.pan[1].curve" in capsys.readouterr().err
    assert not dry.exists() and not wet.exists()


def test_preview_picture_of_all_parts(files):
    from dreamreel.score.midi_file import read_midi

    folder, score, stem = files
    score_json = folder / "score.json"
    score_json.write_bytes(read_midi(score).to_json())
    moving = write(folder / "vibraphone.json", {"pan": ORBIT})
    still = write(folder / "marimba.json", {"pan": None})
    picture = folder / "demo-pan.png"
    argv = [str(score_json), str(picture), "--params", str(moving), str(still), "--audio", str(stem)]
    assert run_cli(preview_pan.main, argv) == 0
    assert picture.read_bytes()[:4] == b"\x89PNG"
