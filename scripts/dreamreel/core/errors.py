"""The one error type for user mistakes, and the helper every script uses to report it.

A :class:`DreamreelError` is raised for anything the user can fix: a missing file, a
bad parameter, input that is not audio. Its message names the file, the field and the
fix. Scripts print it as one line and exit with status 2; so is an output the disk or
its folder refuses (full, read-only, not writable). Ctrl-C and ``kill`` end a script with
``dreamreel: interrupted``. Any other exception is a bug and keeps its traceback.
:func:`notice` is the one line for input that is read, but differently from how it is
written (a jump with no playback mark, say).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from typing import Callable, Sequence

EXIT_USER_ERROR = 2


def notice(where: str, message: str) -> None:
    """Say, in one line on stderr, that the input was read in a way the user may not expect.

    Not an error: the build goes on. Used where something in the input is played
    differently from how it is written, so that nothing changes without a word.
    """
    print(f"dreamreel: notice: {where}: {message}", file=sys.stderr)


class DreamreelError(Exception):
    """A problem in the user's input, described well enough to fix it.

    Parameters
    ----------
    where : str
        The file (and, when it helps, the field) at fault, e.g. ``"params.yaml: mix.loudness_lufs"``.
    problem : str
        What is wrong, e.g. ``"expected a number, got 'loud'"``.
    fix : str, optional
        What to do about it, e.g. ``"write a level in LUFS such as -14"``.
    """

    def __init__(self, where: str, problem: str, fix: str | None = None):
        self.where = where
        self.problem = problem
        self.fix = fix
        message = f"{where}: {problem}"
        if fix:
            message += f" — {fix}"
        super().__init__(message)

    def __reduce__(self):
        # Rebuilt from its parts, so it survives the trip back from another process (a Ray
        # worker) whole; the default would call __init__ with the message alone.
        return (type(self), (self.where, self.problem, self.fix))


def first_sentence(error: BaseException) -> str:
    """The first sentence of a library's error message, whole, for a one-line message.

    Library messages run on (torch's zip reader explains miniz for three lines); a slice
    of them stops mid-word. The first line, up to its first full stop, says what failed.
    """
    text = str(error).strip()
    line = text.splitlines()[0].strip() if text else ""
    sentence = line
    for index in range(len(line) - 1):
        if line[index] == "." and line[index + 1] == " ":
            sentence = line[:index]
            break
    return sentence.rstrip(".") or type(error).__name__


class Interrupted(KeyboardInterrupt):
    """The run was stopped from outside: Ctrl-C (SIGINT), ``kill`` or make (SIGTERM), a
    closed terminal (SIGHUP), whether the signal reached this process or only a tool it ran.

    A subclass of KeyboardInterrupt, so code that cleans up after Ctrl-C cleans up after
    this too. ``exit_status`` is the shell's convention, 128 + the signal number.
    """

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


# The signals this process has received: a tool that fails after one of them failed
# because the run was stopped, whatever its exit status says.
_RECEIVED: list[int] = []


def signal_received() -> int | None:
    """The first stopping signal this process received under :func:`run_cli`, or None."""
    return _RECEIVED[0] if _RECEIVED else None


def _stop(signum, frame) -> None:
    # Raised in the main thread, the exception unwinds through every `with atomic_path(...)`,
    # so a stage stopped by Ctrl-C, `kill` or make leaves no half-written temporary file.
    _RECEIVED.append(signum)
    raise Interrupted(signum)


# What to say about an output the disk or folder refuses, by errno: (problem, fix).
_REFUSALS = {
    errno.ENOSPC: ("no space left on the disk", "free some space there, then run make again"),
    errno.EDQUOT: ("disk quota exceeded", "free some space (or raise the quota), then run make again"),
    errno.EROFS: ("the file system is read-only", "make the folder writable (remount it read-write) or build in another folder"),
    # Usually an output folder; when it is an input, the same words lead to the fix.
    errno.EACCES: ("permission denied", "make the folder writable (chmod u+w {folder}) or build in another folder; an input must be readable"),
    errno.EPERM: ("permission denied", "make the folder writable (chmod u+w {folder}) or build in another folder; an input must be readable"),
}


def refusal_message(error: OSError) -> str | None:
    """One line for an OSError that says the disk or folder refused a write, else None.

    ``"out/demo.mp4: cannot write: no space left on the disk — free some space there, ..."``
    """
    if error.errno not in _REFUSALS:
        return None
    problem, fix = _REFUSALS[error.errno]
    name = error.filename if error.filename is not None else "an output file"
    folder = os.path.dirname(str(name)) or "."
    # Full and read-only can only be writes; a permission can also be a read.
    verb = "" if error.errno in (errno.EACCES, errno.EPERM) else "cannot write: "
    return str(DreamreelError(str(name), f"{verb}{problem}", fix.format(folder=folder + "/")))


def run_cli(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Run a script's ``main``; report user errors, refused writes and interrupts on one line.

    - :class:`DreamreelError`: ``dreamreel: error: <where>: <problem> — <fix>``, status 2.
    - An :class:`OSError` because the disk is full, read-only or not writable (ENOSPC,
      EDQUOT, EROFS, EACCES, EPERM): one line naming the file and the fix, status 2.
    - Ctrl-C, SIGTERM or SIGHUP, to this process or to a tool it ran (:class:`Interrupted`):
      ``dreamreel: interrupted``, status 128 + the signal. Whatever else fails once a
      stopping signal has arrived (a broken pipe to a dead ffmpeg) is part of the interrupt.

    The handlers turn each signal into an exception in the main thread, so temporary
    outputs are removed on the way out. A signal that was ignored when the process started
    (``nohup``, a background job) stays ignored.
    """
    _RECEIVED.clear()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                previous[signum] = signal.signal(signum, _stop)
    try:
        return _run(main, argv)
    finally:
        # Tests run many scripts in one process: leave its handlers as they were.
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None) -> int:
    try:
        status = main(argv)
    except DreamreelError as error:
        if signal_received() is not None:
            return _interrupted(signal_received())
        print(f"dreamreel: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as error:
        return _interrupted(getattr(error, "signum", signal_received() or signal.SIGINT))
    except OSError as error:
        if signal_received() is not None:
            return _interrupted(signal_received())
        message = refusal_message(error)
        if message is None:
            raise
        print(f"dreamreel: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception:
        if signal_received() is not None:
            return _interrupted(signal_received())
        raise
    return int(status or 0)


def _interrupted(signum: int) -> int:
    print("dreamreel: interrupted", file=sys.stderr)
    return 128 + int(signum)
