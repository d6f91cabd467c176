"""Binary pointwise arithmetic, where, clamp and casts. Each backward is the derivative of its forward times
the incoming grad; broadcasting is undone by the engine (`unbroadcast`), so binary ops return full-shape grads.

Operands are promoted first with torch's rules (nnci/dtypes.py): float32 tensor * 2.5 stays float32,
int tensor / int tensor is the default float dtype, float32 + float64 tensors is float64.
"""
from __future__ import annotations

from typing import Any

from .. import dtypes
from ..autograd.graph import Op
from ..backend import xp
from ..tensor import Tensor, to_array


# ----- operands ---------------------------------------------------------------------------------------
def as_operand(value: Any, dtype: dtypes.dtype) -> Tensor:
    """A tensor operand of `dtype`: tensors are cast (differentiably when they require grad), numbers wrapped."""
    if isinstance(value, Tensor):
        if value._array.dtype == dtype.dtype:
            return value
        if value._requires_grad and dtype.is_floating_point:
            return Cast.apply(value, dtype=dtype.dtype)
        return Tensor._wrap(value._array.astype(dtype.dtype))
    if isinstance(value, (int, float, bool, xp.generic)):
        if isinstance(value, int) and dtype.kind in "iu":
            return Tensor._wrap(xp.asarray(value).astype(dtype.dtype))  # wraps around, as torch's integers do
        return Tensor._wrap(xp.asarray(value, dtype=dtype.dtype))  # a number straight to the dtype, no float32 detour
    return Tensor._wrap(xp.asarray(to_array(value), dtype=dtype.dtype))


def promote(*operands: Any, floating: bool = False, broadcast: bool = False) -> tuple[Tensor, ...]:
    """The operands as tensors of their torch result type (the default float dtype at least, if floating); with
    broadcast, shapes that do not broadcast are refused with torch's message."""
    kind = dtypes.result_type(*operands)
    if floating and not kind.is_floating_point:
        kind = dtypes.get_default_dtype()
    out = tuple(as_operand(op, kind) for op in operands)
    if broadcast and len(out) == 2:
        check_broadcast(out[0]._array.shape, out[1]._array.shape)
    return out


def check_broadcast(a: tuple, b: tuple) -> None:
    """torch's error for two shapes that do not broadcast, naming the first dimension where they clash."""
    if a == b:
        return
    ndim = max(len(a), len(b))
    for dim in range(ndim - 1, -1, -1):
        i, j = dim - (ndim - len(a)), dim - (ndim - len(b))
        m = a[i] if i >= 0 else 1
        n = b[j] if j >= 0 else 1
        if m != n and m != 1 and n != 1:
            raise RuntimeError(f"The size of tensor a ({m}) must match the size of tensor b ({n}) at non-singleton "
                               f"dimension {dim} (shapes {tuple(a)} and {tuple(b)})")


def floating(x: Any) -> Tensor:
    """x as a floating tensor: integer and bool tensors become the default float dtype (exp, sqrt, ...)."""
    if not isinstance(x, Tensor):
        return as_operand(x, dtypes.result_type(x, 1.0))
    if x._array.dtype.kind == "f":
        return x
    return Tensor._wrap(x._array.astype(dtypes.default_numpy()))


def constant(array: Any) -> Tensor:
    """A result without gradient (integer arithmetic, comparisons)."""
    return Tensor._wrap(xp.asarray(array))


class ZeroGradient(Op):
    """y = a piecewise-constant function of the inputs (floor, round, sign, ...);  dx = 0"""
    saved_inputs = ()

    def forward(self, *arrays, value):
        self.shapes = [a.shape for a in arrays]
        return value

    def backward(self, g):
        return tuple(xp.zeros(shape, g.dtype) for shape in self.shapes)

    def vjp(self, g):
        return tuple(Tensor._wrap(xp.zeros(shape, g._array.dtype)) for shape in self.shapes)


def zero_gradient(value: Any, *inputs: Tensor) -> Tensor:
    """value as the result of `inputs` with a zero gradient (a constant when no input is floating)."""
    value = xp.asarray(value)
    floating_inputs = [t for t in inputs if t._array.dtype.kind == "f"]
    if not floating_inputs or value.dtype.kind != "f":
        return constant(value)
    return ZeroGradient.apply(*floating_inputs, value=value)


