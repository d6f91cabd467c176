"""Reductions over dimensions: sum, prod, max/min (values and indices), cumulative sums and products,
logsumexp, and mean/var composed from sum."""
from __future__ import annotations

import builtins
import math
from typing import Any

from .. import dtypes, return_types
from ..autograd.graph import Op
from ..backend import xp
from ..tensor import Tensor
from .elementwise import constant, floating

max_result, min_result = return_types.max, return_types.min


def axes_of(dim: Any, ndim: int) -> tuple[int, ...]:
    """Normalised, sorted reduction axes; None or () means all of them."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    limit = builtins.max(ndim, 1)
    for d in dims:
        if not -limit <= int(d) < limit:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-limit}, {limit - 1}], but got {d})")
    axes = tuple(sorted(int(d) % limit if ndim else 0 for d in dims))
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dim {axes} appears multiple times in the list of dims")
    return axes if ndim else ()


def _dim_argument(dim: Any, axis: Any) -> Any:
    return axis if dim is None else dim


class Sum(Op):
    """y = sum_dim x;  dx = g broadcast back over dim"""
    saved_inputs = ()

    def forward(self, x, axes, keepdim, dtype=None):
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim, dtype=dtype)

    def backward(self, g):
        if not self.keepdim:
            g = xp.expand_dims(g, self.axes)
        return (xp.broadcast_to(g, self.shape),)

    def vjp(self, g):
        if not self.keepdim:
            g = g.reshape(_kept_shape(self.shape, self.axes))
        return (g.expand(self.shape),)


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Mean(Sum):
    """y = mean_dim x = sum_dim x / n;  dx = g / n broadcast back over dim"""

    def forward(self, x, axes, keepdim, count):
        self.scale = x.dtype.type(1.0 / count if count else float("nan"))
        return super().forward(x, axes, keepdim) * self.scale

    def backward(self, g):
        return super().backward(g * self.scale)

    def vjp(self, g):
        return super().vjp(g * self.scale)


class Prod(Op):
    """y = prod_dim x;  dx_i = g prod_{j != i} x_j (exact where x has zeros)"""

    def forward(self, x, axes, keepdim):
        self.x, self.axes, self.keepdim = x, axes, keepdim
        self.y = x.prod(axis=axes, keepdims=True)
        out = self.y if keepdim else self.y.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        self.out = out.copy()
        return self.out

    def backward(self, g):
        if not self.keepdim:
            g = xp.expand_dims(g, self.axes)
        x = self.x
        zeros = x == 0
        if not zeros.any():
            return (g * self.y / x,)
        # with zeros: the product of the others, by moving the reduced axes last and using prefix/suffix products
        moved = xp.moveaxis(x, self.axes, tuple(range(x.ndim - len(self.axes), x.ndim)))
        flat = moved.reshape(moved.shape[:x.ndim - len(self.axes)] + (-1,))
        ones = xp.ones(flat.shape[:-1] + (1,), x.dtype)
        before = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = xp.flip(xp.cumprod(xp.flip(xp.concatenate([flat[..., 1:], ones], axis=-1), -1), axis=-1), -1)
        others = (before * after).reshape(moved.shape)
        others = xp.moveaxis(others, tuple(range(x.ndim - len(self.axes), x.ndim)), self.axes)
        return (g * others,)

    def vjp(self, g):
        if (self.x == 0).any():
            raise NotImplementedError("create_graph=True through prod() of values with zeros is not supported by nnci")
        x, y = self.input_tensor(0, self.x), self.output_tensor(self.out)
        if not self.keepdim:
            g, y = g.reshape(self.y.shape), y.reshape(self.y.shape)
        return (g * y / x,)


class Extreme(Op):
    """y = max (or min) over dims;  dx = g spread evenly over the positions that attain it (as torch's amax)"""

    def forward(self, x, axes, keepdim, largest):
        self.x, self.axes, self.keepdim = x, axes, keepdim
        if x.size == 0:
            if any(x.shape[a] == 0 for a in axes) or not axes:
                raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                                   "reduction dim with the 'dim' argument.")
            self.y = x.sum(axis=axes, keepdims=True)  # an empty result: nothing to compare
            out = self.y if keepdim else self.y.reshape([n for i, n in enumerate(x.shape) if i not in axes])
            return out.copy()
        self.y = x.max(axis=axes, keepdims=True) if largest else x.min(axis=axes, keepdims=True)
        out = self.y if keepdim else self.y.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        return out.copy()  # the output may be changed in place; backward reads its own y

    def backward(self, g):
        if not self.keepdim:
            g = xp.expand_dims(g, self.axes)
        hit = (self.x == self.y) | (xp.isnan(self.x) & xp.isnan(self.y))
        return (hit * (g / hit.sum(axis=self.axes, keepdims=True)),)

    def vjp(self, g):
        if not self.keepdim:
            g = g.reshape(_kept_shape(self.x.shape, self.axes))
        hit = (self.x == self.y) | (xp.isnan(self.x) & xp.isnan(self.y))
        return (g * Tensor._wrap((hit / hit.sum(axis=self.axes, keepdims=True)).astype(self.x.dtype)),)


