"""nnci: neural networks for computational imaging, from first principles on NumPy."""
from . import ops  # noqa: F401  (attaches the Tensor methods)
from .backend import manual_seed
from .io import load, save
from .ops.elementwise import (abs, add, clamp, clamp as clip, cos, div, exp, log, maximum, minimum, mul, neg, pow,
                              sigmoid, sin, sqrt, square, sub, tanh, where)
from .ops.activation import relu, softmax, log_softmax
from .ops.linalg import matmul, matmul as mm, matmul as bmm
from .ops.reduce import amax, amin, argmax, argmin, max, mean, min, std, sum, var
from .ops.shape import cat, chunk, flatten, flip, permute, reshape, split, squeeze, stack, transpose, unsqueeze
from .tensor import (Tensor, arange, enable_grad, eye, full, is_grad_enabled, linspace, no_grad, ones, ones_like,
                     rand, randint, randn, randperm, tensor, zeros, zeros_like)
from . import fft, nn, optim  # noqa: E402  (they build on the ops above)
from numpy import float32, float64, int64, bool_ as bool  # noqa: E402

__version__ = "0.1.0"
