"""Padding layers: constant (zero), reflection, replication and circular padding of the last 1 or 2 dims,
as F.pad with the layer's mode."""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module


class _PadNd(Module):
    mode = "constant"
    dims = 2

    def __init__(self, padding: Any, value: float = 0.0) -> None:
        super().__init__()
        count = 2 * self.dims
        self.padding = (padding,) * count if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != count:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a {count}-tuple, got {padding!r}")
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        if self.mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}" + (f", value={self.value}" if self.mode == "constant" else "")


class ConstantPad1d(_PadNd):
    """pad the last dim by (left, right) with a constant"""
    dims = 1

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(_PadNd):
    """pad the last two dims by (left, right, top, bottom) with a constant"""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class ZeroPad1d(ConstantPad1d):
    """pad the last dim with zeros"""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """pad the last two dims with zeros"""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """x[-i] = x[i]: mirror without repeating the edge, last dim"""
    mode, dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    """mirror without repeating the edge, last two dims"""
    mode = "reflect"


class ReplicationPad1d(_PadNd):
    """repeat the edge value, last dim"""
    mode, dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    """repeat the edge value, last two dims"""
    mode = "replicate"


class CircularPad1d(_PadNd):
    """wrap around (periodic), last dim"""
    mode, dims = "circular", 1


class CircularPad2d(_PadNd):
    """wrap around (periodic), last two dims"""
    mode = "circular"
