"""Differentiable ops, one file per family; here they become Tensor methods and operators."""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import activation, compare, elementwise, inplace, linalg, pointwise, reduce, shape, sort

E, P, C, R, S, L, O = elementwise, pointwise, compare, reduce, shape, linalg, sort


def _reflected(function: Any) -> Any:
    return lambda self, other: function(other, self)


def _binary(function: Any) -> Any:
    def method(self: Tensor, other: Any) -> Any:
        if not _is_operand(other):
            return NotImplemented
        return function(self, other)
    return method


def _is_operand(value: Any) -> bool:
    import numpy
    return isinstance(value, (Tensor, int, float, bool, numpy.ndarray, numpy.generic, list, tuple))


def _iop(method: Any) -> Any:
    def augmented(self: Tensor, other: Any) -> Tensor:
        return method(self, other)
    return augmented


_METHODS: dict[str, Any] = {
    # operators
    "__add__": _binary(E.add), "__radd__": _binary(_reflected(E.add)),
    "__sub__": _binary(E.sub), "__rsub__": _binary(_reflected(E.sub)),
    "__mul__": _binary(E.mul), "__rmul__": _binary(_reflected(E.mul)),
    "__truediv__": _binary(E.div), "__rtruediv__": _binary(_reflected(E.div)),
    "__floordiv__": _binary(E.floor_divide), "__rfloordiv__": _binary(_reflected(E.floor_divide)),
    "__mod__": _binary(E.remainder), "__rmod__": _binary(_reflected(E.remainder)),
    "__pow__": _binary(E.pow), "__rpow__": _binary(_reflected(E.pow)),
    "__matmul__": _binary(L.matmul), "__rmatmul__": _binary(_reflected(L.matmul)),
    "__neg__": P.neg, "__pos__": lambda self: self, "__abs__": P.abs,
    "__eq__": _binary(C.eq), "__ne__": _binary(C.ne), "__lt__": _binary(C.lt), "__le__": _binary(C.le),
    "__gt__": _binary(C.gt), "__ge__": _binary(C.ge),
    "__and__": _binary(C.bitwise_and), "__rand__": _binary(_reflected(C.bitwise_and)),
    "__or__": _binary(C.bitwise_or), "__ror__": _binary(_reflected(C.bitwise_or)),
    "__xor__": _binary(C.bitwise_xor), "__rxor__": _binary(_reflected(C.bitwise_xor)),
    "__invert__": C.bitwise_not,
    "__iadd__": _iop(inplace.add_), "__isub__": _iop(inplace.sub_), "__imul__": _iop(inplace.mul_),
    "__itruediv__": _iop(inplace.div_), "__ipow__": _iop(inplace.pow_), "__ifloordiv__": _iop(inplace.floor_divide_),
    "__imod__": _iop(inplace.remainder_),
    "__iand__": lambda self, other: inplace.copy_(self, C.bitwise_and(self, other)),
    "__ior__": lambda self, other: inplace.copy_(self, C.bitwise_or(self, other)),
    "__ixor__": lambda self, other: inplace.copy_(self, C.bitwise_xor(self, other)),
    "__getitem__": S.getitem, "__setitem__": S.setitem,
    # arithmetic and pointwise
    "add": E.add, "sub": E.sub, "subtract": E.sub, "mul": E.mul, "multiply": E.mul, "div": E.div, "divide": E.div,
    "true_divide": E.div, "floor_divide": E.floor_divide, "remainder": E.remainder, "fmod": E.fmod, "pow": E.pow,
    "float_power": E.float_power, "atan2": E.atan2, "arctan2": E.atan2, "maximum": E.maximum, "minimum": E.minimum,
    "clamp": E.clamp, "clip": E.clamp, "clamp_min": E.clamp_min, "clamp_max": E.clamp_max, "lerp": E.lerp,
    "addcmul": E.addcmul, "addcdiv": E.addcdiv, "hypot": E.hypot, "rsub": E.rsub,
    "where": lambda self, condition, other: E.where(condition, self, other),
    "exp": P.exp, "exp2": P.exp2, "expm1": P.expm1, "log": P.log, "log2": P.log2, "log10": P.log10,
    "log1p": P.log1p, "sqrt": P.sqrt, "rsqrt": P.rsqrt, "reciprocal": P.reciprocal, "abs": P.abs,
    "absolute": P.abs, "neg": P.neg, "negative": P.neg, "square": P.square, "sign": P.sign, "sgn": P.sign,
    "sin": P.sin, "cos": P.cos, "tan": P.tan, "asin": P.asin, "acos": P.acos, "atan": P.atan, "arcsin": P.asin,
    "arccos": P.acos, "arctan": P.atan, "sinh": P.sinh, "cosh": P.cosh, "tanh": P.tanh, "asinh": P.asinh,
    "acosh": P.acosh, "atanh": P.atanh, "arcsinh": P.asinh, "arccosh": P.acosh, "arctanh": P.atanh,
    "sigmoid": P.sigmoid, "erf": P.erf, "erfc": P.erfc, "erfinv": P.erfinv, "lgamma": P.lgamma, "frac": P.frac,
    "floor": P.floor, "ceil": P.ceil, "trunc": P.trunc, "fix": P.trunc, "round": P.round,
    "nan_to_num": P.nan_to_num, "deg2rad": P.deg2rad, "rad2deg": P.rad2deg, "logit": P.logit, "xlogy": P.xlogy,
    "relu": activation.relu, "softmax": activation.softmax, "log_softmax": activation.log_softmax,
    # comparisons
    "eq": C.eq, "ne": C.ne, "lt": C.lt, "le": C.le, "gt": C.gt, "ge": C.ge, "less": C.lt, "less_equal": C.le,
    "greater": C.gt, "greater_equal": C.ge, "not_equal": C.ne, "equal": C.equal, "isclose": C.isclose,
    "allclose": C.allclose, "logical_and": C.logical_and, "logical_or": C.logical_or, "logical_xor": C.logical_xor,
    "logical_not": C.logical_not, "bitwise_and": C.bitwise_and, "bitwise_or": C.bitwise_or,
    "bitwise_xor": C.bitwise_xor, "bitwise_not": C.bitwise_not, "isnan": C.isnan, "isinf": C.isinf,
    "isfinite": C.isfinite, "isposinf": C.isposinf, "isneginf": C.isneginf, "signbit": C.signbit,
    "is_nonzero": C.is_nonzero,
    # reductions
    "sum": R.sum, "nansum": R.nansum, "mean": R.mean, "nanmean": R.nanmean, "var": R.var, "std": R.std,
    "max": R.max, "min": R.min, "amax": R.amax, "amin": R.amin, "aminmax": R.aminmax, "argmax": R.argmax,
    "argmin": R.argmin, "prod": R.prod, "cumsum": R.cumsum, "cumprod": R.cumprod, "logsumexp": R.logsumexp,
    "all": R.all, "any": R.any, "count_nonzero": R.count_nonzero,
    "sort": O.sort, "argsort": O.argsort, "msort": O.msort, "topk": O.topk, "kthvalue": O.kthvalue,
    "median": O.median, "mode": O.mode, "unique": O.unique, "unique_consecutive": O.unique_consecutive,
    "bincount": O.bincount, "histc": O.histc,
    # shape
    "reshape": S.reshape, "view": S.view, "permute": S.permute, "transpose": S.transpose, "swapaxes": S.transpose,
    "swapdims": S.transpose, "t": S.t, "movedim": S.movedim, "moveaxis": S.movedim, "flatten": S.flatten,
    "unflatten": S.unflatten, "squeeze": S.squeeze, "unsqueeze": S.unsqueeze, "expand": S.expand,
    "expand_as": S.expand_as, "broadcast_to": S.broadcast_to, "contiguous": S.contiguous, "clone": S.clone,
    "select": S.select, "narrow": S.narrow, "index_select": S.index_select, "masked_select": S.masked_select,
    "take": S.take, "gather": S.gather, "take_along_dim": S.take_along_dim, "scatter": S.scatter,
    "scatter_add": S.scatter_add, "index_add": S.index_add, "masked_fill": S.masked_fill, "nonzero": S.nonzero,
    "argwhere": S.nonzero, "split": S.split, "chunk": S.chunk, "tensor_split": S.tensor_split, "unbind": S.unbind,
    "flip": S.flip, "fliplr": S.fliplr, "flipud": S.flipud, "roll": S.roll, "rot90": S.rot90, "repeat": S.repeat,
    "tile": S.tile, "repeat_interleave": S.repeat_interleave, "tril": S.tril, "triu": S.triu,
    "diagonal": S.diagonal, "diag": S.diag, "trace": S.trace,
    "ravel": S.ravel, "unfold": S.unfold, "index_put": S.index_put, "index_put_": S.index_put_,
    "index_copy": S.index_copy, "index_fill": S.index_fill, "masked_scatter": S.masked_scatter,
    "scatter_reduce": S.scatter_reduce, "diag_embed": S.diag_embed, "diagflat": S.diagflat,
    "cummax": R.cummax, "cummin": R.cummin, "logcumsumexp": R.logcumsumexp, "diff": R.diff, "quantile": R.quantile,
    "nanquantile": R.nanquantile, "nanmedian": R.nanmedian, "std_mean": R.std_mean, "var_mean": R.var_mean,
    "digamma": P.digamma, "sinc": P.sinc, "positive": P.positive, "copysign": P.copysign,
    "logaddexp": P.logaddexp, "logaddexp2": P.logaddexp2, "heaviside": P.heaviside, "fmax": E.fmax, "fmin": E.fmin,
    "bitwise_left_shift": E.bitwise_left_shift, "bitwise_right_shift": E.bitwise_right_shift,
    "__lshift__": _binary(E.bitwise_left_shift), "__rshift__": _binary(E.bitwise_right_shift),
    "isin": C.isin, "apply_": lambda self, fn: inplace.copy_(self, self._array.__class__(
        [fn(v) for v in self._array.reshape(-1).tolist()]).reshape(self._array.shape).astype(self._array.dtype)),
    "tensordot": L.tensordot, "vdot": L.vdot, "addmv": L.addmv, "addr": L.addr, "baddbmm": L.baddbmm,
    "matrix_power": L.matrix_power, "slogdet": L.slogdet, "logdet": L.logdet, "cholesky": L.cholesky,
    "pinverse": L.pinv,
    "view_as": lambda self, other: S.view(self, other.shape),
    "reshape_as": lambda self, other: S.reshape(self, other.shape),
    # linear algebra
    "matmul": L.matmul, "mm": L.mm, "bmm": L.bmm, "mv": L.mv, "dot": L.dot, "inner": L.dot, "outer": L.outer,
    "ger": L.outer, "addmm": L.addmm, "norm": L.norm, "renorm": L.renorm, "dist": L.dist, "inverse": L.inv, "det": L.det,
    "kron": L.kron,
}


