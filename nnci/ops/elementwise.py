"""Pointwise ops. Each backward is the derivative of its forward, times the incoming grad.

Broadcasting is handled by the engine (`unbroadcast`), so binary ops return full-shape grads.
"""
from __future__ import annotations

from typing import Any

from ..backend import xp
from ..tensor import Function, Tensor, _pair, as_tensor


class Neg(Function):
    """y = -x;  dx = -g"""
    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class Add(Function):
    """y = a + b;  da = g, db = g"""
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    """y = a - b;  da = g, db = -g"""
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b;  da = g b, db = g a"""
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        da = g * self.b if self.needs_input_grad[0] else None
        db = g * self.a if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """y = a / b;  da = g / b, db = -g a / b^2"""
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        da = g / self.b if self.needs_input_grad[0] else None
        db = -g * self.a / (self.b * self.b) if self.needs_input_grad[1] else None
        return da, db


class PowScalar(Function):
    """y = x^p for a constant p;  dx = g p x^(p-1)"""
    def forward(self, x, exponent):
        self.x, self.p = x, exponent
        return x ** exponent

    def backward(self, g):
        p = self.p
        if p == 0:
            return (xp.zeros_like(g),)
        return (g * (p * self.x ** (p - 1)).astype(g.dtype, copy=False),)


class Pow(Function):
    """y = a^b;  da = g b a^(b-1), db = g a^b log(a)"""
    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a ** b
        return self.y

    def backward(self, g):
        da = g * self.b * self.a ** (self.b - 1) if self.needs_input_grad[0] else None
        db = None
        if self.needs_input_grad[1]:
            with xp.errstate(divide="ignore", invalid="ignore"):
                log_a = xp.where(self.a > 0, xp.log(xp.where(self.a > 0, self.a, 1)), 0)
            db = g * self.y * log_a
        return da, db


class Exp(Function):
    """y = e^x;  dx = g y"""
    def forward(self, x):
        self.y = xp.exp(x)
        return self.y

    def backward(self, g):
        return (g * self.y,)


class Log(Function):
    """y = ln x;  dx = g / x"""
    def forward(self, x):
        self.x = x
        return xp.log(x)

    def backward(self, g):
        return (g / self.x,)


class Sqrt(Function):
    """y = sqrt(x);  dx = g / (2 y)"""
    def forward(self, x):
        self.y = xp.sqrt(x)
        return self.y

    def backward(self, g):
        return (g / (2 * self.y),)


class Sin(Function):
    """y = sin x;  dx = g cos x"""
    def forward(self, x):
        self.x = x
        return xp.sin(x)

    def backward(self, g):
        return (g * xp.cos(self.x),)


class Cos(Function):
    """y = cos x;  dx = -g sin x"""
    def forward(self, x):
        self.x = x
        return xp.cos(x)

    def backward(self, g):
        return (-g * xp.sin(self.x),)


class Tanh(Function):
    """y = tanh x;  dx = g (1 - y^2)"""
    def forward(self, x):
        self.y = xp.tanh(x)
        return self.y

    def backward(self, g):
        return (g * (1 - self.y * self.y),)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x);  dx = g y (1 - y)"""
    def forward(self, x):
        e = xp.exp(-xp.abs(x))  # never overflows
        self.y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return self.y

    def backward(self, g):
        return (g * self.y * (1 - self.y),)


class Abs(Function):
    """y = |x|;  dx = g sign(x)  (0 at 0, as torch)"""
    def forward(self, x):
        self.x = x
        return xp.abs(x)

    def backward(self, g):
        return (g * xp.sign(self.x),)


class Maximum(Function):
    """y = max(a, b);  the grad goes to the larger input, split evenly on ties (as torch)"""
    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.maximum(a, b)

    def backward(self, g):
        share = xp.where(self.a > self.b, 1.0, xp.where(self.a == self.b, 0.5, 0.0)).astype(g.dtype)
        return g * share, g * (1 - share)


class Minimum(Function):
    """y = min(a, b);  the grad goes to the smaller input, split evenly on ties (as torch)"""
    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.minimum(a, b)

    def backward(self, g):
        share = xp.where(self.a < self.b, 1.0, xp.where(self.a == self.b, 0.5, 0.0)).astype(g.dtype)
        return g * share, g * (1 - share)


class Clamp(Function):
    """y = min(max(x, lo), hi);  dx = g where lo <= x <= hi (torch passes the grad at the bounds)"""
    def forward(self, x, low=None, high=None):
        self.mask = xp.ones(x.shape, dtype=bool)
        y = x
        if low is not None:
            self.mask &= x >= low
            y = xp.maximum(y, xp.asarray(low, x.dtype))
        if high is not None:
            self.mask &= x <= high
            y = xp.minimum(y, xp.asarray(high, x.dtype))
        return y

    def backward(self, g):
        return (g * self.mask,)


class Where(Function):
    """y = a where cond else b;  da = g [cond], db = g [not cond]"""
    def forward(self, a, b, condition):
        self.condition = condition
        return xp.where(condition, a, b)

    def backward(self, g):
        zero = xp.zeros((), g.dtype)
        return xp.where(self.condition, g, zero), xp.where(self.condition, zero, g)


class Cast(Function):
    """y = x as another float dtype;  dx = g cast back"""
    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return (g.astype(self.dtype),)


# ----- the functional forms, attached to Tensor as methods in ops/__init__.py ---------------
def exp(x: Tensor) -> Tensor:
    """e^x"""
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    """ln x"""
    return Log.apply(x)


def sqrt(x: Tensor) -> Tensor:
    """sqrt(x)"""
    return Sqrt.apply(x)


def sin(x: Tensor) -> Tensor:
    """sin x"""
    return Sin.apply(x)


def cos(x: Tensor) -> Tensor:
    """cos x"""
    return Cos.apply(x)


def tanh(x: Tensor) -> Tensor:
    """tanh x"""
    return Tanh.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x)"""
    return Sigmoid.apply(x)


def abs(x: Tensor) -> Tensor:  # noqa: A001 - torch's name
    """|x|"""
    return Abs.apply(x)


def square(x: Tensor) -> Tensor:
    """x^2"""
    return PowScalar.apply(x, exponent=2)


def maximum(a: Any, b: Any) -> Tensor:
    """elementwise max(a, b)"""
    return Maximum.apply(*_pair(a, b))


def minimum(a: Any, b: Any) -> Tensor:
    """elementwise min(a, b)"""
    return Minimum.apply(*_pair(a, b))


def clamp(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """min(max(x, min), max)"""
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min and max")
    return Clamp.apply(x, low=min, high=max)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """a where condition holds, else b"""
    cond = as_tensor(condition).data.astype(bool)
    a, b = _pair(a, b)
    return Where.apply(a, b, condition=cond)


def add(a: Any, b: Any) -> Tensor:
    """a + b"""
    return Add.apply(*_pair(a, b))


def sub(a: Any, b: Any) -> Tensor:
    """a - b"""
    return Sub.apply(*_pair(a, b))


def mul(a: Any, b: Any) -> Tensor:
    """a * b"""
    return Mul.apply(*_pair(a, b))


def div(a: Any, b: Any) -> Tensor:
    """a / b"""
    return Div.apply(*_pair(a, b))


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - torch's name
    """a ** b"""
    if isinstance(b, (int, float)) and isinstance(a, Tensor):
        return PowScalar.apply(a, exponent=b)
    return Pow.apply(*_pair(a, b))


def neg(a: Tensor) -> Tensor:
    """-a"""
    return Neg.apply(a)
