"""The one error type for user mistakes, and the helper every script uses to report it.

A :class:`DreamreelError` is raised for anything the user can fix: a missing file, a
bad parameter, input that is not audio. Its message names the file, the field and the
fix. Scripts print it as one line and exit with status 2; any other exception is a bug
and keeps its traceback. :func:`notice` is the one line for input that is read, but
differently from how it is written (a jump with no playback mark, say).
"""

from __future__ import annotations

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


def _exit_on_sigterm(signum, frame) -> None:
    # Raised in the main thread, SystemExit unwinds through every `with atomic_path(...)`,
    # so a stage stopped by `kill` (or by make) leaves no half-written temporary file.
    raise SystemExit(128 + signum)


def run_cli(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Run a script's ``main`` and turn a :class:`DreamreelError` into one line and exit status 2.

    SIGTERM is turned into an orderly exit (status 143) so temporary outputs are removed.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        status = main(argv)
    except DreamreelError as error:
        print(f"dreamreel: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("dreamreel: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)
