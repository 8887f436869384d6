"""params.yaml: validation with one-line errors, defaults, canonical JSON, move-if-change."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_script
from dreamreel import schema as params
from dreamreel.core.errors import DreamreelError


def test_defaults_fill_every_section():
    result = params.validate({"piece": {"score": "a.mid"}})
    assert result.sections["mix"]["loudness_lufs"] == -14.0
    assert result.sections["mix"]["true_peak_dbtp"] == -1.0
    assert result.sections["part_defaults"]["tremolo"] is None  # off unless asked for
    assert result.sections["part_defaults"]["reverb"]["reverberance_pct"] == 60.0


def test_part_settings_merge_over_part_defaults():
    result = params.validate({
        "part_defaults": {"gain_db": -2, "reverb": {"room_scale_pct": 80}},
        "parts": {"vibraphone": {"tremolo": {"speed_hz": 6, "depth_pct": 33}}, "marimba": {"gain_db": 1}},
    })
    vibraphone, marimba = result.parts["vibraphone"], result.parts["marimba"]
    assert vibraphone["gain_db"] == -2.0 and marimba["gain_db"] == 1.0
    assert vibraphone["tremolo"] == {"speed_hz": 6.0, "depth_pct": 33.0}
    assert marimba["reverb"]["room_scale_pct"] == 80.0 and marimba["reverb"]["reverberance_pct"] == 60.0


@pytest.mark.parametrize(
    "data, where, words",
    [
        ({"parts": {"vibraphone": {"gain_db": "loud"}}}, "parts.vibraphone.gain_db", "expected a number"),
        ({"mix": {"loudness_lufs": 3}}, "mix.loudness_lufs", "out of range"),
        ({"mix": {"loudnes_lufs": -14}}, "mix.loudnes_lufs", "did you mean 'loudness_lufs'"),
        ({"mixx": {}}, "mixx", "did you mean 'mix'"),
        ({"parts": {"marimba": {"mute": "yes"}}}, "parts.marimba.mute", "true or false"),
        ({"parts": {"marimba": {"tremolo": {"speed_hz": True, "depth_pct": 3}}}}, "parts.marimba.tremolo.speed_hz", "expected a number"),
        ({"parts": ["marimba"]}, "parts", "mapping"),
    ],
)
def test_bad_values_name_the_field_and_the_fix(data, where, words):
    with pytest.raises(DreamreelError) as caught:
        params.validate(data)
    message = str(caught.value)
    assert where in message and words in message
    assert "\n" not in message and " — " in message  # one line, with a fix


def test_not_yaml_is_reported_with_its_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("mix:\n  loudness_lufs: -14\n   wet_gain_db: [\n")
    with pytest.raises(DreamreelError) as caught:
        params.load(path)
    assert str(path) in str(caught.value) and "not valid YAML" in str(caught.value) and "line" in str(caught.value)


def test_params_cli_rewrites_only_changed_sections(tmp_path):
    path = tmp_path / "params.yaml"
    (tmp_path / "tiny.mid").write_bytes(b"")  # the split checks the source exists; it does not read it
    path.write_text("piece: {score: tiny.mid}\nmix: {wet_gain_db: -6}\nparts: {vibraphone: {gain_db: 1}}\n")
    out = tmp_path / "build" / "params"
    assert run_script("params", path, "--out-dir", out, "--makefile", out / "params.mk").returncode == 0
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")}
    assert json.loads((out / "mix.json").read_text())["wet_gain_db"] == -6.0
    makefile = (out / "params.mk").read_text()
    assert "SCORE_FILE := " in makefile and f"SCORE_PATH := {os.path.relpath(tmp_path / 'tiny.mid')}" in makefile
    assert os.readlink(out.parent / "source" / "score.mid") == str(tmp_path / "tiny.mid")

    path.write_text("piece: {score: tiny.mid}\nmix: {wet_gain_db: -3}\nparts: {vibraphone: {gain_db: 1}}\n")
    assert run_script("params", path, "--out-dir", out, "--makefile", out / "params.mk").returncode == 0
    second = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")}
    changed = sorted(name for name in first if first[name] != second[name])
    assert changed == ["mix.json"]


def test_params_cli_error_is_one_line_exit_2_and_writes_nothing(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("piece: {score: tiny.mid}\nparts: {vibraphone: {gain_db: loud}}\n")
    out = tmp_path / "build" / "params"
    result = run_script("params", path, "--out-dir", out, "--makefile", out / "params.mk")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "parts.vibraphone.gain_db" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_piece_without_score_or_song_is_an_error(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("piece: {name: x}\n")
    result = run_script("params", path, "--out-dir", tmp_path / "p", "--makefile", tmp_path / "p" / "params.mk")
    assert result.returncode == 2 and "neither a score nor a song" in result.stderr


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path):
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import os, signal, sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2] / "scripts")!r})
        from dreamreel.core.atomic import atomic_path
        from dreamreel.core.errors import run_cli

        def main(argv):
            with atomic_path({str(tmp_path / "out.wav")!r}) as temporary:
                temporary.write_bytes(b"half")
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)

        sys.exit(run_cli(main))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 143
    assert list(tmp_path.iterdir()) == []