class ExtremeAlong(Op):
    """y = max (or min) along one dim, with indices;  dx = g at the position the index names"""
    saved_inputs = ()

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

    def vjp(self, g):
        from .shape import scatter
        if not self.keepdim:
            g = g.unsqueeze(self.axis)
        zeros = Tensor._wrap(xp.zeros(self.shape, g._array.dtype))
        return (scatter(zeros, self.axis, Tensor._wrap(xp.expand_dims(self.indices, self.axis)), g),)


class Cumsum(Op):
    """y_i = sum_{j <= i} x_j along dim;  dx_i = sum_{j >= i} g_j"""
    saved_inputs = ()

    def forward(self, x, axis, dtype=None):
        self.axis = axis
        return xp.cumsum(x, axis=axis, dtype=dtype)

    def backward(self, g):
        return (xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis),)


class Cumprod(Op):
    """y_i = prod_{j <= i} x_j along dim;  dx_i = sum_{k >= i} g_k prod_{j <= k, j != i} x_j"""
    saves_output = True

    def forward(self, x, axis):
        self.x, self.axis = x, axis
        self.y = xp.cumprod(x, axis=axis)
        return self.y

    def backward(self, g):
        x, y, axis = self.x, self.y, self.axis
        if not (x == 0).any():
            return (xp.flip(xp.cumsum(xp.flip(g * y, axis), axis=axis), axis) / x,)
        moved_x, moved_g = xp.moveaxis(x, axis, -1), xp.moveaxis(g, axis, -1)
        n = moved_x.shape[-1]
        dx = xp.zeros_like(moved_x)
        for i in range(n):  # exact with zeros: the products that skip x_i
            others = moved_x.copy()
            others[..., i] = 1
            partial = xp.cumprod(others, axis=-1)
            dx[..., i] = (moved_g[..., i:] * partial[..., i:]).sum(axis=-1)
        return (xp.moveaxis(dx, -1, axis),)


class LogSumExp(Op):
    """y = log sum_dim e^x;  dx = g softmax(x) = g e^(x - y) over dim"""
    saved_inputs = (0,)

    def forward(self, x, axes, keepdim):
        self.x, self.axes, self.keepdim = x, axes, keepdim
        peak = x.max(axis=axes, keepdims=True, initial=-xp.inf)
        peak = xp.where(xp.isfinite(peak), peak, 0)
        self.y = xp.log(xp.exp(x - peak).sum(axis=axes, keepdims=True)) + peak  # kept with the reduced dims
        return self.y if keepdim else self.y.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    def backward(self, g):
        if not self.keepdim:
            g = xp.expand_dims(g, self.axes)
        return (g * xp.exp(self.x - self.y),)

    def vjp(self, g):
        x = self.input_tensor(0, self.x)
        y = self.output_tensor(self.y if self.keepdim else self.y.reshape(
            [n for i, n in enumerate(self.x.shape) if i not in self.axes]))
        if not self.keepdim:
            g, y = g.reshape(_kept_shape(x.shape, self.axes)), y.reshape(_kept_shape(x.shape, self.axes))
        return (g * (x - y).exp(),)


