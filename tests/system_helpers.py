"""The machine as the failure tests need it: refused writes, and the processes of a stage.

A full disk and a read-only folder are small tmpfs mounts. Both need the right to mount (root, as on the build machines and in CI containers run
with it); elsewhere the test is skipped with the reason, and the same code path is covered
by the unit tests that raise the OSError themselves. chmod cannot stand in for either:
root writes through any mode bits.
"""

from __future__ import annotations

import contextlib
import errno
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest


def _mount(folder: Path, options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'mount failed'}): needs root")


def _unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@contextlib.contextmanager
def full_disk(folder: Path, *, size: str = "256k") -> Iterator[Path]:
    """``folder`` as a tmpfs of ``size`` filled to the last byte: every write gets ENOSPC.

    Creating empty files still works (tmpfs counts inodes apart), as on a real full disk.
    """
    _mount(folder, f"size={size},mode=0777")
    try:
        with open(folder / "filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 4096)
            except OSError as error:
                assert error.errno == errno.ENOSPC
        yield folder
    finally:
        _unmount(folder)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` as an empty read-only tmpfs: every write gets EROFS, even as root."""
    _mount(folder, "ro,size=64k")
    try:
        yield folder
    finally:
        _unmount(folder)


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (started by any of its threads)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it ended while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def is_running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (dead, waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def gone_within(pid: int, seconds: float) -> bool:
    """Poll until ``pid`` stops running; False if it still runs after ``seconds``."""
    deadline = time.monotonic() + seconds
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_for(predicate, seconds: float, what: str):
    """Poll ``predicate`` until it returns something true; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def command_line(pid: int) -> str:
    """The command line of ``pid``, or "" once it has ended."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def is_ffmpeg(pid: int) -> bool:
    """ffmpeg itself, not yet the launcher or the shell wrapper that become it."""
    words = command_line(pid).split()
    return bool(words) and Path(words[0]).name == "ffmpeg"


def catches(pid: int, signum: int) -> bool:
    """Whether ``pid`` has installed a handler for ``signum`` (/proc/<pid>/status SigCgt).

    ffmpeg installs its SIGINT handler only after it has opened (and probed) its inputs:
    a signal before that meets the disposition it inherited.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except OSError:
        pass
    return False
