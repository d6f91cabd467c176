"""Unary pointwise functions y = f(x), each with its derivative: dx = g f'(x).

Each op names f and f' as two static methods; f' reads x, y or both, and the op keeps only what it reads
(`uses_input`, `saves_output`), so torch's rules for in-place changes after the op hold.
Integer inputs of floating functions (exp, sqrt, ...) are promoted to the default float dtype.
"""
from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

from ..autograd.graph import Op
from ..backend import xp
from ..tensor import Tensor
from .elementwise import constant, floating, zero_gradient


def _psi(x: Any) -> Any:
    from scipy.special import digamma as scipy_digamma
    return scipy_digamma(x).astype(x.dtype, copy=False)


def _trigamma(x: Any) -> Any:
    from scipy.special import polygamma
    return polygamma(1, x).astype(x.dtype, copy=False)


# The functions the derivatives f' are written with: NumPy's on arrays (backward), nnci's on tensors (the
# differentiable backward of create_graph=True, TENSOR_MATH below), so each f' is written once for both.
def _scipy(name: str) -> Any:
    """scipy.special.<name> on an array, in the array's dtype"""
    def function(x: Any) -> Any:
        import scipy.special
        return getattr(scipy.special, name)(x).astype(x.dtype, copy=False)
    function.__name__ = name
    return function


def _polygamma(n: int, x: Any) -> Any:
    from scipy.special import polygamma
    return polygamma(n, x).astype(x.dtype, copy=False)


ARRAY_MATH = SimpleNamespace(exp=xp.exp, sign=xp.sign, cos=xp.cos, sin=xp.sin, sqrt=xp.sqrt, cosh=xp.cosh,
                             sinh=xp.sinh, digamma=_psi, trigamma=_trigamma, polygamma=_polygamma,
                             **{name: _scipy(name) for name in ("i0", "i0e", "i1", "i1e", "j0", "j1", "y0", "y1")})


class Pointwise(Op):
    """y = f(x);  dx = g f'(x, y)"""
    uses_input = True

    @property
    def saved_inputs(self) -> tuple:  # type: ignore[override]
        return (0,) if self.uses_input else ()

    @staticmethod
    def f(x: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def df(x: Any, y: Any) -> Any:
        raise NotImplementedError

    def forward(self, x):
        y = self.f(x)
        self.x = x if self.uses_input else None
        self.y = y if self.saves_output else None
        return y

    def backward(self, g):
        return (g * self.df(self.x, self.y),)

    def vjp(self, g):
        x = self.input_tensor(0, self.x) if self.uses_input else None
        y = self.output_tensor(self.y) if self.saves_output else None
        return (g * self.df(x, y, TENSOR_MATH),)


class Neg(Pointwise):
    """y = -x;  dx = -g"""
    uses_input = False

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)

    vjp = backward


class Exp(Pointwise):
    """y = e^x;  dx = g y"""
    uses_input, saves_output = False, True
    f = staticmethod(xp.exp)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return y


class Exp2(Pointwise):
    """y = 2^x;  dx = g y ln 2"""
    uses_input, saves_output = False, True
    f = staticmethod(xp.exp2)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return y * y.dtype.type(math.log(2))


class Expm1(Pointwise):
    """y = e^x - 1;  dx = g (y + 1)"""
    uses_input, saves_output = False, True
    f = staticmethod(xp.expm1)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return y + 1


class Log(Pointwise):
    """y = ln x;  dx = g / x"""
    f = staticmethod(xp.log)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return 1 / x


class Log2(Pointwise):
    """y = log2 x;  dx = g / (x ln 2)"""
    f = staticmethod(xp.log2)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return 1 / (x * x.dtype.type(math.log(2)))


class Log10(Pointwise):
    """y = log10 x;  dx = g / (x ln 10)"""
    f = staticmethod(xp.log10)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return 1 / (x * x.dtype.type(math.log(10)))