# ----- binary arithmetic --------------------------------------------------------------------------------
class Add(Op):
    """y = a + b;  da = g, db = g"""
    saved_inputs = ()

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g

    vjp = backward


class Sub(Op):
    """y = a - b;  da = g, db = -g"""
    saved_inputs = ()

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)

    vjp = backward


class Mul(Op):
    """y = a b;  da = g b, db = g a"""

    def saves(self):
        return tuple(i for i, needed in ((1, self.needs_input_grad[0]), (0, self.needs_input_grad[1])) if needed)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        da = g * self.b if self.needs_input_grad[0] else None
        db = g * self.a if self.needs_input_grad[1] else None
        return da, db

    def vjp(self, g):
        da = g * self.input_tensor(1, self.b) if self.needs_input_grad[0] else None
        db = g * self.input_tensor(0, self.a) if self.needs_input_grad[1] else None
        return da, db


class Div(Op):
    """y = a / b;  da = g / b, db = -g a / b^2"""

    def saves(self):
        return (0, 1) if self.needs_input_grad[1] else (1,)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        da = g / self.b if self.needs_input_grad[0] else None
        db = -g * self.a / (self.b * self.b) if self.needs_input_grad[1] else None
        return da, db

    def vjp(self, g):
        b = self.input_tensor(1, self.b)
        da = g / b if self.needs_input_grad[0] else None
        db = -g * self.input_tensor(0, self.a) / (b * b) if self.needs_input_grad[1] else None
        return da, db


class PowScalar(Op):
    """y = x^p for a constant p;  dx = g p x^(p-1)"""
    node_name = "PowBackward0"
    saved_inputs = (0,)

    def forward(self, x, exponent):
        self.x, self.p = x, exponent
        return x ** x.dtype.type(exponent) if x.dtype.kind == "f" else x ** exponent

    def backward(self, g):
        p = self.p
        if p == 0:
            return (xp.zeros_like(g),)
        return (g * (p * self.x ** (p - 1)).astype(g.dtype, copy=False),)

    def vjp(self, g):
        if self.p == 0:
            return (g * 0,)
        return (g * (self.p * self.input_tensor(0, self.x) ** (self.p - 1)),)


class Pow(Op):
    """y = a^b;  da = g b a^(b-1), db = g a^b ln(a)"""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a ** b

    def backward(self, g):
        da = db = None
        with xp.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:  # 0 where the exponent is 0 (0^0 included), as torch
                da = g * xp.where(self.b == 0, 0, self.b * self.a ** (self.b - 1))
            if self.needs_input_grad[1]:  # a^b ln a: NaN for a negative base, 0 at a = 0 with b >= 0, as torch
                db = g * xp.where((self.a == 0) & (self.b >= 0), 0, self.a ** self.b * xp.log(self.a))
        return da, db

    def vjp(self, g):
        a, b = self.input_tensor(0, self.a), self.input_tensor(1, self.b)
        da = db = None
        if self.needs_input_grad[0]:
            da = g * where(Tensor._wrap(self.b == 0), 0.0, b * a ** (b - 1))
        if self.needs_input_grad[1]:
            db = g * where(Tensor._wrap((self.a == 0) & (self.b >= 0)), 0.0, a ** b * a.log())
        return da, db


class Remainder(Op):
    """y = a - b floor(a / b) (the sign of b, as Python's %);  da = g, db = -g floor(a / b)"""

    def saves(self):
        return (0, 1) if self.needs_input_grad[1] else ()

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.remainder(a, b)

    def backward(self, g):
        db = -g * xp.floor_divide(self.a, self.b) if self.needs_input_grad[1] else None
        return g, db

    def vjp(self, g):
        db = -g * Tensor._wrap(xp.floor_divide(self.a, self.b)) if self.needs_input_grad[1] else None
        return g, db


