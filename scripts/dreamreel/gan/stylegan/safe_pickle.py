"""Restricted unpickling of StyleGAN model files: data comes out, code never runs.

A pickle is a small program: its GLOBAL opcodes import any callable and its REDUCE
opcodes call it. NVlabs model files use that on purpose (their persistence hook ``exec``s
source code stored in the file). Here every global is looked up in one exact table,
:data:`ALLOWED_GLOBALS`, that maps the names found in real model files to small functions
of ours. Those functions only build inert records (:class:`TensorRecord`,
:class:`PersistentRecord`, ...) from plain data and validate every argument; nothing is
imported, nothing is executed, and no torch object exists until the caller converts the
records. Anything else raises :class:`Refused`.

Three containers are read, all with the same table:

* a plain pickle (NVlabs PyTorch and TensorFlow ``.pkl``), whose tensors carry their
  storage as a nested legacy ``torch.save`` blob (``torch.storage._load_from_bytes``);
* the legacy (non-zip) ``torch.save`` format: five pickles followed by raw storage bytes
  (that nested blob, and old ``.pt`` checkpoints);
* the zip ``torch.save`` format (``<name>/data.pkl`` plus one raw file per storage).

Storage bytes are never trusted: a tensor view must lie inside its storage and may not
have more elements than it, so a corrupted size cannot make us allocate more memory than
the file holds. Views are copied out only against a budget (:class:`LoadContext`): all the
tensors of one file together may not take more bytes than the file itself, so a hundred
views of one storage are refused before they are copied.

The globals are shared by every load in the process, so BUILD (which sets attributes) is
refused on each of them; it works only on records the loader made for the file at hand.
The memo (PUT indices) is a dict, so no index in the file sizes an allocation.
Text quoted from the file in an error goes through :func:`~.quoting.quote`.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import hashlib
import io
import math
import pickle
import struct
import zipfile
from typing import Any, BinaryIO, Callable

import numpy as np

from dreamreel.gan.stylegan.quoting import quote


class Refused(pickle.UnpicklingError):
    """The stream asked for something a model file has no reason to contain."""


class LoadContext:
    """What one file's load may spend: the bytes its tensors may be copied into.

    ``budget_bytes`` is normally the file's size: every tensor of a real model has its own
    bytes in the file, so copying them out never needs more. Views that share a storage
    can ask for far more (a hundred views of 16 MiB are 1.6 GB); the budget refuses the
    copy that would pass it, before it is made.
    """

    def __init__(self, budget_bytes: int):
        self.budget_bytes = budget_bytes
        self.spent_bytes = 0

    def spend(self, count: int) -> None:
        if self.spent_bytes + count > self.budget_bytes:
            raise Refused(f"its tensors add up to more than the {self.budget_bytes} bytes the file holds "
                          "(views sharing one storage are copied once each)")
        self.spent_bytes += count


# The load in progress: storages made while it runs (also those in nested storage blobs,
# which are read by an allowed global that cannot be handed arguments of ours) charge it.
_CURRENT_LOAD: contextvars.ContextVar[LoadContext | None] = contextvars.ContextVar("stylegan_load", default=None)


@contextlib.contextmanager
def loading(context: LoadContext):
    """Make ``context`` the budget of every storage created inside the ``with`` block."""
    token = _CURRENT_LOAD.set(context)
    try:
        yield context
    finally:
        _CURRENT_LOAD.reset(token)


# ---------------------------------------------------------------------------------------
# Inert records the allowed globals build
# ---------------------------------------------------------------------------------------


class _Inert:
    """Base of all records: they cannot be given state by BUILD nor pickled again."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        raise Refused(f"BUILD on {type(self).__name__} is not allowed")

    def __reduce__(self):
        raise TypeError(f"{type(self).__name__} is a loader record and cannot be pickled")


