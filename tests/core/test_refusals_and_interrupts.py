"""One line, not a traceback, for a write the disk refuses or a run that is interrupted;
temporaries of killed runs swept, those of running ones kept; children die with the stage."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from dreamreel.core import atomic, processes
from dreamreel.core.errors import DreamreelError, Interrupted, run_cli
from system_helpers import children_of, full_disk, gone_within, wait_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


# --- run_cli: refused writes ---------------------------------------------------------------


@pytest.mark.parametrize(
    "code, problem, fix",
    [
        (errno.ENOSPC, "no space left on the disk", "free some space"),
        (errno.EDQUOT, "disk quota exceeded", "free some space"),
        (errno.EROFS, "read-only", "make the folder writable"),
        (errno.EACCES, "permission denied", "make the folder writable (chmod u+w out/)"),
    ],
)
def test_a_refused_write_is_one_line_naming_the_file_and_the_fix(capsys, code, problem, fix):
    def main(argv):
        raise OSError(code, os.strerror(code), "out/demo.mp4")

    assert run_cli(main, []) == 2
    err = one_line(capsys)
    assert err.startswith("dreamreel: error: out/demo.mp4: ")
    assert problem in err and fix in err


def test_other_os_errors_are_bugs_and_keep_their_traceback():
    def main(argv):
        raise OSError(errno.EBADF, "Bad file descriptor")

    with pytest.raises(OSError):
        run_cli(main, [])


def test_a_temporary_in_a_refusal_is_named_by_its_target(tmp_path):
    target = tmp_path / "master.wav"

    def write():
        with atomic.atomic_path(target) as temporary:
            # Python's file writes raise without a file name.
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), None if temporary else "x")

    with pytest.raises(OSError) as caught:
        write()
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_a_tool_that_hides_the_errno_is_diagnosed_from_the_folder(tmp_path, monkeypatch):
    """libsndfile says "System error" on a full disk: the folder's free space tells."""
    real = os.statvfs(tmp_path)

    class Full:
        f_flag, f_bavail, f_frsize = 0, 3, real.f_frsize

    monkeypatch.setattr(atomic.os, "statvfs", lambda path: Full)
    with pytest.raises(OSError) as caught:
        with atomic.atomic_path(tmp_path / "stem.wav"):
            raise RuntimeError("Error opening 'stem.wav': System error")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "stem.wav")
    assert isinstance(caught.value.__cause__, RuntimeError)
    # A user error raised while the disk happens to be full still says what it says.
    with pytest.raises(DreamreelError):
        with atomic.atomic_path(tmp_path / "stem.wav"):
            raise DreamreelError("params.yaml: x", "bad", "fix it")


def test_a_folder_that_refuses_the_temporary_names_the_target(tmp_path, monkeypatch):
    def refuse(**kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".demo.1-2.abcdefgh.part.mp4"))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(OSError) as caught:
        atomic.temporary_sibling(tmp_path / "demo.mp4")
    assert caught.value.filename == str(tmp_path / "demo.mp4")


def test_params_split_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, capsys):
    import params as params_script

    source = tmp_path / "params.yaml"
    source.write_text("piece: {score: tiny.mid}\n")
    (tmp_path / "tiny.mid").write_bytes(b"")  # the split checks that the source exists
    with full_disk(tmp_path / "build") as build:
        before = sorted(p.name for p in build.iterdir())
        status = run_cli(params_script.main, [str(source), "--out-dir", str(build / "params"), "--makefile", str(build / "params.mk")])
        err = one_line(capsys)
        assert status == 2
        assert "cannot write: no space left on the disk — free some space" in err
        assert str(build / "params") in err and ".part" not in err
        left = [p for p in build.rglob("*") if p.name != "filler" and p.is_file()]
        assert left == [], left
        assert sorted(p.name for p in build.iterdir() if p.is_file()) == before


# --- run_cli: interrupts ---------------------------------------------------------------------


def test_ctrl_c_is_one_line_and_exit_130(capsys):
    def main(argv):
        raise KeyboardInterrupt

    assert run_cli(main, []) == 130
    assert one_line(capsys) == "dreamreel: interrupted"


def test_an_error_after_a_stopping_signal_is_part_of_the_interrupt(capsys):
    """A broken pipe to an ffmpeg that died of the same Ctrl-C is not news."""

    def main(argv):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        finally:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    assert run_cli(main, []) == 130
    assert one_line(capsys) == "dreamreel: interrupted"


