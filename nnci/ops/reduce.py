"""Reductions over dimensions: sum, max/min (values and indices), and mean/var composed from sum."""
from __future__ import annotations

from typing import Any

from ..backend import xp
from ..tensor import Function, MaxResult, Tensor


def _axes(dim: Any, ndim: int) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    return tuple(sorted(d % ndim if ndim else 0 for d in dims))


class Sum(Function):
    """y = sum_dim x;  dx = g broadcast back over dim"""
    def forward(self, x, axes, keepdim):
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim)

    def backward(self, g):
        if not self.keepdim:
            g = xp.expand_dims(g, self.axes)
        return (xp.broadcast_to(g, self.shape),)


class Extreme(Function):
    """y = max (or min) over dim;  dx = g spread evenly over the positions that attain it"""
    def forward(self, x, axes, keepdim, largest):
        self.x, self.axes, self.keepdim = x, axes, keepdim
        self.y = x.max(axis=axes, keepdims=True) if largest else x.min(axis=axes, keepdims=True)
        return self.y if keepdim else self.y.squeeze(axis=axes)

    def backward(self, g):
        if not self.keepdim:
            g = xp.expand_dims(g, self.axes)
        hit = self.x == self.y
        return (hit * (g / hit.sum(axis=self.axes, keepdims=True)),)


class ExtremeAlong(Function):
    """y = max (or min) along one dim, with indices;  dx = g at the first position that attains it"""
    def forward(self, x, axis, keepdim, indices):
        self.shape, self.axis, self.indices, self.keepdim = x.shape, axis, indices, keepdim
        y = xp.take_along_axis(x, xp.expand_dims(indices, axis), axis)
        return y if keepdim else y.squeeze(axis)

    def backward(self, g):
        if not self.keepdim:
            g = xp.expand_dims(g, self.axis)
        dx = xp.zeros(self.shape, g.dtype)
        xp.put_along_axis(dx, xp.expand_dims(self.indices, self.axis), g, self.axis)
        return (dx,)


def sum(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """sum of x over dim (all dims when None)"""
    return Sum.apply(x, axes=_axes(dim, x.ndim), keepdim=keepdim)


def mean(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """sum(x) / n over dim"""
    axes = _axes(dim, x.ndim)
    count = 1
    for a in axes:
        count *= x.shape[a]
    return sum(x, axes, keepdim) * (1.0 / count)


def var(x: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
        correction: int | None = None) -> Tensor:
    """sum (x - mean)^2 / (n - correction) over dim; correction 1 (unbiased) by default, as torch"""
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _axes(dim, x.ndim)
    count = 1
    for a in axes:
        count *= x.shape[a]
    centered = x - mean(x, axes, keepdim=True)
    scale = 1.0 / (count - correction) if count > correction else float("nan")
    return sum(centered * centered, axes, keepdim) * scale


def std(x: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
        correction: int | None = None) -> Tensor:
    """sqrt(var(x))"""
    return var(x, dim, unbiased, keepdim, correction).sqrt()


def _extreme(x: Tensor, dim: Any, keepdim: bool, largest: bool) -> Any:
    if dim is None or isinstance(dim, (tuple, list)):
        return Extreme.apply(x, axes=_axes(dim, x.ndim), keepdim=keepdim, largest=largest)
    axis = dim % x.ndim
    indices = x.data.argmax(axis=axis) if largest else x.data.argmin(axis=axis)
    values = ExtremeAlong.apply(x, axis=axis, keepdim=keepdim, indices=indices)
    idx = Tensor(xp.expand_dims(indices, axis) if keepdim else indices)
    return MaxResult(values, idx.long())


def max(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A001
    """max of x: a tensor when dim is None, else (values, indices) along dim"""
    return _extreme(x, dim, keepdim, largest=True)


def min(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A001
    """min of x: a tensor when dim is None, else (values, indices) along dim"""
    return _extreme(x, dim, keepdim, largest=False)


def amax(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """max over dims, grad split evenly among ties"""
    return Extreme.apply(x, axes=_axes(dim, x.ndim), keepdim=keepdim, largest=True)


def amin(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """min over dims, grad split evenly among ties"""
    return Extreme.apply(x, axes=_axes(dim, x.ndim), keepdim=keepdim, largest=False)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """index of the largest value (over the flattened tensor when dim is None)"""
    if dim is None:
        return Tensor(xp.asarray(x.data.argmax(), dtype=xp.int64))
    return Tensor(x.data.argmax(axis=dim, keepdims=keepdim).astype(xp.int64))


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """index of the smallest value (over the flattened tensor when dim is None)"""
    if dim is None:
        return Tensor(xp.asarray(x.data.argmin(), dtype=xp.int64))
    return Tensor(x.data.argmin(axis=dim, keepdims=keepdim).astype(xp.int64))
