"""Linear layers: y = x W^T + b, its lazy form (in_features from the first input) and the bilinear form."""
from __future__ import annotations

import math
from typing import Any

from ..backend import xp
from ..dtypes import get_default_dtype
from ..tensor import Tensor
from . import functional as F
from .init import default_layer_init_, uniform_
from .module import Module, Parameter


def _empty(shape: tuple, dtype: Any) -> Parameter:
    return Parameter(Tensor._wrap(xp.empty(shape, xp.dtype(dtype if dtype is not None else get_default_dtype()))))


class Linear(Module):
    """y = x W^T + b, W of shape (out_features, in_features); x of shape (..., in_features)"""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = _empty((out_features, in_features), dtype)
        if bias:
            self.bias = _empty((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        default_layer_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        try:
            return F.linear(input, self.weight, self.bias)
        except RuntimeError as error:
            raise RuntimeError(f"{self!r}: input of shape {tuple(input.shape)} does not end in in_features="
                               f"{self.in_features} ({error})") from None

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class NonDynamicallyQuantizableLinear(Linear):
    """Linear, under the name torch gives MultiheadAttention's out_proj"""


class LazyLinear(Linear):
    """Linear whose in_features is taken from the first input (the parameters keep their identity)."""

    def __init__(self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, out_features, bias, device, dtype)

    def reset_parameters(self) -> None:
        if self.in_features:
            default_layer_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if self.in_features == 0:
            self.in_features = input.shape[-1]
            self.weight.data = Tensor._wrap(xp.empty((self.out_features, self.in_features), self.weight._array.dtype))
            self.reset_parameters()
        return super().forward(input)


class Bilinear(Module):
    """y_k = x1^T W_k x2 + b_k, W of shape (out_features, in1_features, in2_features)"""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = _empty((out_features, in1_features, in2_features), dtype)
        if bias:
            self.bias = _empty((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        bound = 1 / math.sqrt(in1_features)
        uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
