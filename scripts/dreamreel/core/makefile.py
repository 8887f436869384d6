"""Writing makefile fragments (build/params/params.mk, build/score/parts.mk) safely.

A value from params.yaml becomes Make text only through :func:`make_value`, which refuses
what Make cannot carry. A user's input file that Make should track (a title font, a SOFA
file) gets :func:`required_file_rule`, which checks that it exists now; while it exists the
rule does nothing, and once it is gone the build stops with our one-line error instead of
Make's "No rule to make target".
"""

from __future__ import annotations

import shlex
from pathlib import Path

from dreamreel.core.errors import DreamreelError

_UNSAFE = " \t\n$#\\"


def make_value(where: str, value: str) -> str:
    """``value`` unchanged, or a :class:`DreamreelError` naming ``where`` if Make would misread it."""
    if any(char in value for char in _UNSAFE):
        raise DreamreelError(where, f"{value!r} contains a space or one of $ # \\, which Make cannot carry", "rename the file or folder without them")
    return value


def make_text(value: str) -> str:
    """``value`` as the text of a Make variable that is only ever quoted into a recipe.

    Spaces are fine there; ``$`` and ``#`` are escaped so Make keeps them literally.
    """
    if "\n" in value:
        raise DreamreelError(repr(value), "a file name with a line break", "rename the file")
    return value.replace("$", "$$").replace("#", "\\#")


def required_file_rule(path: str, error: DreamreelError) -> str:
    """A rule for the input file ``path`` that fails with ``error`` when the file goes missing.

    ``error`` is raised at once when the file is missing already.
    """
    if not Path(path).is_file():
        raise error
    make_value(error.where, path)
    if ":" in path or "%" in path:
        raise DreamreelError(error.where, f"{path!r} contains ':' or '%', which Make cannot carry in a rule", "rename the file or folder without them")
    message = shlex.quote(f"dreamreel: error: {error}").replace("$", "$$")
    return f"{path}:\n\t@printf '%s\\n' {message} >&2; exit 2"