class StorageRecord(_Inert):
    """One storage: a flat numpy array of ``numel`` elements (filled once its bytes are read).

    ``dtype_name`` is the torch dtype name (``"float32"``, ``"bfloat16"``, ...); bfloat16
    data is held as raw ``uint16`` because numpy has no such type.
    """

    __slots__ = ("dtype_name", "numpy_dtype", "numel", "location", "array", "context")

    def __init__(self, dtype_name: str, numpy_dtype: np.dtype, numel: int, location: str):
        self.dtype_name = dtype_name
        self.numpy_dtype = numpy_dtype
        self.numel = numel
        self.location = location
        self.array: np.ndarray | None = None
        # Outside a load (tests building records by hand) nothing is budgeted.
        self.context = _CURRENT_LOAD.get()

    def fill(self, raw: bytes | memoryview) -> None:
        expected = self.numel * self.numpy_dtype.itemsize
        if len(raw) != expected:
            raise Refused(f"storage holds {len(raw)} bytes, its header says {expected}")
        self.array = np.frombuffer(raw, dtype=self.numpy_dtype)


class TensorRecord(_Inert):
    """A tensor as (storage, offset, size, stride), validated; ``array()`` materialises it."""

    __slots__ = ("storage", "offset", "size", "stride", "is_parameter")

    def __init__(self, storage: StorageRecord, offset: int, size: tuple[int, ...], stride: tuple[int, ...], is_parameter: bool = False):
        self.storage = storage
        self.offset = offset
        self.size = size
        self.stride = stride
        self.is_parameter = is_parameter

    @property
    def dtype_name(self) -> str:
        return self.storage.dtype_name

    @property
    def shape(self) -> tuple[int, ...]:
        return self.size

    def array(self) -> np.ndarray:
        """A fresh C-contiguous numpy array with this tensor's elements."""
        data = self.storage.array
        if data is None:
            raise Refused("tensor refers to a storage whose bytes were never read")
        numel = math.prod(self.size)
        if numel == 0:
            return np.zeros(self.size, dtype=self.storage.numpy_dtype)
        itemsize = data.itemsize
        if self.storage.context is not None:
            self.storage.context.spend(numel * itemsize)  # before the copy, not after
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :], shape=self.size, strides=[s * itemsize for s in self.stride], writeable=False
        )
        return np.array(view, order="C", copy=True)


class PersistentRecord(_Inert):
    """What NVlabs' persistence hook would have rebuilt, kept as data.

    ``state`` is the module's ``__dict__`` as stored (``_parameters``, ``_buffers``,
    ``_modules``, ``_init_kwargs``, plain attributes). The embedded source is never
    executed; only its SHA-256 is kept, to tell files apart.
    """

    __slots__ = ("class_name", "state", "version", "source_sha256")

    def __init__(self, class_name: str, state: dict, version: int, source_sha256: str):
        self.class_name = class_name
        self.state = state
        self.version = version
        self.source_sha256 = source_sha256


class TFNetworkRecord:
    """The state of a ``dnnlib.tflib.network.Network`` (a TensorFlow StyleGAN2 pickle).

    BUILD hands it the dict written by ``Network.__getstate__``; only that dict is kept.
    """

    __slots__ = ("state",)

    def __new__(cls, *args: Any, **kwargs: Any) -> "TFNetworkRecord":
        # NEWOBJ makes instances with __new__ alone (no __init__), and a file may skip the
        # BUILD that follows: set every slot here, so a record is never half made.
        if args or kwargs:
            raise Refused("a TensorFlow network is built from its state only")
        record = super().__new__(cls)
        record.state = None
        return record

    def __setstate__(self, state: Any) -> None:
        if self.state is not None or not isinstance(state, dict):
            raise Refused("a TensorFlow network's state must be one dict")
        self.state = state

    def __reduce__(self):
        raise TypeError("TFNetworkRecord is a loader record and cannot be pickled")


class NamespaceRecord:
    """An ``argparse.Namespace`` (training arguments in rosinality checkpoints), as a dict."""

    __slots__ = ("values",)

    def __new__(cls, *args: Any, **kwargs: Any) -> "NamespaceRecord":
        # As for TFNetworkRecord: NEWOBJ without BUILD must still leave a whole record.
        if args:
            raise Refused("argparse.Namespace takes keyword arguments only")
        record = super().__new__(cls)
        record.values = {}
        return record

    def __init__(self, **values: Any) -> None:
        self.values = dict(values)

    def __setstate__(self, state: Any) -> None:
        if self.values or not isinstance(state, dict):
            raise Refused("argparse.Namespace state must be a dict")
        self.values = dict(state)

    def __reduce__(self):
        raise TypeError("NamespaceRecord is a loader record and cannot be pickled")


