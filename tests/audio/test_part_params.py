"""part_params.py: params.yaml's parts matched to the score's parts, and pan bars checked against the score."""

from __future__ import annotations

import json

import parse_score
import part_params
from dreamreel.core.errors import run_cli
from musicxml_helpers import backward_repeat, forward_repeat, note, write_musicxml

DEFAULTS = {"gain_db": 0.0, "mute": False, "pan": None, "tremolo": None, "reverb": None}


def run(tmp_path, score_path, parts: dict) -> int:
    score_json = tmp_path / "score.json"
    assert run_cli(parse_score.main, [str(score_path), str(score_json)]) == 0
    (tmp_path / "parts.json").write_text(json.dumps(parts), encoding="utf-8")
    (tmp_path / "defaults.json").write_text(json.dumps(DEFAULTS))
    return run_cli(part_params.main, [str(score_json), str(tmp_path / "parts.json"), str(tmp_path / "defaults.json"),
                                      "--out-dir", str(tmp_path / "part"), "--makefile", str(tmp_path / "parts.mk")])


def test_pan_bars_count_the_played_bars_of_a_score_with_repeats(tmp_path, capsys):
    # Five written bars, bars 2-3 repeated: seven played bars, so bar 8 is the very end.
    written = [note(), forward_repeat() + note(), note() + backward_repeat(), note(), note()]
    score = write_musicxml(tmp_path / "r.musicxml", {"Flute": written})
    pan = {"from": 1, "to": 8, "curve": "linear", "azimuth_deg": [-90, 90]}
    assert run(tmp_path, score, {"Flute": dict(DEFAULTS, pan=[pan])}) == 0
    assert json.loads((tmp_path / "part" / "flute.json").read_text())["pan"] == [pan]
    capsys.readouterr()
    assert run(tmp_path, score, {"flute": dict(DEFAULTS, pan=[dict(pan, to=9)])}) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("dreamreel: error: params.yaml: parts.flute.pan") and "(bars 1 to 7)" in error, error
