"""2-D convolution and transposed convolution on NCHW arrays: the ops, their formulas and the im2col reference.

Three array kernels serve both ops, because a transposed convolution's forward is a
convolution's input gradient and vice versa:

- `conv_forward`:     y[n,o,h,w] = sum_{c,i,j} x[n,c,h*s+i*d, w*s+j*d] W[o,c,i,j]
- `conv_input_grad`:  dx[n,c,h*s+i*d, w*s+j*d] += sum_o g[n,o,h,w] W[o,c,i,j]
- `conv_weight_grad`: dW[o,c,i,j] = sum_{n,h,w} g[n,o,h,w] x[n,c,h*s+i*d, w*s+j*d]

Those are the readable reference (im2col: windows as rows, one GEMM). The fast strategies live with the kernels:
stride-1 3x3 float32 convolutions run Winograd F(4x4, 3x3) (nnci/kernels/winograd.py) when the compiled kernels
are on; other stride-1 and strided convolutions run on the padded grid layout (nnci/kernels/conv_grid.py);
grouped strided ones use im2col.
"""
from __future__ import annotations

from typing import Any

from .. import kernels
from ..autograd.graph import Op
from ..backend import sliding_window_view, xp
from ..kernels import winograd
from ..kernels.conv_grid import (from_grid, grad_to_grid, grid_correlate, grid_span, grid_weight_grad, pad_to_grid,
                                 phase_adjoint, phases_to_image, tap_products_to_weight)
from ..tensor import Tensor


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


def flipped_transpose(weight: Any) -> Any:
    """W[o, c, i, j] -> W[c, o, kh-1-i, kw-1-j]: the kernel of a convolution's adjoint."""
    return weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)


def kernel_reach(kernel: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int]:
    """How far a window reaches past its first pixel: d (k - 1) per axis."""
    return dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)


def adjoint_pads(pads: tuple[int, int, int, int], kernel: tuple[int, int],
                 dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """Padding of g under which correlating with the flipped kernel gives the stride-1 input gradient."""
    top, bottom, left, right = pads
    reach_h, reach_w = kernel_reach(kernel, dilation)
    return reach_h - top, reach_h - bottom, reach_w - left, reach_w - right


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
    if groups == 1:  # the whole array: a strided conv's phase grid holds sh*sw blocks of the channels
        return [slice(None)]
    size = total // groups
    return [slice(k * size, (k + 1) * size) for k in range(groups)]


def _per_group(parts: list) -> Any:
    return parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=0)


def _winograd_applies(x: Any, weight: Any, stride: tuple[int, int], padding: tuple[int, int, int, int],
                      dilation: tuple[int, int], groups: int, training: bool = False) -> bool:
    """Winograd F(4x4, 3x3) runs for compiled float32 3x3 convolutions at stride 1, dilation 1, one group and pads
    0..2 (so the input gradient's pads 2 - p are too); float64 keeps the exact direct path. It pays where its
    GEMMs are big enough: at least WINOGRAD_MIN_CHANNELS in and out, and WINOGRAD_MIN_TILES output tiles or
    WINOGRAD_MIN_PRODUCTS products per tile position (tiles x C x K) on a map of at least one whole tile (measured
    per layer shape: benchmarks/README.md)."""
    if training and not WINOGRAD_IN_TRAINING:
        return False
    if not (kernels.compiled and x.dtype == xp.float32 and weight.dtype == xp.float32 and weight.shape[2:] == (3, 3)
            and stride == (1, 1) and dilation == (1, 1) and groups == 1 and all(0 <= p <= 2 for p in padding)):
        return False
    out_hw = (x.shape[2] + padding[0] + padding[1] - 2, x.shape[3] + padding[2] + padding[3] - 2)
    tiles = x.shape[0] * winograd.tiles_for(out_hw)[0] * winograd.tiles_for(out_hw)[1]
    products = tiles * weight.shape[0] * weight.shape[1]
    return min(weight.shape[:2]) >= WINOGRAD_MIN_CHANNELS and (
        tiles >= WINOGRAD_MIN_TILES or (products >= WINOGRAD_MIN_PRODUCTS and min(out_hw) >= winograd.TILE))