# ----- functional forms ---------------------------------------------------------------------------------
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None) -> Tensor:  # noqa: A001
    """sum of input over dim (all dims when None); integer and bool tensors sum as int64"""
    dim = _dim_argument(dim, axis)
    if dtype is None and input._array.dtype.kind in "iub":
        dtype = dtypes.int64
    target = None if dtype is None else dtypes.as_dtype(dtype).dtype
    return Sum.apply(input, axes=axes_of(dim, input.ndim), keepdim=keepdim, dtype=target)


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """sum ignoring NaN"""
    from .elementwise import where
    from .compare import isnan
    return sum(where(isnan(input), 0.0, input), dim, keepdim)


def _count(input: Tensor, axes: tuple) -> int:
    count = 1
    for a in axes:
        count *= input.shape[a]
    return count


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None) -> Tensor:
    """sum(input) / n over dim"""
    dim = _dim_argument(dim, axis)
    if dtype is not None:
        input = input.to(dtype)
    if input._array.dtype.kind != "f":
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {_type_name(input)}")
    axes = axes_of(dim, input.ndim)
    return Mean.apply(input, axes=axes, keepdim=keepdim, count=_count(input, axes))


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """mean over the values that are not NaN"""
    from .compare import isnan
    valid = 1 - isnan(input).to(input.dtype)
    return nansum(input, dim, keepdim) / sum(valid, dim, keepdim)


def _type_name(input: Tensor) -> str:
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(input._array.dtype.name, input._array.dtype.name)


def _correction(dim: Any, unbiased: Any, correction: Any) -> tuple[Any, float]:
    if isinstance(dim, bool):  # var(input, unbiased) overload
        dim, unbiased = None, dim
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


def var(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis: Any = None) -> Tensor:
    """sum (x - mean)^2 / (n - correction) over dim; correction 1 (unbiased) by default, as torch"""
    dim, correction = _correction(_dim_argument(dim, axis), unbiased, correction)
    if input._array.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    x = input
    axes = axes_of(dim, x.ndim)
    count = _count(x, axes)
    centered = x - mean(x, axes, keepdim=True)
    scale = 1.0 / (count - correction) if count > correction else float("nan")
    return sum(centered * centered, axes, keepdim) * scale


class SafeSqrt(Op):
    """y = sqrt(x);  dx = g / (2 y), 0 where y = 0 (torch's std and norm backward)"""
    saved_inputs, saves_output = (), True

    def forward(self, x):
        self.y = xp.sqrt(x)
        return self.y

    def backward(self, g):
        with xp.errstate(divide="ignore", invalid="ignore"):
            return (xp.where(self.y == 0, xp.zeros((), g.dtype), g / (2 * self.y)),)

    def vjp(self, g):
        from .elementwise import where
        y = self.output_tensor(self.y)
        zero = Tensor._wrap(self.y == 0)
        return (where(zero, 0.0, g / (2 * where(zero, 1.0, y))),)


def std(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis: Any = None) -> Tensor:
    """sqrt(var(input))"""
    return SafeSqrt.apply(var(input, dim, unbiased, keepdim, correction=correction, axis=axis))


def var_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple[Tensor, Tensor]:
    """(var, mean)"""
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, None if isinstance(dim, bool)
                                                                             else dim, keepdim)


def std_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple[Tensor, Tensor]:
    """(std, mean)"""
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, None if isinstance(dim, bool)
                                                                             else dim, keepdim)


