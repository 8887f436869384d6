"""compose and mux stopped from outside: Ctrl-C, kill -9, a read-only out/.

The scripts run as real processes here, because what is tested is what happens between
processes: the signal reaching the process group, the ffmpeg child left behind by a
killed parent, the temporaries a killed run could not remove. ffmpeg is slowed to real
time (``-re``) through a wrapper named by FFMPEG, so that a run lasts long enough to be
interrupted mid-encode without loading the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from dreamreel.schema import PIECE
from dreamreel.video.sections import MUX, VIDEO
from system_helpers import children_of, gone_within, is_ffmpeg, read_only, wait_for
from video_fixtures import section_json, sine_wav, square_video, video_values

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
PICTURE_S = 8


def realtime_ffmpeg(folder: Path) -> Path:
    """An ``ffmpeg`` that reads its first input at its own frame rate (``-re``)."""
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "ffmpeg"
    # Only when there is an input: -re before an output is an error (the option probe has none).
    wrapper.write_text('#!/bin/sh\ncase " $* " in *" -i "*) exec ffmpeg -re "$@";; *) exec ffmpeg "$@";; esac\n')
    wrapper.chmod(0o755)
    return wrapper


def h264_picture(path: Path, seconds: float) -> Path:
    """A small H.264 picture with a model tag: all mux asks of its input."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=64x64:rate=30:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-metadata", "model=cppn", str(path)],
        check=True,
    )
    return path


def mux_argv(tmp_path: Path, picture: Path, audio: Path, out: Path) -> list[str]:
    params = section_json(tmp_path / "mux.json", MUX, {})
    piece = section_json(tmp_path / "piece.json", PIECE, {"name": "demo"})
    return [sys.executable, str(SCRIPTS / "mux.py"), str(picture), str(audio), "--mp4", str(out / "demo.mp4"), "--mkv", str(out / "demo.mkv"),
            "--params", str(params), "--piece", str(piece)]


def compose_argv(tmp_path: Path, frames: Path, picture: Path) -> list[str]:
    params = section_json(tmp_path / "video.json", VIDEO, video_values())
    return [sys.executable, str(SCRIPTS / "compose.py"), str(frames), str(picture), "--params", str(params), "--filters", str(ROOT / "filters")]


def start(argv: list[str], *, ffmpeg: Path, ignore_sigint: bool = False) -> subprocess.Popen:
    """Start a stage script in its own process group (as make's recipe would be, under a terminal)."""
    def prepare():
        if ignore_sigint:
            # What a background job inherits: Python keeps SIGINT ignored, ffmpeg does not.
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    environment = dict(os.environ, FFMPEG=str(ffmpeg))
    return subprocess.Popen(argv, env=environment, stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=prepare)


def encoding_ffmpeg(stage: subprocess.Popen, output_folder: Path, stem: str) -> int:
    """Wait until the stage's ffmpeg is writing the temporary of ``stem``; return its pid.

    Written bytes mean ffmpeg is past its start-up, where it installs its signal handlers:
    a signal before that is a different (and untestable) race.
    """
    def found():
        writing = [pid for pid in children_of(stage.pid) if is_ffmpeg(pid)]
        started = any(path.stat().st_size > 0 for path in output_folder.glob(f".{stem}.*.part*"))
        return writing if writing and started else None

    (pid,) = wait_for(found, 60, "ffmpeg to start writing")
    return pid


def hidden(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob(".*"))


def assert_ctrl_c_is_one_line_and_leaves_nothing(stage: subprocess.Popen, output_folder: Path, stem: str) -> None:
    """Once the stage's ffmpeg encodes, Ctrl-C the whole process group (as a terminal does):
    the stage says `dreamreel: interrupted`, exits 130, and leaves its folder empty."""
    try:
        encoding_ffmpeg(stage, output_folder, stem)
        os.killpg(stage.pid, signal.SIGINT)
        _, err = stage.communicate(timeout=30)
    finally:
        if stage.poll() is None:
            os.killpg(stage.pid, signal.SIGKILL)
    assert err.strip() == "dreamreel: interrupted"
    assert stage.returncode == 130
    assert list(output_folder.iterdir()) == []


