"""Weights on disk: safetensors (the format torch and others read) or .npz, never pickle.

safetensors layout: 8-byte little-endian header length N, N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the raw
little-endian bytes. Writes go to a temporary file that is renamed over the target, so an
interrupted save never leaves a half-written file behind.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

from .backend import xp
from .tensor import Tensor

_DTYPES = {"F64": xp.float64, "F32": xp.float32, "F16": xp.float16, "I64": xp.int64, "I32": xp.int32,
           "I16": xp.int16, "I8": xp.int8, "U8": xp.uint8, "BOOL": xp.bool_}
_NAMES = {xp.dtype(v): k for k, v in _DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024


class WeightsFileError(ValueError):
    """A weights file that is missing, truncated, corrupt or in a foreign format."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Any) -> None:
    """Call write(file) on a temporary file next to `path`, then rename it over `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes files private; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _arrays(state: Mapping[str, Any]) -> "OrderedDict[str, Any]":
    out = OrderedDict()
    for name, value in state.items():
        array = value.data if isinstance(value, Tensor) else xp.asarray(value)
        if array.dtype not in _NAMES:
            raise TypeError(f"cannot save {name!r}: dtype {array.dtype} has no safetensors name")
        out[name] = array if array.flags.c_contiguous else array.copy(order="C")  # keeps 0-d as 0-d
    return out


def save_safetensors(state: Mapping[str, Any], path: str | os.PathLike, metadata: Mapping[str, str] | None = None) -> None:
    """Write name -> tensor as a safetensors file (atomically)."""
    arrays = _arrays(state)
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name, array in arrays.items():
        header[name] = {"dtype": _NAMES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # align the data to 8 bytes, as the reference writer does

    def write(handle: Any) -> None:
        handle.write(struct.pack("<Q", len(blob)))
        handle.write(blob)
        for array in arrays.values():
            handle.write(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())

    atomic_write(path, write)


def load_safetensors(path: str | os.PathLike) -> "OrderedDict[str, Tensor]":
    """Read a safetensors file into name -> Tensor; BF16 is widened to float32."""
    raw = Path(path).read_bytes()

    def fail(why: str) -> WeightsFileError:
        return WeightsFileError(f"{path}: not a valid safetensors file ({why})")

    if len(raw) < 8:
        raise fail(f"only {len(raw)} bytes")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > min(_MAX_HEADER, len(raw) - 8):
        raise fail(f"header length {size} does not fit in the file of {len(raw)} bytes")
    try:
        header = json.loads(raw[8:8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise fail(f"header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise fail("header is not a JSON object")
    data = memoryview(raw)[8 + size:]
    out: OrderedDict[str, Tensor] = OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            kind, shape, (begin, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise fail(f"entry {name!r} lacks dtype, shape or data_offsets") from None
        if kind == "BF16":
            dtype, itemsize = xp.uint16, 2
        elif kind in _DTYPES:
            dtype = xp.dtype(_DTYPES[kind]).newbyteorder("<")
            itemsize = dtype.itemsize
        else:
            raise fail(f"entry {name!r} has unsupported dtype {kind}")
        count = 1
        for n in shape:
            count *= n
        if not (0 <= begin <= end <= len(data)) or end - begin != count * itemsize:
            raise fail(f"entry {name!r} data [{begin}, {end}) does not match shape {shape} or the file is truncated")
        array = xp.frombuffer(data[begin:end], dtype=dtype).reshape(shape)
        if kind == "BF16":
            array = (array.astype(xp.uint32) << 16).view(xp.float32)
        out[name] = Tensor(array.astype(array.dtype.newbyteorder("="), copy=True), _copy=False)
    return out


def safetensors_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The __metadata__ strings of a safetensors file (empty if none)."""
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise WeightsFileError(f"{path}: not a valid safetensors file (only {len(head)} bytes)")
        (size,) = struct.unpack("<Q", head)
        if size > _MAX_HEADER:
            raise WeightsFileError(f"{path}: not a valid safetensors file (header length {size})")
        try:
            header = json.loads(handle.read(size))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise WeightsFileError(f"{path}: not a valid safetensors file (header is not JSON: {error})") from None
    return dict(header.get("__metadata__", {})) if isinstance(header, dict) else {}


