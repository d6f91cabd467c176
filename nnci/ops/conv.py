"""2-D convolution and transposed convolution on NCHW arrays.

Three array kernels serve both ops, because a transposed convolution's forward is a
convolution's input gradient and vice versa:

- `conv_forward`:     y[n,o,h,w] = sum_{c,i,j} x[n,c,h*s+i*d, w*s+j*d] W[o,c,i,j]   (im2col + one GEMM)
- `conv_input_grad`:  dx[n,c,h*s+i*d, w*s+j*d] += sum_o g[n,o,h,w] W[o,c,i,j]      (one GEMM per offset)
- `conv_weight_grad`: dW[o,c,i,j] = sum_{n,h,w} g[n,o,h,w] x[n,c,h*s+i*d, w*s+j*d] (one GEMM)
"""
from __future__ import annotations

from typing import Any

from ..backend import sliding_window_view, xp
from ..tensor import Function, Tensor


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"expected an int or a pair, got {v}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def im2col(x: Any, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]) -> Any:
    """Windows of x (N,C,H,W) as rows: (N*Ho*Wo, C*kh*kw), the contracted axis contiguous."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    n, c = x.shape[:2]
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = sliding_window_view(x, span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    ho, wo = windows.shape[2:4]
    if (kh, kw) == (1, 1):
        return xp.ascontiguousarray(windows[..., 0, 0].transpose(0, 2, 3, 1)).reshape(n * ho * wo, c), (ho, wo)
    cols = xp.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5))
    return cols.reshape(n * ho * wo, c * kh * kw), (ho, wo)


def conv_forward(x: Any, weight: Any, stride: tuple[int, int], dilation: tuple[int, int]) -> tuple[Any, Any]:
    """Valid correlation of padded x (N,C,H,W) with weight (O,C,kh,kw); returns (y, cols)."""
    out_channels = weight.shape[0]
    cols, (ho, wo) = im2col(x, weight.shape[2:], stride, dilation)
    y = cols @ weight.reshape(out_channels, -1).T
    y = xp.ascontiguousarray(y.reshape(x.shape[0], ho, wo, out_channels).transpose(0, 3, 1, 2))
    return y, cols


def conv_input_grad(g: Any, weight: Any, input_hw: tuple[int, int], stride: tuple[int, int],
                    dilation: tuple[int, int]) -> Any:
    """Gradient of conv_forward w.r.t. its (padded) input of spatial size input_hw."""
    n, out_channels, ho, wo = g.shape
    channels, kh, kw = weight.shape[1:]
    (sh, sw), (dh, dw) = stride, dilation
    g_rows = xp.ascontiguousarray(g.transpose(0, 2, 3, 1)).reshape(n * ho * wo, out_channels)
    dx = xp.zeros((n, input_hw[0], input_hw[1], channels), g.dtype)  # NHWC: each += is channel-contiguous
    for i in range(kh):
        for j in range(kw):
            part = (g_rows @ weight[:, :, i, j]).reshape(n, ho, wo, channels)
            dx[:, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw, :] += part
    return dx.transpose(0, 3, 1, 2)


def conv_weight_grad(g: Any, cols: Any, weight_shape: tuple[int, ...]) -> Any:
    """Gradient of conv_forward w.r.t. its weight, from the im2col rows of the input."""
    out_channels = g.shape[1]
    g_rows = g.transpose(0, 2, 3, 1).reshape(-1, out_channels)
    return (g_rows.T @ cols).reshape(weight_shape)


def _group_slices(total: int, groups: int) -> list[slice]:
    size = total // groups
    return [slice(k * size, (k + 1) * size) for k in range(groups)]


class Conv2d(Function):
    """y = x (*) W + b;  dx = W^T (*) g, dW = g (*) x, db = sum g  (per group)"""
    def forward(self, x, weight, *bias, stride, padding, dilation, groups):
        (top, bottom, left, right) = padding
        self.input_shape, self.padding = x.shape, padding
        self.stride, self.dilation, self.groups = stride, dilation, groups
        if any(padding):
            x = xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        self.padded_hw = x.shape[2:]
        self.weight = weight
        outs, self.cols = [], []
        for cin, cout in zip(_group_slices(x.shape[1], groups), _group_slices(weight.shape[0], groups)):
            y, cols = conv_forward(x[:, cin], weight[cout], stride, dilation)
            outs.append(y)
            self.cols.append(cols if self.needs_input_grad[1] else None)
        y = outs[0] if groups == 1 else xp.concatenate(outs, axis=1)
        if bias:
            y += bias[0].reshape(1, -1, 1, 1)
        return y

    def backward(self, g):
        groups = self.groups
        couts = _group_slices(g.shape[1], groups)
        dx = dw = None
        if self.needs_input_grad[0]:
            parts = [conv_input_grad(g[:, co], self.weight[co], self.padded_hw, self.stride, self.dilation)
                     for co in couts]
            dx = parts[0] if groups == 1 else xp.concatenate(parts, axis=1)
            top, bottom, left, right = self.padding
            dx = xp.ascontiguousarray(dx[:, :, top:dx.shape[2] - bottom, left:dx.shape[3] - right])
        if self.needs_input_grad[1]:
            wshape = (g.shape[1] // groups,) + self.weight.shape[1:]
            parts = [conv_weight_grad(g[:, co], cols, wshape) for co, cols in zip(couts, self.cols)]
            dw = parts[0] if groups == 1 else xp.concatenate(parts, axis=0)
        self.cols = None  # free the im2col buffer as soon as it has served
        db = g.sum(axis=(0, 2, 3)) if len(self.needs_input_grad) > 2 and self.needs_input_grad[2] else None
        return dx, dw, db


class ConvTranspose2d(Function):
    """y = W^T (*) x + b (the input gradient of a convolution);  dx = W (*) g, dW = x (*) g"""
    def forward(self, x, weight, *bias, stride, padding, output_padding, dilation, groups):
        n, _, h, w = x.shape
        kh, kw = weight.shape[2:]
        (sh, sw), (dh, dw), (ph, pw), (oh, ow) = stride, dilation, padding, output_padding
        full_hw = ((h - 1) * sh + dh * (kh - 1) + 1 + oh, (w - 1) * sw + dw * (kw - 1) + 1 + ow)
        self.x, self.weight, self.groups = x, weight, groups
        self.stride, self.dilation, self.padding, self.full_hw = stride, dilation, padding, full_hw
        cins = _group_slices(x.shape[1], groups)
        parts = [conv_input_grad(x[:, ci], weight[ci], full_hw, stride, dilation) for ci in cins]
        y = parts[0] if groups == 1 else xp.concatenate(parts, axis=1)
        y = xp.ascontiguousarray(y[:, :, ph:full_hw[0] - ph, pw:full_hw[1] - pw])
        if bias:
            y += bias[0].reshape(1, -1, 1, 1)
        return y

    def backward(self, g):
        ph, pw = self.padding
        full_h, full_w = self.full_hw
        g_full = xp.pad(g, ((0, 0), (0, 0), (ph, full_h - g.shape[2] - ph), (pw, full_w - g.shape[3] - pw)))
        # rows/cols added by output_padding receive nothing from x: drop them so the conv sees exactly x's grid
        (sh, sw), (dh, dw), (kh, kw) = self.stride, self.dilation, self.weight.shape[2:]
        h, w = self.x.shape[2:]
        g_full = g_full[:, :, :(h - 1) * sh + dh * (kh - 1) + 1, :(w - 1) * sw + dw * (kw - 1) + 1]
        groups = self.groups
        cins = _group_slices(self.x.shape[1], groups)
        couts = _group_slices(g.shape[1], groups)
        dx_parts, dw_parts = [], []
        for ci, co in zip(cins, couts):
            y, cols = conv_forward(g_full[:, co], self.weight[ci], self.stride, self.dilation)
            if self.needs_input_grad[0]:
                dx_parts.append(y)
            if self.needs_input_grad[1]:
                dw_parts.append(conv_weight_grad(self.x[:, ci], cols, self.weight[ci].shape))
        dx = (xp.concatenate(dx_parts, axis=1) if dx_parts else None)
        dw = (xp.concatenate(dw_parts, axis=0) if dw_parts else None)
        db = g.sum(axis=(0, 2, 3)) if len(self.needs_input_grad) > 2 and self.needs_input_grad[2] else None
        return dx, dw, db


def _same_padding(kernel: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """torch's 'same': total d(k-1) split with the odd extra pixel at the bottom/right."""
    (kh, kw), (dh, dw) = kernel, dilation
    th, tw = dh * (kh - 1), dw * (kw - 1)
    return th // 2, th - th // 2, tw // 2, tw - tw // 2


