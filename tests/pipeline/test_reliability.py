"""A build that never wedges, never loses a finished file, and plans without writing.

With the real Makefile on a tiny piece: a fixed params file un-sticks the build; an
interrupted or killed mux keeps the last good video; `make -n` writes nothing; editing one
library module reruns only the stages that import it; editing the cache limit reruns
nothing; a second build of the same piece at the same time stops at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from build_helpers import make, piece_dir, scripts_run, snapshot, tiny_piece
from conftest import ROOT, needs_ffmpeg, needs_fluidsynth, needs_sox

pytestmark = [needs_fluidsynth, needs_sox, needs_ffmpeg]

PARAMS = """\
piece: {name: tiny, score: tiny.mid, title: Tiny}
stems: {tail_s: 0.2}
features: {fps: 10}
gan: {model: cppn, size_px: 32, segment_s: 1.0}
video: {preset: ultrafast, fade_in_s: 0.0, fade_out_s: 0.0}
parts:
  vibraphone:
    pan: [{from: 1, to: 2, curve: orbit, azimuth_deg: 0, period_beats: 4}]
"""



def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.lstat().st_mtime_ns for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reliable")
    tiny_piece(folder, PARAMS)
    make(folder, "video")
    return folder


@pytest.fixture
def piece(tmp_path) -> Path:
    tiny_piece(tmp_path, PARAMS)
    return tmp_path


@pytest.mark.parametrize(("bad", "message"), [
    ("curve: orbit,", "unknown curve 'orbitt'"),
    ("  vibraphone:\n", "has no part 'vibrafone'"),
    ("score: tiny.mid", "score file 'tiny.midd' not found"),
])
def test_a_fixed_params_file_unsticks_the_build(piece, bad, message):
    """The user's exact repro: break the file, see the error, put the good bytes back, build."""
    make(piece, "audio")
    broken = {"curve: orbit,": "curve: orbitt,", "  vibraphone:\n": "  vibrafone:\n", "score: tiny.mid": "score: tiny.midd"}[bad]
    (piece / "params.yaml").write_text(PARAMS.replace(bad, broken))
    result = make(piece, "audio", check=False)
    assert result.returncode == 2 and message in result.stderr
    (piece / "params.yaml").write_text(PARAMS)  # byte-identical to the good file
    make(piece, "audio")
    assert "Nothing to be done" in make(piece, "audio").stdout


def test_a_bad_then_fixed_score_file_unsticks_the_build(piece):
    make(piece, "audio")
    good = (piece / "tiny.mid").read_bytes()
    (piece / "tiny.mid").write_bytes(b"not a midi file")
    assert make(piece, "audio", check=False).returncode == 2
    (piece / "tiny.mid").write_bytes(good)
    make(piece, "audio")
    assert "Nothing to be done" in make(piece, "audio").stdout


def test_make_n_on_a_clean_folder_writes_nothing(piece):
    before = _files(piece)
    result = make(piece, "-n", "video")
    assert _files(piece) == before and not (piece / "build").exists()
    assert "scripts/params.py" in result.stdout and "dry run" in result.stdout


def test_make_n_after_an_edit_writes_nothing_and_shows_the_split_first(built):
    params = built / "params.yaml"
    before = _files(built)
    params.write_text(PARAMS.replace("preset: ultrafast", "preset: veryfast"))
    try:
        stamp = params.stat().st_mtime_ns
        result = make(built, "-n", "video")
        assert _files(built) == {**before, "params.yaml": stamp}
        assert scripts_run(result)[0] == "params.py"
    finally:
        params.write_text(PARAMS)
        make(built, "video")


def test_touching_a_library_module_reruns_only_the_stages_that_import_it(built):
    def plan(module: str) -> list[str]:
        return sorted(set(scripts_run(make(built, "-n", "-W", str(ROOT / "scripts/dreamreel" / module), "video"))))

    assert plan("video/graph.py") == ["compose.py", "mux.py"]
    assert plan("video/mux.py") == ["mux.py"]
    assert plan("gan/render.py") == ["compose.py", "concat_frames.py", "mux.py", "render_frames.py"]
    assert "params.py" not in plan("gan/features.py")


def test_editing_the_cache_limit_reruns_nothing_but_the_split(built):
    (built / "params.yaml").write_text(PARAMS.replace("segment_s: 1.0}", "segment_s: 1.0, cache_limit_mb: 100}"))
    try:
        assert scripts_run(make(built, "video")) == ["params.py", "effects_plan.py"]
        assert '"cache_limit_mb": 100' in (piece_dir(built) / "params/cache.json").read_text()
    finally:
        (built / "params.yaml").write_text(PARAMS)
        make(built, "video")


def _slow_ffmpeg(folder: Path) -> Path:
    """An ffmpeg that waits before it runs: time enough to interrupt the stage that calls it."""
    wrapper = folder / "slow-ffmpeg"
    real = subprocess.run(["bash", "-c", "command -v ffmpeg"], capture_output=True, text=True).stdout.strip()
    # sleep must not hold make's output open once its parent is killed.
    wrapper.write_text(f"#!/bin/sh\ntouch {folder}/.ffmpeg-started\nsleep 30 </dev/null >/dev/null 2>&1\nexec {real} \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper


def _start_remux(folder: Path) -> subprocess.Popen:
    """Edit a mux parameter, then run make video with the slow ffmpeg, in its own process group."""
    (folder / "params.yaml").write_text(PARAMS + "mux: {aac_bitrate_kbps: 256}\n")
    (folder / ".ffmpeg-started").unlink(missing_ok=True)
    command = ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-C", str(folder), "SETUP=", f"PY={sys.executable}", "video"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "FFMPEG": str(_slow_ffmpeg(folder))}, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (folder / ".ffmpeg-started").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    return process


def _mux_process(make_process: subprocess.Popen) -> int:
    found = subprocess.run(["pgrep", "-s", str(make_process.pid), "-f", "scripts/mux.py"], capture_output=True, text=True).stdout.split()
    assert found, "mux.py is not running"
    return int(found[0])


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "kill -9 of mux"])
def test_an_interrupted_mux_keeps_the_finished_video(built, how):
    videos = {name: (built / "out" / name).read_bytes() for name in ("tiny.mp4", "tiny.mkv")}
    process = _start_remux(built)
    try:
        if how == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)  # what the terminal sends the whole foreground group
        elif how == "sigterm":
            os.killpg(process.pid, signal.SIGTERM)
        else:
            os.kill(_mux_process(process), signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        (built / "params.yaml").write_text(PARAMS)
    assert process.returncode != 0
    assert "Deleting file" not in stdout + stderr
    assert {name: (built / "out" / name).read_bytes() for name in videos} == videos
    assert not [p.name for p in (built / "out").iterdir() if p.name.startswith(".")]


def test_a_second_build_of_the_same_piece_stops_at_once(built):
    first = _start_remux(built)
    try:
        started = time.monotonic()
        second = make(built, "video", check=False)
        assert second.returncode == 2 and time.monotonic() - started < 20
        assert "another build of this piece is running" in second.stderr
        assert f"process {first.pid}" in second.stderr
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate()
        (built / "params.yaml").write_text(PARAMS)
    # The first build was killed outright: its lock must not block the next build.
    make(built, "video")
    assert snapshot(built)