def save(state: Mapping[str, Any], path: str | os.PathLike, metadata: Mapping[str, str] | None = None) -> None:
    """Save a state dict: safetensors, or .npz when the name ends in .npz. Atomic, never pickled."""
    if str(path).endswith(".npz"):
        arrays = _arrays(state)
        atomic_write(path, lambda handle: xp.savez(handle, **arrays))
    else:
        save_safetensors(state, path, metadata)


def load(path: str | os.PathLike) -> "OrderedDict[str, Tensor]":
    """Load a state dict saved by nnci.save or by torch/safetensors; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise WeightsFileError(f"{path}: no such weights file")
    if path.suffix == ".npz":
        try:
            with xp.load(path, allow_pickle=False) as archive:
                return OrderedDict((name, Tensor(archive[name])) for name in archive.files)
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
            raise WeightsFileError(f"{path}: not a valid .npz weights file ({error})") from None
    return load_safetensors(path)


# ----- images --------------------------------------------------------------------------------
class ImageFileError(ValueError):
    """An image file that is missing, unreadable, truncated or not an image."""


def rgb_to_gray(image: Any) -> Any:
    """ITU-R BT.709 luma, as skimage.color.rgb2gray: 0.2125 R + 0.7154 G + 0.0721 B."""
    return image[..., :3] @ xp.array([0.2125, 0.7154, 0.0721], xp.float32)


def read_image(path: str | os.PathLike, gray: bool = False) -> tuple[Any, dict]:
    """An image file as float32 in [0, 1], (H, W) or (H, W, 3) (always (H, W) with gray=True),
    and {'bits': 8 or 16, 'channels': 1 or 3 as stored in the file}."""
    import warnings

    import skimage.io

    path = Path(path)
    if not path.is_file():
        raise ImageFileError(f"{path}: no such image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = skimage.io.imread(path)
    except Exception as error:  # imageio/Pillow/tifffile raise many kinds for bad files
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise ImageFileError(f"{path}: cannot read as an image ({type(error).__name__}: {first_line})") from None
    image = xp.asarray(image)
    if image.ndim == 3 and image.shape[2] in (2, 4):  # drop alpha
        image = image[..., :image.shape[2] - 1]
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ImageFileError(f"{path}: expected a gray or RGB image, got an array of shape {image.shape}")
    if image.dtype == xp.uint16:
        bits, scaled = 16, image.astype(xp.float32) / 65535.0
    elif image.dtype == xp.uint8 or image.dtype == xp.bool_:
        bits, scaled = 8, image.astype(xp.float32) / (1.0 if image.dtype == xp.bool_ else 255.0)
    elif image.dtype.kind == "f":
        bits, scaled = 16, xp.clip(image.astype(xp.float32), 0, 1)
    else:
        raise ImageFileError(f"{path}: unsupported pixel type {image.dtype}")
    if gray and scaled.ndim == 3:
        scaled = rgb_to_gray(scaled)
    return scaled, {"bits": bits, "channels": 1 if image.ndim == 2 else 3}


def write_image(path: str | os.PathLike, image: Any, bits: int = 8) -> None:
    """Write values in [0, 1] as an 8- or 16-bit image (JPEG is always 8-bit), atomically."""
    import warnings

    import skimage.io

    path = Path(path)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        bits = 8
    scale, dtype = (65535.0, xp.uint16) if bits == 16 else (255.0, xp.uint8)
    data = xp.round(xp.clip(image, 0, 1) * scale).astype(dtype)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            skimage.io.imsave(tmp, data, check_contrast=False)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