def _check_conv_input(name: str, x: Tensor, weight: Tensor, in_channels: int) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    if x.shape[1] != in_channels:
        raise ValueError(f"{name}: expected input with {in_channels} channels, got {x.shape[1]} "
                         f"(input shape {x.shape}, weight shape {weight.shape})")
    if x.dtype != weight.dtype:
        raise TypeError(f"{name}: input dtype {x.dtype} does not match weight dtype {weight.dtype}; "
                        "cast one of them (e.g. x.float())")


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """y[n,o] = b[o] + sum_c W[o,c] (*) x[n,c]  (cross-correlation, torch semantics)"""
    stride, dilation = _pair(stride), _pair(dilation)
    _check_conv_input("conv2d", x, weight, weight.shape[1] * groups)
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError("conv2d: padding='same' is only supported with stride 1")
            pads = _same_padding(weight.shape[2:], dilation)
        else:
            raise ValueError(f"conv2d: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    else:
        ph, pw = _pair(padding)
        pads = (ph, ph, pw, pw)
    kh, kw = weight.shape[2:]
    h, w = x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3]
    if h < dilation[0] * (kh - 1) + 1 or w < dilation[1] * (kw - 1) + 1:
        raise ValueError(f"conv2d: padded input {h}x{w} is smaller than the {kh}x{kw} kernel "
                         f"(dilation {dilation}), input shape {x.shape}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=pads, dilation=dilation, groups=groups)


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """y = b + sum_c x[n,c] scattered through W[c] (the adjoint of conv2d), torch semantics"""
    stride, padding, output_padding, dilation = map(_pair, (stride, padding, output_padding, dilation))
    _check_conv_input("conv_transpose2d", x, weight, weight.shape[0])
    if output_padding[0] >= max(stride[0], dilation[0]) or output_padding[1] >= max(stride[1], dilation[1]):
        raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be smaller than "
                         f"stride {stride} or dilation {dilation}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2d.apply(*inputs, stride=stride, padding=padding, output_padding=output_padding,
                                 dilation=dilation, groups=groups)
