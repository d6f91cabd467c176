"""Activations and the (log-)softmax, each one op with a closed-form derivative."""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from ..autograd.graph import Op
from ..backend import xp
from ..tensor import Tensor
from .elementwise import floating


@lru_cache(maxsize=64)
def _zero_row(length: int, dtype: str) -> Any:
    row = xp.zeros(length, dtype)
    row.flags.writeable = False
    return row


def relu_array(x: Any, out: Any = None) -> Any:
    """max(x, 0) on an array (NaN stays NaN), into `out` if given.

    The zero is a broadcast row, not a scalar: NumPy's maximum loop against a scalar is not vectorised and
    takes 4x as long (a 16x64x40x40 array: 0.49 ms; against a zero row of H*W: 0.20 ms).
    """
    if x.ndim == 0:
        return xp.maximum(x, 0, out=out)
    shape = x.shape
    if x.ndim > 2 and x.flags.c_contiguous and (out is None or out.flags.c_contiguous):
        x = x.reshape(-1, shape[-2] * shape[-1])  # rows of H*W: long inner loops
        out = None if out is None else out.reshape(x.shape)
    return xp.maximum(x, _zero_row(x.shape[-1], x.dtype.str), out=out).reshape(shape)


def _zero_through_output(op: Op, g: Tensor, anchor: Any) -> Tensor:
    """A zero tensor that depends on op's output (anchor: any array of its shape): a piecewise-linear activation's
    second derivative is 0 almost everywhere, and torch gives that 0 as a tensor, not None."""
    from .elementwise import ZeroGradient
    return ZeroGradient.apply(op.output_tensor(anchor), value=xp.zeros(g.shape, g._array.dtype))


def _sigmoid(x: Any) -> Any:
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class ReLU(Op):
    """y = max(x, 0);  dx = g [y > 0]  (reads y, as torch: x may change in place afterwards)"""
    node_name = "ReluBackward0"
    saved_inputs, saves_output = (), True

    def forward(self, x):
        self.y = relu_array(x)
        return self.y

    def backward(self, g):
        return (g * (self.y > 0),)

    def vjp(self, g):
        return (g * Tensor._wrap(self.y > 0) + _zero_through_output(self, g, self.y),)


class LeakyReLU(Op):
    """y = x if x > 0 else slope x;  dx = g (1 or slope)"""
    saved_inputs = ()

    def forward(self, x, slope):
        self.scale = xp.where(x > 0, 1, slope).astype(x.dtype)
        return x * self.scale

    def backward(self, g):
        return (g * self.scale,)

    def vjp(self, g):
        return (g * Tensor._wrap(self.scale) + _zero_through_output(self, g, self.scale),)


class PReLU(Op):
    """y = x if x > 0 else a x, a per channel (dim 1);  dx = g (1 or a), da = sum g x [x <= 0]"""

    def forward(self, x, weight):
        shape = [1] * x.ndim
        if x.ndim > 1:
            shape[1] = weight.size
        self.x, self.weight, self.shape = x, weight.reshape(shape) if weight.size > 1 else weight.reshape(()), shape
        return xp.where(x > 0, x, self.weight * x)

    def backward(self, g):
        negative = self.x <= 0
        dx = g * xp.where(negative, self.weight, 1).astype(g.dtype)
        dw = None
        if self.needs_input_grad[1]:
            full = g * self.x * negative
            if self.weight.ndim:
                axes = tuple(i for i in range(g.ndim) if i != 1)
                dw = full.sum(axis=axes).reshape(-1)
            else:
                dw = full.sum().reshape(1)
        return dx, dw

    def vjp(self, g):
        from .elementwise import where
        negative = Tensor._wrap(self.x <= 0)
        weight = self.input_tensor(1, self.weight.reshape(-1)).reshape(self.weight.shape)
        dx = g * where(negative, weight, 1.0)
        dw = None
        if self.needs_input_grad[1]:
            full = g * self.input_tensor(0, self.x) * negative
            if self.weight.ndim:
                dw = full.sum(dim=tuple(i for i in range(g.ndim) if i != 1)).reshape(-1)
            else:
                dw = full.sum().reshape(1)
        return dx, dw


