"""Benchmarks for `make bench`: one module per concern, each with ``run(out_dir, quick)``.

A module's ``run`` returns rows: ``{"stage", "input", "seconds", "x_realtime",
"peak_rss_mb", ...}`` plus any ratio against a baseline measured in the same run.
Work is timed in child processes (:func:`measure`) so each row's peak memory is its own.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


@dataclass(frozen=True)
class Measurement:
    """A finished child: its wall and CPU seconds, peak resident memory, and its output."""

    seconds: float
    peak_rss_mb: float
    cpu_seconds: float = 0.0
    stdout: bytes = b""


# Linux keeps a process's peak RSS across exec, and a forked child starts as a copy of its
# parent: a child of this (by then large) process would report at least our own size. So
# the command is forked from a fresh, small interpreter, which reports the rusage of its
# child (and the child's own children) to a file.
_LAUNCHER = """
import json, os, sys
report, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as out:
    json.dump({"maxrss_kb": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime}, out)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measure(command: Sequence[str], *, cwd: str | Path | None = None, env: dict | None = None, capture_stdout: bool = False) -> Measurement:
    """Run ``command``: its wall time, CPU time and peak memory, counted for it alone."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dreamreel-measure-") as scratch:
        report = Path(scratch) / "rusage.json"
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(report), *[str(c) for c in command]], cwd=cwd, env=env,
                                stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL, stderr=subprocess.PIPE)
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            stderr = result.stderr.decode(errors="replace")
            raise RuntimeError(f"benchmark command failed: {' '.join(map(str, command))}\n{stderr[-2000:]}")
        usage = json.loads(report.read_text())
    return Measurement(seconds, usage["maxrss_kb"] / 1024.0, usage["cpu_s"], result.stdout or b"")


def python_script(name: str) -> list[str]:
    """The argv prefix that runs scripts/<name>.py with this interpreter."""
    return [sys.executable, str(Path(__file__).resolve().parents[2] / f"{name}.py")]


def modules() -> list[str]:
    """Names of the benchmark modules in this package."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__))


def load(name: str):
    return importlib.import_module(f"{__name__}.{name}")
