"""Write files so that a failed or interrupted run never leaves a half-written output.

Everything is written to a temporary sibling (same folder, so the rename is atomic on
POSIX) and renamed over the target only when complete. Make then never mistakes a
truncated file for an up-to-date one, and a finished file is never replaced by a broken one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once: os.umask can only be read by setting it


def temporary_sibling(target: str | os.PathLike, *, suffix: str | None = None, tag: str = "") -> Path:
    """Create an empty temporary file beside ``target``, to be renamed onto it when complete.

    Its name is ``.<stem>.<tag><random>.part<suffix>``: hidden, never taken for the target,
    with the target's suffix (``suffix`` overrides it) so tools that choose a format from the
    file name still see ``.wav`` or ``.mkv``. ``tag`` lets a caller mark whose file it is
    (the renderer puts its process id there, to clear parts left by killed renders).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix if suffix is None else suffix
    handle, name = tempfile.mkstemp(prefix=f".{target.stem}.{tag}", suffix=f".part{suffix}", dir=target.parent)
    os.close(handle)
    # mkstemp creates the file private (0600); give it the permissions a new file would get.
    os.chmod(name, 0o666 & ~_UMASK)
    return Path(name)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    ``suffix`` defaults to the target's own suffix, so tools that pick a format from the
    file name (sox, ffmpeg, soundfile) still see ``.wav`` or ``.mkv``. On any exception the
    temporary file is removed and the target is left as it was.
    """
    temporary = temporary_sibling(target, suffix=suffix)
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
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