class ELU(Op):
    """y = scale (x if x > 0 else alpha (e^(s x) - 1));  dx = g scale (1 or s alpha e^(s x)) = g (scale or
    s (y + scale alpha)), read from y (elu: scale = s = 1; selu: scale 1.0507, alpha 1.6733, s = 1;
    celu: scale 1, s = 1 / alpha)"""
    saved_inputs, saves_output = (), True

    def forward(self, x, alpha, scale=1.0, input_scale=1.0):
        self.alpha, self.scale, self.input_scale = alpha, scale, input_scale
        negative = alpha * xp.expm1(xp.minimum(x, 0) * input_scale)
        self.y = (scale * xp.where(x > 0, x, negative)).astype(x.dtype)
        return self.y

    def _slope(self, y, where):
        return where(y > 0, self.scale, self.input_scale * (y + self.scale * self.alpha))

    def backward(self, g):
        return (g * self._slope(self.y, xp.where).astype(g.dtype),)

    def vjp(self, g):
        from .elementwise import where
        return (g * self._slope(self.output_tensor(self.y), where),)


class Softplus(Op):
    """y = log(1 + e^(beta x)) / beta (x itself where beta x > threshold);  dx = g sigmoid(beta x)
    = g (1 - e^(-beta y)), read from y"""
    saved_inputs, saves_output = (), True

    def forward(self, x, beta, threshold):
        z = beta * x
        self.linear, self.beta = z > threshold, beta
        soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
        self.y = xp.where(self.linear, x, soft).astype(x.dtype)
        return self.y

    def backward(self, g):
        return (g * xp.where(self.linear, 1, -xp.expm1(-self.beta * self.y)).astype(g.dtype),)

    def vjp(self, g):
        from .elementwise import where
        y = self.output_tensor(self.y)
        return (g * where(Tensor._wrap(self.linear), 1.0, -(-self.beta * y).expm1()),)


class GELU(Op):
    """y = x Phi(x) (Phi the normal CDF; 'tanh': 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))));  dx = g y'(x)"""
    saved_inputs = (0,)

    def forward(self, x, approximate):
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
            self.t = xp.tanh(inner)
            return (0.5 * x * (1 + self.t)).astype(x.dtype)
        from scipy.special import erf
        return (0.5 * x * (1 + erf(x / math.sqrt(2)))).astype(x.dtype)

    def backward(self, g):
        x = self.x
        if self.approximate == "tanh":
            dinner = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
            slope = 0.5 * (1 + self.t) + 0.5 * x * (1 - self.t * self.t) * dinner
        else:
            from scipy.special import erf
            slope = 0.5 * (1 + erf(x / math.sqrt(2))) + x * xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return (g * slope.astype(g.dtype),)

    def vjp(self, g):
        x = self.input_tensor(0, self.x)
        if self.approximate == "tanh":
            t = (math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)).tanh()
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x))
        else:
            slope = 0.5 * (1 + (x / math.sqrt(2)).erf()) + x * (-0.5 * x * x).exp() / math.sqrt(2 * math.pi)
        return (g * slope,)


class SiLU(Op):
    """y = x sigmoid(x);  dx = g s (1 + x (1 - s)), s = sigmoid(x)"""
    saved_inputs = (0,)

    def forward(self, x):
        self.x = x
        return x * _sigmoid(x)

    def backward(self, g):
        s = _sigmoid(self.x)
        return (g * s * (1 + self.x * (1 - s)),)

    def vjp(self, g):
        x = self.input_tensor(0, self.x)
        s = x.sigmoid()
        return (g * s * (1 + x * (1 - s)),)


class Mish(Op):
    """y = x tanh(softplus(x));  dx = g (t + x (1 - t^2) sigmoid(x)), t = tanh(softplus(x))"""
    saved_inputs = (0,)

    def forward(self, x):
        self.x = x
        return x * xp.tanh(xp.logaddexp(0, x)).astype(x.dtype)

    def backward(self, g):
        x = self.x
        t = xp.tanh(xp.logaddexp(0, x)).astype(x.dtype)
        return (g * (t + x * (1 - t * t) * _sigmoid(x)),)

    def vjp(self, g):
        from .pointwise import log1p
        x = self.input_tensor(0, self.x)
        softplus = x.clamp(min=0) + log1p((-x.abs()).exp())
        t = softplus.tanh()
        return (g * (t + x * (1 - t * t) * x.sigmoid()),)