def _extreme(input: Tensor, dim: Any, keepdim: bool, largest: bool, result: Any) -> Any:
    from .elementwise import maximum, minimum
    if isinstance(dim, Tensor):  # max(a, b): the elementwise maximum
        return maximum(input, dim) if largest else minimum(input, dim)
    if dim is None:
        return Extreme.apply(input, axes=axes_of(None, input.ndim), keepdim=False, largest=largest)
    axis = axes_of(dim, input.ndim)
    axis = axis[0] if axis else 0
    array = input._array if input.ndim else input._array.reshape(1)
    if array.shape[axis] == 0:
        raise IndexError(f"max(): Expected reduction dim {dim} to have non-zero size.")
    indices = _arg_extreme(array, axis, largest)
    if input.ndim == 0:
        return result(input.clone(), constant(xp.asarray(0, xp.int64)))
    values = ExtremeAlong.apply(input, axis=axis, keepdim=keepdim, indices=indices)
    return result(values, constant(xp.expand_dims(indices, axis) if keepdim else indices))


def _arg_extreme(array: Any, axis: int, largest: bool) -> Any:
    """First position of the max (min) along axis; NaN counts as the extreme, as in torch."""
    found = array.argmax(axis=axis) if largest else array.argmin(axis=axis)
    if array.dtype.kind == "f":
        nan = xp.isnan(array)
        if nan.any():
            found = xp.where(nan.any(axis=axis), nan.argmax(axis=axis), found)
    return found.astype(xp.int64)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """max of input: a tensor when dim is None, (values, indices) along dim, max(a, b) elementwise"""
    return _extreme(input, dim, keepdim, True, max_result)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """min of input: a tensor when dim is None, (values, indices) along dim, min(a, b) elementwise"""
    return _extreme(input, dim, keepdim, False, min_result)


def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """max over dims, grad split evenly among ties"""
    return Extreme.apply(input, axes=axes_of(dim, input.ndim), keepdim=keepdim, largest=True)


def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """min over dims, grad split evenly among ties"""
    return Extreme.apply(input, axes=axes_of(dim, input.ndim), keepdim=keepdim, largest=False)


def aminmax(input: Tensor, *, dim: Any = None, keepdim: bool = False) -> Any:
    """(amin, amax)"""
    return return_types.aminmax(amin(input, () if dim is None else dim, keepdim), amax(input, () if dim is None else dim, keepdim))