class Fmod(Op):
    """y = a - b trunc(a / b) (the sign of a, as C's fmod);  da = g, db = -g trunc(a / b)"""

    def saves(self):
        return (0, 1) if self.needs_input_grad[1] else ()

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.fmod(a, b)

    def backward(self, g):
        db = -g * xp.trunc(self.a / self.b) if self.needs_input_grad[1] else None
        return g, db

    def vjp(self, g):
        db = -g * Tensor._wrap(xp.trunc(self.a / self.b)) if self.needs_input_grad[1] else None
        return g, db


class Atan2(Op):
    """y = atan2(a, b);  da = g b / (a^2 + b^2), db = -g a / (a^2 + b^2)"""

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.arctan2(a, b)

    def backward(self, g):
        scale = g / (self.a * self.a + self.b * self.b)
        return scale * self.b, -scale * self.a

    def vjp(self, g):
        a, b = self.input_tensor(0, self.a), self.input_tensor(1, self.b)
        scale = g / (a * a + b * b)
        return scale * b, -scale * a


class Maximum(Op):
    """y = max(a, b);  the grad goes to the larger input, split evenly on ties (as torch)"""

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.maximum(a, b)

    def backward(self, g):
        share = xp.where(self.a > self.b, 1.0, xp.where(self.a == self.b, 0.5, 0.0)).astype(g.dtype)
        return g * share, g * (1 - share)

    def vjp(self, g):
        share = self.backward(xp.ones(g.shape, g._array.dtype))[0]  # constant: where each gradient goes
        return g * Tensor._wrap(share), g * Tensor._wrap(1 - share)


class Minimum(Op):
    """y = min(a, b);  the grad goes to the smaller input, split evenly on ties (as torch)"""

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.minimum(a, b)

    def backward(self, g):
        share = xp.where(self.a < self.b, 1.0, xp.where(self.a == self.b, 0.5, 0.0)).astype(g.dtype)
        return g * share, g * (1 - share)

    def vjp(self, g):
        share = self.backward(xp.ones(g.shape, g._array.dtype))[0]  # constant: where each gradient goes
        return g * Tensor._wrap(share), g * Tensor._wrap(1 - share)


class Where(Op):
    """y = a where cond else b;  da = g [cond], db = g [not cond]"""
    saved_inputs = ()

    def forward(self, a, b, condition):
        self.condition = condition
        return xp.where(condition, a, b)

    def backward(self, g):
        zero = xp.zeros((), g.dtype)
        return xp.where(self.condition, g, zero), xp.where(self.condition, zero, g)

    def vjp(self, g):
        condition = Tensor._wrap(self.condition)
        return where(condition, g, 0.0), where(condition, 0.0, g)


class Clamp(Op):
    """y = min(max(x, lo), hi);  dx = g where lo <= x <= hi (torch passes the grad at the bounds)"""
    saved_inputs = ()

    def forward(self, x, low=None, high=None):
        self.mask = None
        y = x
        if low is not None:
            self.mask = x >= low
            y = xp.maximum(y, xp.asarray(low, x.dtype))
        if high is not None:
            below = x <= high
            self.mask = below if self.mask is None else self.mask & below
            y = xp.minimum(y, xp.asarray(high, x.dtype))
        if y is x:
            y = x.copy()
        return y

    def backward(self, g):
        return (g * self.mask,)

    def vjp(self, g):
        return (g * Tensor._wrap(self.mask),)


class Cast(Op):
    """y = x as another floating dtype;  dx = g (cast back by the engine)"""
    saved_inputs = ()

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, g):
        return (g,)

    vjp = backward


# ----- the functional forms (torch's names) -----------------------------------------------------------
def _scaled(other: Any, alpha: Any) -> Any:
    return other if alpha is None or alpha == 1 else mul(other, alpha)


def add(input: Any, other: Any, *, alpha: Any = None, out: Tensor | None = None) -> Tensor:
    """input + alpha other"""
    return _out(Add.apply(*promote(input, _scaled(other, alpha), broadcast=True)), out)


def sub(input: Any, other: Any, *, alpha: Any = None, out: Tensor | None = None) -> Tensor:
    """input - alpha other"""
    if all(isinstance(v, Tensor) and v._array.dtype == xp.bool_ for v in (input, other)):
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    return _out(Sub.apply(*promote(input, _scaled(other, alpha), broadcast=True)), out)


