"""Weight initialisation (in place), with torch.nn.init's names and formulas."""
from __future__ import annotations

import math

from ..tensor import Tensor, no_grad


def _fans(tensor: Tensor) -> tuple[int, int]:
    """fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (torch's rule)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in/out need a tensor of at least 2 dims, got shape {tensor.shape}")
    receptive = 1
    for n in tensor.shape[2:]:
        receptive *= n
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The std gain that keeps activations' variance: relu sqrt(2), tanh 5/3, leaky sqrt(2 / (1 + a^2))."""
    if nonlinearity in ("linear", "conv2d", "conv_transpose2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope * slope))
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")


@no_grad()
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """x ~ U(a, b)"""
    return tensor.uniform_(a, b)


@no_grad()
def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """x ~ N(mean, std^2)"""
    return tensor.normal_(mean, std)


@no_grad()
def constant_(tensor: Tensor, value: float) -> Tensor:
    """x = value"""
    return tensor.fill_(value)


def zeros_(tensor: Tensor) -> Tensor:
    """x = 0"""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """x = 1"""
    return constant_(tensor, 1.0)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """x ~ U(-b, b), b = gain sqrt(3 / fan)"""
    fan_in, fan_out = _fans(tensor)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / (fan_in if mode == "fan_in" else fan_out))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """x ~ N(0, (gain / sqrt(fan))^2)"""
    fan_in, fan_out = _fans(tensor)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    return normal_(tensor, 0.0, std)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """x ~ U(-b, b), b = gain sqrt(6 / (fan_in + fan_out))"""
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """x ~ N(0, gain^2 2 / (fan_in + fan_out))"""
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def default_layer_init_(weight: Tensor, bias: Tensor | None) -> None:
    """torch's Linear/Conv default: W ~ U(+-1/sqrt(fan_in)) (kaiming_uniform a=sqrt 5), b likewise."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _fans(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