class Hardtanh(Op):
    """y = min(max(x, lo), hi);  dx = g where lo < x < hi (0 at the bounds, as torch's hardtanh)"""
    saved_inputs = ()

    def forward(self, x, low, high):
        self.inside = (x > low) & (x < high)
        return xp.clip(x, low, high).astype(x.dtype)

    def backward(self, g):
        return (g * self.inside,)

    def vjp(self, g):
        return (g * Tensor._wrap(self.inside) + _zero_through_output(self, g, self.inside),)


class Hardsigmoid(Op):
    """y = min(max(x / 6 + 1/2, 0), 1);  dx = g / 6 inside (-3, 3)"""
    saved_inputs = ()

    def forward(self, x):
        self.inside = (x > -3) & (x < 3)
        return xp.clip(x / 6 + 0.5, 0, 1).astype(x.dtype)

    def backward(self, g):
        return (g * self.inside / 6,)

    def vjp(self, g):
        return (g * Tensor._wrap((self.inside / 6).astype(g._array.dtype)),)


class Hardswish(Op):
    """y = x min(max(x + 3, 0), 6) / 6;  dx = g (0 up to -3, 1 from 3, x/3 + 1/2 between)"""
    saved_inputs = (0,)

    def forward(self, x):
        self.x = x
        return (x * xp.clip(x + 3, 0, 6) / 6).astype(x.dtype)

    def backward(self, g):
        x = self.x  # torch's kernel: 0 up to -3 and 1 from 3 on, both ends included
        slope = xp.where(x <= -3, 0, xp.where(x >= 3, 1, x / 3 + 0.5))
        return (g * slope.astype(g.dtype),)

    def vjp(self, g):
        from .elementwise import where
        x = self.input_tensor(0, self.x)
        return (g * where(x <= -3, 0.0, where(x >= 3, 1.0, x / 3 + 0.5)),)


class LogSigmoid(Op):
    """y = -softplus(-x) = log sigmoid(x);  dx = g (1 - sigmoid(x)) = -g expm1(y), read from y"""
    saved_inputs, saves_output = (), True

    def forward(self, x):
        self.y = (-(xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x))))).astype(x.dtype)
        return self.y

    def backward(self, g):
        return (-g * xp.expm1(self.y),)

    def vjp(self, g):
        return (-g * self.output_tensor(self.y).expm1(),)


class Softsign(Op):
    """y = x / (1 + |x|);  dx = g / (1 + |x|)^2"""
    saved_inputs = (0,)

    def forward(self, x):
        self.x = x
        return x / (1 + xp.abs(x))

    def backward(self, g):
        return (g / (1 + xp.abs(self.x)) ** 2,)

    def vjp(self, g):
        return (g / (1 + self.input_tensor(0, self.x).abs()) ** 2,)


class Threshold(Op):
    """y = x if x > threshold else value;  dx = g [x > threshold]"""
    saved_inputs = ()

    def forward(self, x, threshold, value):
        self.keep = x > threshold
        return xp.where(self.keep, x, xp.asarray(value, x.dtype))

    def backward(self, g):
        return (g * self.keep,)

    def vjp(self, g):
        return (g * Tensor._wrap(self.keep),)


class Shrink(Op):
    """soft: y = x - l sign(x) where |x| > l else 0; hard: y = x where |x| > l else 0;  dx = g [|x| > l]"""
    saved_inputs = ()

    def forward(self, x, lambd, soft):
        self.keep = xp.abs(x) > lambd
        shrunk = x - lambd * xp.sign(x) if soft else x
        return xp.where(self.keep, shrunk, 0).astype(x.dtype)

    def backward(self, g):
        return (g * self.keep,)

    def vjp(self, g):
        return (g * Tensor._wrap(self.keep),)


class Softmax(Op):
    """y = e^x / sum e^x along dim;  dx = y (g - sum(g y))"""
    saved_inputs, saves_output = (), True

    def forward(self, x, axis):
        self.axis = axis
        e = xp.exp(x - x.max(axis=axis, keepdims=True))
        self.y = e / e.sum(axis=axis, keepdims=True)
        return self.y

    def backward(self, g):
        return (self.y * (g - (g * self.y).sum(axis=self.axis, keepdims=True)),)

    def vjp(self, g):
        y = self.output_tensor(self.y)
        return (y * (g - (g * y).sum(dim=self.axis, keepdim=True)),)