class Log1p(Pointwise):
    """y = ln(1 + x);  dx = g / (1 + x)"""
    f = staticmethod(xp.log1p)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return 1 / (1 + x)


class Sqrt(Pointwise):
    """y = sqrt(x);  dx = g / (2 y)"""
    uses_input, saves_output = False, True
    f = staticmethod(xp.sqrt)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return 1 / (2 * y)


class Rsqrt(Pointwise):
    """y = 1 / sqrt(x);  dx = -g y^3 / 2"""
    uses_input, saves_output = False, True

    @staticmethod
    def f(x):
        return 1 / xp.sqrt(x)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return -0.5 * y * y * y


class Reciprocal(Pointwise):
    """y = 1 / x;  dx = -g y^2"""
    uses_input, saves_output = False, True

    @staticmethod
    def f(x):
        return 1 / x

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return -y * y


class Abs(Pointwise):
    """y = |x|;  dx = g sign(x)  (0 at 0, as torch)"""
    f = staticmethod(xp.abs)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return m.sign(x)


class Sin(Pointwise):
    """y = sin x;  dx = g cos x"""
    f = staticmethod(xp.sin)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return m.cos(x)


class Cos(Pointwise):
    """y = cos x;  dx = -g sin x"""
    f = staticmethod(xp.cos)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return -m.sin(x)


class Tan(Pointwise):
    """y = tan x;  dx = g (1 + y^2)"""
    uses_input, saves_output = False, True
    f = staticmethod(xp.tan)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return 1 + y * y


class Asin(Pointwise):
    """y = asin x;  dx = g / sqrt(1 - x^2)"""
    f = staticmethod(xp.arcsin)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return 1 / m.sqrt(1 - x * x)


class Acos(Pointwise):
    """y = acos x;  dx = -g / sqrt(1 - x^2)"""
    f = staticmethod(xp.arccos)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return -1 / m.sqrt(1 - x * x)


class Atan(Pointwise):
    """y = atan x;  dx = g / (1 + x^2)"""
    f = staticmethod(xp.arctan)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return 1 / (1 + x * x)


class Sinh(Pointwise):
    """y = sinh x;  dx = g cosh x"""
    f = staticmethod(xp.sinh)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return m.cosh(x)


class Cosh(Pointwise):
    """y = cosh x;  dx = g sinh x"""
    f = staticmethod(xp.cosh)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return m.sinh(x)


class Tanh(Pointwise):
    """y = tanh x;  dx = g (1 - y^2)"""
    uses_input, saves_output = False, True
    f = staticmethod(xp.tanh)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return 1 - y * y


class Asinh(Pointwise):
    """y = asinh x;  dx = g / sqrt(x^2 + 1)"""
    f = staticmethod(xp.arcsinh)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return 1 / m.sqrt(x * x + 1)


class Acosh(Pointwise):
    """y = acosh x;  dx = g / sqrt(x^2 - 1)"""
    f = staticmethod(xp.arccosh)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return 1 / m.sqrt(x * x - 1)


class Atanh(Pointwise):
    """y = atanh x;  dx = g / (1 - x^2)"""
    f = staticmethod(xp.arctanh)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return 1 / (1 - x * x)


class Sigmoid(Pointwise):
    """y = 1 / (1 + e^-x);  dx = g y (1 - y)"""
    uses_input, saves_output = False, True

    @staticmethod
    def f(x):
        return 1 / (1 + xp.exp(-x))  # e^-x may overflow to inf, giving 0 as in torch

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return y * (1 - y)


class Erf(Pointwise):
    """y = erf x;  dx = g 2/sqrt(pi) e^(-x^2)"""

    @staticmethod
    def f(x):
        from scipy.special import erf
        return erf(x).astype(x.dtype, copy=False)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return (2 / math.sqrt(math.pi)) * m.exp(-x * x)


