"""In-place ops with torch's rules: x.add_(y), x += y, x.clamp_(0, 1), x.fill_(v), x.copy_(src), x.uniform_(), ...

Each writes into x's memory and bumps x's version counter (shared with its views). With gradients on,
an in-place op on a leaf that requires grad is refused, as in torch; on other tensors it is recorded
(nnci/autograd/graph.py: apply_inplace). The result dtype must fit x's: float into an int tensor is an error.
"""
from __future__ import annotations

from typing import Any

from .. import dtypes
from ..autograd.graph import Op, apply_inplace
from ..backend import generator as numpy_generator, xp
from ..tensor import Tensor, to_array
from . import activation, elementwise, pointwise
from .elementwise import as_operand


def _category(kind: str) -> int:
    return {"b": 0, "u": 1, "i": 1, "f": 2}[kind]


def _operand_for(target: Tensor, other: Any, name: str) -> Tensor:
    """`other` as an operand of target's dtype; refused when the result would not fit target's dtype."""
    result = dtypes.result_type(target, other)
    if _category(result.kind) > _category(target._array.dtype.kind):
        raise RuntimeError(f"{name}: result type {_torch_name(result)} can't be cast to the desired output type "
                           f"{_torch_name(target.dtype)}")
    return as_operand(other, target.dtype)


def _torch_name(d: dtypes.dtype) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}[d.name]


def _binary(op: type, name: str) -> Any:
    def method(self: Tensor, other: Any, *, alpha: Any = None) -> Tensor:
        if alpha is not None and alpha != 1:
            other = elementwise.mul(other, alpha)
        return apply_inplace(op, self, _operand_for(self, other, name), name=name)
    method.__name__ = name
    method.__doc__ = f"in place: {op.__doc__.split(';')[0].strip()}"
    return method


def _add_method(op: type, name: str) -> Any:
    binary = _binary(op, name)

    def method(self: Tensor, other: Any, alpha: Any = None, **kwargs: Any) -> Tensor:
        if isinstance(other, (int, float)) and isinstance(alpha, Tensor):  # the deprecated add_(alpha, other)
            other, alpha = alpha, other
        return binary(self, other, alpha=kwargs.get("alpha", alpha))
    method.__name__ = name
    method.__doc__ = binary.__doc__
    return method


add_ = _add_method(elementwise.Add, "add_")
sub_ = _add_method(elementwise.Sub, "sub_")
mul_ = _binary(elementwise.Mul, "mul_")
remainder_ = _binary(elementwise.Remainder, "remainder_")
fmod_ = _binary(elementwise.Fmod, "fmod_")


