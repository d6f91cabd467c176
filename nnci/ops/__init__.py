"""Differentiable ops, one file per family; here they become Tensor methods."""
from __future__ import annotations

from ..tensor import Tensor
from . import activation, elementwise, linalg, reduce, shape

_METHODS = {
    # elementwise
    "exp": elementwise.exp, "log": elementwise.log, "sqrt": elementwise.sqrt, "sin": elementwise.sin,
    "cos": elementwise.cos, "tanh": elementwise.tanh, "sigmoid": elementwise.sigmoid,
    "abs": elementwise.abs, "square": elementwise.square, "clamp": elementwise.clamp,
    "clip": elementwise.clamp, "maximum": elementwise.maximum, "minimum": elementwise.minimum,
    "pow": lambda x, p: x ** p, "relu": activation.relu,
    "softmax": activation.softmax, "log_softmax": activation.log_softmax,
    # reductions
    "sum": reduce.sum, "mean": reduce.mean, "var": reduce.var, "std": reduce.std, "max": reduce.max,
    "min": reduce.min, "amax": reduce.amax, "amin": reduce.amin, "argmax": reduce.argmax,
    "argmin": reduce.argmin,
    # shape
    "reshape": shape.reshape, "view": shape.reshape, "permute": shape.permute, "transpose": shape.transpose,
    "flatten": shape.flatten, "squeeze": shape.squeeze, "unsqueeze": shape.unsqueeze, "expand": shape.expand,
    "split": shape.split, "chunk": shape.chunk, "flip": shape.flip,
    "matmul": linalg.matmul, "mm": linalg.matmul, "bmm": linalg.matmul,
    # torch's method spellings of the operators
    "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y, "div": lambda x, y: x / y,
    "neg": lambda x: -x, "t": lambda x: shape.transpose(x, 0, 1) if x.ndim == 2 else x,
}

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)

Tensor.T = property(lambda self: shape.permute(self, tuple(reversed(range(self.ndim)))))
Tensor.contiguous = lambda self: self
Tensor.expand_as = lambda self, other: shape.expand(self, other.shape)
Tensor.view_as = lambda self, other: shape.reshape(self, other.shape)
Tensor.reshape_as = Tensor.view_as