def _arg(input: Tensor, dim: Any, keepdim: bool, largest: bool) -> Tensor:
    if input._array.size == 0 and dim is None:
        name = "argmax" if largest else "argmin"
        raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
    if dim is None:
        found = _arg_extreme(input._array.reshape(-1), 0, largest)
        return constant(found.reshape((1,) * input.ndim) if keepdim else found)
    axis = axes_of(dim, input.ndim)[0] if input.ndim else 0
    found = _arg_extreme(input._array if input.ndim else input._array.reshape(1), axis, largest)
    return constant(xp.expand_dims(found, axis) if keepdim and input.ndim else found)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False, *, axis: Any = None) -> Tensor:
    """index of the largest value (over the flattened tensor when dim is None)"""
    return _arg(input, _dim_argument(dim, axis), keepdim, True)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False, *, axis: Any = None) -> Tensor:
    """index of the smallest value (over the flattened tensor when dim is None)"""
    return _arg(input, _dim_argument(dim, axis), keepdim, False)


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """product of input over dim (all dims when None)"""
    if dtype is not None:
        input = input.to(dtype)
    elif input._array.dtype.kind in "iub":
        input = input.to(dtypes.int64)
    return Prod.apply(input, axes=axes_of(dim, input.ndim), keepdim=keepdim if dim is not None else False)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """running sum along dim"""
    if dtype is None and input._array.dtype.kind in "iub":
        dtype = dtypes.int64
    target = None if dtype is None else dtypes.as_dtype(dtype).dtype
    if input.ndim == 0:
        return Cumsum.apply(input.reshape(1), axis=0, dtype=target).reshape(())
    return Cumsum.apply(input, axis=axes_of(dim, input.ndim)[0], dtype=target)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """running product along dim"""
    if dtype is not None:
        input = input.to(dtype)
    if input.ndim == 0:
        return Cumprod.apply(input.reshape(1), axis=0).reshape(())
    return Cumprod.apply(input, axis=axes_of(dim, input.ndim)[0])


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log sum e^x over dim, computed stably"""
    return LogSumExp.apply(floating(input), axes=axes_of(dim, input.ndim), keepdim=keepdim)


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where every value over dim is nonzero"""
    axes = axes_of(dim, input.ndim)
    return constant(input._array.astype(bool).all(axis=axes, keepdims=keepdim))


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where some value over dim is nonzero"""
    axes = axes_of(dim, input.ndim)
    return constant(input._array.astype(bool).any(axis=axes, keepdims=keepdim))


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """how many values over dim are nonzero"""
    return constant(xp.asarray(xp.count_nonzero(input._array, axis=axes_of(dim, input.ndim)), dtype=xp.int64))


cummax_result, cummin_result = return_types.cummax, return_types.cummin


def _cumulative_extreme(input: Tensor, dim: int, largest: bool, result: Any) -> Any:
    from .shape import gather
    axis = input._dim(dim) if input.ndim else 0
    array = input._array if input.ndim else input._array.reshape(1)
    moved = xp.moveaxis(array, axis, -1)
    indices = xp.zeros(moved.shape, xp.int64)
    best = moved[..., 0].copy()
    for i in range(1, moved.shape[-1]):
        better = moved[..., i] >= best if largest else moved[..., i] <= best  # torch keeps the last equal one
        best = xp.where(better, moved[..., i], best)
        indices[..., i] = xp.where(better, i, indices[..., i - 1])
    indices = xp.moveaxis(indices, -1, axis)
    if input.ndim == 0:
        return result(input.clone(), constant(xp.zeros((), xp.int64)))
    return result(gather(input, axis, Tensor._wrap(indices)), constant(indices))


def cummax(input: Tensor, dim: int) -> Any:
    """the running maximum along dim, with the index each comes from"""
    return _cumulative_extreme(input, dim, True, cummax_result)


def cummin(input: Tensor, dim: int) -> Any:
    """the running minimum along dim, with the index each comes from"""
    return _cumulative_extreme(input, dim, False, cummin_result)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log of the running sum of e^x along dim, computed stably"""
    x = floating(input)
    peak = amax(x.detach(), dim, keepdim=True)
    from .elementwise import where
    from .compare import isfinite
    peak = where(isfinite(peak), peak, 0.0)
    return cumsum((x - peak).exp(), dim).log() + peak


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None) -> Tensor:
    """the n-th forward difference along dim"""
    from .shape import cat, narrow
    x = input
    if prepend is not None or append is not None:
        x = cat([t for t in (prepend, x, append) if t is not None], dim)
    axis = x._dim(dim)
    for _ in range(n):
        length = x.shape[axis]
        x = narrow(x, axis, 1, length - 1) - narrow(x, axis, 0, length - 1)
    return x


def quantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """the q-th quantiles along dim (all values when None), interpolated between order statistics"""
    from .shape import stack
    from .sort import sort
    x = input.reshape(-1) if dim is None else input
    axis = 0 if dim is None else x._dim(dim)
    qs = xp.atleast_1d(xp.asarray(getattr(q, "_array", q), dtype=xp.float64))
    if (qs < 0).any() or (qs > 1).any():
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    ordered = sort(x, axis).values
    n = x.shape[axis]
    out = []
    for value in qs:
        position = value * (n - 1)
        low, high = int(math.floor(position)), int(math.ceil(position))
        pick = lambda i: ordered.narrow(axis, i, 1)  # noqa: E731
        frac = position - low
        if interpolation == "lower":
            y = pick(low)
        elif interpolation == "higher":
            y = pick(high)
        elif interpolation == "nearest":
            y = pick(int(round(position)) if frac != 0.5 else (low if low % 2 == 0 else high))
        elif interpolation == "midpoint":
            y = (pick(low) + pick(high)) * 0.5
        else:
            y = pick(low) + (pick(high) - pick(low)) * frac
        out.append(y if keepdim and dim is not None else y.squeeze(axis))
    result = stack(out, 0)
    return result[0] if xp.ndim(getattr(q, "_array", q)) == 0 else result


def nanquantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """quantile ignoring NaN (all values of a 1-D selection)"""
    if dim is not None:
        raise NotImplementedError("nanquantile with dim is not supported by nnci")
    from .compare import isnan
    kept = input.reshape(-1)[~isnan(input.reshape(-1))]
    return quantile(kept, q, None, keepdim, interpolation=interpolation)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """the lower median of the values that are not NaN: a tensor (dim None), else (values, indices) along dim"""
    from .compare import isnan
    from .sort import median
    if dim is None:
        flat = input.reshape(-1)
        return median(flat[~isnan(flat)])
    if input.ndim == 0:
        return median(input, 0, keepdim)
    from ..return_types import nanmedian as nanmedian_result
    axis = input._dim(dim)
    order = xp.argsort(input._array, axis=axis, kind="stable")  # NaN sort last
    kept = (~xp.isnan(input._array)).sum(axis=axis, keepdims=True)
    position = xp.maximum(kept - 1, 0) // 2
    index = xp.take_along_axis(order, position, axis).squeeze(axis)
    values = ExtremeAlong.apply(input, axis=axis, keepdim=keepdim, indices=index)
    return nanmedian_result(values, constant(xp.expand_dims(index, axis) if keepdim else index))


def cov(input: Tensor, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Tensor:
    """the covariance matrix of the rows of input (variables) over its columns (observations), with observation
    weights w = fweights aweights: sum_i w_i (x_i - avg)(x_i - avg)^T / (sum w - correction sum(w a) / sum w)"""
    if input.ndim > 2:
        raise ValueError(f"cov(): expected input to have two or fewer dimensions but got an input with {input.ndim} "
                         "dimensions")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    if fweights is None and aweights is None:
        centered = x - mean(x, 1, keepdim=True)
        factor = x.shape[1] - correction
        c = (centered @ centered.t()) * (1.0 / factor if factor > 0 else float("nan"))
        return c if input.ndim == 2 else c.reshape(())
    from ..creation import ones
    weights = ones(x.shape[1], dtype=x.dtype)
    if fweights is not None:
        weights = weights * fweights.to(x.dtype)
    if aweights is not None:
        weights = weights * aweights.to(x.dtype)
    total = weights.sum()
    average = (x * weights).sum(1, keepdim=True) / total
    factor = total - correction * ((weights * aweights.to(x.dtype)).sum() / total if aweights is not None else 1)
    centered = x - average
    c = (centered * weights) @ centered.t() / factor.clamp(min=0)
    return c if input.ndim == 2 else c.reshape(())


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of input"""
    from .elementwise import clamp
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal().sqrt()
    return clamp(c / d.unsqueeze(1) / d.unsqueeze(0), -1, 1)


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """the trapezoidal rule along dim: sum (y_i + y_{i+1}) / 2 (x_{i+1} - x_i)"""
    axis = y._dim(dim)
    n = y.shape[axis]
    pairs = y.narrow(axis, 1, n - 1) + y.narrow(axis, 0, n - 1)
    if x is not None:
        steps = x.narrow(x._dim(dim) if x.ndim > 1 else 0, 1, n - 1) - x.narrow(x._dim(dim) if x.ndim > 1 else 0, 0,
                                                                              n - 1)
        return sum(pairs * steps, axis) * 0.5
    return sum(pairs, axis) * (0.5 * (1.0 if dx is None else dx))


trapz = trapezoid
