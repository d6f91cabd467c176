"""Max and average pooling over 2-D windows of NCHW arrays."""
from __future__ import annotations

import math
from typing import Any

from ..backend import sliding_window_view, xp
from ..autograd.graph import Linearized, Op
from ..tensor import Tensor
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


class MaxPool2d(Op):
    """y = max over each window;  dx = g routed to the first maximum of each window (raster order, as torch)"""
    saved_inputs = ()
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

    def vjp(self, g):
        return (Linearized.apply(g, owner=self),)

    def jvp(self, h):
        """dy for an input change h: h at each window's maximum."""
        if self.pairwise:
            rows, cols = self.out_hw[0] * 2, self.out_hw[1] * 2
            top = xp.where(self.right_on_top, h[:, :, 0:rows:2, 1:cols:2], h[:, :, 0:rows:2, 0:cols:2])
            bottom = xp.where(self.right_below, h[:, :, 1:rows:2, 1:cols:2], h[:, :, 1:rows:2, 0:cols:2])
            return xp.where(self.from_bottom, bottom, top)
        hpad = _pad_for_pool(h, self.padding, self.kernel, self.stride, self.dilation, self.out_hw, 0.0)
        out = xp.zeros(h.shape[:2] + tuple(self.out_hw), h.dtype)
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                rows, cols = _offset_slices(i, j, self.stride, self.dilation, self.out_hw)
                xp.copyto(out, hpad[:, :, rows, cols], where=self.argmax == i * self.kernel[1] + j)
        return out


class AvgPool2d(Op):
    """y = sum over each window / divisor;  dx = g / divisor spread over each window"""
    saved_inputs = ()
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

    def vjp(self, g):
        return (Linearized.apply(g, owner=self),)

    def jvp(self, h):
        """The average itself: it is linear in x."""
        hpad = _pad_for_pool(h, self.padding, self.kernel, self.stride, (1, 1), self.out_hw, 0.0)
        total = _windows(hpad, self.kernel, self.stride, (1, 1), self.out_hw).sum(axis=(-2, -1))
        return (total / self.divisor).astype(h.dtype, copy=False)


def _pool_args(name: str, x: Tensor, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = _pair(kernel_size)
    stride = kernel if stride is None or stride == [] or stride == () else _pair(stride)
    padding, dilation = _pair(padding), _pair(dilation)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise RuntimeError(f"{name}: pad should be at most half of effective kernel size, but got pad={padding}, "
                           f"kernel_size={kernel}")
    out_hw = tuple(_pooled_size(x.shape[2 + a], kernel[a], stride[a], padding[a], dilation[a], ceil_mode)
                   for a in range(2))
    if min(out_hw) < 1:
        raise RuntimeError(f"{name}: Given input size {tuple(x.shape[1:])}, the calculated output size "
                           f"{(x.shape[1],) + out_hw} is too small (kernel {kernel}, stride {stride})")
    return kernel, stride, padding, dilation, out_hw


def _batched(name: str, x: Tensor) -> tuple[Tensor, bool]:
    if x.ndim == 3:
        return x.unsqueeze(0), True
    if x.ndim != 4:
        raise RuntimeError(f"{name}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(x.shape)}")
    return x, False


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """y[n,c,h,w] = max of x over the window at (h s, w s); (C, H, W) inputs too"""
    x, added = _batched("max_pool2d", input)
    kernel, stride, padding, dilation, out_hw = _pool_args("max_pool2d", x, kernel_size, stride, padding,
                                                           dilation, ceil_mode)
    y = MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation, out_hw=out_hw)
    if return_indices:
        indices = Tensor._wrap(_max_indices(x._array, kernel, stride, padding, dilation, out_hw))
        return (y.squeeze(0), indices.squeeze(0)) if added else (y, indices)
    return y.squeeze(0) if added else y


