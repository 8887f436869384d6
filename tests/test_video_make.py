"""The video rules of make/video.mk in a tiny build: what reruns when which input changes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")

MAKEFILE = """\
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SECONDARY:
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules
PY := {python}
BUILD := build
OUT := out
ROOT := {root}/
LIB := $(wildcard $(ROOT)scripts/dreamreel/*.py)
PIECE := demo
%/:
\tmkdir -p $@
# Stand-ins for the audio and GAN stages.
$(BUILD)/mix/master.wav: $(BUILD)/params/mix.json | $(BUILD)/mix/
\tffmpeg -v error -y -f lavfi -i sine=frequency=440:sample_rate=48000:duration=0.5 -ac 2 $@
$(BUILD)/gan/frames.mkv: $(BUILD)/params/gan.json | $(BUILD)/gan/
\tffmpeg -v error -y -f lavfi -i testsrc2=size=64x64:rate=30:duration=0.5 -metadata model=cppn -c:v ffv1 $@
include {root}/make/video.mk
"""


def write_json(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, sort_keys=True))


def make(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(folder), *args], capture_output=True, text=True)


def mtimes(folder: Path) -> dict[str, int]:
    names = ["build/mix/master.wav", "build/gan/frames.mkv", "build/video/picture.mkv", "build/video/graph.txt", "out/demo.mp4", "out/demo.mkv"]
    return {name: (folder / name).stat().st_mtime_ns for name in names}


def test_title_edit_reruns_compose_and_mux_only(tmp_path):
    (tmp_path / "Makefile").write_text(MAKEFILE.format(python=sys.executable, root=ROOT))
    params = tmp_path / "build" / "params"
    video = {"preset": "ultrafast", "fade_in_s": 0.0, "fade_out_s": 0.1, "title": {"text": "One", "start_s": 0.0, "end_s": 0.4, "fade_s": 0.1}}
    write_json(params / "video.json", video)
    write_json(params / "mux.json", {})
    write_json(params / "piece.json", {"name": "demo", "title": "Demo"})
    write_json(params / "mix.json", {})
    write_json(params / "gan.json", {})

    first = make(tmp_path, "video")
    assert first.returncode == 0, first.stderr
    assert make(tmp_path, "-q", "video").returncode == 0  # a second make does nothing
    before = mtimes(tmp_path)

    time.sleep(0.01)
    video["title"]["text"] = "Two"
    write_json(params / "video.json", video)
    assert make(tmp_path, "video").returncode == 0
    after = mtimes(tmp_path)
    assert after["build/mix/master.wav"] == before["build/mix/master.wav"]
    assert after["build/gan/frames.mkv"] == before["build/gan/frames.mkv"]
    assert after["build/video/picture.mkv"] > before["build/video/picture.mkv"]
    assert after["out/demo.mp4"] > before["out/demo.mp4"]
    assert "Two" in (tmp_path / "build/video/graph.txt").read_text()

    # A new master (or new mux params) remuxes without recomposing the picture.
    time.sleep(0.01)
    write_json(params / "mix.json", {"wet_gain_db": -3})
    plan = make(tmp_path, "-n", "video").stdout
    assert "mux.py" in plan and "compose.py" not in plan
    assert make(tmp_path, "video").returncode == 0
    remuxed = mtimes(tmp_path)
    assert remuxed["build/video/picture.mkv"] == after["build/video/picture.mkv"]
    assert remuxed["out/demo.mkv"] > after["out/demo.mkv"]
