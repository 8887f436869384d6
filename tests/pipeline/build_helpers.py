"""Running the real Makefile on a tiny piece in a temporary folder, and watching what it rebuilt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def make(folder: Path, *goals: str, check: bool = True) -> subprocess.CompletedProcess:
    command = ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-C", str(folder), "SETUP=", f"PY={sys.executable}", *goals]
    result = subprocess.run(command, capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result



def snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in (folder / "build").rglob("*") if p.is_file()}



def changed(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {name for name in after if before.get(name) != after[name]}