WINOGRAD_MIN_CHANNELS, WINOGRAD_MIN_TILES, WINOGRAD_MIN_PRODUCTS = 32, 512, 4 * 2 ** 20
# Also for steps that record gradients: with OpenBLAS's threads spinning only briefly after each call (nnci sets
# OPENBLAS_THREAD_TIMEOUT), the kernels' threads no longer wait for the cores behind them (benchmarks/README.md).
WINOGRAD_IN_TRAINING = True


class Conv2d(Op):
    """y = x (*) W + b;  dx = W^T (*) g, dW = g (*) x, db = sum g  (per group)"""
    node_name = "ConvolutionBackward0"

    def saves(self):
        return (1,) + ((0,) if self.needs_input_grad[1] else ())

    def forward(self, x, weight, *bias, stride, padding, dilation, groups):
        top, bottom, left, right = padding
        n, _, h, w = x.shape
        kh, kw = weight.shape[2:]
        self.input_shape, self.padding, self.weight = x.shape, padding, weight
        self.stride, self.dilation, self.groups = stride, dilation, groups
        self.padded_hw = (h + top + bottom, w + left + right)
        out_hw = ((self.padded_hw[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1,
                  (self.padded_hw[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1)
        self.out_hw = out_hw
        cins = _group_slices(x.shape[1], groups)
        couts = _group_slices(weight.shape[0], groups)
        self.pointwise = (kh, kw) == (1, 1) and stride == (1, 1) and not any(padding) and groups == 1
        self.winograd = _winograd_applies(x, weight, stride, padding, dilation, groups, any(self.needs_input_grad))
        if self.winograd:  # y = A^T [U * V] A per tile, bias in the output transform
            self.saved = x if self.needs_input_grad[1] else None
            return winograd.correlate3x3(x, weight, (top, left), out_hw, bias[0] if bias else None)
        if self.pointwise:  # y[n] = W x[n] on (C, H*W) matrices: batched GEMMs straight on NCHW, no layout copies
            self.saved = x if self.needs_input_grad[1] else None
            y = xp.matmul(weight.reshape(weight.shape[0], -1), x.reshape(n, x.shape[1], h * w))
            y = y.reshape(n, -1, h, w)
        elif stride == (1, 1) or groups == 1:  # the grid (on the phases of x when strided)
            self.reach = kernel_reach((kh, kw), dilation)
            xf, self.grid_hw = pad_to_grid(x, padding, stride, self.reach)
            y = _per_group([grid_correlate(xf[ci], weight[co], self.grid_hw, dilation, stride=stride)
                            for ci, co in zip(cins, couts)])
            self.saved = x if self.needs_input_grad[1] else None  # held by the graph anyway; re-padded in backward
            y = from_grid(y, n, self.grid_hw, out_hw)
        else:
            if any(padding):
                x = xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
            outs, cols = [], []
            for ci, co in zip(cins, couts):
                y, c = conv_forward(x[:, ci], weight[co], stride, dilation)
                outs.append(y)
                cols.append(c)
            y = outs[0] if groups == 1 else xp.concatenate(outs, axis=1)
            self.saved = cols if self.needs_input_grad[1] else None
        if bias:
            y += bias[0].reshape(1, -1, 1, 1)
        return y

    def backward(self, g):
        groups, (top, bottom, left, right) = self.groups, self.padding
        cins = _group_slices(self.input_shape[1], groups)
        couts = _group_slices(g.shape[1], groups)
        n = g.shape[0]
        dx = dw = None
        if self.winograd:  # dx: the same transform of g with the flipped kernel; dW = G^T (dM V^T) G
            g = xp.ascontiguousarray(g)
            if self.needs_input_grad[0]:
                dx = winograd.correlate3x3(g, xp.ascontiguousarray(flipped_transpose(self.weight)),
                                           (2 - top, 2 - left), self.input_shape[2:])
            if self.needs_input_grad[1]:
                dw = winograd.weight_grad3x3(g, self.saved, (top, left))
        elif self.pointwise:  # dx[n] = W^T g[n],  dW = sum_n g[n] x[n]^T
            o, c = self.weight.shape[:2]
            g3 = g.reshape(n, o, -1)
            if self.needs_input_grad[0]:
                dx = xp.matmul(self.weight.reshape(o, c).T, g3).reshape(self.input_shape)
            if self.needs_input_grad[1]:
                x3 = self.saved.reshape(n, c, -1)
                dw = xp.matmul(g3, x3.transpose(0, 2, 1)).sum(axis=0).reshape(self.weight.shape)
        elif self.stride == (1, 1):
            kernel, grid_hw = self.weight.shape[2:], self.grid_hw
            pads = adjoint_pads(self.padding, kernel, self.dilation)
            xf = pad_to_grid(self.saved, self.padding, reach=self.reach)[0] if self.needs_input_grad[1] else None
            if self.needs_input_grad[0]:  # the adjoint: correlate the re-padded g with the flipped kernel
                gq, gq_hw = pad_to_grid(g, pads, reach=self.reach)
                # On one grid period (same-size padding), the adjoint's column blocks hold g at every shift the
                # weight gradient needs: dW[o, c, i, j] = sum_q g_q[o, q + shift'(kh-1-i, kw-1-j)] x[c, q], with
                # x on its grid aligned to dx. So dW costs one GEMM per block and no column blocks of its own.
                aligned = None
                if xf is not None and gq_hw == grid_hw and min(pads) >= 0:
                    aligned = xf[:, self.padding[0] * grid_hw[1] + self.padding[2]:]
                dx_parts, dw_parts = [], []
                for ci, co in zip(cins, couts):
                    result = grid_correlate(gq[co], flipped_transpose(self.weight[co]), gq_hw, self.dilation,
                                            products_with=None if aligned is None else aligned[ci])
                    if aligned is None:
                        dx_parts.append(result)
                        continue
                    dx_parts.append(result[0])
                    # the products hold the flipped kernel's taps: W'[c, o, i', j'], flipped back to dW[o, c, i, j]
                    dw_parts.append(flipped_transpose(tap_products_to_weight(result[1], kernel)))
                dx = from_grid(_per_group(dx_parts), n, gq_hw, self.input_shape[2:])
                dw = _per_group(dw_parts) if dw_parts else None
            if xf is not None and dw is None:
                gf = grad_to_grid(g, grid_hw, grid_span(xf.shape[1], kernel, self.dilation, grid_hw[1]))
                dw = _per_group([grid_weight_grad(gf[co], xf[ci], kernel, grid_hw, self.dilation)
                                 for ci, co in zip(cins, couts)])
        elif groups == 1:  # strided, on the phase grid
            kernel, (hq, wq), (ho, wo) = self.weight.shape[2:], self.grid_hw, self.out_hw
            if self.needs_input_grad[0]:  # every phase's adjoint in one correlation of g, then the phases interleaved
                adjoint, (u, v) = phase_adjoint(self.weight, self.stride, self.dilation)
                gq, gq_hw = pad_to_grid(g, (u, hq - ho, v, wq - wo), reach=(u, v))
                phases = from_grid(grid_correlate(gq, adjoint, gq_hw, (1, 1)), n, gq_hw, self.grid_hw)
                dx = phases_to_image(phases, self.padding, self.stride, self.input_shape[2:])
            if self.needs_input_grad[1]:
                xf, _ = pad_to_grid(self.saved, self.padding, self.stride)
                span = grid_span(xf.shape[1], kernel, self.dilation, wq, self.stride)
                dw = grid_weight_grad(grad_to_grid(g, self.grid_hw, span), xf, kernel, self.grid_hw, self.dilation,
                                      self.stride)
        else:
            if self.needs_input_grad[0]:
                parts = [conv_input_grad(g[:, co], self.weight[co], self.padded_hw, self.stride, self.dilation)
                         for co in couts]
                dx = parts[0] if groups == 1 else xp.concatenate(parts, axis=1)
                dx = xp.ascontiguousarray(dx[:, :, top:dx.shape[2] - bottom, left:dx.shape[3] - right])
            if self.needs_input_grad[1]:
                wshape = (g.shape[1] // groups,) + self.weight.shape[1:]
                dw = _per_group([conv_weight_grad(g[:, co], cols, wshape) for co, cols in zip(couts, self.saved)])
        self.saved = None  # free the saved input as soon as it has served
        db = g.sum(axis=(0, 2, 3)) if len(self.needs_input_grad) > 2 and self.needs_input_grad[2] else None
        return dx, dw, db

    def vjp(self, g):
        """The backward as convolutions of tensors (create_graph=True): dx is a transposed convolution of g,
        dW a convolution of x with g (batch and channels swapped)."""
        from .shape import pad
        top, bottom, left, right = self.padding
        weight = self.input_tensor(1, self.weight)
        dx = dw = db = None
        if self.needs_input_grad[0]:
            full = conv_transpose2d(g, weight, stride=self.stride, dilation=self.dilation, groups=self.groups)
            h, w = self.input_shape[2:]
            short_h, short_w = max(top + h - full.shape[2], 0), max(left + w - full.shape[3], 0)
            if short_h or short_w:  # rows and columns past the last window get no gradient
                full = pad(full, (0, short_w, 0, short_h))
            dx = full[:, :, top:top + h, left:left + w]
        if self.needs_input_grad[1]:
            if self.saved is None or not hasattr(self.saved, "shape") or self.saved.shape != self.input_shape:
                raise NotImplementedError("create_graph=True through a strided grouped convolution's weight "
                                          "gradient is not supported by nnci")
            x = self.input_tensor(0, self.saved)
            if any(self.padding):
                x = pad(x, (left, right, top, bottom))
            kh, kw = self.weight.shape[2:]
            parts = []
            for ci, co in zip(_group_slices(x.shape[1], self.groups), _group_slices(g.shape[1], self.groups)):
                swapped = conv2d(x[:, ci].transpose(0, 1), g[:, co].transpose(0, 1), stride=self.dilation,
                                 dilation=self.stride)
                parts.append(swapped[:, :, :kh, :kw].transpose(0, 1))
            dw = parts[0] if len(parts) == 1 else _cat_tensors(parts)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            db = g.sum(dim=(0, 2, 3))
        return dx, dw, db


def _cat_tensors(parts: list) -> Tensor:
    from .shape import cat
    return cat(parts, 0)


class ConvTranspose2d(Op):
    """y = W^T (*) x + b (the input gradient of a convolution);  dx = W (*) g, dW = x (*) g"""
    node_name = "ConvolutionBackward0"
    saved_inputs = (0, 1)

    def forward(self, x, weight, *bias, stride, padding, output_padding, dilation, groups):
        n, _, h, w = x.shape
        kh, kw = weight.shape[2:]
        (sh, sw), (dh, dw), (ph, pw), (oh, ow) = stride, dilation, padding, output_padding
        full_hw = ((h - 1) * sh + dh * (kh - 1) + 1 + oh, (w - 1) * sw + dw * (kw - 1) + 1 + ow)
        self.x_shape, self.weight, self.groups = x.shape, weight, groups
        self.stride, self.dilation, self.padding, self.full_hw = stride, dilation, padding, full_hw
        cins = _group_slices(x.shape[1], groups)
        # stride 1: the input gradient of a padding-p convolution, i.e. the flipped kernel on re-padded x
        self.grid = stride == (1, 1) and output_padding == (0, 0)
        # kernel == stride (the usual 2x upsampling): windows do not overlap, so one GEMM scatters everything
        self.blocks = (stride == (kh, kw) and padding == (0, 0) and output_padding == (0, 0) and dilation == (1, 1)
                       and groups == 1 and not self.grid)
        self.saved = x
        if self.blocks:  # z[n] = W^T x[n] on (C, H*W) matrices (batched GEMMs on NCHW), then one scatter copy
            cout = weight.shape[1]
            z = xp.matmul(weight.reshape(weight.shape[0], -1).T, x.reshape(n, x.shape[1], h * w))
            z = z.reshape(n, cout, kh, kw, h, w)
            y = xp.empty((n, cout, h * kh, w * kw), z.dtype)
            # one strided copy per kernel offset: a 6-D transposed copy's innermost loop would run over kw elements
            for i in range(kh):
                for j in range(kw):
                    y[:, :, i::kh, j::kw] = z[:, :, i, j]
        elif self.grid:
            out_hw = (full_hw[0] - 2 * ph, full_hw[1] - 2 * pw)
            xq, xq_hw = pad_to_grid(x, adjoint_pads((ph, ph, pw, pw), (kh, kw), dilation),
                                    reach=kernel_reach((kh, kw), dilation))
            y = _per_group([grid_correlate(xq[ci], flipped_transpose(weight[ci]), xq_hw, dilation) for ci in cins])
            y = from_grid(y, n, xq_hw, out_hw)
        else:
            parts = [conv_input_grad(x[:, ci], weight[ci], full_hw, stride, dilation) for ci in cins]
            y = parts[0] if groups == 1 else xp.concatenate(parts, axis=1)
            y = xp.ascontiguousarray(y[:, :, ph:full_hw[0] - ph, pw:full_hw[1] - pw])
        if bias:
            y += bias[0].reshape(1, -1, 1, 1)
        return y

    def backward(self, g):
        (ph, pw), (full_h, full_w) = self.padding, self.full_hw
        n, _, h, w = self.x_shape
        groups = self.groups
        cins = _group_slices(self.x_shape[1], groups)
        couts = _group_slices(g.shape[1], groups)
        dx = dw = None
        if self.blocks:
            kh, kw = self.weight.shape[2:]
            cout = g.shape[1]
            blocks = xp.ascontiguousarray(g.reshape(n, cout, h, kh, w, kw).transpose(0, 1, 3, 5, 2, 4))
            blocks = blocks.reshape(n, cout * kh * kw, h * w)
            weight = self.weight.reshape(self.weight.shape[0], -1)
            if self.needs_input_grad[0]:  # dx[n] = W g[n],  dW = sum_n x[n] g[n]^T  (g as blocks)
                dx = xp.matmul(weight, blocks).reshape(self.x_shape)
            if self.needs_input_grad[1]:
                x3 = self.saved.reshape(n, self.x_shape[1], h * w)
                dw = xp.matmul(x3, blocks.transpose(0, 2, 1)).sum(axis=0).reshape(self.weight.shape)
        elif self.grid:  # backward of the adjoint is the convolution itself
            kernel = self.weight.shape[2:]
            gf, grid_hw = pad_to_grid(g, (ph, ph, pw, pw), reach=kernel_reach(kernel, self.dilation))
            xg = None  # x at dx's grid positions: dW[c, o, i, j] = sum_p x[c, p] g[o, p + shift(i, j)]
            if self.needs_input_grad[1]:
                xg = grad_to_grid(self.saved, grid_hw, grid_span(gf.shape[1], kernel, self.dilation, grid_hw[1]))
            if self.needs_input_grad[0]:  # dx and dW from the same column blocks of g
                parts = [grid_correlate(gf[co], self.weight[ci], grid_hw, self.dilation,
                                        products_with=None if xg is None else xg[ci]) for ci, co in zip(cins, couts)]
                dx = from_grid(_per_group(parts if xg is None else [part[0] for part in parts]), n, grid_hw, (h, w))
                if xg is not None:
                    dw = _per_group([tap_products_to_weight(part[1], kernel) for part in parts])
            if xg is not None and dw is None:
                dw = _per_group([grid_weight_grad(xg[ci], gf[co], kernel, grid_hw, self.dilation)
                                 for ci, co in zip(cins, couts)])
        else:
            g_full = xp.pad(g, ((0, 0), (0, 0), (ph, full_h - g.shape[2] - ph), (pw, full_w - g.shape[3] - pw)))
            # rows/cols added by output_padding receive nothing from x: drop them so the conv sees exactly x's grid
            (sh, sw), (dh, dw_), (kh, kw) = self.stride, self.dilation, self.weight.shape[2:]
            g_full = g_full[:, :, :(h - 1) * sh + dh * (kh - 1) + 1, :(w - 1) * sw + dw_ * (kw - 1) + 1]
            dx_parts, dw_parts = [], []
            for ci, co in zip(cins, couts):
                y, cols = conv_forward(g_full[:, co], self.weight[ci], self.stride, self.dilation)
                dx_parts.append(y)
                if self.needs_input_grad[1]:
                    dw_parts.append(conv_weight_grad(self.saved[:, ci], cols, self.weight[ci].shape))
            dx = xp.concatenate(dx_parts, axis=1) if self.needs_input_grad[0] else None
            dw = _per_group(dw_parts) if dw_parts else None
        self.saved = None
        db = g.sum(axis=(0, 2, 3)) if len(self.needs_input_grad) > 2 and self.needs_input_grad[2] else None
        return dx, dw, db

    def vjp(self, g):
        """create_graph=True: dx is the convolution of g, dW a convolution of the padded g with x (batch and
        channels swapped)."""
        from .shape import pad
        (ph, pw), weight = self.padding, self.input_tensor(1, self.weight)
        dx = dw = db = None
        if self.needs_input_grad[0]:
            dx = conv2d(g, weight, stride=self.stride, padding=(ph, pw), dilation=self.dilation, groups=self.groups)
        if self.needs_input_grad[1]:
            x = self.input_tensor(0, self.saved)
            g_full = pad(g, (pw, pw, ph, ph)) if ph or pw else g
            kh, kw = self.weight.shape[2:]
            parts = []
            for ci, co in zip(_group_slices(x.shape[1], self.groups), _group_slices(g.shape[1], self.groups)):
                swapped = conv2d(g_full[:, co].transpose(0, 1), x[:, ci].transpose(0, 1), stride=self.dilation,
                                 dilation=self.stride)
                parts.append(swapped[:, :, :kh, :kw].transpose(0, 1))
            dw = parts[0] if len(parts) == 1 else _cat_tensors(parts)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            db = g.sum(dim=(0, 2, 3))
        return dx, dw, db


def _same_padding(kernel: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """torch's 'same': total d(k-1) split with the odd extra pixel at the bottom/right."""
    (kh, kw), (dh, dw) = kernel, dilation
    th, tw = dh * (kh - 1), dw * (kw - 1)
    return th // 2, th - th // 2, tw // 2, tw - tw // 2


def _batched(name: str, x: Tensor, spatial: int) -> tuple[Tensor, bool]:
    """x with a batch dim (unbatched (C, ...) inputs get one, as torch allows), and whether it was added."""
    if x.ndim == spatial + 1:
        return x.unsqueeze(0), True
    if x.ndim != spatial + 2:
        dims = "(N, C, H, W) or (C, H, W)" if spatial == 2 else "(N, C, L) or (C, L)"
        raise RuntimeError(f"{name}: expected a {spatial + 1}-D (unbatched) or {spatial + 2}-D (batched) input "
                           f"{dims}, got input of shape {tuple(x.shape)}")
    return x, False


def _check_conv_input(name: str, x: Tensor, weight: Tensor, in_channels: int, groups: int) -> None:
    if x.shape[1] != in_channels:
        raise RuntimeError(f"{name}: Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {in_channels} channels, but got {x.shape[1]} channels instead")
    if x.dtype != weight.dtype:
        raise RuntimeError(f"{name}: input dtype {x.dtype} does not match weight dtype {weight.dtype}; "
                           "cast one of them (e.g. x.float())")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """y[n,o] = b[o] + sum_c W[o,c] (*) x[n,c]  (cross-correlation, torch semantics); (C, H, W) inputs too"""
    x, added = _batched("conv2d", input, 2)
    stride, dilation = _pair(stride), _pair(dilation)
    if weight.ndim != 4:
        raise RuntimeError(f"conv2d: expected a 4-D weight (out, in / groups, kh, kw), got {list(weight.shape)}")
    _check_conv_input("conv2d", x, weight, weight.shape[1] * groups, groups)
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            pads = _same_padding(weight.shape[2:], dilation)
        else:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    else:
        ph, pw = _pair(padding)
        pads = (ph, ph, pw, pw)
    kh, kw = weight.shape[2:]
    h, w = x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3]
    if h < dilation[0] * (kh - 1) + 1 or w < dilation[1] * (kw - 1) + 1:
        raise RuntimeError(f"conv2d: Calculated padded input size per channel: ({h} x {w}). Kernel size: "
                           f"({dilation[0] * (kh - 1) + 1} x {dilation[1] * (kw - 1) + 1}). Kernel size can't be greater "
                           f"than actual input size (input shape {tuple(input.shape)})")
    if weight.shape[2:] == (1, 1) and stride != (1, 1) and not any(pads):
        # a strided 1x1 convolution only reads every s-th pixel: subsample (differentiable), then stride 1
        x = x[:, :, ::stride[0], ::stride[1]]
        stride = (1, 1)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    y = Conv2d.apply(*inputs, stride=stride, padding=pads, dilation=dilation, groups=groups)
    return y.squeeze(0) if added else y


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """y = b + sum_c x[n,c] scattered through W[c] (the adjoint of conv2d), torch semantics; (C, H, W) inputs too"""
    x, added = _batched("conv_transpose2d", input, 2)
    stride, padding, output_padding, dilation = map(_pair, (stride, padding, output_padding, dilation))
    _check_conv_input("conv_transpose2d", x, weight, weight.shape[0], groups)
    if output_padding[0] >= max(stride[0], dilation[0]) or output_padding[1] >= max(stride[1], dilation[1]):
        raise RuntimeError(f"conv_transpose2d: output padding must be smaller than either stride or dilation, but got "
                           f"output_padding {output_padding}, stride {stride}, dilation {dilation}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    y = ConvTranspose2d.apply(*inputs, stride=stride, padding=padding, output_padding=output_padding,
                              dilation=dilation, groups=groups)
    return y.squeeze(0) if added else y


def _single(v: Any) -> int:
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"expected an int or a 1-tuple, got {v}")
        return int(v[0])
    return int(v)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """y[n,o] = b[o] + sum_c W[o,c] (*) x[n,c] over one axis (conv2d on a height-1 image); (C, L) inputs too"""
    x, added = _batched("conv1d", input, 1)
    if weight.ndim != 3:
        raise RuntimeError(f"conv1d: expected a 3-D weight (out, in / groups, k), got {list(weight.shape)}")
    pad = padding if isinstance(padding, str) else (0, _single(padding))
    if pad == "same":
        total = _single(dilation) * (weight.shape[2] - 1)
        x = x if total == 0 else _pad_last(x, total // 2, total - total // 2)
        pad = 0
    y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, _single(stride)), pad, (1, _single(dilation)), groups)
    y = y.squeeze(2)
    return y.squeeze(0) if added else y


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """the adjoint of conv1d (conv_transpose2d on a height-1 image); (C, L) inputs too"""
    x, added = _batched("conv_transpose1d", input, 1)
    y = conv_transpose2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, _single(stride)), (0, _single(padding)),
                         (0, _single(output_padding)), groups, (1, _single(dilation))).squeeze(2)
    return y.squeeze(0) if added else y


def _pad_last(x: Tensor, before: int, after: int) -> Tensor:
    from .shape import pad
    return pad(x, (before, after))