def div_(self: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """in place: self / other (true division needs a floating self)"""
    if rounding_mode is not None:
        return copy_(self, elementwise.div(self, other, rounding_mode=rounding_mode))
    if self._array.dtype.kind != "f":
        raise RuntimeError(f"div_: result type Float can't be cast to the desired output type {_torch_name(self.dtype)}")
    return apply_inplace(elementwise.Div, self, _operand_for(self, other, "div_"), name="div_")


def pow_(self: Tensor, exponent: Any) -> Tensor:
    """in place: self ** exponent"""
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
        if isinstance(exponent, float) and self._array.dtype.kind != "f":
            raise RuntimeError(f"pow_: result type Float can't be cast to the desired output type "
                               f"{_torch_name(self.dtype)}")
        return apply_inplace(elementwise.PowScalar, self, name="pow_", exponent=exponent)
    return apply_inplace(elementwise.Pow, self, _operand_for(self, exponent, "pow_"), name="pow_")


def floor_divide_(self: Tensor, other: Any) -> Tensor:
    """in place: floor(self / other)"""
    _operand_for(self, other, "floor_divide_")
    return copy_(self, elementwise.floor_divide(self, other))


def _unary(op: type, name: str, floating_only: bool = True) -> Any:
    def method(self: Tensor) -> Tensor:
        if floating_only and self._array.dtype.kind != "f":
            raise RuntimeError(f"{name}: result type Float can't be cast to the desired output type "
                               f"{_torch_name(self.dtype)}")
        return apply_inplace(op, self, name=name)
    method.__name__ = name
    method.__doc__ = f"in place: {op.__doc__.split(';')[0].strip()}"
    return method


exp_, log_, sqrt_, rsqrt_ = (_unary(pointwise.Exp, "exp_"), _unary(pointwise.Log, "log_"),
                             _unary(pointwise.Sqrt, "sqrt_"), _unary(pointwise.Rsqrt, "rsqrt_"))
sin_, cos_, tan_, tanh_ = (_unary(pointwise.Sin, "sin_"), _unary(pointwise.Cos, "cos_"), _unary(pointwise.Tan, "tan_"),
                           _unary(pointwise.Tanh, "tanh_"))
sigmoid_, reciprocal_, log1p_, expm1_ = (_unary(pointwise.Sigmoid, "sigmoid_"),
                                         _unary(pointwise.Reciprocal, "reciprocal_"), _unary(pointwise.Log1p, "log1p_"),
                                         _unary(pointwise.Expm1, "expm1_"))
erf_ = _unary(pointwise.Erf, "erf_")
relu_ = _unary(activation.ReLU, "relu_", floating_only=False)


def neg_(self: Tensor) -> Tensor:
    """in place: -self"""
    return apply_inplace(pointwise.Neg, self, name="neg_")


def abs_(self: Tensor) -> Tensor:
    """in place: |self|"""
    if self._array.dtype.kind != "f":
        return copy_(self, pointwise.abs(self))
    return apply_inplace(pointwise.Abs, self, name="abs_")


def square_(self: Tensor) -> Tensor:
    return pow_(self, 2)


def _rounding(function: Any, name: str) -> Any:
    def method(self: Tensor, **kwargs: Any) -> Tensor:
        return copy_(self, function(self, **kwargs))
    method.__name__ = name
    return method


floor_, ceil_, trunc_, round_, sign_, frac_ = (_rounding(pointwise.floor, "floor_"), _rounding(pointwise.ceil, "ceil_"),
                                               _rounding(pointwise.trunc, "trunc_"), _rounding(pointwise.round, "round_"),
                                               _rounding(pointwise.sign, "sign_"), _rounding(pointwise.frac, "frac_"))
fix_ = trunc_


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """in place: min(max(self, min), max)"""
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return copy_(self, elementwise.clamp(self, min, max))
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if any(isinstance(v, float) for v in (min, max)) and self._array.dtype.kind != "f":
        raise RuntimeError(f"clamp_: result type Float can't be cast to the desired output type "
                           f"{_torch_name(self.dtype)}")
    return apply_inplace(elementwise.Clamp, self, name="clamp_", low=min, high=max)


clip_ = clamp_


def clamp_min_(self: Tensor, min: Any) -> Tensor:  # noqa: A002
    return clamp_(self, min=min)


def clamp_max_(self: Tensor, max: Any) -> Tensor:  # noqa: A002
    return clamp_(self, max=max)


class Fill(Op):
    """x[...] = v;  dx = 0, dv = sum g (v a 0-dim tensor)"""
    saved_inputs = ()

    def forward(self, x, value):
        return xp.broadcast_to(value.astype(x.dtype, copy=False), x.shape).copy()

    def forward_into(self, x, value):
        x[...] = value

    def backward(self, g):  # the overwritten input gets a zero gradient, as torch
        return xp.zeros_like(g), (g.sum() if self.needs_input_grad[1] else None)


class Copy(Op):
    """x[...] = src (broadcast);  dx = 0, dsrc = g (summed back to src's shape by the engine)"""
    saved_inputs = ()

    def forward(self, x, src):
        return xp.broadcast_to(src, x.shape).astype(x.dtype)

    def forward_into(self, x, src):
        try:
            xp.broadcast_shapes(src.shape, x.shape)
        except ValueError:
            raise RuntimeError(f"copy_: the source of shape {list(src.shape)} does not broadcast to the tensor's shape "
                               f"{list(x.shape)}") from None
        if xp.broadcast_shapes(src.shape, x.shape) != x.shape:
            raise RuntimeError(f"copy_: the source of shape {list(src.shape)} does not broadcast to the tensor's shape "
                               f"{list(x.shape)}")
        xp.copyto(x, src, casting="unsafe")

    def backward(self, g):
        return xp.zeros_like(g), g


class Overwrite(Op):
    """x[...] = fresh values (random draws);  dx = 0"""
    saved_inputs = ()

    def forward(self, x, values):
        return values

    def forward_into(self, x, values):
        x[...] = values

    def backward(self, g):
        return (xp.zeros_like(g),)


class MaskedFill(Op):
    """x = v where mask;  dx = g [not mask], dv = sum g [mask] (v a 0-dim tensor)"""
    saved_inputs = ()

    def forward(self, x, value, mask):
        self.mask = xp.broadcast_to(mask, x.shape)
        return xp.where(self.mask, value.astype(x.dtype, copy=False), x)

    def forward_into(self, x, value, mask):
        self.mask = xp.broadcast_to(mask, x.shape)
        xp.copyto(x, value.astype(x.dtype, copy=False), where=self.mask)

    def backward(self, g):
        dx = g * ~self.mask
        dv = (g * self.mask).sum() if self.needs_input_grad[1] else None
        return dx, dv


def fill_(self: Tensor, value: Any) -> Tensor:
    """in place: every element set to value (a number or a 0-dim tensor)"""
    source = value if isinstance(value, Tensor) else Tensor._wrap(xp.asarray(value, dtype=self._array.dtype))
    if source.ndim != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {source.ndim} dimensions.")
    return apply_inplace(Fill, self, source, name="fill_")


def zero_(self: Tensor) -> Tensor:
    """in place: every element set to 0"""
    return fill_(self, 0)


def copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """in place: the values of src (broadcast to self's shape, cast to self's dtype)"""
    source = src if isinstance(src, Tensor) else Tensor._wrap(to_array(src))
    return apply_inplace(Copy, self, source, name="copy_")


def masked_fill_(self: Tensor, mask: Any, value: Any) -> Tensor:
    """in place: value where mask is True"""
    source = value if isinstance(value, Tensor) else Tensor._wrap(xp.asarray(value, dtype=self._array.dtype))
    mask_array = to_array(mask)
    if mask_array.dtype != xp.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask_array.dtype}")
    return apply_inplace(MaskedFill, self, source, name="masked_fill_", mask=mask_array)


