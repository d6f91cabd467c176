"""Max and average pooling over 2-D windows of NCHW arrays."""
from __future__ import annotations

import math
from typing import Any

from ..backend import sliding_window_view, xp
from ..tensor import Function, Tensor
from .conv import _pair


def _pooled_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = d * (k - 1) + 1
    out = (math.ceil if ceil_mode else math.floor)((n + 2 * p - span) / s) + 1
    if ceil_mode and (out - 1) * s >= n + p:  # torch: the last window must start inside input or left pad
        out -= 1
    return out


def _windows(xpad: Any, kernel, stride, dilation, out_hw) -> Any:
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    win = sliding_window_view(xpad, span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    return win[:, :, :out_hw[0], :out_hw[1]]


def _offset_slices(i: int, j: int, stride, dilation, out_hw) -> tuple[slice, slice]:
    (sh, sw), (dh, dw), (ho, wo) = stride, dilation, out_hw
    return (slice(i * dh, i * dh + sh * (ho - 1) + 1, sh), slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))


def _pad_for_pool(x: Any, padding, kernel, stride, dilation, out_hw, value: float) -> Any:
    """Pad by `padding` and, for ceil_mode, enough at the bottom/right for the last window."""
    extra = []
    for axis in range(2):
        need = (out_hw[axis] - 1) * stride[axis] + dilation[axis] * (kernel[axis] - 1) + 1
        extra.append(max(need - x.shape[2 + axis] - 2 * padding[axis], 0) + padding[axis])
    widths = ((0, 0), (0, 0), (padding[0], extra[0]), (padding[1], extra[1]))
    return xp.pad(x, widths, constant_values=value) if any(sum(w) for w in widths) else x