class Erfc(Pointwise):
    """y = 1 - erf x;  dx = -g 2/sqrt(pi) e^(-x^2)"""

    @staticmethod
    def f(x):
        from scipy.special import erfc
        return erfc(x).astype(x.dtype, copy=False)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return (-2 / math.sqrt(math.pi)) * m.exp(-x * x)


class Erfinv(Pointwise):
    """y = erf^-1 x;  dx = g sqrt(pi)/2 e^(y^2)"""
    uses_input, saves_output = False, True

    @staticmethod
    def f(x):
        from scipy.special import erfinv
        return erfinv(x).astype(x.dtype, copy=False)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return (math.sqrt(math.pi) / 2) * m.exp(y * y)


class Lgamma(Pointwise):
    """y = ln|Gamma(x)|;  dx = g digamma(x)"""

    @staticmethod
    def f(x):
        from scipy.special import gammaln
        return xp.where(x == -xp.inf, xp.inf, gammaln(x)).astype(x.dtype, copy=False)  # torch: lgamma(-inf) = inf

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return m.digamma(x)


class Frac(Pointwise):
    """y = x - trunc(x);  dx = g"""
    uses_input = False

    @staticmethod
    def f(x):
        return x - xp.trunc(x)

    def backward(self, g):
        return (g,)

    vjp = backward


class NanToNum(Op):
    """y = x with NaN and infinities replaced;  dx = g where x is finite"""
    saved_inputs = ()

    def forward(self, x, nan, posinf, neginf):
        self.finite = xp.isfinite(x)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        return (g * self.finite,)

    def vjp(self, g):
        return (g * Tensor._wrap(self.finite),)


