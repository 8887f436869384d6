"""Write a makefile fragment listing, for each stage script, the library files it imports.

Inputs:  scripts/*.py and scripts/dreamreel/**/*.py (read as text with ast; nothing runs)
Outputs: OUT, with one line per script: ``DEPS_<script> := scripts/<script>.py <modules...>``
Why:     a stage must rerun when the code it runs changes, and only then. This is the
         `gcc -MM` idea for Python: the import graph, followed transitively.
Needs only the standard library, so it runs before the virtual environment exists.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

PACKAGE = "dreamreel"


def module_file(scripts_dir: Path, dotted: str) -> Path | None:
    base = scripts_dir.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path, scripts_dir: Path) -> set[str]:
    """Dotted names of the package modules that ``path`` imports (anywhere in the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    relative_to = path.relative_to(scripts_dir).with_suffix("")
    package_parts = list(relative_to.parts[:-1]) if relative_to.name != "__init__" else list(relative_to.parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package_parts[: len(package_parts) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != PACKAGE:
                continue
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def closure(start: Path, scripts_dir: Path) -> list[Path]:
    """Every package file ``start`` needs, following imports transitively (parents included)."""
    seen: dict[Path, None] = {}
    stack = [start]
    while stack:
        current = stack.pop()
        for dotted in sorted(imported_modules(current, scripts_dir)):
            parts = dotted.split(".")
            for depth in range(1, len(parts) + 1):
                found = module_file(scripts_dir, ".".join(parts[:depth]))
                if found is not None and found not in seen:
                    seen[found] = None
                    stack.append(found)
    return sorted(seen)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts_dir", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)

    scripts_dir = args.scripts_dir.resolve()
    lines = ["# Written by scripts/deps.py: the library files each stage script imports."]
    for script in sorted(scripts_dir.glob("*.py")):
        files = [script] + closure(script, scripts_dir)
        lines.append(f"DEPS_{script.stem} := " + " ".join(str(f) for f in files))
    temporary = args.out.with_name(f".{args.out.name}.tmp")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(temporary, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
