"""nnci: neural networks for computational imaging, from first principles on NumPy.

The namespace follows torch's: `import nnci as torch` serves a PyTorch program that stays on the CPU.
"""
import math as _math
import os as _os

# OpenBLAS's idle threads spin for 2^28 cycles (~0.1 s) after each call, holding the cores that the compiled
# kernels' threads (and other processes) need next; 2^18 cycles (~0.1 ms) still spans back-to-back GEMMs
# (benchmarks/README.md). OpenBLAS reads it once, when NumPy loads it: set before NumPy's first import.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "18")

from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
                                 set_grad_enabled)
from .backend import Generator, default_generator, get_num_threads, manual_seed, set_num_threads
from .device import device
from .dtypes import (bfloat16, bool, cdouble, cfloat, complex64, complex128, double, dtype, finfo, float, float16,
                     float32, float64, get_default_dtype, half, iinfo, int, int8, int16, int32, int64, long,
                     promote_types, result_type, set_default_dtype, short, uint8)
from .tensor import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor,
                     ShortTensor, Size, Tensor, is_tensor)
from . import ops  # noqa: E402  (attaches the Tensor methods and operators)
from .creation import (arange, as_tensor, asarray, bernoulli, empty, empty_like, eye, from_numpy, full, full_like,
                       linspace, logspace, multinomial, normal, ones, ones_like, poisson, rand, rand_like, randint,
                       randint_like, randn, randn_like, randperm, range_ as range, scalar_tensor, tensor, tril_indices,
                       triu_indices, zeros, zeros_like)
from .ops.activation import celu, log_softmax, relu, selu, softmax
from .ops.compare import (allclose, bitwise_and, bitwise_not, bitwise_or, bitwise_xor, eq, equal, ge, greater,
                          greater_equal, gt, is_nonzero, isclose, isfinite, isin, isinf, isnan, isneginf, isposinf,
                          isreal, le, less, less_equal, logical_and, logical_not, logical_or, logical_xor, lt, ne,
                          not_equal, signbit)
from .ops.elementwise import (add, addcdiv, addcmul, arctan2, atan2, bitwise_left_shift, bitwise_right_shift, clamp,
                              clamp_max, clamp_min, clip, div, divide, float_power, floor_divide, fmax, fmin, fmod, gcd, lcm,
                              hypot, lerp, maximum, minimum, mul, multiply, pow, remainder, rsub, sub, subtract,
                              true_divide, where)
from .ops.linalg import (addmm, addmv, addr, baddbmm, bmm, cdist, cholesky, cholesky_solve, cross, vander, det, dist, dot, einsum, ger, inner,
                         kron, logdet, matmul, matrix_power, mm, mv, norm, outer, slogdet, tensordot, vdot)
from .ops.linalg import inv as inverse
from .ops.linalg import pinv as pinverse
from .ops.pointwise import (abs, absolute, acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctanh, asin, asinh,
                            atan, atanh, ceil, cos, cosh, deg2rad, erf, erfc, erfinv, exp, exp2, expm1, fix, floor,
                            frac, lgamma, log, log1p, log2, log10, logit, nan_to_num, neg, negative, rad2deg,
                            reciprocal, round, rsqrt, sgn, sigmoid, sign, sin, sinh, sqrt, square, tan, tanh, trunc,
                            xlogy, digamma, sinc, positive, copysign, logaddexp, logaddexp2, heaviside, i0, polygamma)
from .ops.reduce import (all, amax, amin, aminmax, any, argmax, argmin, corrcoef, count_nonzero, cov, cummax, cummin,
                         cumprod, cumsum, diff, logcumsumexp, logsumexp, max, mean, min, nanmean, nanmedian,
                         nanquantile, nansum, prod, quantile, std, std_mean, sum, trapezoid, trapz, var, var_mean)
from .ops.shape import (argwhere, atleast_1d, atleast_2d, atleast_3d, broadcast_shapes, broadcast_tensors,
                        broadcast_to, cat, chunk, clone, column_stack, concat, concatenate, diag, diagonal, dstack,
                        flatten, flip, fliplr, flipud, gather, hstack, index_add, index_select, masked_fill,
                        masked_select, meshgrid, movedim, moveaxis, narrow, nonzero, permute, repeat_interleave,
                        reshape, roll, rot90, row_stack, scatter, scatter_add, select, split, squeeze, stack, swapaxes,
                        swapdims, t, take, take_along_dim, tensor_split, tile, trace, transpose, tril, triu, unbind,
                        unflatten, unsqueeze, vstack, ravel, index_put, index_copy, index_fill, masked_scatter,
                        scatter_reduce, diag_embed, diagflat)
from .ops.sort import (argsort, bincount, bucketize, histc, histogram, kthvalue, median, mode, msort, searchsorted, sort, topk,
                       unique, unique_consecutive)
from .printing import set_printoptions
from .serialization import load, save
from . import (accelerator, amp, autograd, backends, cuda, distributions, fft, inference, jit, linalg, nn, onnx,  # noqa: E402
               optim, random, return_types, special, testing, utils)
from .amp import autocast, get_autocast_dtype, is_autocast_enabled
from .random import get_rng_state, initial_seed, seed, set_rng_state

def _accept_numpy_keywords() -> None:
    """The module-level ops take axis= and keepdims= too (torch's parser does)."""
    namespace = globals()
    for name, value in list(namespace.items()):
        if callable(value) and getattr(value, "__module__", "").startswith("nnci.ops"):
            namespace[name] = ops.numpy_keywords(value)


_accept_numpy_keywords()
pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan
newaxis = None
__version__ = "0.1.0"


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def is_complex(input: Tensor) -> bool:
    return False


def numel(input: Tensor) -> int:
    return input.numel()


def typename(obj: object) -> str:
    return obj.type() if isinstance(obj, Tensor) else type(obj).__name__


def compile(model: object = None, **options: object) -> object:  # noqa: A001 - torch's name
    """torch.compile: nnci has no compiler; the model (or function) is returned unchanged, so it means the same."""
    if model is None:
        return lambda fn: fn
    return model


_MATMUL_PRECISIONS = ("highest", "high", "medium")
_matmul_precision = "highest"


def set_float32_matmul_precision(precision: str) -> None:
    """Accepted: nnci's float32 matmul is always full float32 ('highest')."""
    global _matmul_precision
    if precision not in _MATMUL_PRECISIONS:
        raise RuntimeError(f"Invalid precision {precision!r}: choose one of {', '.join(_MATMUL_PRECISIONS)}")
    _matmul_precision = precision


def get_float32_matmul_precision() -> str:
    return _matmul_precision


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Accepted: nnci's kernels are deterministic."""


def are_deterministic_algorithms_enabled() -> bool:
    return True


def __getattr__(name: str) -> object:
    raise AttributeError(f"module 'nnci' has no attribute '{name}': nnci does not implement torch.{name}")
