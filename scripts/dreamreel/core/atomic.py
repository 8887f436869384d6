"""Write files so that a failed or interrupted run never leaves a half-written output.

Everything is written to a temporary sibling (same folder, so the rename is atomic on
POSIX) and renamed over the target only when complete. Make then never mistakes a
truncated file for an up-to-date one, and a finished file is never replaced by a broken one.

A temporary's name carries its owner, ``.<stem>.<pid>-<start>-h<host>.<random>.part<suffix>``
(``start`` is when that process started, so a recycled pid is not taken for the owner;
``host`` is a short hash of the machine's name, so a folder that several machines share,
such as a cluster's segment cache, never mixes up their processes). A process killed with
SIGKILL cannot clean up, so the next write of the same target sweeps the siblings whose
owner is gone; a temporary of a process that still runs (a second build at the same time)
is never touched. Whether a process on another machine runs cannot be asked: its
temporary is swept only once nothing has written to it for :data:`FOREIGN_STALE_S`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import socket
import tempfile
import time
from pathlib import Path
from typing import Iterator

from dreamreel.core.errors import DreamreelError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once: os.umask can only be read by setting it

# Errors that say the output's disk or folder refuses the write, not that the data is wrong.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
# Below this much free space a failed write is put down to a full disk (a tool that hides
# the errno, such as libsndfile, has by then filled what was left).
_NEARLY_FULL_BYTES = 64 * 1024

# mkstemp's random part is letters, digits and underscores; the owner field is pid[-start].
# The owner is optional: temporaries written before owners were recorded have none.
_TEMPORARY = re.compile(r"^\.(?P<stem>.+?)(?:\.(?P<pid>\d+)(?:-(?P<start>\d+))?(?:-h(?P<host>[0-9a-f]{8}))?)?\.[A-Za-z0-9_]+\.part(?P<suffix>(?:\.[^.]*)?)$")
# A temporary of another machine untouched this long is taken for the leftover of a killed
# process. Writers touch theirs continually (ffmpeg writes every frame), so an hour is safe.
FOREIGN_STALE_S = 3600.0
# This machine, as it appears in temporaries' names.
HOST_TAG = hashlib.sha256(socket.gethostname().encode("utf-8")).hexdigest()[:8]


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, /proc/<pid>/stat field 22), or
    None where /proc does not say (not Linux, or the process is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return stat.rpartition(")")[2].split()[19]


_OWNERS: dict[int, str] = {}


def _owner_tag() -> str:
    """This process's owner field, ``<pid>-<start>``; keyed by pid because a forked child
    is a different owner."""
    pid = os.getpid()
    if pid not in _OWNERS:
        start = _start_time(pid)
        _OWNERS[pid] = f"{pid}-{start}-h{HOST_TAG}" if start else f"{pid}-h{HOST_TAG}"
    return _OWNERS[pid]


def owner_alive(pid: int, start: str | None) -> bool:
    """Whether the process that created a temporary (``pid``, started at ``start``) still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    if start is None:
        return True
    now = _start_time(pid)
    # A different start time means the pid was recycled: the owner is gone.
    return now is None or now == start


def target_of(path: str | os.PathLike) -> Path | None:
    """The file a temporary sibling stands for (``.x.123-4-h0a1b2c3d.ab_c.part.wav`` → ``x.wav``), else None."""
    path = Path(path)
    match = _TEMPORARY.match(path.name)
    if not match:
        return None
    return path.with_name(match["stem"] + match["suffix"])


