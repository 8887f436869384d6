"""Dependencies are chosen, not collected: every package pyproject.toml declares is used.

Each declared package must be imported by the code (the test suite counts for pytest;
audioop-lts is imported by pydub on Python 3.13), and `make doctor` must say what each one
is for.
"""

from __future__ import annotations

import re
import tomllib

from conftest import ROOT

# Distribution name -> the module it is imported as, where the two differ.
IMPORT_NAMES = {"pytorch-pretrained-biggan": "pytorch_pretrained_biggan", "pyyaml": "yaml"}
# Used by another package, not by our code.
INDIRECT = {"audioop-lts": "pydub"}


def _normal(name: str) -> str:
    """A distribution's name as the package index compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [req for extra in project["optional-dependencies"].values() for req in extra]
    return [_normal(re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)) for requirement in requirements]


def _imported(folder: str) -> set[str]:
    pattern = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)
    return {match for path in (ROOT / folder).rglob("*.py") for match in pattern.findall(path.read_text(encoding="utf-8"))}


def test_every_declared_package_is_imported():
    code, tests = _imported("scripts"), _imported("tests")
    unused = []
    for name in _declared():
        module = IMPORT_NAMES.get(name, name)
        if name in INDIRECT:
            assert INDIRECT[name] in _declared() and INDIRECT[name] in code
        elif module not in code and not (name == "pytest" and module in tests):
            unused.append(name)
    assert unused == [], f"declared in pyproject.toml but imported nowhere: {unused}"


def test_doctor_says_what_every_declared_package_is_for():
    doctor = (ROOT / "scripts/doctor.sh").read_text(encoding="utf-8")
    uses = dict(re.findall(r'^    "([^"]+)": "([^"]+)",$', doctor, re.MULTILINE))
    assert {_normal(name) for name in uses} == set(_declared())
    assert all(len(why) > 10 for why in uses.values()), uses