@pytest.fixture(scope="module")
def long_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("long")
    picture = h264_picture(folder / "picture.mkv", PICTURE_S)
    audio = sine_wav(folder / "master.wav", seconds=PICTURE_S)
    frames = square_video(folder / "frames.mkv", size=64, fps=Fraction(30), frames=30 * PICTURE_S)
    return picture, audio, frames


@pytest.mark.parametrize("ignore_sigint", [False, True], ids=["ctrl-c", "only-ffmpeg-hears-it"])
def test_ctrl_c_during_mux_says_interrupted_and_leaves_nothing(tmp_path, long_inputs, ignore_sigint):
    picture, audio, _ = long_inputs
    out = tmp_path / "out"
    stage = start(mux_argv(tmp_path, picture, audio, out), ffmpeg=realtime_ffmpeg(tmp_path / "bin"), ignore_sigint=ignore_sigint)
    assert_ctrl_c_is_one_line_and_leaves_nothing(stage, out, "demo")


def test_ctrl_c_during_compose_says_interrupted_and_leaves_nothing(tmp_path, long_inputs):
    _, _, frames = long_inputs
    video = tmp_path / "video"
    stage = start(compose_argv(tmp_path, frames, video / "picture.mkv"), ffmpeg=realtime_ffmpeg(tmp_path / "bin"), ignore_sigint=True)
    assert_ctrl_c_is_one_line_and_leaves_nothing(stage, video, "picture")


@pytest.mark.parametrize("stage_name", ["compose", "mux"])
def test_kill_9_leaves_no_ffmpeg_running_and_the_rerun_no_temporaries(tmp_path, long_inputs, stage_name):
    picture, audio, frames = long_inputs
    if stage_name == "compose":
        folder = tmp_path / "video"
        argv = compose_argv(tmp_path, frames, folder / "picture.mkv")
        short = square_video(tmp_path / "short.mkv", size=64, fps=Fraction(30), frames=10)
        rerun = compose_argv(tmp_path, short, folder / "picture.mkv")
        finished = ["graph.txt", "picture.mkv"]
    else:
        folder = tmp_path / "out"
        argv = mux_argv(tmp_path, picture, audio, folder)
        rerun = mux_argv(tmp_path, h264_picture(tmp_path / "short.mkv", 0.5), sine_wav(tmp_path / "short.wav", seconds=0.5), folder)
        finished = ["demo.mkv", "demo.mp4"]
    stage = start(argv, ffmpeg=realtime_ffmpeg(tmp_path / "bin"))
    try:
        ffmpeg = encoding_ffmpeg(stage, folder, "picture" if stage_name == "compose" else "demo")
        left_behind = hidden(folder)
        stage.kill()  # SIGKILL: the stage gets no chance to clean up
        stage.wait()
        assert gone_within(ffmpeg, 5), f"ffmpeg {ffmpeg} kept running after its {stage_name} was killed"
    finally:
        if stage.poll() is None:
            os.killpg(stage.pid, signal.SIGKILL)
        stage.stderr.close()
    assert left_behind and hidden(folder) == left_behind  # what the rerun has to sweep
    subprocess.run(rerun, check=True, capture_output=True)
    assert sorted(path.name for path in folder.iterdir()) == finished


def test_read_only_out_folder_is_one_line(tmp_path):
    """It used to be a traceback naming out/.demo.<random>.part.mp4."""
    short_picture = h264_picture(tmp_path / "short.mkv", 0.5)
    with read_only(tmp_path / "out") as out:
        result = subprocess.run(mux_argv(tmp_path, short_picture, sine_wav(tmp_path / "short.wav", seconds=0.5), out), capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"dreamreel: error: {out / 'demo.mp4'}: cannot write: the file system is read-only — "
        "make the folder writable (remount it read-write) or build in another folder"
    )
