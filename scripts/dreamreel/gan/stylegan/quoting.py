"""Quote text taken from a model file so it is safe to print on one terminal line.

A model file is written by whoever made it, so every name, key or value we echo in an
error may hold newlines (a second, forged ``dreamreel:`` line), ANSI escapes (colours,
cursor moves, a cleared screen), right-to-left overrides, megabytes of text, or a list
nested so deep that ``repr`` overflows the stack. :func:`quote` turns any such value into
at most about :data:`QUOTE_LIMIT` printable characters; :func:`one_line` is the last
guard on a whole message.
"""

from __future__ import annotations

from typing import Any

QUOTE_LIMIT = 80
MESSAGE_LIMIT = 600
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape_char(char: str, backslash: bool) -> str:
    if char in _ESCAPES and (backslash or char != "\\"):
        return _ESCAPES[char]
    # isprintable() is False for control characters (ESC included), line and paragraph
    # separators, and format characters such as the bidirectional overrides.
    if char.isprintable():
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _escape_head(text: str, limit: int, backslash: bool) -> tuple[str, bool]:
    """The escaped start of ``text`` in at most ``limit`` characters, and whether all of it fit.

    Only the first ``limit`` characters are looked at, so a 5 MB string costs nothing.
    """
    out: list[str] = []
    used = 0
    for char in text[: limit + 1]:
        piece = _escape_char(char, backslash)
        if used + len(piece) > limit:
            return "".join(out), False
        out.append(piece)
        used += len(piece)
    return "".join(out), True


def escape(text: str, limit: int = QUOTE_LIMIT, *, backslash: bool = True) -> str:
    """``text`` with every unprintable character escaped, cut to about ``limit`` characters.

    ``backslash`` also doubles backslashes, so an escape in the text cannot pass for ours.
    """
    shown, complete = _escape_head(text, limit, backslash)
    return shown if complete else f"{shown}... ({len(text)} characters)"


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """A short, printable description of a value read from a file.

    Strings and bytes are quoted and escaped; numbers are shown unless huge; containers
    show their first items two levels deep, so any nesting depth is safe; other objects
    (the loader's own records) are named by type.
    """
    return _describe(value, limit, depth=0)


def _describe(value: Any, limit: int, depth: int) -> str:
    if isinstance(value, str):
        return "'" + escape(value, limit) + "'"
    if isinstance(value, (bytes, bytearray)):
        shown, complete = _escape_head(bytes(value[: limit + 1]).decode("latin-1"), limit, True)
        return f"b'{shown}'" + ("" if complete else f"... ({len(value)} bytes)")
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        # Python refuses to print integers of more than 4300 digits; nobody needs to see them.
        return repr(value) if value.bit_length() <= 128 else f"an integer of {value.bit_length()} bits"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple, dict)):
        opening, closing = "{}" if isinstance(value, dict) else "()" if isinstance(value, tuple) else "[]"
        if depth >= 2:
            return f"{opening}...{closing}" if len(value) else f"{opening}{closing}"
        # Only the first few items are looked at: never the whole of a huge or deep container.
        if isinstance(value, dict):
            head = [pair for _, pair in zip(range(4), value.items())]
            parts = [f"{_describe(k, 30, depth + 1)}: {_describe(v, 30, depth + 1)}" for k, v in head]
        else:
            head = [item for _, item in zip(range(4), value)]
            parts = [_describe(item, 30, depth + 1) for item in head]
        if len(value) > len(head):
            parts.append(f"... {len(value)} items")
        shown, complete = _escape_head(opening + ", ".join(parts) + closing, limit, False)
        return shown if complete else shown + "..." + closing
    if isinstance(value, (set, frozenset)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A whole message made safe: control characters escaped, cut to ``limit`` characters."""
    return escape(text, limit, backslash=False)
