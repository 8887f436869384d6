"""Running the real Makefile on a tiny piece in a temporary folder, and watching what it rebuilt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, TINY_PARTS, write_midi


def make(folder: Path, *goals: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the project's Makefile in ``folder``; ``env`` adds environment variables (SONG=... make)."""
    command = ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-C", str(folder), "SETUP=", f"PY={sys.executable}", *goals]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def piece_dir(folder: Path, *variables: str, env: dict | None = None) -> Path:
    """The build folder of the piece that ``make VARIABLES...`` builds in ``folder``."""
    return folder / make(folder, "-s", "build-dir", *variables, env=env).stdout.strip()


def snapshot(folder: Path, *variables: str) -> dict[str, int]:
    """Modification times of the piece's build files, by their path inside its build folder."""
    root = piece_dir(folder, *variables)
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def changed(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {name for name in after if before.get(name) != after[name]}


def scripts_run(result: subprocess.CompletedProcess) -> list[str]:
    """The stage scripts a make run started, in order, from the commands it printed."""
    return [line.split()[1].rsplit("/", 1)[-1] for line in result.stdout.splitlines() if "/scripts/" in line and line.split()[0].endswith("python")]


def tiny_piece(folder: Path, params: str) -> Path:
    """``folder`` with the two-part tiny.mid (vibraphone, marimba; one bar) and ``params`` as params.yaml."""
    write_midi(folder / "tiny.mid", TINY_PARTS, programs={"Vibraphone": 11, "Marimba": 12})
    (folder / "params.yaml").write_text(params)
    return folder