class AttrDict(dict):
    """Stands in for ``dnnlib.util.EasyDict``: a plain dict (EasyDict adds only attribute access)."""

    def __setstate__(self, state: Any) -> None:
        if state:
            raise Refused("EasyDict carries no state besides its items")

    def __reduce__(self):
        raise TypeError("AttrDict is a loader record and cannot be pickled")


class DtypeRecord:
    """A numpy dtype named in the stream; numeric kinds only, byte order set by BUILD."""

    __slots__ = ("dtype",)

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype

    def __setstate__(self, state: Any) -> None:
        # numpy writes (version, byteorder, subdtype, names, fields, elsize, alignment, flags).
        if not isinstance(state, tuple) or len(state) < 2 or not isinstance(state[1], str):
            raise Refused("malformed numpy dtype state")
        if any(part is not None for part in state[2:5]):
            raise Refused("structured numpy dtypes are not allowed")
        order = state[1]
        if order not in ("<", ">", "|", "="):
            raise Refused(f"unknown numpy byte order {quote(order)}")
        if order in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(order)

    def __reduce__(self):
        raise TypeError("DtypeRecord is a loader record and cannot be pickled")


class NdarrayRecord:
    """A numpy array being rebuilt (``_reconstruct`` then BUILD); ``array`` holds the result."""

    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        # numpy writes (version, shape, dtype, is_fortran, raw bytes).
        if self.array is not None or not isinstance(state, tuple) or len(state) != 5:
            raise Refused("malformed numpy array state")
        _version, shape, dtype, fortran, raw = state
        if not isinstance(dtype, DtypeRecord):
            raise Refused("numpy array state without a vetted dtype")
        shape = _int_tuple(shape, "numpy array shape")
        if not isinstance(raw, (bytes, bytearray)) or not isinstance(fortran, bool):
            raise Refused("numpy array data must be raw bytes")
        if len(raw) != math.prod(shape) * dtype.dtype.itemsize:
            raise Refused("numpy array data does not match its shape")
        flat = np.frombuffer(bytes(raw), dtype=dtype.dtype)
        self.array = flat.reshape(shape, order="F" if fortran else "C").copy()

    def __reduce__(self):
        raise TypeError("NdarrayRecord is a loader record and cannot be pickled")


# ---------------------------------------------------------------------------------------
# The callables the stream may reach
# ---------------------------------------------------------------------------------------

# torch storage class name -> (torch dtype name, numpy dtype holding its bytes)
_STORAGE_TYPES: dict[str, tuple[str, np.dtype]] = {
    "FloatStorage": ("float32", np.dtype("<f4")),
    "DoubleStorage": ("float64", np.dtype("<f8")),
    "HalfStorage": ("float16", np.dtype("<f2")),
    "BFloat16Storage": ("bfloat16", np.dtype("<u2")),
    "LongStorage": ("int64", np.dtype("<i8")),
    "IntStorage": ("int32", np.dtype("<i4")),
    "ShortStorage": ("int16", np.dtype("<i2")),
    "CharStorage": ("int8", np.dtype("i1")),
    "ByteStorage": ("uint8", np.dtype("u1")),
    "BoolStorage": ("bool", np.dtype("?")),
    "UntypedStorage": ("uint8", np.dtype("u1")),
}


