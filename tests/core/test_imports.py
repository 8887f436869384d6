"""Every ``from dreamreel... import name`` in scripts/ names something that exists.

Many imports sit inside functions (heavy libraries load only when a stage needs them), so
a renamed or moved function breaks them only when that code path runs: `make bench` once
failed this way, long after the tests had passed. This test reads every import statement,
wherever it is, and resolves it.
"""

from __future__ import annotations

import ast
import importlib
import sys

import pytest
from conftest import SCRIPTS


def _module_name(path) -> str:
    relative = path.relative_to(SCRIPTS).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports():
    """(file, line, absolute module, imported name) for each dreamreel import in scripts/."""
    for path in sorted(SCRIPTS.rglob("*.py")):
        module = _module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "dreamreel":
                continue
            for alias in node.names:
                yield pytest.param(target, alias.name, id=f"{path.relative_to(SCRIPTS)}:{node.lineno}:{alias.name}")


@pytest.mark.parametrize(("module", "name"), list(_imports()))
def test_import_resolves(module, name):
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    imported = importlib.import_module(module)
    if name == "*" or hasattr(imported, name):
        return
    # ``from package import submodule`` names a module, not an attribute, until it is imported.
    importlib.import_module(f"{module}.{name}")
