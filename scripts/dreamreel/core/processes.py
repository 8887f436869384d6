"""Start the external tools (ffmpeg, ffprobe, fluidsynth, MuseScore) so they die with us.

Every child process the stages spawn goes through :func:`spawn` (or :func:`run`, which
waits for it). Two things are decided here, once:

- A child never outlives its stage. On Linux the child asks the kernel to send it SIGKILL
  when its parent dies (``prctl(PR_SET_PDEATHSIG)``). A stage killed with ``kill -9`` (or
  by the OOM killer) cannot run any cleanup of its own, and without this its ffmpeg would
  go on writing a temporary file nobody will rename. SIGKILL rather than SIGTERM: ffmpeg
  answers SIGTERM by finishing the file it is writing, which is exactly what must not
  happen. A pipe-based watchdog would also work on other systems, but needs a helper per
  child that can itself be killed; the kernel's mechanism has no such gap.

  The request is made by a tiny Python launcher that then execs the tool
  (``python -I -S -c _TIE <parent pid> tool args...``), not by ``preexec_fn``: ``preexec_fn``
  makes Python use fork() instead of vfork(), and fork() runs the fork handlers of every
  library loaded — OpenBLAS's waits for its thread pool and deadlocked the renderer,
  which starts ffmpeg from its writer thread while the model computes. The launcher costs
  a few tens of milliseconds per child. It also closes the window where the parent dies
  before the request: it compares its parent with the pid it was given.
  The kernel's "parent" is the *thread* that started the child: a child started from a
  worker thread is killed when that thread ends, so start a child from a thread that
  outlives it. Elsewhere (macOS) children are not tied to the parent; the temporaries
  they leave are swept by :mod:`dreamreel.core.atomic` on the next run.
- A child stopped by Ctrl-C is an interrupt, not a failure. Ctrl-C reaches the whole
  process group, so ffmpeg often dies of it before Python notices. :func:`stopped_by`
  tells that case apart from a real error, and :class:`~dreamreel.core.errors.Interrupted`
  carries it to ``run_cli``, which prints ``dreamreel: interrupted``.

pysox starts sox on its own, outside this module; it feeds sox through pipes, so a killed
stage closes them and sox ends at once.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from typing import Any, Sequence

from dreamreel.core.errors import Interrupted, signal_received

# Signals that mean "the user (or make) stopped the run".
STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# ffmpeg catches SIGINT and SIGTERM, cleans up and exits with this status, printing
# nothing at -loglevel error.
FFMPEG_SIGNAL_EXIT = 255

# argv: parent pid, then the tool's argv. prctl(1, 9) is PR_SET_PDEATHSIG with SIGKILL.
# If the parent is already gone, nobody would send the signal: exit at once with the
# status of a killed process (128 + 9).
_TIE = """
import ctypes, os, signal, sys
# Python ignores these at start-up; the tool gets them back, as subprocess gives them back.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
ctypes.CDLL(None, use_errno=True).prctl(1, 9)
if os.getppid() != int(sys.argv[1]):
    os._exit(137)
os.execvp(sys.argv[2], sys.argv[2:])
"""


def spawn(argv: Sequence[str], **popen_args: Any) -> subprocess.Popen:
    """``subprocess.Popen(argv, **popen_args)``, with the child tied to this process's life.

    A tool that is not installed raises FileNotFoundError here, as Popen would.
    """
    argv = [str(arg) for arg in argv]
    if not sys.platform.startswith("linux"):
        return subprocess.Popen(argv, **popen_args)
    env = popen_args.get("env")
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    tool = shutil.which(argv[0], path=path)
    if tool is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), argv[0])
    # -I: isolated, so no module in the working folder (a stray signal.py) is imported.
    return subprocess.Popen([sys.executable, "-I", "-S", "-c", _TIE, str(os.getpid()), tool, *argv[1:]], **popen_args)


def run(argv: Sequence[str], *, input: bytes | str | None = None, text: bool = True, timeout: float | None = None, env: dict | None = None, check: bool = False) -> subprocess.CompletedProcess:
    """Run ``argv`` to the end through :func:`spawn`, capturing stdout and stderr.

    Like ``subprocess.run(..., capture_output=True)``, except that stdin is empty unless
    ``input`` is given, and that the child is killed (not left running) when this process
    is interrupted or the timeout passes (``subprocess.TimeoutExpired`` is raised then).
    ``check`` raises ``subprocess.CalledProcessError`` on a non-zero status (for tools
    whose failure is a bug, such as the benchmarks' fixtures).
    """
    stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
    # A tool's messages may quote file names in any encoding: never fail on decoding them.
    decoding = {"text": True, "errors": "replace"} if text else {}
    with spawn(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **decoding) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except BaseException:
            process.kill()
            process.wait()
            raise
    result = subprocess.CompletedProcess(list(argv), process.returncode, stdout, stderr)
    if check:
        result.check_returncode()
    return result


def stopped_by(returncode: int, stderr: str = "", *, signal_exit: int | None = None) -> int | None:
    """The stopping signal that ended a child, or None if it ended on its own.

    A child ended by SIGINT, SIGTERM or SIGHUP (``returncode`` -2, -15, -1), or, for a tool
    that catches them and exits with ``signal_exit`` (ffmpeg: 255) without a word on
    stderr. Any failure after this process itself received such a signal counts too: the
    child was hit by the same Ctrl-C.
    """
    if returncode == 0:
        return None
    if -returncode in STOPPING_SIGNALS:
        return -returncode
    if signal_exit is not None and returncode == signal_exit and not stderr.strip():
        return signal.SIGINT
    return signal_received()


def raise_if_stopped(returncode: int, stderr: str = "", *, signal_exit: int | None = None) -> None:
    """Raise :class:`Interrupted` if the child was stopped by a signal (see :func:`stopped_by`)."""
    signum = stopped_by(returncode, stderr, signal_exit=signal_exit)
    if signum is not None:
        raise Interrupted(signum)
