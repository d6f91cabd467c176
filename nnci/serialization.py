"""nnci.save / nnci.load: tensors and nested dicts, lists, tuples, numbers and strings in one safetensors file,
never pickle.

The tensors are the file's entries (a flat dict of tensors keeps its own names, so safetensors readers and
torch's load_file + load_state_dict read a saved state_dict as it is); the nesting (a checkpoint of model and
optimizer state dicts, a step, a loss) is JSON in the file's metadata under "nnci_structure". Writes are atomic
(temporary file + rename). A PyTorch pickle checkpoint is refused with a message saying how to convert it.
"""
from __future__ import annotations

import json
import math
import os
import struct
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

from .backend import xp
from .device import check_device
from .io import atomic_write
from .tensor import Size, Tensor

STRUCTURE = "nnci_structure"


class WeightsFileError(ValueError):
    """A weights or checkpoint file that is missing, truncated, corrupt or in a foreign format."""


def _contiguous(array: Any) -> Any:
    return array if array.flags.c_contiguous else array.copy(order="C")  # keeps 0-d arrays 0-d


def _arrays_in_order(state: Mapping[str, Any]) -> "OrderedDict[str, Any]":
    out = OrderedDict()
    for name, value in state.items():
        out[name] = _contiguous(value._array if isinstance(value, Tensor) else xp.asarray(value))
    return out


# ----- the structure as JSON --------------------------------------------------------------------------
def _memory_owner(array: Any) -> Any:
    """The array that owns array's memory (array itself if it owns it)."""
    return array.base if isinstance(array.base, xp.ndarray) else array


def _shared_owners(obj: Any) -> set:
    """ids of the memory owners behind two or more of the tensors in obj (views of one another, tied weights)."""
    seen: dict[int, int] = {}

    def walk(value: Any) -> None:
        if isinstance(value, (Tensor, xp.ndarray)):
            owner = _memory_owner(value._array if isinstance(value, Tensor) else value)
            seen[id(owner)] = seen.get(id(owner), 0) + 1
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(obj)
    return {key for key, count in seen.items() if count > 1}


