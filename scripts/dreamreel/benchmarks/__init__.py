"""Benchmarks for `make bench`: one module per concern, each with ``run(out_dir, quick)``.

A module's ``run`` returns rows: ``{"stage", "input", "seconds", "x_realtime",
"peak_rss_mb", ...}`` plus any ratio against a baseline measured in the same run.
Work is timed in child processes (:func:`measure`) so each row's peak memory is its own.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss_mb: float


def measure(command: Sequence[str], *, cwd: str | Path | None = None, env: dict | None = None) -> Measurement:
    """Run ``command``; its wall time and the peak resident memory of that one process."""
    started = time.perf_counter()
    process = subprocess.Popen([str(c) for c in command], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"benchmark command failed: {' '.join(map(str, command))}\n{stderr}")
    return Measurement(seconds, usage.ru_maxrss / 1024.0)  # Linux reports kilobytes


def python_script(name: str) -> list[str]:
    """The argv prefix that runs scripts/<name>.py with this interpreter."""
    return [sys.executable, str(Path(__file__).resolve().parents[2] / f"{name}.py")]


def modules() -> list[str]:
    """Names of the benchmark modules in this package."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__))


def load(name: str):
    return importlib.import_module(f"{__name__}.{name}")