class StorageType:
    """Marker for a torch storage class named in a persistent id (``torch.FloatStorage``)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __call__(self, *args: Any) -> Any:
        raise Refused(f"torch.{self.name} may only appear inside a storage reference")

    def __reduce__(self):
        raise TypeError("StorageType is a loader record and cannot be pickled")


_NUMPY_DTYPES = {"f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1", "?"}


def _int_tuple(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple) or len(value) > 16:
        raise Refused(f"{what} must be a short tuple of integers")
    for item in value:
        if type(item) is not int or item < 0 or item > 2**40:
            raise Refused(f"{what} must hold non-negative integers")
    return value


def _empty_hooks(value: Any, what: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or value:
        raise Refused(f"{what}: tensors with hooks are not allowed")


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any, requires_grad: Any = False, backward_hooks: Any = None, metadata: Any = None) -> TensorRecord:
    """``torch._utils._rebuild_tensor_v2``, validated: the view must lie inside its storage."""
    if not isinstance(storage, StorageRecord):
        raise Refused("tensor rebuilt from something that is not a storage")
    if type(storage_offset) is not int or storage_offset < 0:
        raise Refused("tensor storage offset must be a non-negative integer")
    size = _int_tuple(size, "tensor size")
    stride = _int_tuple(stride, "tensor stride")
    if len(size) != len(stride):
        raise Refused("tensor size and stride differ in length")
    if not isinstance(requires_grad, bool):
        raise Refused("tensor requires_grad must be a bool")
    _empty_hooks(backward_hooks, "tensor")
    if metadata is not None and (not isinstance(metadata, dict) or metadata):
        raise Refused("tensor metadata is not allowed")
    numel = math.prod(size)
    if numel:
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= storage.numel or numel > storage.numel:
            raise Refused("tensor view lies outside its storage")
    return TensorRecord(storage, storage_offset, size, stride)


def _rebuild_parameter(data: Any, requires_grad: Any = False, backward_hooks: Any = None) -> TensorRecord:
    """``torch._utils._rebuild_parameter``: a parameter is its tensor, flagged."""
    if not isinstance(data, TensorRecord) or not isinstance(requires_grad, bool):
        raise Refused("parameter rebuilt from something that is not a tensor")
    _empty_hooks(backward_hooks, "parameter")
    return TensorRecord(data.storage, data.offset, data.size, data.stride, is_parameter=True)


def _rebuild_parameter_with_state(data: Any, requires_grad: Any, backward_hooks: Any, state: Any) -> TensorRecord:
    """``torch._utils._rebuild_parameter_with_state``: accepted only with no extra state."""
    if state not in (None, {}, ()) and not (isinstance(state, tuple) and all(not part for part in state)):
        raise Refused("parameters with extra attributes are not allowed")
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _load_nested_storage(blob: Any) -> StorageRecord:
    """``torch.storage._load_from_bytes``: a legacy ``torch.save`` of one storage, parsed by us."""
    if not isinstance(blob, (bytes, bytearray)):
        raise Refused("storage blob must be bytes")
    result = load_legacy_torch(io.BytesIO(bytes(blob)))
    if not isinstance(result, StorageRecord):
        raise Refused("storage blob does not hold a storage")
    return result


def _record_persistent(meta: Any) -> PersistentRecord:
    """NVlabs' ``_reconstruct_persistent_obj``, minus the ``exec``: keep the state as data."""
    if not isinstance(meta, dict):
        raise Refused("persistent object metadata must be a dict")
    if meta.get("type") != "class":
        raise Refused(f"persistent object of type {quote(meta.get('type'))} (only 'class' exists)")
    class_name, state, version, source = (meta.get(k) for k in ("class_name", "state", "version", "module_src"))
    if not isinstance(class_name, str) or not isinstance(state, dict) or type(version) is not int:
        raise Refused("persistent object metadata lacks class_name, state or version")
    if not isinstance(source, str):
        raise Refused("persistent object metadata lacks its module source")
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    return PersistentRecord(class_name, state, version, digest)


def _np_reconstruct(subtype: Any, shape: Any, dtype_code: Any) -> NdarrayRecord:
    """``numpy.core.multiarray._reconstruct``: only plain ndarrays; BUILD fills in the data."""
    if subtype is not _NDARRAY_MARKER:
        raise Refused("only plain numpy arrays are allowed")
    return NdarrayRecord()


def _np_dtype(spec: Any, align: Any = False, copy: Any = True) -> DtypeRecord:
    if not isinstance(spec, str) or spec not in _NUMPY_DTYPES:
        raise Refused(f"numpy dtype {quote(spec)} is not allowed (numeric types only)")
    return DtypeRecord(np.dtype(spec))


