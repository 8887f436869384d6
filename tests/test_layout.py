"""The library's layout mirrors the pipeline: one package per stage, imports only backwards.

Stage packages, in the order of the Makefile's sections: core, score, audio, gan, video,
preview. A module may import from its own package, from ``core`` and from earlier stages,
never from a later stage, and no chain of imports may come back to where it started.
The modules at the top of the package (``schema``, ``benchmarks``) see the whole pipeline:
they may import any stage, and no stage imports them. Lazy imports inside functions count
too: a circle through one is still a circle.
"""

from __future__ import annotations

import ast

import deps
import pytest
from conftest import ROOT, SCRIPTS

STAGES = ("core", "score", "audio", "gan", "video", "preview")
LIBRARY = SCRIPTS / "dreamreel"


def _module_name(path) -> str:
    parts = list(path.relative_to(SCRIPTS).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Each library module -> the library modules it imports (anywhere in the file)."""
    modules = {_module_name(path): path for path in LIBRARY.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = deps.imported_modules(path, SCRIPTS)
        graph[name] = {target for target in found if target in modules and target != name}
    return graph


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def _package_index(module: str) -> int | None:
    stage = _stage(module)
    return STAGES.index(stage) if stage else None


def test_every_library_module_lives_in_a_stage_package_or_is_pipeline_wide():
    loose = [name for name in _graph() if _stage(name) is None and name.split(".")[1:2] not in (["schema"], ["benchmarks"], [])]
    assert loose == [], f"put these in one of {STAGES}: {loose}"


def test_no_module_imports_a_later_stage_or_the_pipeline_wide_modules():
    wrong = []
    for module, targets in _graph().items():
        here = _package_index(module)
        if here is None:
            continue
        for target in targets:
            there = _package_index(target)
            if there is None or there > here:
                wrong.append(f"{module} -> {target}")
    assert wrong == [], "imports that point forward in the pipeline: " + "; ".join(sorted(wrong))


def find_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (each one holds a circle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_circle_finder_finds_a_circle_through_three_modules():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_circles(graph) == [["a", "b", "c"]]
    assert find_circles({"a": {"b"}, "b": set()}) == []


def test_there_are_no_import_circles():
    assert find_circles(_graph()) == []


def test_the_layout_check_reads_lazy_imports(tmp_path):
    """An import inside a function is an edge of the graph (a later stage imported lazily is still wrong)."""
    package = tmp_path / "dreamreel" / "core"
    package.mkdir(parents=True)
    (package / "thing.py").write_text("def f():\n    from dreamreel.video.mux import mux\n")
    assert "dreamreel.video.mux" in deps.imported_modules(package / "thing.py", tmp_path)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_package_says_what_it_holds_and_which_make_rules_use_it(stage):
    init = LIBRARY / stage / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    modules = sorted(path.stem for path in (LIBRARY / stage).iterdir() if path.suffix == ".py" and path.stem != "__init__")
    modules += sorted(path.name for path in (LIBRARY / stage).iterdir() if (path / "__init__.py").is_file())
    unnamed = [name for name in modules if f":mod:`.{name}`" not in docstring]
    assert unnamed == [], f"dreamreel/{stage}/__init__.py does not name: {unnamed}"
    assert "Make" in docstring or "rule" in docstring


@pytest.mark.parametrize("stage", STAGES)
def test_the_tests_folder_mirrors_the_packages(stage):
    assert list((ROOT / "tests" / stage).glob("test_*.py")), f"tests/{stage}/ has no tests"


def test_test_file_names_are_unique_across_the_mirrored_folders():
    """pytest imports test files by their base name (the folders are not packages)."""
    names = [path.name for path in (ROOT / "tests").rglob("*.py") if path.name != "conftest.py"]
    assert sorted(name for name in set(names) if names.count(name) > 1) == []
