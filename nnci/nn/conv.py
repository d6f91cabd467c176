"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d (torch's arguments, weights and reprs)."""
from __future__ import annotations

from typing import Any

from ..backend import xp
from ..dtypes import get_default_dtype
from ..ops.conv import _pair, _same_padding, _single
from ..tensor import Tensor
from . import functional as F
from .init import default_layer_init_
from .module import Module, Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared set-up: the grouping check, weight (and bias or a None placeholder), torch's default init."""

    transposed = False
    spatial = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any, groups: int, bias: bool, padding_mode: str, output_padding: Any = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels {in_channels} and out_channels {out_channels} must be divisible by "
                             f"groups {groups}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got padding_mode='{padding_mode}'")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
        tuple_of = _pair if self.spatial == 2 else (lambda v: (_single(v),))
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.dilation = tuple_of(kernel_size), tuple_of(stride), tuple_of(dilation)
        if padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
        self.padding = padding if isinstance(padding, str) else tuple_of(padding)
        self.output_padding = tuple_of(output_padding)
        self.groups, self.padding_mode = groups, padding_mode
        kind = dtype if dtype is not None else get_default_dtype()
        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(Tensor._wrap(xp.empty(shape, xp.dtype(kind))))
        if bias:
            self.bias = Parameter(Tensor._wrap(xp.empty(out_channels, xp.dtype(kind))))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        default_layer_init_(self.weight, self.bias)

    def _named(self, error: Exception, input: Tensor) -> RuntimeError:
        return RuntimeError(f"{self!r}: {error}")

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.spatial:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.spatial:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.spatial:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv2d(_ConvNd):
    """y = b + W (*) x over 2-D windows; weight (out, in / groups, kh, kw); input (N, C, H, W) or (C, H, W)"""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device=device, dtype=dtype)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if self.padding_mode == "zeros":
            return F.conv2d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)
        if self.padding == "valid":
            pads = (0, 0, 0, 0)
        elif self.padding == "same":
            top, bottom, left, right = _same_padding(self.kernel_size, self.dilation)
            pads = (left, right, top, bottom)
        else:
            ph, pw = self.padding
            pads = (pw, pw, ph, ph)
        return F.conv2d(F.pad(input, pads, mode=self.padding_mode), weight, bias, self.stride, 0, self.dilation,
                        self.groups)

    def forward(self, input: Tensor) -> Tensor:
        try:
            return self._conv_forward(input, self.weight, self.bias)
        except RuntimeError as error:
            raise self._named(error, input) from None


class Conv1d(_ConvNd):
    """y = b + W (*) x over 1-D windows; weight (out, in / groups, k); input (N, C, L) or (C, L)"""
    spatial = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device=device, dtype=dtype)

    def forward(self, input: Tensor) -> Tensor:
        try:
            if self.padding_mode == "zeros":
                padding = self.padding if isinstance(self.padding, str) else self.padding[0]
                return F.conv1d(input, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)
            total = self.dilation[0] * (self.kernel_size[0] - 1)
            before, after = ((total // 2, total - total // 2) if self.padding == "same" else (0, 0)
                             if self.padding == "valid" else (self.padding[0], self.padding[0]))
            return F.conv1d(F.pad(input, (before, after), mode=self.padding_mode), self.weight, self.bias,
                            self.stride[0], 0, self.dilation[0], self.groups)
        except RuntimeError as error:
            raise self._named(error, input) from None


class ConvTranspose2d(_ConvNd):
    """y = b + W^T (*) x (the adjoint of Conv2d); weight (in, out / groups, kh, kw); input (N, C, H, W) or (C, H, W)"""
    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device=device, dtype=dtype)

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple:
        if output_size is None:
            return self.output_padding
        size = tuple(output_size)[-self.spatial:]
        spatial = input.shape[-self.spatial:]
        padding = self.padding if not isinstance(self.padding, str) else (0,) * self.spatial
        base = [(spatial[i] - 1) * self.stride[i] - 2 * padding[i] + self.dilation[i] * (self.kernel_size[i] - 1) + 1
                for i in range(self.spatial)]
        extra = tuple(s - b for s, b in zip(size, base))
        if any(not 0 <= e < max(self.stride[i], self.dilation[i]) for i, e in enumerate(extra)):
            raise ValueError(f"requested an output size of {list(size)}, but valid sizes range from {base} to "
                             f"{[b + max(s, d) - 1 for b, s, d in zip(base, self.stride, self.dilation)]}")
        return extra

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        try:
            return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                      self._output_padding(input, output_size), self.groups, self.dilation)
        except RuntimeError as error:
            raise self._named(error, input) from None


class ConvTranspose1d(ConvTranspose2d):
    """y = b + W^T (*) x over 1-D windows; weight (in, out / groups, k); input (N, C, L) or (C, L)"""
    spatial = 1

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        try:
            return F.conv_transpose1d(input, self.weight, self.bias, self.stride[0], self.padding[0],
                                      self._output_padding(input, output_size)[0], self.groups, self.dilation[0])
        except RuntimeError as error:
            raise self._named(error, input) from None