def _np_scalar(dtype: Any, raw: Any = None) -> Any:
    """``numpy.core.multiarray.scalar``: one numeric value from its bytes."""
    if not isinstance(dtype, DtypeRecord) or not isinstance(raw, (bytes, bytearray)):
        raise Refused("numpy scalar needs a vetted dtype and raw bytes")
    if len(raw) != dtype.dtype.itemsize:
        raise Refused("numpy scalar data does not match its dtype")
    return np.frombuffer(bytes(raw), dtype=dtype.dtype)[0].item()


class _NdarrayMarker:
    """What ``numpy.ndarray`` resolves to: usable only as ``_reconstruct``'s first argument."""

    def __call__(self, *args: Any) -> Any:
        raise Refused("numpy.ndarray may only be used to rebuild an array")



_NDARRAY_MARKER = _NdarrayMarker()


def _set(*args: Any) -> set:
    if len(args) > 1:
        raise Refused("set takes at most one argument")
    return set(*args)


def _frozenset(*args: Any) -> frozenset:
    if len(args) > 1:
        raise Refused("frozenset takes at most one argument")
    return frozenset(*args)


def _ordered_dict(*args: Any) -> collections.OrderedDict:
    if len(args) > 1:
        raise Refused("OrderedDict takes at most one argument")
    return collections.OrderedDict(*args)


# The complete attack surface: every (module, name) a model file may name, and what it
# becomes. Exact pairs only; no prefixes, no attribute traversal.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("builtins", "set"): _set,
    ("builtins", "frozenset"): _frozenset,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch.storage", "_load_from_bytes"): _load_nested_storage,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _record_persistent,
    ("numpy", "dtype"): _np_dtype,
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy.core.multiarray", "scalar"): _np_scalar,
    ("numpy._core.multiarray", "scalar"): _np_scalar,
    ("dnnlib.util", "EasyDict"): AttrDict,
    ("dnnlib", "EasyDict"): AttrDict,
    ("dnnlib.tflib.network", "Network"): TFNetworkRecord,
    ("argparse", "Namespace"): NamespaceRecord,
    ("numpy", "ndarray"): _NDARRAY_MARKER,
}
ALLOWED_GLOBALS.update({("torch", name): StorageType(name) for name in _STORAGE_TYPES})


# The only objects BUILD may give state to: records the loader made for this file, each
# with a __setstate__ that checks what it gets. Never a global, which every load in the
# process shares: a function's __qualname__ or __defaults__, a storage-type marker, a class.
_BUILD_TARGETS = (TFNetworkRecord, NamespaceRecord, NdarrayRecord, DtypeRecord, AttrDict)
_GLOBAL_NAMES = {id(value): ".".join(key) for key, value in ALLOWED_GLOBALS.items()}


