"""Start the external tools (ffmpeg, ffprobe, fluidsynth, MuseScore) so they die with us.

Every child process the stages spawn goes through :func:`spawn` (or :func:`run`, which
waits for it). Two things are decided here, once:

- A child never outlives its stage. On Linux the child asks the kernel, between fork and
  exec, to send it SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``). A stage
  killed with ``kill -9`` (or by the OOM killer) cannot run any cleanup of its own, and
  without this its ffmpeg would go on writing a temporary file nobody will rename.
  A pipe-based watchdog would also work on other systems, but it needs a helper process
  (or thread) per child and still leaves a window when the helper itself is killed; the
  kernel's own mechanism has neither cost. SIGKILL rather than SIGTERM: ffmpeg answers
  SIGTERM by finishing the file it is writing, which is exactly what must not happen.
  Note the kernel's "parent" is the *thread* that forked: a child started from a worker
  thread is killed when that thread ends, so start a child from a thread that outlives it.
  Elsewhere (macOS) children are not tied to the parent; the stale temporaries they leave
  are swept by :mod:`dreamreel.core.atomic` on the next run.
- A child stopped by Ctrl-C is an interrupt, not a failure. Ctrl-C reaches the whole
  process group, so ffmpeg often dies of it before Python notices. :func:`stopped_by`
  tells that case apart from a real error, and :class:`~dreamreel.core.errors.Interrupted`
  carries it to ``run_cli``, which prints ``dreamreel: interrupted``.

pysox starts sox on its own, outside this module; it feeds sox through pipes, so a killed
stage closes them and sox ends at once.
"""

from __future__ import annotations

import os
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

_PR_SET_PDEATHSIG = 1


def _load_prctl():
    """libc's prctl, looked up in the parent: loading a library in a forked child of a
    threaded process can deadlock, calling an already loaded function does not."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def _die_with_parent(parent_pid: int) -> None:
    """Runs in the child between fork and exec (``preexec_fn``)."""
    _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    # The parent may have died before the request was made: then nobody will send it.
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGKILL)


def spawn(argv: Sequence[str], **popen_args: Any) -> subprocess.Popen:
    """``subprocess.Popen(argv, **popen_args)``, with the child tied to this process's life."""
    if _PRCTL is not None:
        parent = os.getpid()
        popen_args["preexec_fn"] = lambda: _die_with_parent(parent)
    return subprocess.Popen([str(arg) for arg in argv], **popen_args)


def run(argv: Sequence[str], *, input: bytes | str | None = None, text: bool = True, timeout: float | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``argv`` to the end through :func:`spawn`, capturing stdout and stderr.

    Like ``subprocess.run(..., capture_output=True)``, except that stdin is empty unless
    ``input`` is given, and that the child is killed (not left running) when this process
    is interrupted or the timeout passes (``subprocess.TimeoutExpired`` is raised then).
    """
    stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
    with spawn(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=text, env=env) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except BaseException:
            process.kill()
            process.wait()
            raise
    return subprocess.CompletedProcess(list(argv), process.returncode, stdout, stderr)


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