subtract = sub


def rsub(input: Any, other: Any, *, alpha: Any = None) -> Tensor:
    """other - alpha input"""
    return sub(other, input, alpha=alpha)


def mul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """input other"""
    return _out(Mul.apply(*promote(input, other, broadcast=True)), out)


multiply = mul


def div(input: Any, other: Any, *, rounding_mode: str | None = None, out: Tensor | None = None) -> Tensor:
    """input / other (true division); rounding_mode 'trunc' or 'floor' rounds the quotient"""
    if rounding_mode is None:
        return _out(Div.apply(*promote(input, other, floating=True, broadcast=True)), out)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}")
    a, b = promote(input, other, broadcast=True)
    if a._array.dtype.kind in "iub":
        _integer_divisor(a, b, "div_" + rounding_mode)
        if rounding_mode == "floor":
            return _out(constant(xp.floor_divide(a._array, b._array)), out)
        return _out(constant((xp.trunc(a._array / b._array)).astype(a._array.dtype)), out)
    quotient = a._array / b._array
    rounded = xp.floor(quotient) if rounding_mode == "floor" else xp.trunc(quotient)
    return _out(zero_gradient(rounded, a, b), out)


divide = true_divide = div


def _integer_divisor(a: Tensor, b: Tensor, name: str) -> None:
    if a._array.dtype == xp.bool_:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")
    if a._array.dtype.kind in "iu" and (b._array == 0).any():
        raise RuntimeError("ZeroDivisionError")


def floor_divide(input: Any, other: Any) -> Tensor:
    """floor(input / other) (gradient 0, as torch)"""
    a, b = promote(input, other, broadcast=True)
    _integer_divisor(a, b, "div_floor")
    return zero_gradient(xp.floor_divide(a._array, b._array), a, b)


def remainder(input: Any, other: Any) -> Tensor:
    """input - other floor(input / other): the sign of other, as Python's %"""
    a, b = promote(input, other, broadcast=True)
    _integer_divisor(a, b, "remainder")
    return Remainder.apply(a, b)


def fmod(input: Any, other: Any) -> Tensor:
    """input - other trunc(input / other): the sign of input, as C's fmod"""
    return Fmod.apply(*promote(input, other, broadcast=True))


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 - torch's name
    """input ** exponent"""
    if isinstance(input, Tensor) and isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
        base = as_operand(input, dtypes.result_type(input, exponent))
        if base._array.dtype.kind in "iu" and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return PowScalar.apply(base, exponent=exponent)
    a, b = promote(input, exponent, broadcast=True)
    if a._array.dtype == xp.bool_:  # bool ** bool stays bool: 0 ** 0 = 1
        return constant(a._array | ~b._array)
    if a._array.dtype.kind in "iu" and (b._array < 0).any():
        return constant(_integer_power(a._array, b._array))
    return Pow.apply(a, b)


def _integer_power(a: Any, b: Any) -> Any:
    """Integer powers with negative exponents, as torch computes them: 1 and -1 keep a magnitude of 1, others give 0."""
    a, b = xp.broadcast_arrays(a, b)
    positive = xp.where(b >= 0, a, 1) ** xp.where(b >= 0, b, 0)
    negative = xp.where(a == 1, 1, xp.where(a == -1, xp.where(b % 2 == 0, 1, -1), 0))
    return xp.where(b >= 0, positive, negative).astype(a.dtype)


def float_power(input: Any, exponent: Any) -> Tensor:
    """input ** exponent in float64"""
    return pow(as_operand(input, dtypes.float64), as_operand(exponent, dtypes.float64)
               if isinstance(exponent, Tensor) else exponent)


def atan2(input: Any, other: Any) -> Tensor:
    """the angle of (other, input): atan(input / other) in the right quadrant"""
    return Atan2.apply(*promote(input, other, floating=True, broadcast=True))


arctan2 = atan2


def maximum(input: Any, other: Any) -> Tensor:
    """elementwise max(input, other)"""
    return Maximum.apply(*promote(input, other, broadcast=True))


