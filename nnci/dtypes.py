"""Data types with torch's names and torch's promotion rules.

A `dtype` wraps a NumPy dtype: NumPy accepts it wherever it takes a dtype (through its `.dtype`
attribute), it compares equal to the NumPy dtype it wraps, and it prints as `nnci.float32`.
Promotion follows torch.result_type: categories bool < integer < floating; a Python number or a
0-dim tensor only raises the result's category, never its width within a category, so
float32 tensor * 2.5 is float32 and int64 tensor / 2 is the default float dtype.
"""
from __future__ import annotations

import builtins
from typing import Any

import numpy as np


class dtype:  # noqa: N801 - torch's name
    """A tensor element type: nnci.float32, nnci.int64, nnci.bool, ..."""

    __slots__ = ("dtype", "name", "is_floating_point", "is_signed", "itemsize", "kind")

    def __init__(self, name: str, numpy_name: str) -> None:
        self.dtype = np.dtype(numpy_name)
        self.name = name
        self.kind = self.dtype.kind
        self.is_floating_point = self.kind == "f"
        self.is_signed = self.kind in "fi"
        self.itemsize = self.dtype.itemsize

    is_complex = False

    @property
    def type(self) -> type:
        """The NumPy scalar type (np.float32, ...)."""
        return self.dtype.type

    def to_complex(self) -> "dtype":
        raise TypeError("nnci has no complex dtypes: complex values are (..., 2) real/imaginary pairs (nnci.fft)")

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, dtype):
            return self.dtype == other.dtype
        if isinstance(other, str) or other is None:
            return False
        try:
            return self.dtype == np.dtype(other)
        except TypeError:
            return NotImplemented

    def __hash__(self) -> int:
        return hash(self.dtype)

    def __repr__(self) -> str:
        return f"nnci.{self.name}"

    def __reduce__(self) -> Any:
        return (as_dtype, (self.dtype.name,))


float16 = half = dtype("float16", "float16")
float32 = float = dtype("float32", "float32")  # noqa: A001 - torch's name
float64 = double = dtype("float64", "float64")
uint8 = dtype("uint8", "uint8")
int8 = dtype("int8", "int8")
int16 = short = dtype("int16", "int16")
int32 = int = dtype("int32", "int32")  # noqa: A001 - torch's name
int64 = long = dtype("int64", "int64")
bool = dtype("bool", "bool")  # noqa: A001 - torch's name

ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool)
_BY_NUMPY = {d.dtype: d for d in ALL}
_NAMES = {"float16": float16, "half": float16, "float32": float32, "float": float32, "float64": float64,
          "double": float64, "uint8": uint8, "int8": int8, "int16": int16, "short": int16, "int32": int32,
          "int": int32, "int64": int64, "long": int64, "bool": bool}

_default_float = float32


class MissingDtype:
    """A torch dtype that nnci has no arithmetic for (NumPy has none): a name programs may pass (to autocast, in
    comparisons), refused with a clear error as the dtype of a tensor."""

    __slots__ = ("name", "is_floating_point", "is_complex", "itemsize")

    def __init__(self, name: str, floating: builtins.bool, complex_: builtins.bool, itemsize: builtins.int) -> None:
        self.name, self.is_floating_point, self.is_complex, self.itemsize = name, floating, complex_, itemsize

    def __repr__(self) -> str:
        return f"nnci.{self.name}"


bfloat16 = MissingDtype("bfloat16", True, False, 2)
complex64 = cfloat = MissingDtype("complex64", False, True, 8)
complex128 = cdouble = MissingDtype("complex128", False, True, 16)
_MISSING = {"bfloat16": bfloat16, "complex64": complex64, "cfloat": complex64, "complex128": complex128,
            "cdouble": complex128}


def as_dtype(value: Any) -> dtype:
    """nnci's dtype for an nnci dtype, a NumPy dtype or scalar type, or a name ('float32', 'torch.float')."""
    if isinstance(value, dtype):
        return value
    if isinstance(getattr(value, "dtype", None), dtype):  # FloatTensor and friends carry theirs
        return value.dtype
    if isinstance(value, str):
        key = value.split(".")[-1]
        if key in _NAMES:
            return _NAMES[key]
        value = _MISSING.get(key, value)
    if isinstance(value, MissingDtype):
        hint = ("nnci has no complex tensors (nnci.fft keeps complex values as (..., 2) real pairs)"
                if value.is_complex else "NumPy has no bfloat16 arithmetic; use nnci.float32 or nnci.float16")
        raise TypeError(f"nnci has no {value.name} tensors: {hint}")
    elif value is builtins.float:
        return _default_float
    elif value is builtins.int:
        return int64
    elif value is builtins.bool:
        return bool
    try:
        found = _BY_NUMPY.get(np.dtype(value))
    except TypeError:
        found = None
    if found is None:
        raise TypeError(f"nnci has no dtype {value!r}; it has {', '.join(d.name for d in ALL)}")
    return found