def _matrix_transpose(self: Tensor) -> Tensor:
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return S.transpose(self, -2, -1)


def numpy_keywords(function: Any) -> Any:
    """Accept NumPy's axis= and keepdims= where the function takes dim and keepdim, as torch's argument parser does."""
    import functools
    import inspect
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return function
    if "dim" not in parameters and "keepdim" not in parameters:
        return function

    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if "axis" in kwargs and "axis" not in parameters:
            kwargs["dim"] = kwargs.pop("axis")
        if "keepdims" in kwargs:
            kwargs["keepdim"] = kwargs.pop("keepdims")
        return function(*args, **kwargs)
    return wrapped


def _attach() -> None:
    from .. import creation
    for name, function in _METHODS.items():
        setattr(Tensor, name, numpy_keywords(function))
    for name, function in inplace.METHODS.items():
        setattr(Tensor, name, function)
    Tensor.T = property(lambda self: S.permute(self, tuple(reversed(range(self.ndim)))))
    Tensor.mT = property(_matrix_transpose)
    Tensor.H = property(lambda self: S.t(self))
    Tensor.mH = Tensor.mT
    for name in ("new", "new_tensor", "new_zeros", "new_ones", "new_empty", "new_full"):
        setattr(Tensor, name, getattr(creation, name))


_attach()