class _Packer:
    """Walks a nested object, collecting its tensors and describing the rest as JSON. Tensors that share memory
    (views of one another) are stored as views of one storage entry, so they share it again when loaded."""

    def __init__(self, shared: set | None = None) -> None:
        self.arrays: "OrderedDict[str, Any]" = OrderedDict()
        self.shared = shared or set()
        self.storages: dict[int, str] = {}  # id(owner) -> its entry

    def _storage_view(self, array: Any) -> dict | None:
        """{"__storage__": entry, offset, shape, strides} (in elements) for an array of a shared owner."""
        owner = _memory_owner(array)
        if id(owner) not in self.shared or owner.dtype != array.dtype or not (
                owner.flags.c_contiguous or owner.flags.f_contiguous):
            return None
        if id(owner) not in self.storages:
            name = f"__storage_{len(self.storages)}"
            self.arrays[name] = owner.ravel(order="K")  # the memory in its own order
            self.storages[id(owner)] = name
        size = array.itemsize
        start = owner.ctypes.data if owner.size else 0
        return {"__storage__": self.storages[id(owner)], "offset": (array.ctypes.data - start) // size,
                "shape": list(array.shape), "strides": [s // size for s in array.strides]}

    def tensor(self, value: Any, hint: str) -> dict:
        """The tensor under its dotted path as the entry's name (a flat state_dict keeps its keys)."""
        array = value._array if isinstance(value, Tensor) else value
        if array.dtype.kind not in "biuf":
            raise TypeError(f"nnci.save: cannot store an array of dtype {array.dtype}")
        entry = self._storage_view(array)
        if entry is None:
            name = hint if hint and hint not in self.arrays else f"t{len(self.arrays)}"
            while name in self.arrays:
                name += "_"
            self.arrays[name] = _contiguous(array)
            entry = {"__tensor__": name}
        from .nn.module import Parameter
        if isinstance(value, xp.ndarray):
            entry["numpy"] = True
        elif isinstance(value, Parameter):
            entry["parameter"] = True
            entry["requires_grad"] = value.requires_grad
        elif value.requires_grad:
            entry["requires_grad"] = True
        return entry

    def pack(self, value: Any, hint: str = "") -> Any:
        if isinstance(value, (Tensor, xp.ndarray)):
            return self.tensor(value, hint)
        if isinstance(value, xp.generic):
            value = value.item()
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, Size):
            return {"__size__": list(value)}
        if isinstance(value, tuple):
            return {"__tuple__": [self.pack(v, f"{hint}.{i}" if hint else "") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.pack(v, f"{hint}.{i}" if hint else "") for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            items = []
            for key, item in value.items():
                if not (key is None or isinstance(key, (bool, int, float, str, tuple))):
                    raise TypeError(f"nnci.save: dict keys must be strings, numbers or tuples, got {type(key).__name__}")
                child = f"{hint}.{key}" if hint else str(key)
                items.append([self.pack(key), self.pack(item, child)])
            return {"__dict__": items, "ordered": isinstance(value, OrderedDict)}
        from .dtypes import dtype as DType
        if isinstance(value, DType):
            return {"__dtype__": value.name}
        what = type(value).__name__
        hint_text = " save model.state_dict() instead" if hasattr(value, "state_dict") else ""
        raise TypeError(f"nnci.save cannot store a {what} (nnci never pickles: it stores tensors, numbers, strings and "
                        f"dicts, lists and tuples of them);{hint_text}")


def _unpack(value: Any, arrays: Mapping[str, Any]) -> Any:
    if isinstance(value, list):
        return [_unpack(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value or "__storage__" in value:
        if "__storage__" in value:
            storage = arrays[value["__storage__"]]
            array = xp.lib.stride_tricks.as_strided(storage[value["offset"]:], tuple(value["shape"]),
                                                    tuple(s * storage.itemsize for s in value["strides"]))
        else:
            array = arrays[value["__tensor__"]]
        if value.get("numpy"):
            return array
        if value.get("parameter"):
            from .nn.module import Parameter
            return Parameter(Tensor._wrap(array), requires_grad=value.get("requires_grad", True))
        tensor = Tensor._wrap(array)
        if value.get("requires_grad"):
            tensor.requires_grad_(True)
        return tensor
    if "__tuple__" in value:
        return tuple(_unpack(v, arrays) for v in value["__tuple__"])
    if "__size__" in value:
        return Size(value["__size__"])
    if "__float__" in value:
        return float(value["__float__"])
    if "__dtype__" in value:
        from .dtypes import as_dtype
        return as_dtype(value["__dtype__"])
    if "__dict__" in value:
        pairs = [(_key(_unpack(k, arrays)), _unpack(v, arrays)) for k, v in value["__dict__"]]
        return OrderedDict(pairs) if value.get("ordered") else dict(pairs)
    return {k: _unpack(v, arrays) for k, v in value.items()}


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


# ----- files ---------------------------------------------------------------------------------------------
def _safetensors_bytes(state: Mapping[str, Any], name: object, metadata: Mapping[str, str] | None) -> bytes:
    import safetensors.numpy

    arrays = _arrays_in_order(state)
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    try:
        return safetensors.numpy.save(dict(arrays), metadata=meta or None)
    except Exception as error:  # the library's own error type for a dtype it cannot store
        raise TypeError(f"cannot save to {name}: {error}") from None


def save_safetensors(state: Mapping[str, Any], path: str | os.PathLike, metadata: Mapping[str, str] | None = None) -> None:
    """Write name -> tensor as a safetensors file (atomically), with string metadata."""
    blob = _safetensors_bytes(state, path, metadata)
    atomic_write(path, lambda handle: handle.write(blob))


def _header(raw: bytes, path: Path) -> dict:
    if len(raw) < 8:
        raise WeightsFileError(f"{path}: not a valid safetensors file (only {len(raw)} bytes)")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > len(raw) - 8:
        raise WeightsFileError(f"{path}: not a valid safetensors file (header length {size} does not fit in the file "
                               f"of {len(raw)} bytes)")
    try:
        header = json.loads(raw[8:8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WeightsFileError(f"{path}: not a valid safetensors file (header is not JSON: {error})") from None
    if not isinstance(header, dict):
        raise WeightsFileError(f"{path}: not a valid safetensors file (header is not a JSON object)")
    return header


def _refuse_pickle(raw: bytes, path: Path) -> None:
    if raw[:4] == b"PK\x03\x04" or raw[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
        raise WeightsFileError(
            f"{path}: a PyTorch pickle checkpoint (torch.save's format); nnci never unpickles files, since unpickling "
            "can run any code. Convert it once with torch: safetensors.torch.save_file(torch.load(path), "
            "'model.safetensors'), then load that")


def read_safetensors(path: str | os.PathLike) -> tuple["OrderedDict[str, Any]", dict[str, str]]:
    """The arrays of a safetensors file, in the order they were written, and its metadata; BF16 becomes float32."""
    path = Path(path)
    if not path.is_file():
        raise WeightsFileError(f"{path}: no such weights file")
    return _parse_safetensors(path.read_bytes(), path)


def _parse_safetensors(raw: bytes, path: Any) -> tuple["OrderedDict[str, Any]", dict[str, str]]:
    import safetensors.numpy

    try:
        header = _header(raw, path)
    except WeightsFileError:
        _refuse_pickle(raw, path)
        raise
    metadata = dict(header.get("__metadata__") or {})
    entries = [(k, v) for k, v in header.items() if k != "__metadata__"]
    if any(not isinstance(v, dict) or "data_offsets" not in v for _, v in entries):
        raise WeightsFileError(f"{path}: not a valid safetensors file (an entry lacks dtype, shape or data_offsets)")
    entries.sort(key=lambda kv: kv[1]["data_offsets"][0])
    if any(v.get("dtype") == "BF16" for _, v in entries):
        return _read_with_bf16(raw, header, entries, path), metadata
    try:
        arrays = safetensors.numpy.load(raw)
    except Exception as error:  # SafetensorError, and TypeError for dtypes NumPy lacks
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WeightsFileError(f"{path}: not a valid safetensors file (truncated or corrupt: {first})") from None
    return OrderedDict((name, arrays[name]) for name, _ in entries), metadata


def _read_with_bf16(raw: bytes, header: dict, entries: list, path: Path) -> "OrderedDict[str, Any]":
    """safetensors' NumPy reader has no bfloat16: such entries are widened to float32 (its upper 16 bits)."""
    size = struct.unpack("<Q", raw[:8])[0]
    data = memoryview(raw)[8 + size:]
    kinds = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
             "U8": "u1", "BOOL": "?", "BF16": "<u2"}
    out = OrderedDict()
    for name, info in entries:
        kind = info.get("dtype")
        if kind not in kinds:
            raise WeightsFileError(f"{path}: entry {name!r} has unsupported dtype {kind}")
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        count = 1
        for n in shape:
            count *= n
        if not 0 <= begin <= end <= len(data) or end - begin != count * xp.dtype(kinds[kind]).itemsize:
            raise WeightsFileError(f"{path}: entry {name!r} does not match its shape or the file is truncated")
        array = xp.frombuffer(data[begin:end], dtype=kinds[kind]).reshape(shape)
        if kind == "BF16":
            array = (array.astype(xp.uint32) << 16).view(xp.float32)
        out[name] = array.astype(array.dtype.newbyteorder("="), copy=True)
    return out


def safetensors_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The __metadata__ strings of a safetensors file (empty if none)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsFileError(f"{path}: no such weights file")
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise WeightsFileError(f"{path}: not a valid safetensors file (only {len(head)} bytes)")
        (size,) = struct.unpack("<Q", head)
        if size > 100 * 1024 * 1024:
            _refuse_pickle(head, path)
            raise WeightsFileError(f"{path}: not a valid safetensors file (header length {size})")
        try:
            header = _header(head + handle.read(size), path)
        except WeightsFileError:
            _refuse_pickle(head, path)
            raise
    return dict(header.get("__metadata__") or {})


def load_safetensors(path: str | os.PathLike) -> "OrderedDict[str, Tensor]":
    """A safetensors file as name -> Tensor, in file order."""
    arrays, _ = read_safetensors(path)
    return OrderedDict((name, Tensor._wrap(array)) for name, array in arrays.items())


def _flat_state(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(k, str) and isinstance(v, (Tensor, xp.ndarray))
                                                            for k, v in obj.items())


def _is_file_object(f: Any) -> bool:
    return hasattr(f, "write") or hasattr(f, "read")


def save(obj: Any, f: "str | os.PathLike | Any", metadata: Mapping[str, str] | None = None, **ignored: Any) -> None:
    """Save tensors and nested dicts/lists/tuples of them, numbers and strings (a state_dict, or a checkpoint of
    model and optimizer state and a step) to a path or a binary file object; .npz for a flat dict of tensors.
    Writes to a path are atomic; nothing is pickled."""
    if _is_file_object(f):
        f.write(_structured_bytes(obj, getattr(f, "name", "the file object"), metadata))
        return
    path = Path(f)
    if str(path).endswith(".npz"):
        if not _flat_state(obj):
            raise TypeError("nnci.save to .npz takes a flat dict of tensors; use a .safetensors name for nested data")
        arrays = _arrays_in_order(obj)
        atomic_write(path, lambda handle: xp.savez(handle, **arrays))
        return
    blob = _structured_bytes(obj, path, metadata)
    atomic_write(path, lambda handle: handle.write(blob))


def _structured_bytes(obj: Any, name: object, metadata: Mapping[str, str] | None) -> bytes:
    packer = _Packer(_shared_owners(obj))
    structure = packer.pack(obj)
    meta = dict(metadata or {})
    meta[STRUCTURE] = json.dumps(structure)
    return _safetensors_bytes(packer.arrays, name, meta)


def load(f: str | os.PathLike, map_location: Any = None, pickle_module: Any = None, *, weights_only: Any = None,
         mmap: Any = None, **ignored: Any) -> Any:
    """Load what nnci.save wrote (the same structure), or any safetensors file (an OrderedDict of tensors);
    map_location takes 'cpu' (or a callable, ignored). Errors name the file."""
    if map_location is not None and not callable(map_location) and not isinstance(map_location, dict):
        check_device(map_location)
    if _is_file_object(f):
        name = getattr(f, "name", "the file object")
        arrays, metadata = _parse_safetensors(f.read(), name)
        return _restore(arrays, metadata, name)
    path = Path(f)
    if not path.is_file():
        raise WeightsFileError(f"{path}: no such weights file")
    if path.suffix == ".npz":
        import zipfile
        try:
            with xp.load(path, allow_pickle=False) as archive:
                return OrderedDict((name, Tensor._wrap(archive[name])) for name in archive.files)
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
            raise WeightsFileError(f"{path}: not a valid .npz weights file ({error})") from None
    arrays, metadata = read_safetensors(path)
    return _restore(arrays, metadata, path)


def _restore(arrays: Mapping[str, Any], metadata: Mapping[str, str], path: Any) -> Any:
    if STRUCTURE in metadata:
        try:
            structure = json.loads(metadata[STRUCTURE])
        except json.JSONDecodeError as error:
            raise WeightsFileError(f"{path}: its nnci structure metadata is not JSON ({error})") from None
        return _unpack(structure, arrays)
    return OrderedDict((name, Tensor._wrap(array)) for name, array in arrays.items())
