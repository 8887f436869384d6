"""The 1000 ImageNet classes that class-conditional BigGAN draws, by index or by name.

The names live in ``data/imagenet_classes.txt`` (one class per line, index order, its
WordNet synonyms separated by commas). Params may name a class by any synonym, in any
case, or give its index 0–999.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from dreamreel.core.errors import DreamreelError

NUM_CLASSES = 1000
_NAMES_FILE = Path(__file__).with_name("data") / "imagenet_classes.txt"


@lru_cache(maxsize=1)
def class_names() -> tuple[tuple[str, ...], ...]:
    """Synonyms of each class, index order: ``class_names()[207] == ("golden retriever",)``."""
    lines = [line.strip() for line in _NAMES_FILE.read_text(encoding="utf-8").splitlines()]
    classes = tuple(tuple(name.strip() for name in line.split(", ")) for line in lines if line and not line.startswith("#"))
    if len(classes) != NUM_CLASSES:
        raise AssertionError(f"{_NAMES_FILE} lists {len(classes)} classes, not {NUM_CLASSES}")
    return classes


@lru_cache(maxsize=1)
def _index_by_name() -> dict[str, tuple[int, ...]]:
    table: dict[str, list[int]] = {}
    for index, synonyms in enumerate(class_names()):
        for name in synonyms:
            owners = table.setdefault(name.casefold(), [])
            if index not in owners:
                owners.append(index)
    return {name: tuple(owners) for name, owners in table.items()}


def resolve_class(entry: Any, *, where: str) -> int:
    """One class given as an index (int or digit string) or a name; returns the index."""
    if isinstance(entry, bool):
        raise DreamreelError(where, f"expected a class index or name, got {entry!r}", "e.g. 207 or 'golden retriever'")
    if isinstance(entry, int) or (isinstance(entry, str) and entry.strip().isdigit()):
        index = int(entry)
        if not 0 <= index < NUM_CLASSES:
            raise DreamreelError(where, f"class index {index} is outside 0–{NUM_CLASSES - 1}", "use an ImageNet class index from 0 to 999 or a class name")
        return index
    if not isinstance(entry, str) or not entry.strip():
        raise DreamreelError(where, f"expected a class index or name, got {entry!r}", "e.g. 207 or 'golden retriever'")
    key = entry.strip().casefold()
    owners = _index_by_name().get(key)
    if owners is None:
        close = difflib.get_close_matches(key, list(_index_by_name()), n=3)
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else "see scripts/dreamreel/data/imagenet_classes.txt"
        raise DreamreelError(where, f"unknown ImageNet class name {entry!r}", hint)
    if len(owners) > 1:
        choices = "; ".join(f"{i} = {', '.join(class_names()[i])}" for i in owners)
        raise DreamreelError(where, f"class name {entry!r} is ambiguous", f"give the index instead ({choices})")
    return owners[0]


def resolve_classes(entries: Sequence[Any], *, where: str) -> list[int]:
    """Resolve a list of classes; each must be distinct."""
    indices: list[int] = []
    for position, entry in enumerate(entries):
        index = resolve_class(entry, where=f"{where}[{position}]")
        if index in indices:
            raise DreamreelError(f"{where}[{position}]", f"class {index} ({class_names()[index][0]}) is listed twice", "list each class once")
        indices.append(index)
    return indices