def _overwrite(self: Tensor, values: Any, name: str) -> Tensor:
    return apply_inplace(Overwrite, self, name=name, values=values)


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
    """in place: samples of U(a, b)"""
    return _overwrite(self, numpy_generator(generator).uniform(a, b, self._array.shape), "uniform_")


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
    """in place: samples of N(mean, std^2)"""
    return _overwrite(self, numpy_generator(generator).normal(mean, std, self._array.shape), "normal_")


def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    """in place: 1 with probability p, else 0"""
    probability = to_array(p) if isinstance(p, Tensor) else p
    return _overwrite(self, numpy_generator(generator).random(self._array.shape) < probability, "bernoulli_")


def random_(self: Tensor, start: int = 0, to: int | None = None, *, generator: Any = None) -> Tensor:
    """in place: uniform integers in [start, to) (random_(to) is [0, to))"""
    if to is None:
        if start == 0:
            to = 2 ** 24 if self._array.dtype.kind == "f" else int(xp.iinfo(self._array.dtype).max)
        else:
            start, to = 0, start
    return _overwrite(self, numpy_generator(generator).integers(start, to, self._array.shape), "random_")


def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
    """in place: samples of Exp(lambd)"""
    return _overwrite(self, numpy_generator(generator).exponential(1.0 / lambd, self._array.shape), "exponential_")


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Any = None) -> Tensor:
    return _overwrite(self, numpy_generator(generator).lognormal(mean, std, self._array.shape), "log_normal_")


