"""Linear: y = x W^T + b."""
from __future__ import annotations

from ..backend import default_dtype, xp
from ..tensor import Tensor
from . import functional as F
from .init import default_layer_init_
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b, W of shape (out_features, in_features)"""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        dtype = dtype or default_dtype
        self.weight = Parameter(xp.empty((out_features, in_features), dtype))
        if bias:
            self.bias = Parameter(xp.empty(out_features, dtype))
        else:
            self.register_parameter("bias", None)
        default_layer_init_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        try:
            return F.linear(x, self.weight, self.bias)
        except ValueError:
            raise ValueError(f"{self!r}: input shape {x.shape} does not end in in_features={self.in_features} "
                             f"(weight shape {self.weight.shape})") from None

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