class LogSoftmax(Op):
    """y = x - logsumexp(x) along dim;  dx = g - softmax(x) sum(g)"""
    saved_inputs, saves_output = (), True

    def forward(self, x, axis):
        self.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)
        self.y = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        return self.y

    def backward(self, g):
        return (g - xp.exp(self.y) * g.sum(axis=self.axis, keepdims=True),)

    def vjp(self, g):
        return (g - self.output_tensor(self.y).exp() * g.sum(dim=self.axis, keepdim=True),)


# ----- functional forms -----------------------------------------------------------------------------------
def _maybe_inplace(op: type, x: Tensor, inplace: bool, **kwargs: Any) -> Tensor:
    if inplace:
        from ..autograd.graph import apply_inplace
        return apply_inplace(op, x, name=f"{op.__name__.removesuffix('Backward0').lower()}_", **kwargs)
    return op.apply(x, **kwargs)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0)"""
    return _maybe_inplace(ReLU, input, inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(input, 0), 6)"""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """input if input > 0 else negative_slope input"""
    return _maybe_inplace(LeakyReLU, input, inplace, slope=negative_slope)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """input if input > 0 else weight input, weight per channel"""
    return PReLU.apply(input, weight)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """input if input > 0 else alpha (e^input - 1)"""
    return _maybe_inplace(ELU, input, inplace, alpha=alpha)


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """1.0507 (input if input > 0 else 1.6733 (e^input - 1))"""
    return _maybe_inplace(ELU, input, inplace, alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """input if input > 0 else alpha (e^(input / alpha) - 1)"""
    return _maybe_inplace(ELU, input, inplace, alpha=alpha, input_scale=1.0 / alpha)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta input)) / beta, linear above threshold"""
    return Softplus.apply(floating(input), beta=beta, threshold=threshold)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """input Phi(input), Phi the standard normal CDF ('tanh': its tanh approximation)"""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return GELU.apply(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """input sigmoid(input)"""
    return _maybe_inplace(SiLU, input, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """input tanh(softplus(input))"""
    return _maybe_inplace(Mish, input, inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """min(max(input, min_val), max_val)"""
    return _maybe_inplace(Hardtanh, input, inplace, low=min_val, high=max_val)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(input / 6 + 1/2, 0), 1)"""
    return _maybe_inplace(Hardsigmoid, input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """input hardsigmoid(input)"""
    return _maybe_inplace(Hardswish, input, inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """log(1 / (1 + e^-input))"""
    return LogSigmoid.apply(input)


def softsign(input: Tensor) -> Tensor:
    """input / (1 + |input|)"""
    return Softsign.apply(input)


def tanhshrink(input: Tensor) -> Tensor:
    """input - tanh(input)"""
    from .pointwise import tanh
    return input - tanh(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """input if input > threshold else value"""
    return _maybe_inplace(Threshold, input, inplace, threshold=threshold, value=value)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input - lambd sign(input) where |input| > lambd, else 0"""
    return Shrink.apply(input, lambd=lambd, soft=True)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input where |input| > lambd, else 0"""
    return Shrink.apply(input, lambd=lambd, soft=False)


def _softmax_dim(input: Tensor, dim: int | None, name: str) -> int:
    if dim is None:
        import warnings
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                      "as an argument.", stacklevel=3)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return input._dim(dim)


def _floating_input(input: Tensor, dtype: Any, kernel: str) -> Tensor:
    x = input.to(dtype) if dtype is not None else input
    if x._array.dtype.kind != "f":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{x.dtype}' (a floating tensor is needed)")
    return x


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """e^x_i / sum_j e^x_j along dim"""
    x = _floating_input(input, dtype, "softmax_lastdim_kernel_impl")
    return Softmax.apply(x, axis=_softmax_dim(x, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """x_i - log sum_j e^x_j along dim"""
    x = _floating_input(input, dtype, "log_softmax_lastdim_kernel_impl")
    return LogSoftmax.apply(x, axis=_softmax_dim(x, dim, "log_softmax"))


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(-input)"""
    return softmax(-_floating_input(input, dtype, "softmax_lastdim_kernel_impl"), dim)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a sigmoid(b), input split in halves a, b along dim"""
    from .pointwise import sigmoid
    from .shape import chunk
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} is size {input.shape[dim]}")
    a, b = chunk(input, 2, dim)
    return a * sigmoid(b)