def geometric_(self: Tensor, p: float, *, generator: Any = None) -> Tensor:
    return _overwrite(self, numpy_generator(generator).geometric(p, self._array.shape), "geometric_")


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None) -> Tensor:
    return _overwrite(self, median + sigma * numpy_generator(generator).standard_cauchy(self._array.shape), "cauchy_")


def addcmul_(self: Tensor, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
    """in place: self + value tensor1 tensor2"""
    return copy_(self, elementwise.addcmul(self, tensor1, tensor2, value=value))


def addcdiv_(self: Tensor, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
    """in place: self + value tensor1 / tensor2"""
    return copy_(self, elementwise.addcdiv(self, tensor1, tensor2, value=value))


def lerp_(self: Tensor, end: Any, weight: Any) -> Tensor:
    """in place: self + weight (end - self)"""
    return copy_(self, elementwise.lerp(self, end, weight))


def scatter_(self: Tensor, dim: int, index: Any, src: Any = None, value: Any = None, *, reduce: str | None = None) -> Tensor:
    """in place: self[i][index[i][j]] = src[i][j] along dim ('add' adds, 'multiply' multiplies)"""
    from .shape import _scatter, _scatter_multiply
    source = src if src is not None else value
    if reduce == "multiply":
        return copy_(self, _scatter_multiply(self, dim, index, source))
    return _scatter(self, dim, index, source, reduce in ("add", "sum"), True)


def scatter_add_(self: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    from .shape import _scatter
    return _scatter(self, dim, index, src, True, True)


def index_add_(self: Tensor, dim: int, index: Any, source: Tensor, *, alpha: float = 1) -> Tensor:
    from .shape import index_add
    return copy_(self, index_add(self, dim, index, source, alpha=alpha))


def index_copy_(self: Tensor, dim: int, index: Any, source: Tensor) -> Tensor:
    """self[..., index, ...] = source along dim, in place"""
    from .shape import setitem
    where = [slice(None)] * self.ndim
    where[self._dim(dim)] = to_array(index)
    setitem(self, tuple(where), source)
    return self


def index_fill_(self: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    mask = xp.zeros(self._array.shape, bool)
    where = [slice(None)] * self.ndim
    where[self._dim(dim)] = to_array(index)
    mask[tuple(where)] = True
    return masked_fill_(self, mask, value)


def nan_to_num_(self: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    return apply_inplace(pointwise.NanToNum, self, name="nan_to_num_", nan=nan, posinf=posinf, neginf=neginf)


def fill_diagonal_(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    mask = xp.zeros(self._array.shape, bool)
    xp.fill_diagonal(mask, True, wrap=wrap)
    return masked_fill_(self, mask, fill_value)


def _reshaping(function: Any, name: str) -> Any:
    def method(self: Tensor, *args: Any) -> Tensor:
        if self._requires_grad or self._grad_fn is not None:
            raise RuntimeError(f"{name} on a tensor that is part of a graph is not supported by nnci; use the "
                               f"out-of-place {name[:-1]}()")
        self._array = function(self, *args)._array
        return self
    method.__name__ = name
    return method


def _lazy(name: str) -> Any:
    def call(self: Tensor, *args: Any) -> Any:
        from . import shape
        return getattr(shape, name)(self, *args)
    return call


unsqueeze_, squeeze_, t_, transpose_ = (_reshaping(_lazy("unsqueeze"), "unsqueeze_"), _reshaping(_lazy("squeeze"),
                                        "squeeze_"), _reshaping(_lazy("t"), "t_"),
                                        _reshaping(_lazy("transpose"), "transpose_"))

METHODS = {name: value for name, value in globals().items()
           if name.endswith("_") and not name.startswith("_") and callable(value)}