class SafeUnpickler(pickle._Unpickler):
    """A pickle reader that resolves globals only through :data:`ALLOWED_GLOBALS`.

    ``storage_loader`` handles persistent ids (storage references in ``torch.save``
    files); without it any persistent id is refused, as in a plain NVlabs pickle.

    Built on the Python implementation of the unpickler, for two reasons. Its memo is a
    dict, where the C unpickler keeps an array as long as the largest index a PUT names:
    a 20-byte ``LONG_BINPUT 2**31`` makes it allocate and zero 32 GB. And its opcodes can
    be overridden: BUILD goes through :meth:`load_build` below. Model pickles hold few
    opcodes (their bulk is a few large byte strings), so it is no slower in practice.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: BinaryIO, storage_loader: Callable[[Any], StorageRecord] | None = None):
        super().__init__(file, fix_imports=False)
        self._storage_loader = storage_loader

    def load_build(self) -> None:
        state = self.stack.pop()
        target = self.stack[-1]
        if id(target) in _GLOBAL_NAMES:
            raise Refused(f"BUILD on the loader's global {_GLOBAL_NAMES[id(target)]} is not allowed")
        if type(target) not in _BUILD_TARGETS:
            raise Refused(f"BUILD on {quote(target, 40)} is not allowed (only on numpy arrays and dtypes, "
                          "TensorFlow networks, argparse.Namespace and EasyDict)")
        target.__setstate__(state)

    dispatch[pickle.BUILD[0]] = load_build

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise Refused(f"forbidden global {quote(f'{module}.{name}')}") from None

    def persistent_load(self, pid: Any) -> Any:
        if self._storage_loader is None:
            raise Refused("persistent references are not allowed in this file")
        return self._storage_loader(pid)


def _parse_storage_pid(pid: Any) -> tuple[StorageType, str, str, int]:
    """Check a storage reference ('storage', type, key, location, numel[, view])."""
    if not isinstance(pid, tuple) or len(pid) not in (5, 6) or pid[0] != "storage":
        raise Refused("persistent reference is not a storage")
    _tag, storage_type, key, location, numel = pid[:5]
    if len(pid) == 6 and pid[5] is not None:
        raise Refused("storage views (old torch format) are not supported")
    if not isinstance(storage_type, StorageType):
        raise Refused("storage reference without a known storage type")
    if not isinstance(key, str) or not isinstance(location, str) or type(numel) is not int or not 0 <= numel <= 2**40:
        raise Refused("malformed storage reference")
    return storage_type, key, location, numel


def _new_storage(storage_type: StorageType, numel: int, location: str) -> StorageRecord:
    dtype_name, numpy_dtype = _STORAGE_TYPES[storage_type.name]
    if storage_type.name == "UntypedStorage":
        numpy_dtype = np.dtype("u1")
    return StorageRecord(dtype_name, numpy_dtype, numel, location)


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
# How a legacy torch.save file starts: PROTO 2, LONG1 of 10 bytes, the magic number.
LEGACY_TORCH_PREFIX = b"\x80\x02\x8a\x0a" + _LEGACY_MAGIC.to_bytes(10, "little")


def _read_exact(file: BinaryIO, count: int) -> bytes:
    # Check what is left first, so a corrupted count cannot make us allocate it.
    here = file.tell()
    end = file.seek(0, io.SEEK_END)
    file.seek(here)
    if count > end - here:
        raise EOFError("file ends inside a storage")
    data = file.read(count)
    if len(data) != count:
        raise EOFError("file ends inside a storage")
    return data


def load_legacy_torch(file: BinaryIO, context: LoadContext | None = None) -> Any:
    """Read a legacy (non-zip) ``torch.save`` stream with the allow-list; storages ignore their device.

    Layout: pickles of the magic number, the protocol version and system info, then the
    object (storages as persistent ids), then the list of storage keys; then, per key, an
    int64 element count and the raw little-endian bytes.
    """
    with loading(context or _CURRENT_LOAD.get() or LoadContext(_size_of(file))):
        return _read_legacy_torch(file)


def _read_legacy_torch(file: BinaryIO) -> Any:
    if SafeUnpickler(file).load() != _LEGACY_MAGIC:
        raise Refused("not a torch.save file (bad magic number)")
    if SafeUnpickler(file).load() != _LEGACY_PROTOCOL:
        raise Refused("unsupported torch.save protocol version")
    info = SafeUnpickler(file).load()
    if not isinstance(info, dict) or info.get("little_endian") is not True:
        raise Refused("only little-endian torch.save files are supported")
    storages: dict[str, StorageRecord] = {}

    def storage_loader(pid: Any) -> StorageRecord:
        storage_type, key, location, numel = _parse_storage_pid(pid)
        if key not in storages:
            storages[key] = _new_storage(storage_type, numel, location)
        return storages[key]

    result = SafeUnpickler(file, storage_loader).load()
    keys = SafeUnpickler(file).load()
    if not isinstance(keys, list) or sorted(keys) != sorted(storages):
        raise Refused("storage key list does not match the storages referenced")
    for key in keys:
        storage = storages[key]
        (count,) = struct.unpack("<q", _read_exact(file, 8))
        if count != storage.numel:
            raise Refused("storage size in the data differs from its reference")
        storage.fill(_read_exact(file, count * storage.numpy_dtype.itemsize))
    return result


# torch.save's data.pkl holds the structure only (tensors are separate members): well
# under 1 MB for a 1024 px checkpoint with optimizer states. More is refused before a
# byte of it is inflated; what is read stays under the declared size, so a pickle inside
# can make us hold at most about twice this.
MAX_ZIP_PICKLE_BYTES = 32 * 2**20
_ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}


class _BoundedReader(io.RawIOBase):
    """A member of the archive read as a stream that cannot yield more than its declared size."""

    def __init__(self, stream: BinaryIO, limit: int):
        super().__init__()
        self._stream = stream
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: self._left]
        data = self._stream.read(len(view))
        view[: len(data)] = data
        self._left -= len(data)
        return len(data)


def _member(archive: zipfile.ZipFile, name: str, archive_bytes: int, what: str) -> zipfile.ZipInfo:
    """The header of one member, checked against the archive's size before anything is read."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise Refused(f"{what} {quote(name)} is missing from the archive") from None
    if info.header_offset + info.compress_size > archive_bytes:
        raise Refused(f"{what} {quote(name)} claims {info.compress_size} bytes at offset {info.header_offset}, past the end of the file")
    return info


