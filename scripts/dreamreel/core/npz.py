"""Byte-reproducible, memory-mappable ``.npz`` files for the stage outputs.

``numpy.savez`` stamps every member with the current time, so the same arrays give
different bytes on every run and Make-driven caches keyed on content would miss. Here
members are stored uncompressed with a fixed timestamp and in sorted order: the same
arrays always give the same file. Because nothing is compressed, each member's data can
be memory-mapped straight out of the zip, so a renderer reading a few seconds of a long
walk never holds the whole song's latents in memory.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from dreamreel.core.atomic import atomic_path
from dreamreel.core.errors import DreamreelError

# The earliest date a zip header can hold; any fixed value makes the bytes reproducible.
_FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)


def save_npz(target: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``target`` atomically and deterministically.

    Parameters
    ----------
    target : path
        The ``.npz`` file to write.
    arrays : mapping of str to array-like
        Member name (without ``.npy``) to array. Scalars become 0-d arrays.
    """
    with atomic_path(target) as temporary:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name in sorted(arrays):
                array = np.asarray(arrays[name])
                if not array.flags.c_contiguous:
                    array = array.copy(order="C")
                if array.dtype == object:
                    raise TypeError(f"{name}: object arrays cannot be stored")
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, array, allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_DATE_TIME)
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                archive.writestr(info, buffer.getvalue())


def open_npz(path: str | Path, *, what: str = "file") -> dict[str, np.ndarray]:
    """Open an ``.npz`` written by :func:`save_npz`; large members are memory-mapped.

    Parameters
    ----------
    path : path
        The file to read.
    what : str
        What the file is, for error messages (e.g. ``"latents"``).

    Returns
    -------
    dict of str to ndarray
        0-d and small members are loaded; others are read-only ``np.memmap`` views.
    """
    path = Path(path)
    if not path.is_file():
        raise DreamreelError(str(path), f"{what} not found", "build it first (run it through make)")
    result: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive, path.open("rb") as handle:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                name = info.filename[: -len(".npy")]
                if info.compress_type != zipfile.ZIP_STORED:
                    with archive.open(info) as member:
                        result[name] = np.lib.format.read_array(member, allow_pickle=False)
                    continue
                # The member's data start after its local header, whose name and extra
                # fields may differ in length from the central directory's copy.
                handle.seek(info.header_offset)
                local = handle.read(30)
                name_length = int.from_bytes(local[26:28], "little")
                extra_length = int.from_bytes(local[28:30], "little")
                member_start = info.header_offset + 30 + name_length + extra_length
                handle.seek(member_start)
                version = np.lib.format.read_magic(handle)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
                data_start = handle.tell()
                count = int(np.prod(shape, dtype=np.int64))
                if count * dtype.itemsize < 1 << 16 or dtype.hasobject:
                    handle.seek(data_start)
                    array = np.frombuffer(handle.read(count * dtype.itemsize), dtype=dtype, count=count)
                    result[name] = array.reshape(shape, order="F" if fortran else "C").copy()
                else:
                    result[name] = np.memmap(path, dtype=dtype, mode="r", offset=data_start, shape=shape, order="F" if fortran else "C")
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise DreamreelError(str(path), f"not a readable {what} file ({error})", "delete it and rebuild") from None
    return result
