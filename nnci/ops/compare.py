"""Comparisons, logical and bitwise ops, and value tests: boolean (or integer) results without gradient."""
from __future__ import annotations

from typing import Any

from ..backend import xp
from ..tensor import Tensor, to_array
from .elementwise import constant, promote


def _compare(function: Any, name: str) -> Any:
    def compare(input: Any, other: Any) -> Tensor:
        a, b = promote(input, other, broadcast=True)
        return constant(function(a._array, b._array))
    compare.__name__ = name
    compare.__doc__ = f"elementwise input {name} other, as a bool tensor"
    return compare


eq, ne = _compare(xp.equal, "eq"), _compare(xp.not_equal, "ne")
lt, le = _compare(xp.less, "lt"), _compare(xp.less_equal, "le")
gt, ge = _compare(xp.greater, "gt"), _compare(xp.greater_equal, "ge")
less, less_equal, greater, greater_equal, not_equal = lt, le, gt, ge, ne


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and the same values"""
    return input.shape == other.shape and bool(xp.array_equal(input._array, other._array))


def isclose(input: Tensor, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """|input - other| <= atol + rtol |other|, elementwise"""
    a, b = promote(input, other)
    return constant(xp.isclose(a._array, b._array, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input: Tensor, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """isclose everywhere"""
    return bool(isclose(input, other, rtol, atol, equal_nan)._array.all())


def _logical(function: Any, name: str) -> Any:
    def logical(input: Any, other: Any) -> Tensor:
        return constant(function(to_array(input).astype(bool), to_array(other).astype(bool)))
    logical.__name__ = name
    logical.__doc__ = f"elementwise {name} of the truth values"
    return logical


logical_and, logical_or, logical_xor = (_logical(xp.logical_and, "logical_and"), _logical(xp.logical_or, "logical_or"),
                                        _logical(xp.logical_xor, "logical_xor"))


def logical_not(input: Tensor) -> Tensor:
    """not input, elementwise"""
    return constant(xp.logical_not(input._array))


def _bitwise(function: Any, name: str) -> Any:
    def bitwise(input: Any, other: Any) -> Tensor:
        a, b = promote(input, other)
        if a._array.dtype.kind == "f":
            raise RuntimeError(f"\"{name}_cpu\" not implemented for '{a.dtype}': bitwise ops need integer or bool "
                               "tensors")
        return constant(function(a._array, b._array))
    bitwise.__name__ = name
    bitwise.__doc__ = f"elementwise {name} of integer or bool tensors"
    return bitwise


bitwise_and, bitwise_or, bitwise_xor = (_bitwise(xp.bitwise_and, "bitwise_and"), _bitwise(xp.bitwise_or, "bitwise_or"),
                                        _bitwise(xp.bitwise_xor, "bitwise_xor"))


def bitwise_not(input: Tensor) -> Tensor:
    """~input: logical not for bool, bitwise not for integers"""
    if input._array.dtype.kind == "f":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return constant(xp.invert(input._array))


def isnan(input: Tensor) -> Tensor:
    """True where input is NaN"""
    return constant(xp.isnan(input._array))


def isinf(input: Tensor) -> Tensor:
    """True where input is +-infinity"""
    return constant(xp.isinf(input._array))


def isposinf(input: Tensor) -> Tensor:
    return constant(xp.isposinf(input._array))


def isneginf(input: Tensor) -> Tensor:
    return constant(xp.isneginf(input._array))


def isfinite(input: Tensor) -> Tensor:
    """True where input is neither NaN nor infinite"""
    return constant(xp.isfinite(input._array))


def isreal(input: Tensor) -> Tensor:
    return constant(xp.ones(input._array.shape, bool))


def signbit(input: Tensor) -> Tensor:
    return constant(xp.signbit(input._array))


def is_nonzero(input: Tensor) -> bool:
    if input._array.size != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input._array.item())


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """True where an element of `elements` occurs in test_elements"""
    return constant(xp.isin(to_array(elements), to_array(test_elements), invert=invert))