class MaxPool2d(Function):
    """y = max over each window;  dx = g routed to the first maximum of each window (raster order, as torch)"""
    fast_2x2 = True  # the tournament below for 2x2 windows of stride 2; off, every window takes the general path

    def forward(self, x, kernel, stride, padding, dilation, out_hw):
        self.shape, self.kernel, self.stride, self.dilation, self.padding = x.shape, kernel, stride, dilation, padding
        self.out_hw = out_hw
        self.pairwise = (self.fast_2x2 and kernel == stride == (2, 2) and dilation == (1, 1) and padding == (0, 0)
                         and out_hw == (x.shape[2] // 2, x.shape[3] // 2))
        if self.pairwise:
            return self._forward_2x2(x)
        xpad = _pad_for_pool(x, padding, kernel, stride, dilation, out_hw, -xp.inf)
        self.padded_hw = xpad.shape[2:]
        # a running maximum over the kernel offsets: strided views only, no copy of the windows
        best = self.argmax = None
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                rows, cols = _offset_slices(i, j, stride, dilation, out_hw)
                view = xpad[:, :, rows, cols]
                if best is None:
                    best = view.copy()
                    self.argmax = xp.zeros(best.shape, xp.int16)
                    continue
                better = view > best  # strict: ties keep the earlier offset
                xp.copyto(best, view, where=better)
                xp.putmask(self.argmax, better, i * kernel[1] + j)
        return best

    def _forward_2x2(self, x):
        """The usual 2x2, stride-2 window as a tournament: the better of each row pair, then of the two rows.
        Three comparisons record which of the four won, ties going to the earlier one in raster order."""
        h, w = self.out_hw[0] * 2, self.out_hw[1] * 2
        top_left, top_right = x[:, :, 0:h:2, 0:w:2], x[:, :, 0:h:2, 1:w:2]
        bottom_left, bottom_right = x[:, :, 1:h:2, 0:w:2], x[:, :, 1:h:2, 1:w:2]
        self.right_on_top = top_right > top_left
        self.right_below = bottom_right > bottom_left
        top = xp.maximum(top_left, top_right)
        bottom = xp.maximum(bottom_left, bottom_right)
        self.from_bottom = bottom > top
        return xp.maximum(top, bottom, out=top)

    def _backward_2x2(self, g):
        """Each of the four window positions takes g where it won, 0 elsewhere: four strided writes."""
        dx = xp.empty(self.shape, g.dtype)
        h, w = self.out_hw[0] * 2, self.out_hw[1] * 2
        dx[:, :, h:] = 0  # an odd last row or column belongs to no window
        dx[:, :, :h, w:] = 0
        below, above = self.from_bottom, ~self.from_bottom
        xp.multiply(g, above & ~self.right_on_top, out=dx[:, :, 0:h:2, 0:w:2])
        xp.multiply(g, above & self.right_on_top, out=dx[:, :, 0:h:2, 1:w:2])
        xp.multiply(g, below & ~self.right_below, out=dx[:, :, 1:h:2, 0:w:2])
        xp.multiply(g, below & self.right_below, out=dx[:, :, 1:h:2, 1:w:2])
        return (dx,)

    def backward(self, g):
        if self.pairwise:
            return self._backward_2x2(g)
        kh, kw = self.kernel
        dx = xp.zeros(self.shape[:2] + tuple(self.padded_hw), g.dtype)
        zero = xp.zeros((), g.dtype)
        for i in range(kh):
            for j in range(kw):
                rows, cols = _offset_slices(i, j, self.stride, self.dilation, self.out_hw)
                dx[:, :, rows, cols] += xp.where(self.argmax == i * kw + j, g, zero)
        ph, pw = self.padding
        return (dx[:, :, ph:ph + self.shape[2], pw:pw + self.shape[3]],)


class AvgPool2d(Function):
    """y = sum over each window / divisor;  dx = g / divisor spread over each window"""
    def forward(self, x, kernel, stride, padding, out_hw, count_include_pad, divisor_override):
        dilation = (1, 1)
        self.shape, self.kernel, self.stride, self.padding, self.out_hw = x.shape, kernel, stride, padding, out_hw
        xpad = _pad_for_pool(x, padding, kernel, stride, dilation, out_hw, 0.0)
        self.padded_hw = xpad.shape[2:]
        total = _windows(xpad, kernel, stride, dilation, out_hw).sum(axis=(-2, -1))
        if divisor_override:
            self.divisor = xp.asarray(divisor_override, x.dtype)
        else:
            # count the cells each window covers: inside the padded input, or inside the input only
            inside = xp.zeros((1, 1) + tuple(self.padded_hw), x.dtype)
            (ph, pw), (h, w) = padding, x.shape[2:]
            if count_include_pad:
                inside[:, :, :h + 2 * ph, :w + 2 * pw] = 1
            else:
                inside[:, :, ph:ph + h, pw:pw + w] = 1
            self.divisor = _windows(inside, kernel, stride, dilation, out_hw).sum(axis=(-2, -1))
        return (total / self.divisor).astype(x.dtype, copy=False)

    def backward(self, g):
        kh, kw = self.kernel
        share = g / self.divisor
        dx = xp.zeros(self.shape[:2] + tuple(self.padded_hw), g.dtype)
        for i in range(kh):
            for j in range(kw):
                rows, cols = _offset_slices(i, j, self.stride, (1, 1), self.out_hw)
                dx[:, :, rows, cols] += share
        ph, pw = self.padding
        return (dx[:, :, ph:ph + self.shape[2], pw:pw + self.shape[3]],)


def _pool_args(name: str, x: Tensor, kernel_size, stride, padding, dilation, ceil_mode):
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    kernel = _pair(kernel_size)
    stride = kernel if stride is None or stride == [] else _pair(stride)
    padding, dilation = _pair(padding), _pair(dilation)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel {kernel}")
    out_hw = tuple(_pooled_size(x.shape[2 + a], kernel[a], stride[a], padding[a], dilation[a], ceil_mode)
                   for a in range(2))
    if min(out_hw) < 1:
        raise ValueError(f"{name}: input {x.shape} is too small for kernel {kernel} (output would be {out_hw})")
    return kernel, stride, padding, dilation, out_hw


def max_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """y[n,c,h,w] = max of x over the window at (h s, w s)"""
    kernel, stride, padding, dilation, out_hw = _pool_args("max_pool2d", x, kernel_size, stride, padding,
                                                           dilation, ceil_mode)
    return MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation, out_hw=out_hw)


def avg_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """y[n,c,h,w] = mean of x over the window at (h s, w s)"""
    kernel, stride, padding, _, out_hw = _pool_args("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    return AvgPool2d.apply(x, kernel=kernel, stride=stride, padding=padding, out_hw=out_hw,
                           count_include_pad=count_include_pad, divisor_override=divisor_override)