def load_zip_torch(file: BinaryIO, context: LoadContext | None = None) -> Any:
    """Read a zip-format ``torch.save`` file (``<name>/data.pkl`` + ``<name>/data/<key>``).

    The central directory is read first and every size checked before any data: the pickle
    may be stored or deflated and at most :data:`MAX_ZIP_PICKLE_BYTES` once inflated;
    storages must be stored (torch never compresses them), exactly as long as their
    references say, inside the file, and together no larger than it.
    """
    archive_bytes = _size_of(file)
    context = context or LoadContext(archive_bytes)
    with zipfile.ZipFile(file) as archive, loading(context):
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("/data.pkl") and name.count("/") == 1]
        if len(pickles) != 1:
            raise Refused("zip file is not a torch.save archive (no single <name>/data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = prefix + "byteorder"
        if byteorder in names:
            info = _member(archive, byteorder, archive_bytes, "member")
            if info.file_size > 16 or archive.read(info) != b"little":
                raise Refused("only little-endian torch.save files are supported")
        pickle_info = _member(archive, pickles[0], archive_bytes, "member")
        method = _ZIP_METHODS.get(pickle_info.compress_type, f"method {pickle_info.compress_type}")
        if pickle_info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refused(f"{quote(pickles[0])} is compressed with {method} (torch.save stores it; zip tools deflate it at most)")
        if pickle_info.file_size > MAX_ZIP_PICKLE_BYTES:
            raise Refused(f"{quote(pickles[0])} inflates to {pickle_info.file_size} bytes, more than any checkpoint's "
                          f"structure needs ({MAX_ZIP_PICKLE_BYTES})")
        storages: dict[str, StorageRecord] = {}
        storage_bytes = 0

        def storage_loader(pid: Any) -> StorageRecord:
            nonlocal storage_bytes
            storage_type, key, location, numel = _parse_storage_pid(pid)
            if key not in storages:
                storage = _new_storage(storage_type, numel, location)
                member_info = _member(archive, f"{prefix}data/{key}", archive_bytes, "storage")
                # torch stores storages uncompressed; refusing compression rules out zip bombs.
                if member_info.compress_type != zipfile.ZIP_STORED:
                    raise Refused(f"storage {quote(key)} is compressed (torch never writes that)")
                size = member_info.file_size
                if size != numel * storage.numpy_dtype.itemsize or size != member_info.compress_size:
                    raise Refused(f"storage {quote(key)} has {size} bytes, its reference says {numel} elements")
                # Members may overlap in a crafted archive; the sum still cannot pass the file.
                storage_bytes += size
                if storage_bytes > archive_bytes:
                    raise Refused("its storages add up to more bytes than the file holds")
                storage.fill(archive.read(member_info))
                storages[key] = storage
            return storages[key]

        with archive.open(pickle_info) as stream:
            bounded = io.BufferedReader(_BoundedReader(stream, pickle_info.file_size))
            return SafeUnpickler(bounded, storage_loader).load()


def _size_of(file: BinaryIO) -> int:
    here = file.tell()
    size = file.seek(0, io.SEEK_END)
    file.seek(here)
    return size


def load_plain_pickle(file: BinaryIO, context: LoadContext | None = None) -> Any:
    """Read a plain pickle (NVlabs ``.pkl``) with the allow-list; persistent ids refused."""
    with loading(context or LoadContext(_size_of(file))):
        return SafeUnpickler(file).load()
