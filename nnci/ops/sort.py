"""Ordering: sort, argsort, topk, kthvalue, median, mode and unique. Values keep their gradient (it flows back to
the positions the indices name); indices never have one."""
from __future__ import annotations

from typing import Any

from .. import return_types
from ..autograd.graph import Op
from ..backend import xp
from ..tensor import Tensor
from .elementwise import constant
from .reduce import ExtremeAlong
from .shape import Gather

sort_result, topk_result, kthvalue_result = return_types.sort, return_types.topk, return_types.kthvalue
median_result, mode_result = return_types.median, return_types.mode


def _order(array: Any, axis: int, descending: bool) -> Any:
    """Stable order along axis; NaN sorts as the largest value (torch's rule)."""
    if descending:
        key = -array if array.dtype.kind in "fi" else ~array if array.dtype == xp.bool_ else -array.astype(xp.int64)
        if array.dtype.kind == "f":
            key = xp.where(xp.isnan(array), -xp.inf, key)
        return xp.argsort(key, axis=axis, kind="stable")
    return xp.argsort(array, axis=axis, kind="stable")


class TiedValue(Op):
    """y = one value of x (a median);  dx = g spread evenly over the elements equal to it (torch's rule)"""

    def forward(self, x, value):
        self.x, self.value = x, value
        return xp.asarray(value, x.dtype).copy()

    def backward(self, g):
        hit = self.x == self.value
        return (hit * (g / max(int(hit.sum()), 1)),)


def _along(input: Tensor, indices: Any, axis: int) -> Tensor:
    return Gather.apply(input, index=indices, axis=axis)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """(values, indices) of input sorted along dim"""
    if input.ndim == 0:
        return sort_result(input.clone(), constant(xp.zeros((), xp.int64)))
    axis = input._dim(dim)
    indices = _order(input._array, axis, descending).astype(xp.int64)
    return sort_result(_along(input, indices, axis), constant(indices))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """the indices that sort input along dim"""
    if input.ndim == 0:
        return constant(xp.zeros((), xp.int64))
    return constant(_order(input._array, input._dim(dim), descending).astype(xp.int64))


