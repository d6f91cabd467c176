"""Weight initialisation in place, with torch.nn.init's names, formulas and defaults."""
from __future__ import annotations

import math
from typing import Any

from ..autograd.grad_mode import no_grad
from ..backend import generator as numpy_generator, xp
from ..tensor import Tensor


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (torch's rule)."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for n in tensor.shape[2:]:
        receptive *= n
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The std gain that keeps activations' variance: relu sqrt(2), tanh 5/3, leaky_relu sqrt(2 / (1 + a^2)), selu 3/4."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
              "sigmoid")
    if nonlinearity in linear:
        return 1  # an int, as torch's
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"negative_slope {slope} not a valid number")
        return math.sqrt(2.0 / (1 + slope * slope))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _write(tensor: Tensor, values: Any) -> Tensor:
    with no_grad():
        tensor._array[...] = values
        tensor._bump_version()
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """x ~ U(a, b)"""
    return _write(tensor, numpy_generator(generator).uniform(a, b, tensor._array.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """x ~ N(mean, std^2)"""
    return _write(tensor, numpy_generator(generator).normal(mean, std, tensor._array.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Any = None) -> Tensor:
    """x ~ N(mean, std^2) truncated to [a, b], drawn by the inverse CDF"""
    from scipy.special import erf, erfinv

    def cdf(v: float) -> float:
        return (1.0 + float(erf(v / math.sqrt(2.0)))) / 2.0

    low, high = cdf((a - mean) / std), cdf((b - mean) / std)
    u = numpy_generator(generator).uniform(2 * low - 1, 2 * high - 1, tensor._array.shape)
    values = xp.clip(mean + std * math.sqrt(2.0) * erfinv(u), a, b)
    return _write(tensor, values)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """x = val"""
    return _write(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    """x = 1"""
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """x = 0"""
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """x = the identity matrix (2-D)"""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, xp.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """x = the convolution kernel that passes each (grouped) input channel through unchanged"""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    out_per_group = tensor.shape[0] // groups
    channels = min(out_per_group, tensor.shape[1])
    values = xp.zeros(tensor._array.shape)
    centre = tuple(n // 2 for n in tensor.shape[2:])
    for g in range(groups):
        for d in range(channels):
            values[(g * out_per_group + d, d) + centre] = 1
    return _write(tensor, values)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """x ~ U(-b, b), b = gain sqrt(6 / (fan_in + fan_out))"""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """x ~ N(0, gain^2 2 / (fan_in + fan_out))"""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: Any = None) -> Tensor:
    """x ~ U(-b, b), b = gain sqrt(3 / fan)"""
    if 0 in tensor.shape:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _calculate_correct_fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: Any = None) -> Tensor:
    """x ~ N(0, (gain / sqrt(fan))^2)"""
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """x = gain Q, Q with orthonormal rows or columns (from the QR decomposition of a normal draw)"""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = numpy_generator(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q *= xp.sign(xp.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, gain * q.reshape(tensor._array.shape))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: Any = None) -> Tensor:
    """x ~ N(0, std^2) with a fraction `sparsity` of each column set to 0"""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    draws = numpy_generator(generator)
    rows, cols = tensor.shape
    values = draws.normal(0, std, (rows, cols))
    zeros = int(math.ceil(sparsity * rows))
    for c in range(cols):
        values[draws.permutation(rows)[:zeros], c] = 0
    return _write(tensor, values)


def default_layer_init_(weight: Tensor, bias: Tensor | None) -> None:
    """torch's Linear/Conv default: W ~ U(+-1/sqrt(fan_in)) (kaiming_uniform a=sqrt 5), b likewise."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight) if weight.numel() else (0, 0)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)


_fans = _calculate_fan_in_and_fan_out
