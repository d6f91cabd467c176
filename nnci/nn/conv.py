"""Conv2d and ConvTranspose2d layers."""
from __future__ import annotations

from typing import Any

from ..backend import default_dtype, xp
from ..ops.conv import _pair
from ..tensor import Tensor
from . import functional as F
from .init import default_layer_init_
from .module import Module, Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _init_weight_and_bias(layer: Module, name: str, weight_shape: tuple, in_channels: int, out_channels: int,
                          groups: int, bias: bool, dtype) -> None:
    """Check the grouping, create weight (and bias, or a None placeholder) and apply torch's default init."""
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{name}: in_channels {in_channels} and out_channels {out_channels} "
                         f"must be divisible by groups {groups}")
    dtype = dtype or default_dtype
    layer.weight = Parameter(xp.empty(weight_shape, dtype))
    if bias:
        layer.bias = Parameter(xp.empty(out_channels, dtype))
    else:
        layer.register_parameter("bias", None)
    default_layer_init_(layer.weight, layer.bias)


class Conv2d(Module):
    """y = b + W (*) x over 2-D windows; weight (out, in / groups, kh, kw)"""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype=None) -> None:
        super().__init__()
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"Conv2d: padding_mode {padding_mode!r} is not one of {_PADDING_MODES}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.dilation = _pair(kernel_size), _pair(stride), _pair(dilation)
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        self.groups, self.padding_mode = groups, padding_mode
        _init_weight_and_bias(self, "Conv2d", (out_channels, in_channels // max(groups, 1)) + self.kernel_size,
                              in_channels, out_channels, groups, bias, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            got = x.shape[1] if x.ndim == 4 else "a non-4-D input"
            raise ValueError(f"{self!r}: expected input (N, {self.in_channels}, H, W), got shape {x.shape} "
                             f"({got} channels)")
        if self.padding_mode == "zeros":
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if self.padding == "valid":
            pads = (0, 0, 0, 0)
        elif self.padding == "same":
            from ..ops.conv import _same_padding
            top, bottom, left, right = _same_padding(self.kernel_size, self.dilation)
            pads = (left, right, top, bottom)
        else:
            ph, pw = self.padding
            pads = (pw, pw, ph, ph)
        x = F.pad(x, pads, mode=self.padding_mode)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class ConvTranspose2d(Module):
    """y = b + W^T (*) x (the adjoint of Conv2d); weight (in, out / groups, kh, kw)"""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 dtype=None) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        self.output_padding, self.dilation, self.groups = _pair(output_padding), _pair(dilation), groups
        _init_weight_and_bias(self, "ConvTranspose2d", (in_channels, out_channels // max(groups, 1)) + self.kernel_size,
                              in_channels, out_channels, groups, bias, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{self!r}: expected input (N, {self.in_channels}, H, W), got shape {x.shape}")
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.bias is None:
            text += ", bias=False"
        return text
