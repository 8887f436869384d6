"""The conduct section in the params split: its shape is checked there, conduct.json is written."""

from __future__ import annotations

import json

import pytest
from conftest import run_script

MAPPING = "conduct:\n  Marimba: {drives: pulse, depth: 0.6}\n  vibraphone: {drives: [classes, noise], dims: 8}\n  sections: {crossfade_beats: 1}\n"


def _split(tmp_path, text, *extra):
    (tmp_path / "tiny.mid").write_bytes(b"")
    (tmp_path / "song.wav").write_bytes(b"")
    (tmp_path / "params.yaml").write_text("piece: {score: tiny.mid}\n" + text)
    out = tmp_path / "build" / "params"
    return run_script("params", tmp_path / "params.yaml", "--out-dir", out, "--makefile", out / "params.mk", *extra), out


def test_conduct_json_keeps_the_users_spelling_and_fills_defaults(tmp_path):
    result, out = _split(tmp_path, MAPPING)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "conduct.json").read_text()) == {
        "Marimba": {"drives": "pulse", "depth": 0.6, "dims": 16},
        "vibraphone": {"drives": ["classes", "noise"], "depth": 1.0, "dims": 8},
        "sections": {"drives": "scene", "crossfade_beats": 1.0, "crossfade_s": None},
    }


def test_without_conduct_the_file_is_an_empty_mapping(tmp_path):
    result, out = _split(tmp_path, "")
    assert result.returncode == 0 and json.loads((out / "conduct.json").read_text()) == {}


def test_a_song_on_the_command_line_drops_the_params_files_parts_and_keeps_its_sections(tmp_path):
    result, out = _split(tmp_path, MAPPING, "--song", str(tmp_path / "song.wav"))
    assert result.returncode == 0, result.stderr
    assert list(json.loads((out / "conduct.json").read_text())) == ["sections"]
    # Not silently: the user hears which parts were left out and how to conduct the song's own.
    assert "dreamreel: notice:" in result.stderr and "Marimba, vibraphone" in result.stderr and "write a params file" in result.stderr


@pytest.mark.parametrize(("text", "message"), [
    ("conduct: {marimba: {drives: [pulse, pulse]}}\n", "conduct.marimba.drives: a target is named twice"),
    ("conduct: {marimba: {drives: 3}}\n", "conduct.marimba.drives: expected a target or a list of targets"),
    ("conduct: {marimba: {drives: pulse, speed: 2}}\n", "conduct.marimba.speed: unknown key"),
    ("conduct: {sections: {drives: pulse}}\n", "conduct.sections.drives: unknown value 'pulse' — use one of: scene"),
    ("conduct: {marimba: {drives: noise, dims: 100}}\n", "conduct.marimba.dims: 100 is out of range"),
    ("conduct: [marimba]\n", "conduct: expected a mapping of part names"),
])
def test_a_misshapen_mapping_is_one_line_naming_the_field(tmp_path, text, message):
    result, _ = _split(tmp_path, text)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert message in result.stderr, result.stderr