def _max_indices(x: Any, kernel, stride, padding, dilation, out_hw) -> Any:
    """For each window, the flat index (row * W + column, in the unpadded input) of its first maximum."""
    h, w = x.shape[2:]
    xpad = _pad_for_pool(x, padding, kernel, stride, dilation, out_hw, -xp.inf)
    best = index = None
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            rows, cols = _offset_slices(i, j, stride, dilation, out_hw)
            view = xpad[:, :, rows, cols]
            r = xp.arange(out_hw[0])[:, None] * stride[0] + i * dilation[0] - padding[0]
            c = xp.arange(out_hw[1])[None, :] * stride[1] + j * dilation[1] - padding[1]
            flat = xp.broadcast_to(r * w + c, view.shape)
            if best is None:
                best, index = view.copy(), flat.copy()
                continue
            better = view > best
            xp.copyto(best, view, where=better)
            xp.copyto(index, flat, where=better)
    return index.astype(xp.int64)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """y[n,c,h,w] = mean of x over the window at (h s, w s); (C, H, W) inputs too"""
    x, added = _batched("avg_pool2d", input)
    kernel, stride, padding, _, out_hw = _pool_args("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    y = AvgPool2d.apply(x, kernel=kernel, stride=stride, padding=padding, out_hw=out_hw,
                        count_include_pad=count_include_pad, divisor_override=divisor_override)
    return y.squeeze(0) if added else y


def _as_2d(name: str, input: Tensor) -> tuple[Tensor, bool]:
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{name}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape {tuple(input.shape)}")
    return input.unsqueeze(-2), input.ndim == 2


def _one(v: Any) -> Any:
    return v[0] if isinstance(v, (tuple, list)) else v


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """y[n,c,l] = max of x over the window at l s"""
    x, _ = _as_2d("max_pool1d", input)
    out = max_pool2d(x, (1, _one(kernel_size)), None if stride is None else (1, _one(stride)), (0, _one(padding)),
                     (1, _one(dilation)), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """y[n,c,l] = mean of x over the window at l s"""
    x, _ = _as_2d("avg_pool1d", input)
    return avg_pool2d(x, (1, _one(kernel_size)), None if stride is None else (1, _one(stride)), (0, _one(padding)),
                      ceil_mode, count_include_pad).squeeze(-2)


def _bins(size: int, count: int) -> list[tuple[int, int]]:
    return [((i * size) // count, -(-((i + 1) * size) // count)) for i in range(count)]


def _adaptive(input: Tensor, output_size: Any, reduce: str, name: str) -> Tensor:
    from .reduce import amax, mean
    from .shape import stack
    x = input
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    h, w = x.shape[-2:]
    out_h, out_w = h if out_h is None else out_h, w if out_w is None else out_w  # None keeps a size, 0 empties it
    if out_h == 0 or out_w == 0:
        return x[..., :out_h, :out_w] * 1
    if reduce == "mean" and h % out_h == 0 and w % out_w == 0:  # equal bins: one pooling op
        return avg_pool2d(x, (h // out_h, w // out_w))
    if reduce == "max" and h % out_h == 0 and w % out_w == 0:
        return max_pool2d(x, (h // out_h, w // out_w))
    pick = mean if reduce == "mean" else amax
    rows = [stack([pick(x[..., r0:r1, c0:c1], (-2, -1)) for c0, c1 in _bins(w, out_w)], -1) for r0, r1 in _bins(h, out_h)]
    return stack(rows, -2)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """y[n,c,i,j] = mean of x over the bin [floor(i H / h), ceil((i + 1) H / h)) x (the same for columns)"""
    _batched("adaptive_avg_pool2d", input)
    return _adaptive(input, output_size, "mean", "adaptive_avg_pool2d")


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    """y[n,c,i,j] = max of x over the bin [floor(i H / h), ceil((i + 1) H / h)) x (the same for columns)"""
    if return_indices:
        raise NotImplementedError("adaptive_max_pool2d(return_indices=True) is not supported by nnci")
    _batched("adaptive_max_pool2d", input)
    return _adaptive(input, output_size, "max", "adaptive_max_pool2d")


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    x, _ = _as_2d("adaptive_avg_pool1d", input)
    return _adaptive(x, (1, _one(output_size)), "mean", "adaptive_avg_pool1d").squeeze(-2)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    if return_indices:
        raise NotImplementedError("adaptive_max_pool1d(return_indices=True) is not supported by nnci")
    x, _ = _as_2d("adaptive_max_pool1d", input)
    return _adaptive(x, (1, _one(output_size)), "max", "adaptive_max_pool1d").squeeze(-2)