def minimum(input: Any, other: Any) -> Tensor:
    """elementwise min(input, other)"""
    return Minimum.apply(*promote(input, other, broadcast=True))


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """input where condition holds, else other; where(condition) alone is nonzero(as_tuple=True)"""
    cond = to_array(condition)
    if cond.dtype != xp.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {cond.dtype}")
    if input is None and other is None:
        return tuple(constant(i.astype(xp.int64)) for i in xp.nonzero(cond))
    a, b = promote(input, other, broadcast=True)
    return Where.apply(a, b, condition=cond)


def clamp(input: Tensor, min: Any = None, max: Any = None, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """min(max(input, min), max); min and max may be numbers or tensors"""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        y = input
        if min is not None:
            low, y = promote(min, y, broadcast=True)
            y = where(y < low, low, y)
        if max is not None:
            high, y = promote(max, y, broadcast=True)
            y = where(y > high, high, y)
        return _out(y, out)
    kind = dtypes.result_type(input, *(v for v in (min, max) if v is not None))
    return _out(Clamp.apply(as_operand(input, kind), low=min, high=max), out)


clip = clamp


def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    return clamp(input, max=max)


def cast(x: Tensor, dtype: dtypes.dtype) -> Tensor:
    """x as `dtype`: differentiable between floating dtypes, a plain conversion otherwise"""
    if x._requires_grad and dtype.is_floating_point:
        return Cast.apply(x, dtype=dtype.dtype)
    return Tensor._wrap(x._array.astype(dtype.dtype))


def lerp(input: Any, end: Any, weight: Any) -> Tensor:
    """input + weight (end - input)"""
    return add(input, mul(weight, sub(end, input)))


def addcmul(input: Any, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
    """input + value tensor1 tensor2"""
    return add(input, mul(mul(tensor1, tensor2), value))


def addcdiv(input: Any, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
    """input + value tensor1 / tensor2"""
    return add(input, mul(div(tensor1, tensor2), value))


def hypot(input: Any, other: Any) -> Tensor:
    """sqrt(input^2 + other^2)"""
    from .pointwise import sqrt
    return sqrt(add(mul(input, input), mul(other, other)))


def _out(result: Tensor, out: Tensor | None) -> Tensor:
    """torch's out= argument: the result written into `out` (resized if needed)."""
    if out is None:
        return result
    if out._requires_grad and out._grad_fn is None:
        from ..autograd.grad_mode import is_grad_enabled
        if is_grad_enabled():
            raise RuntimeError("functions with out=... arguments don't support automatic differentiation, but one "
                               "of the arguments requires grad.")
    if out._array.shape != result._array.shape:
        out._array = xp.empty(result._array.shape, out._array.dtype)
    xp.copyto(out._array, result._array, casting="unsafe")
    out._bump_version()
    return out


def fmax(input: Any, other: Any) -> Tensor:
    """elementwise max, ignoring NaN when the other value is a number"""
    a, b = promote(input, other, broadcast=True)
    return where(Tensor._wrap(xp.isnan(a._array)), b, maximum(a, where(Tensor._wrap(xp.isnan(b._array)), a, b)))


def fmin(input: Any, other: Any) -> Tensor:
    """elementwise min, ignoring NaN when the other value is a number"""
    a, b = promote(input, other, broadcast=True)
    return where(Tensor._wrap(xp.isnan(a._array)), b, minimum(a, where(Tensor._wrap(xp.isnan(b._array)), a, b)))


def bitwise_left_shift(input: Any, other: Any) -> Tensor:
    """input << other (integers)"""
    a, b = promote(input, other, broadcast=True)
    return constant(xp.left_shift(a._array, b._array))


def bitwise_right_shift(input: Any, other: Any) -> Tensor:
    """input >> other (integers)"""
    a, b = promote(input, other, broadcast=True)
    return constant(xp.right_shift(a._array, b._array))


def gcd(input: Tensor, other: Any) -> Tensor:
    """the greatest common divisor, elementwise (integers)"""
    a, b = promote(input, other)
    return constant(xp.gcd(a._array, b._array))


def lcm(input: Tensor, other: Any) -> Tensor:
    """the least common multiple, elementwise (integers)"""
    a, b = promote(input, other)
    return constant(xp.lcm(a._array, b._array))