def _unary(op: type, promote: bool = True) -> Any:
    def function(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        from .elementwise import _out
        return _out(op.apply(floating(input) if promote else input), out)
    function.__name__ = op.__name__.removesuffix("Backward0").lower()
    function.__doc__ = op.__doc__.split(";")[0].strip()
    return function


exp, exp2, expm1 = _unary(Exp), _unary(Exp2), _unary(Expm1)
log, log2, log10, log1p = _unary(Log), _unary(Log2), _unary(Log10), _unary(Log1p)
sqrt, rsqrt, reciprocal = _unary(Sqrt), _unary(Rsqrt), _unary(Reciprocal)
sin, cos, tan, asin, acos, atan = _unary(Sin), _unary(Cos), _unary(Tan), _unary(Asin), _unary(Acos), _unary(Atan)
arcsin, arccos, arctan = asin, acos, atan
sinh, cosh, tanh, asinh, acosh, atanh = (_unary(Sinh), _unary(Cosh), _unary(Tanh), _unary(Asinh), _unary(Acosh),
                                         _unary(Atanh))
arcsinh, arccosh, arctanh = asinh, acosh, atanh
sigmoid, erf, erfc, erfinv, lgamma = _unary(Sigmoid), _unary(Erf), _unary(Erfc), _unary(Erfinv), _unary(Lgamma)
frac = _unary(Frac)


def neg(input: Tensor) -> Tensor:
    """-input"""
    if input._array.dtype == xp.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return Neg.apply(input)


negative = neg


def abs(input: Tensor) -> Tensor:  # noqa: A001 - torch's name
    """|input|"""
    return Abs.apply(input) if input._array.dtype.kind == "f" else constant(xp.abs(input._array))


absolute = abs


def square(input: Tensor) -> Tensor:
    """input^2"""
    from .elementwise import pow
    return pow(input, 2)


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 (0 for NaN, as torch), with a zero gradient"""
    array = input._array
    if array.dtype == xp.bool_:
        return constant(array.copy())
    return zero_gradient(xp.nan_to_num(xp.sign(array), nan=0.0) if array.dtype.kind == "f" else xp.sign(array), input)


sgn = sign


def _rounding(function: Any, name: str) -> Any:
    def rounded(input: Tensor) -> Tensor:
        array = input._array
        return zero_gradient(function(array), input) if array.dtype.kind == "f" else constant(array.copy())
    rounded.__name__ = name
    rounded.__doc__ = f"{name}(input), elementwise (gradient 0, as torch)"
    return rounded


floor, ceil, trunc = _rounding(xp.floor, "floor"), _rounding(xp.ceil, "ceil"), _rounding(xp.trunc, "trunc")
fix = trunc


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - torch's name
    """input rounded half to even (to `decimals` places), gradient 0"""
    array = input._array
    return zero_gradient(xp.round(array, decimals), input) if array.dtype.kind == "f" else constant(array.copy())


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """input with NaN -> nan, +inf -> posinf (default the largest finite value), -inf -> neginf"""
    return NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)


def deg2rad(input: Tensor) -> Tensor:
    """input pi / 180"""
    return floating(input) * (math.pi / 180)


def rad2deg(input: Tensor) -> Tensor:
    """input 180 / pi"""
    return floating(input) * (180 / math.pi)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """ln(p / (1 - p)), p = input clamped to [eps, 1 - eps] when eps is given"""
    from .elementwise import clamp
    p = clamp(floating(input), eps, 1 - eps) if eps is not None else floating(input)
    return log(p / (1 - p))


class XLogY(Op):
    """y = x ln(o), 0 where x = 0;  dx = g ln(o) (0 where x = 0), do = g x / o"""

    def forward(self, x, other):
        self.x, self.other = x, other
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.where(x == 0, xp.zeros((), x.dtype), x * xp.log(other))

    def backward(self, g):
        with xp.errstate(divide="ignore", invalid="ignore"):
            dx = g * xp.where(self.x == 0, 0, xp.log(self.other)) if self.needs_input_grad[0] else None
            do = g * self.x / self.other if self.needs_input_grad[1] else None
        return dx, do

    def vjp(self, g):
        from .elementwise import where
        x, other = self.input_tensor(0, self.x), self.input_tensor(1, self.other)
        dx = g * where(Tensor._wrap(self.x == 0), 0.0, log(other)) if self.needs_input_grad[0] else None
        do = g * x / other if self.needs_input_grad[1] else None
        return dx, do


def xlogy(input: Any, other: Any) -> Tensor:
    """input ln(other), 0 where input is 0"""
    from .elementwise import promote
    return XLogY.apply(*promote(input, other, floating=True))


class Digamma(Pointwise):
    """y = psi(x) = d ln Gamma(x) / dx;  dx = g psi'(x)"""

    @staticmethod
    def f(x):
        from scipy.special import digamma as psi
        return psi(x).astype(x.dtype, copy=False)

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return m.trigamma(x)


digamma = psi = _unary(Digamma)


def sinc(input: Tensor) -> Tensor:
    """sin(pi x) / (pi x), 1 at 0"""
    from .elementwise import where
    x = floating(input)
    scaled = x * math.pi
    safe = where(scaled == 0, 1.0, scaled)
    return where(scaled == 0, 1.0, sin(safe) / safe)


def positive(input: Tensor) -> Tensor:
    """input itself"""
    return input


def copysign(input: Any, other: Any) -> Tensor:
    """|input| with the sign of other"""
    from .elementwise import promote, where
    a, b = promote(input, other, floating=True, broadcast=True)
    return where(Tensor._wrap(xp.signbit(b._array)), -abs(a), abs(a))


def logaddexp(input: Any, other: Any) -> Tensor:
    """log(e^a + e^b), computed stably"""
    from .elementwise import maximum, minimum, promote
    a, b = promote(input, other, floating=True, broadcast=True)
    high, low = maximum(a, b), minimum(a, b)
    return high + log1p(exp(low - high))


def logaddexp2(input: Any, other: Any) -> Tensor:
    """log2(2^a + 2^b)"""
    return logaddexp(input * math.log(2), other * math.log(2)) / math.log(2)


def heaviside(input: Tensor, values: Any) -> Tensor:
    """0 below 0, values at 0, 1 above 0"""
    from .elementwise import promote
    a, v = promote(input, values, broadcast=True)
    return constant(xp.heaviside(a._array, v._array))


# ----- special functions (torch.special) -----------------------------------------------------------------
def _at_zero(x: Any, value: float, other: Any, m: Any) -> Any:
    """other, but `value` where x = 0 (the limit of a ratio by x)"""
    if m is ARRAY_MATH:
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.where(x == 0, xp.asarray(value, x.dtype), other(xp.where(x == 0, 1, x)))
    from .elementwise import where
    return where(x == 0, value, other(where(x == 0, 1.0, x)))


class I0(Pointwise):
    """y = I_0(x), the modified Bessel function;  dx = g I_1(x)"""
    f = staticmethod(_scipy("i0"))

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return m.i1(x)


class I0e(Pointwise):
    """y = e^-|x| I_0(x);  dx = g (I_1e(x) - sign(x) y)"""
    saves_output = True
    f = staticmethod(_scipy("i0e"))

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return m.i1e(x) - m.sign(x) * y


class I1(Pointwise):
    """y = I_1(x);  dx = g (I_0(x) - I_1(x) / x), 1/2 at 0"""
    saves_output = True
    f = staticmethod(_scipy("i1"))

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return _at_zero(x, 0.5, lambda safe: m.i0(x) - y / safe, m)


class I1e(Pointwise):
    """y = e^-|x| I_1(x);  dx = g (I_0e(x) - y (sign(x) + 1 / x)), 1/2 at 0"""
    saves_output = True
    f = staticmethod(_scipy("i1e"))

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return _at_zero(x, 0.5, lambda safe: m.i0e(x) - y * (m.sign(x) + 1 / safe), m)


class BesselJ0(Pointwise):
    """y = J_0(x);  dx = -g J_1(x)"""
    f = staticmethod(_scipy("j0"))

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return -m.j1(x)


class BesselJ1(Pointwise):
    """y = J_1(x);  dx = g (J_0(x) - J_1(x) / x), 1/2 at 0"""
    saves_output = True
    f = staticmethod(_scipy("j1"))

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return _at_zero(x, 0.5, lambda safe: m.j0(x) - y / safe, m)


class BesselY0(Pointwise):
    """y = Y_0(x);  dx = -g Y_1(x)"""
    f = staticmethod(_scipy("y0"))

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return -m.y1(x)


class BesselY1(Pointwise):
    """y = Y_1(x);  dx = g (Y_0(x) - Y_1(x) / x)"""
    saves_output = True
    f = staticmethod(_scipy("y1"))

    @staticmethod
    def df(x, y, m=ARRAY_MATH):
        return m.y0(x) - y / x


i0, i0e, i1, i1e = _unary(I0), _unary(I0e), _unary(I1), _unary(I1e)
bessel_j0, bessel_j1, bessel_y0, bessel_y1 = _unary(BesselJ0), _unary(BesselJ1), _unary(BesselY0), _unary(BesselY1)


class Polygamma(Op):
    """y = psi^(n)(x);  dx = g psi^(n+1)(x)"""
    saved_inputs = (0,)

    def forward(self, x, n):
        self.x, self.n = x, n
        return _polygamma(n, x)

    def backward(self, g):
        return (g * _polygamma(self.n + 1, self.x),)

    def vjp(self, g):
        return (g * polygamma(self.n + 1, self.input_tensor(0, self.x)),)


def polygamma(n: int, input: Tensor) -> Tensor:
    """the n-th derivative of digamma"""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return Polygamma.apply(floating(input), n=int(n))


TENSOR_MATH = SimpleNamespace(exp=exp, sign=sign, cos=cos, sin=sin, sqrt=sqrt, cosh=cosh, sinh=sinh, digamma=digamma,
                              trigamma=lambda x: polygamma(1, x), polygamma=polygamma, i0=i0, i0e=i0e, i1=i1,
                              i1e=i1e, j0=bessel_j0, j1=bessel_j1, y0=bessel_y0, y1=bessel_y1)