def remove_stale_temporaries(folder: str | os.PathLike, *, stem: str | None = None) -> list[Path]:
    """Delete the temporaries in ``folder`` (of targets named ``stem``, or of all targets)
    whose owner process is gone; return what was deleted.

    A temporary without an owner field (written before owners were recorded) has no owner
    to wait for and counts as stale.
    """
    folder = Path(folder)
    removed = []
    pattern = f".{glob_escape(stem)}.*.part*" if stem is not None else ".*.part*"
    for candidate in folder.glob(pattern):
        match = _TEMPORARY.match(candidate.name)
        if not match or (stem is not None and match["stem"] != stem):
            continue
        if match["host"] is not None and match["host"] != HOST_TAG:
            try:
                if time.time() - candidate.stat().st_mtime < FOREIGN_STALE_S:
                    continue  # another machine's, written to lately: its owner may be at work
            except FileNotFoundError:
                continue
        elif match["pid"] is not None and owner_alive(int(match["pid"]), match["start"]):
            continue
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
            removed.append(candidate)
    return removed


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters made literal."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def temporary_sibling(target: str | os.PathLike, *, suffix: str | None = None) -> Path:
    """Create an empty temporary file beside ``target``, to be renamed onto it when complete.

    Its name is ``.<stem>.<pid>-<start>-h<host>.<random>.part<suffix>``: hidden, never taken for
    the target, with the target's suffix (``suffix`` overrides it) so tools that choose a
    format from the file name still see ``.wav`` or ``.mkv``, and with its owner, so that
    the temporaries of killed runs are swept here, before a new one is made.
    """
    target = Path(target)
    suffix = target.suffix if suffix is None else suffix
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target.parent, stem=target.stem)
        handle, name = tempfile.mkstemp(prefix=f".{target.stem}.{_owner_tag()}.", suffix=f".part{suffix}", dir=target.parent)
    except OSError as error:
        # mkstemp names a random file the user never asked for: report the target instead.
        if error.errno in DISK_ERRNOS:
            raise OSError(error.errno, os.strerror(error.errno), str(target)) from error
        raise
    os.close(handle)
    # mkstemp creates the file private (0600); give it the permissions a new file would get.
    os.chmod(name, 0o666 & ~_UMASK)
    return Path(name)


def disk_refusal(target: str | os.PathLike, error: BaseException) -> OSError | None:
    """If writing ``target`` failed because its disk or folder refuses writes, that as an
    :class:`OSError` naming ``target``; else None (the failure is something else).

    Tools do not always pass the errno on (libsndfile says only "System error"), so when
    the error is not an OSError the folder itself is asked: nearly no space left, or
    mounted read-only.
    """
    target = Path(target)
    if isinstance(error, OSError):
        if error.errno not in DISK_ERRNOS:
            return None
        name = error.filename
        if name is None or target_of(name) is not None:
            name = str(target)  # the temporary stands for the target the user knows
        return OSError(error.errno, os.strerror(error.errno), name)
    if not isinstance(error, Exception) or isinstance(error, DreamreelError):
        return None  # an interrupt is not a disk problem; a DreamreelError already says what is
    try:
        stats = os.statvfs(target.parent)
    except OSError:
        return None
    if stats.f_flag & os.ST_RDONLY:
        return OSError(errno.EROFS, os.strerror(errno.EROFS), str(target))
    if stats.f_bavail * stats.f_frsize < _NEARLY_FULL_BYTES:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
    return None


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    ``suffix`` defaults to the target's own suffix, so tools that pick a format from the
    file name (sox, ffmpeg, soundfile) still see ``.wav`` or ``.mkv``. On any exception the
    temporary file is removed and the target is left as it was. A failure because the disk
    is full or the folder read-only is raised as an :class:`OSError` naming ``target``
    (with its errno), which :func:`dreamreel.core.errors.run_cli` reports on one line.
    """
    temporary = temporary_sibling(target, suffix=suffix)
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException as error:
        # Asked before the temporary goes: deleting it frees the space that ran out.
        refusal = disk_refusal(target, error)
        temporary.unlink(missing_ok=True)
        if refusal is not None and refusal is not error:
            raise refusal from error
        raise


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)


def replace_if_changed(target: str | os.PathLike, data: bytes) -> bool:
    """Write ``data`` to ``target`` only when its bytes differ (move-if-change).

    Returns True when the file was written. Leaving an unchanged file alone keeps its
    modification time, so Make does not rebuild what depends on it.
    """
    target = Path(target)
    if target.exists() and target.read_bytes() == data:
        return False
    write_bytes_atomic(target, data)
    return True


def replace_link_if_changed(link: str | os.PathLike, target: str) -> bool:
    """Point the symbolic link ``link`` at ``target``, atomically, unless it already does.

    Returns True when the link was (re)made. A link lets Make track a file whose own name
    it cannot carry (spaces, quotes): Make reads the modification time through the link.
    """
    link = Path(link)
    if link.is_symlink() and os.readlink(link) == target:
        return False
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}.{os.getpid()}.part")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, link)
    return True