def of_array(array: np.ndarray) -> dtype:
    """The nnci dtype of a NumPy array."""
    found = _BY_NUMPY.get(array.dtype)
    if found is None:
        raise TypeError(f"nnci cannot hold arrays of dtype {array.dtype}")
    return found


def get_default_dtype() -> dtype:
    """The dtype of Python floats turned into tensors and of new floating tensors (float32 unless set)."""
    return _default_float


def set_default_dtype(d: Any) -> None:
    """Set the default floating dtype (float32 or float64), as torch.set_default_dtype."""
    global _default_float
    d = as_dtype(d)
    if d not in (float32, float64, float16):
        raise TypeError(f"set_default_dtype: only floating dtypes can be the default, got {d}")
    _default_float = d


def default_numpy() -> np.dtype:
    return _default_float.dtype


# ----- promotion ------------------------------------------------------------------------------------
def _category(kind: str) -> builtins.int:
    return {"b": 0, "u": 1, "i": 1, "f": 2}[kind]


def promote_types(a: Any, b: Any) -> dtype:
    """The smallest dtype both a and b convert to without losing their category (torch.promote_types)."""
    a, b = as_dtype(a).dtype, as_dtype(b).dtype
    ca, cb = _category(a.kind), _category(b.kind)
    if ca != cb:  # the higher category wins with its own width: int64 + float32 -> float32, as in torch
        return _BY_NUMPY[a if ca > cb else b]
    return _BY_NUMPY[np.promote_types(a, b)]


def _scalar_dtype(value: Any) -> dtype:
    if isinstance(value, builtins.bool) or isinstance(value, np.bool_):
        return bool
    if isinstance(value, (builtins.int, np.integer)):
        return int64
    if isinstance(value, (builtins.float, np.floating)):
        return _default_float
    raise TypeError(f"cannot use {type(value).__name__} {value!r} as a tensor operand")


def result_type(*operands: Any) -> dtype:
    """torch.result_type over tensors and Python numbers: dimensioned tensors decide the width within the
    highest category they reach; 0-dim tensors and then numbers only lift the category."""
    groups: list[dtype | None] = [None, None, None]  # dimensioned tensors, 0-dim tensors, Python numbers
    for op in operands:
        array = getattr(op, "_array", None)
        if array is not None:
            d, slot = of_array(array), 0 if array.ndim else 1
        elif isinstance(op, np.ndarray):
            d, slot = of_array(op), 0 if op.ndim else 1
        else:
            d, slot = _scalar_dtype(op), 2
        groups[slot] = d if groups[slot] is None else promote_types(groups[slot], d)
    return _combine(groups[0], _combine(groups[1], groups[2]))


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    """torch's combine_categories: `higher` keeps its width unless `lower` is of a higher category."""
    if higher is None:
        return lower
    if lower is None or _category(higher.kind) >= _category(lower.kind):
        return higher
    return lower


class finfo:  # noqa: N801 - torch's name
    """Limits of a floating dtype: eps, max, min, tiny, resolution, bits."""

    def __init__(self, d: Any = None) -> None:
        info = np.finfo(as_dtype(d if d is not None else _default_float).dtype)
        number = builtins.float  # this module's `float` is the dtype
        self.bits, self.eps, self.max, self.min = info.bits, number(info.eps), number(info.max), number(info.min)
        self.tiny = self.smallest_normal = number(info.tiny)
        self.resolution = number(info.resolution)
        self.dtype = str(info.dtype)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:e}, max={self.max:e}, eps={self.eps:e}, "
                f"smallest_normal={self.tiny:e}, tiny={self.tiny:e}, dtype={self.dtype})")


class iinfo:  # noqa: N801 - torch's name
    """Limits of an integer dtype: max, min, bits."""

    def __init__(self, d: Any) -> None:
        info = np.iinfo(as_dtype(d).dtype)
        self.bits, self.max, self.min, self.dtype = info.bits, builtins.int(info.max), builtins.int(info.min), str(info.dtype)