def msort(input: Tensor) -> Tensor:
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
    """the k largest (or smallest) values along dim, with their indices"""
    axis = input._dim(dim) if input.ndim else 0
    size = input.shape[axis] if input.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"selected index k out of range (k = {k}, dim size {size})")
    if input.ndim == 0:
        values = input.reshape(1)[:k].reshape(()) if k else input.reshape(1)[:0]
        return topk_result(values, constant(xp.zeros(() if k else (0,), xp.int64)))
    order = _order(input._array, axis, descending=largest)
    indices = xp.take(order, xp.arange(k), axis=axis).astype(xp.int64)
    return topk_result(_along(input, indices, axis), constant(indices))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    """the k-th smallest value along dim (k from 1), with its index"""
    if input.ndim == 0:
        if k != 1:
            raise RuntimeError("kthvalue(): selected number k out of range for dimension 0")
        return kthvalue_result(input.clone(), constant(xp.zeros((), xp.int64)))
    axis = input._dim(dim)
    if not 1 <= k <= input.shape[axis]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
    order = _order(input._array, axis, False)
    index = xp.take(order, k - 1, axis=axis).astype(xp.int64)
    values = ExtremeAlong.apply(input, axis=axis, keepdim=keepdim, indices=index)
    return kthvalue_result(values, constant(xp.expand_dims(index, axis) if keepdim else index))


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """the lower median: a tensor over everything (dim None), else (values, indices) along dim"""
    if dim is None:
        count = input.numel()
        if count == 0:
            return constant(xp.asarray(xp.nan, input._array.dtype))
        value = xp.sort(input._array.reshape(-1))[(count - 1) // 2]
        return TiedValue.apply(input, value=value)
    if input.ndim == 0:
        return median_result(input.clone(), constant(xp.zeros((), xp.int64)))
    axis = input._dim(dim)
    result = kthvalue(input, (input.shape[axis] - 1) // 2 + 1, axis, keepdim)
    return median_result(result.values, result.indices)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> Any:
    """the most frequent value along dim (the smallest on ties), with an index where it occurs"""
    if input.ndim == 0:
        return mode_result(input.clone(), constant(xp.zeros((), xp.int64)))
    axis = input._dim(dim)
    moved = xp.moveaxis(input._array, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    values, indices = [], []
    for row in flat:
        found, counts = xp.unique(row, return_counts=True)
        best = found[xp.argmax(counts)]
        values.append(best)
        indices.append(xp.nonzero(row == best)[0][-1])
    index = xp.asarray(indices, xp.int64).reshape(moved.shape[:-1])
    out = ExtremeAlong.apply(input, axis=axis, keepdim=keepdim, indices=index)
    return mode_result(out, constant(xp.expand_dims(index, axis) if keepdim else index))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
           dim: int | None = None) -> Any:
    """the distinct values (sorted), optionally the index of each input value among them and their counts"""
    if dim is not None:
        found = xp.unique(input._array, axis=dim, return_inverse=return_inverse, return_counts=return_counts)
    else:
        found = xp.unique(input._array, return_inverse=return_inverse, return_counts=return_counts)
    if not (return_inverse or return_counts):
        return constant(found)
    parts = list(found)
    out = [constant(parts[0])]
    position = 1
    if return_inverse:
        inverse = parts[position].reshape(input.shape if dim is None else -1).astype(xp.int64)
        out.append(constant(inverse))
        position += 1
    if return_counts:
        out.append(constant(parts[position].astype(xp.int64)))
    return tuple(out)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False) -> Any:
    """values with consecutive repeats collapsed"""
    flat = input._array.reshape(-1)
    keep = xp.ones(flat.shape, bool)
    keep[1:] = flat[1:] != flat[:-1]
    out = [constant(flat[keep])]
    if return_inverse:
        out.append(constant((xp.cumsum(keep) - 1).reshape(input.shape).astype(xp.int64)))
    if return_counts:
        starts = xp.nonzero(keep)[0]
        out.append(constant(xp.diff(xp.append(starts, flat.size)).astype(xp.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """how often each nonnegative integer occurs (weighted sums with weights)"""
    w = None if weights is None else weights._array
    return constant(xp.bincount(input._array, weights=w, minlength=minlength))


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """counts of input in `bins` equal bins over [min, max] (the data's range when both are 0)"""
    values = input._array
    low, high = (float(values.min()), float(values.max())) if min == max == 0 else (min, max)
    counts, _ = xp.histogram(values, bins=bins, range=(low, high))
    return constant(counts.astype(values.dtype))


def histogram(input: Tensor, bins: Any = 100, *, range: Any = None, weight: Tensor | None = None,  # noqa: A002
              density: bool = False) -> Any:
    """(counts, bin edges) of input's values: `bins` equal bins over range (the data's range when None) or the
    given edges"""
    from ..return_types import histogram as result
    values = input._array.reshape(-1)
    edges = bins._array if isinstance(bins, Tensor) else bins
    if isinstance(edges, int):  # equal bins, the edges rounded from float64 as torch's linspace gives them
        low, high = range if range is not None else ((float(values.min()), float(values.max())) if values.size
                                                     else (0.0, 1.0))
        from ..creation import evenly_spaced
        edges = evenly_spaced(low, high, edges + 1, values.dtype).astype(xp.float64)
    counts, found = xp.histogram(values, bins=edges,
                                 weights=None if weight is None else weight._array.reshape(-1), density=density)
    return result(constant(counts.astype(values.dtype)), constant(found.astype(values.dtype)))


def searchsorted(sorted_sequence: Tensor, values: Any, *, right: bool = False, side: str | None = None) -> Tensor:
    """where values would be inserted to keep sorted_sequence sorted (last dim)"""
    side = side or ("right" if right else "left")
    v = values._array if isinstance(values, Tensor) else xp.asarray(values)
    seq = sorted_sequence._array
    if seq.ndim == 1:
        return constant(xp.searchsorted(seq, v, side=side).astype(xp.int64))
    out = xp.stack([xp.searchsorted(s, vv, side=side) for s, vv in zip(seq.reshape(-1, seq.shape[-1]),
                                                                            v.reshape(-1, v.shape[-1]))])
    return constant(out.reshape(v.shape).astype(xp.int64))


def bucketize(input: Any, boundaries: Tensor, *, right: bool = False) -> Tensor:
    """the index of the bucket of each value (boundaries sorted)"""
    v = input._array if isinstance(input, Tensor) else xp.asarray(input)
    return constant(xp.searchsorted(boundaries._array, v, side="left" if not right else "right").astype(xp.int64))