def test_run_cli_restores_the_signal_handlers():
    before = signal.getsignal(signal.SIGTERM)
    run_cli(lambda argv: 0, [])
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize(
    "returncode, stderr, signal_exit, expected",
    [
        (-signal.SIGINT, "", None, signal.SIGINT),
        (-signal.SIGTERM, "", None, signal.SIGTERM),
        (255, "", 255, signal.SIGINT),  # ffmpeg: caught the signal, said nothing
        (255, "Invalid argument", 255, None),  # ffmpeg: a real failure, with a message
        (1, "", None, None),
        (-signal.SIGKILL, "", None, None),  # the OOM killer is not the user
        (0, "", 255, None),
    ],
)
def test_a_child_stopped_by_a_signal_is_told_from_a_failure(returncode, stderr, signal_exit, expected):
    assert processes.stopped_by(returncode, stderr, signal_exit=signal_exit) == expected


def test_an_interrupted_option_probe_is_an_interrupt_not_an_old_ffmpeg(monkeypatch):
    """Ctrl-C while find_ffmpeg probes the options used to be reported as "use ffmpeg 5.0
    or newer", or to make it fall back to the other spelling."""
    from dreamreel.core import ffmpeg_tools

    tried = []

    def interrupted(argv, **kwargs):
        tried.append(argv)
        return subprocess.CompletedProcess(argv, 255, "", "")

    monkeypatch.setattr(ffmpeg_tools.processes, "run", interrupted)
    with pytest.raises(Interrupted):
        ffmpeg_tools.detect_script_option.__wrapped__("ffmpeg")
    assert len(tried) == 1


def test_a_tools_undecodable_message_does_not_break_the_run():
    result = processes.run(["sh", "-c", "printf 'bad \\377 name' >&2; exit 3"])
    assert result.returncode == 3 and result.stderr == "bad \ufffd name"


def test_a_missing_tool_is_file_not_found_as_with_popen():
    with pytest.raises(FileNotFoundError):
        processes.run(["no-such-tool-dreamreel"])


def test_raise_if_stopped_raises_interrupted_with_the_shell_status():
    with pytest.raises(Interrupted) as caught:
        processes.raise_if_stopped(-signal.SIGTERM)
    assert caught.value.exit_status == 143


# --- temporaries of killed runs ----------------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_are_swept_and_live_ones_kept(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = atomic._start_time(sleeper.pid)
        live = tmp_path / f".picture.{sleeper.pid}-{start}.abcd1234.part.mkv"
        dead = tmp_path / f".picture.{dead_pid()}-{start}.abcd1234.part.mkv"
        recycled = tmp_path / f".picture.{sleeper.pid}-{int(start) + 1}.abcd1234.part.mkv"  # same pid, later process
        untagged = tmp_path / ".picture.abcd1234.part.mkv"  # written before owners were recorded
        other = tmp_path / f".graph.{dead_pid()}-1.abcd1234.part.txt"
        finished = tmp_path / "picture.mkv"
        for path in (live, dead, recycled, other, finished):
            path.write_bytes(b"x")
        untagged.write_bytes(b"x")
        with atomic.atomic_path(tmp_path / "picture.mkv") as temporary:
            temporary.write_bytes(b"new")
            assert temporary.name.startswith(f".picture.{os.getpid()}-")
        assert live.exists() and other.exists()
        assert not dead.exists() and not recycled.exists() and not untagged.exists()
        assert finished.read_bytes() == b"new"
        # The folder-wide sweep (the segment cache) takes every target's stale temporaries.
        assert atomic.remove_stale_temporaries(tmp_path) == [other]
        assert live.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_target_of_maps_a_temporary_back():
    assert atomic.target_of("out/.demo.12-34.ab_c9xyz.part.mp4") == Path("out/demo.mp4")
    assert atomic.target_of("fx/.piano.dry.12-34.abcdefgh.part.wav") == Path("fx/piano.dry.wav")
    assert atomic.target_of("out/demo.mp4") is None


# --- children die with the stage --------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_dies_with_its_parent_even_from_a_thread():
    code = textwrap.dedent(f"""
        import sys, threading, time
        sys.path.insert(0, {str(SCRIPTS)!r})
        from dreamreel.core import processes
        def start():
            processes.spawn(["sleep", "60"])
            time.sleep(60)
        threading.Thread(target=start, daemon=True).start()
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        (child,) = wait_for(lambda: children_of(parent.pid), 20, "the child to start")
    finally:
        parent.kill()
        parent.wait()
    assert gone_within(child, 5), "the child outlived its killed parent"
