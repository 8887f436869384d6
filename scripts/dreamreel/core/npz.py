"""Byte-reproducible, memory-mappable ``.npz`` files for the stage outputs.

``numpy.savez`` stamps every member with the current time, so the same arrays give
different bytes on every run and Make-driven caches keyed on content would miss. Here
members are stored uncompressed with a fixed timestamp and in sorted order: the same
arrays always give the same file. Because nothing is compressed, each member's data can
be memory-mapped straight out of the zip, so a renderer reading a few seconds of a long
walk never holds the whole song's latents in memory; and a member can be written as it is
produced (:class:`StreamedArray`), so the stage making a long walk need not hold it either.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from dreamreel.core.atomic import atomic_path
from dreamreel.core.errors import DreamreelError

# The earliest date a zip header can hold; any fixed value makes the bytes reproducible.
_FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class StreamedArray:
    """An ``.npz`` member too large to hold: its shape, dtype, and its rows block by block.

    ``blocks`` returns a new iterable of arrays of shape (k, *shape[1:]) whose k add up to
    ``shape[0]``; :func:`save_npz` writes them one after another, so the member never
    exists whole in memory. The file is the same as if the joined array had been given.
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    blocks: Callable[[], Iterable[np.ndarray]]

    def collect(self) -> np.ndarray:
        """The whole member as one array (for tests and small walks)."""
        parts = [np.asarray(block, dtype=self.dtype) for block in self.blocks()]
        return np.concatenate(parts) if parts else np.zeros(self.shape, dtype=self.dtype)


def _npy_header(shape: tuple[int, ...], dtype: np.dtype) -> bytes:
    """The .npy header numpy.save would write for an array of this shape and dtype."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": tuple(int(n) for n in shape)}
    buffer = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(buffer, header)
    except ValueError:  # a header over 64 KiB needs format 2.0, as numpy.save chooses
        buffer = io.BytesIO()
        np.lib.format.write_array_header_2_0(buffer, header)
    return buffer.getvalue()


def _member_rows(name: str, member) -> tuple[tuple[int, ...], np.dtype, Callable[[], Iterable[np.ndarray]]]:
    if isinstance(member, StreamedArray):
        return tuple(member.shape), np.dtype(member.dtype), member.blocks
    array = np.asarray(member)
    if array.dtype == object:
        raise TypeError(f"{name}: object arrays cannot be stored")
    if not array.flags.c_contiguous:
        array = array.copy(order="C")
    # Whole arrays are written a slice of rows at a time too: no second copy of a large one.
    row_bytes = int(np.prod(array.shape[1:], dtype=np.int64)) * array.itemsize
    rows = max(1, (1 << 24) // max(1, row_bytes))
    return array.shape, array.dtype, lambda: (array[i : i + rows] for i in range(0, len(array), rows)) if array.ndim else iter([array])


def save_npz(target: str | Path, arrays: Mapping[str, "np.ndarray | StreamedArray"]) -> None:
    """Write ``arrays`` to ``target`` atomically and deterministically.

    Parameters
    ----------
    target : path
        The ``.npz`` file to write.
    arrays : mapping of str to array-like or :class:`StreamedArray`
        Member name (without ``.npy``) to array. Scalars become 0-d arrays. A
        :class:`StreamedArray` is written block by block as it is produced.
    """
    with atomic_path(target) as temporary:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name in sorted(arrays):
                shape, dtype, blocks = _member_rows(name, arrays[name])
                header = _npy_header(shape, dtype)
                expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_DATE_TIME)
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                # Known in advance, the size makes the stream's local header the one
                # ZipFile.writestr would have written, so the bytes do not change.
                info.file_size = len(header) + expected
                written = 0
                with archive.open(info, mode="w") as member:
                    member.write(header)
                    for block in blocks():
                        block = np.ascontiguousarray(block, dtype=dtype)
                        if block.shape[1:] != tuple(shape[1:]):
                            raise ValueError(f"{name}: a block of shape {block.shape} does not fit {shape}")
                        if block.size:  # a member with no elements (no parts) has no bytes, and memoryview refuses to cast it
                            member.write(memoryview(block).cast("B") if block.ndim else block.tobytes())
                        written += block.nbytes
                if written != expected:
                    raise ValueError(f"{name}: {written} bytes written, {expected} expected for shape {shape}")


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
