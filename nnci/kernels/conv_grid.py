"""Fast stride-1 and strided convolution on the *grid* layout (NumPy + BLAS): the strategies behind
nnci.ops.conv's Conv2d and ConvTranspose2d where Winograd does not apply, and behind nnci.inference's fused chains.

Stride 1 uses the grid layout: the padded batch as a (C, L) matrix, image rows one after another with period Wq
and images with period Hq*Wq. A kernel offset (i, j) is then a shift by i*d*Wq + j*d columns, so each kernel
offset is one GEMM on a contiguous column window. Neighbouring rows (images) share one gap of zeros as the right
(bottom) pad of one and the left (top) pad of the next: Wq = W + max(left, right) for a same-size convolution,
not W + left + right (an 8x8 map: 81 grid positions per image, not 100). Outputs are computed at every grid
position and the ones whose windows straddle a row or image border are dropped.

Stride s uses the same layout on the *phases* of the padded image, x[:, :, a::sh, b::sw], stacked as channel
blocks: offset (i, j) reads phase (i d mod sh, j d mod sw) at the shift (i d div sh) Wq + (j d div sw).
Block sizes are measured (benchmarks/README.md).
"""
from __future__ import annotations

from typing import Any

from ..backend import xp


def pad_to_grid(x: Any, pads: tuple[int, int, int, int], stride: tuple[int, int] = (1, 1),
                reach: tuple[int, int] = (0, 0)) -> tuple[Any, tuple[int, int]]:
    """(N, C, H, W) padded by (top, bottom, left, right) straight into the grid layout (P*C, L).

    Returns the grid and its period (Hq, Wq): image n's padded pixel (r, c) sits at column n Hq Wq + r Wq + c.
    Stride 1 lets neighbours share their pads (`_grid_period`, given the kernel's reach d (k - 1)): the zero
    gap after one image row serves as that row's right pad and the next row's left pad, and likewise between
    images. reach (0, 0) keeps every pad whole: Hq, Wq = the padded size.
    With stride (sh, sw) the padded image is split into its P = sh*sw phases x_pad[:, :, a::sh, b::sw], each
    zero-filled to Hq = ceil(Hp / sh) by Wq = ceil(Wp / sw) and stacked as channel blocks in the order (a, b).
    A negative pad crops instead.
    """
    n, c, h, w = x.shape
    top, bottom, left, right = pads
    x = x[:, :, max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
    top, bottom, left, right = (max(p, 0) for p in pads)
    h, w = x.shape[2:]
    (sh, sw) = stride
    if stride == (1, 1):
        hq, wq = _grid_period(h, top, bottom, reach[0]), _grid_period(w, left, right, reach[1])
        # through the last image's last padded pixel: its bottom/right pads may end inside the period
        grid = xp.zeros((c, max(n - 1, 0) * hq * wq + (h + top + bottom - 1) * wq + w + left + right), x.dtype)
        grid_view(grid[:, top * wq + left:], n, (hq, wq), (h, w))[...] = x.transpose(1, 0, 2, 3)
        return grid, (hq, wq)
    hq, wq = -(-(h + top + bottom) // sh), -(-(w + left + right) // sw)
    grid = xp.zeros((sh * sw, c, n, hq, wq), x.dtype)
    for phase, (u0, r0), (v0, c0) in _phase_starts(top, left, stride):
        part = x[:, :, r0::sh, c0::sw]
        grid[phase, :, :, u0:u0 + part.shape[2], v0:v0 + part.shape[3]] = part.transpose(1, 0, 2, 3)
    return grid.reshape(sh * sw * c, -1), (hq, wq)


def _grid_period(size: int, before: int, after: int, reach: int) -> int:
    """Rows (columns) per image (row) when neighbours share pads: the gap must hold both pads (zeros on either
    side of a window) and the before + after - reach outputs past the image's own size."""
    return size + max(before, after, before + after - reach)


def _phase_starts(top: int, left: int, stride: tuple[int, int]) -> Any:
    """Per phase (a, b), numbered a*sw + b: (u0, r0) and (v0, c0), where u0 is the first phase row whose padded
    row a + sh*u0 is an image row, r0 that image row (and the same for columns)."""
    def start(pad: int, offset: int, step: int) -> tuple[int, int]:
        u = max(0, -(-(pad - offset) // step))
        return u, offset + step * u - pad

    for a in range(stride[0]):
        for b in range(stride[1]):
            yield a * stride[1] + b, start(top, a, stride[0]), start(left, b, stride[1])


def phases_to_image(d: Any, pads: tuple[int, int, int, int], stride: tuple[int, int], hw: tuple[int, int]) -> Any:
    """(N, P*C, Hq, Wq) phase blocks -> (N, C, H, W): pad_to_grid's phase split undone, the pads dropped."""
    (sh, sw), (top, _, left, _) = stride, pads
    n, c = d.shape[0], d.shape[1] // (sh * sw)
    image = xp.empty((n, c) + tuple(hw), d.dtype)
    for phase, (u0, r0), (v0, c0) in _phase_starts(top, left, stride):
        part = image[:, :, r0::sh, c0::sw]  # every pixel lies in exactly one phase: a copy, no sums
        part[...] = d[:, phase * c:(phase + 1) * c, u0:u0 + part.shape[2], v0:v0 + part.shape[3]]
    return image


def grid_view(y: Any, n: int, grid_hw: tuple[int, int], out_hw: tuple[int, int]) -> Any:
    """(O, L) grid -> the (O, N, Ho, Wo) view of its first Ho x Wo positions of each image (no copy)."""
    (hq, wq), step = grid_hw, y.strides[1]
    strides = (y.strides[0], hq * wq * step, wq * step, step)
    return xp.lib.stride_tricks.as_strided(y, (y.shape[0], n) + tuple(out_hw), strides)


def from_grid(y: Any, n: int, grid_hw: tuple[int, int], out_hw: tuple[int, int]) -> Any:
    """(O, L) values at grid positions -> (N, O, Ho, Wo), keeping the positions of whole windows."""
    return xp.ascontiguousarray(grid_view(y, n, grid_hw, out_hw).transpose(1, 0, 2, 3))


def _offset_phases(kernel: tuple[int, int], dilation: tuple[int, int], stride: tuple[int, int]) -> Any:
    """Per kernel offset (i, j), row-major: (i, j, phase, u, v) with phase (i d mod sh) sw + (j d mod sw) and
    (u, v) = (i d div sh, j d div sw), the offset's step within its phase."""
    for i in range(kernel[0]):
        u, a = divmod(i * dilation[0], stride[0])
        for j in range(kernel[1]):
            v, b = divmod(j * dilation[1], stride[1])
            yield i, j, a * stride[1] + b, u, v


def grid_taps(kernel: tuple[int, int], dilation: tuple[int, int], width: int, stride: tuple[int, int] = (1, 1),
              channels: int = 0) -> list[tuple[int, int]]:
    """(first grid row, column shift) that each kernel offset reads in pad_to_grid's layout, row-major:
    rows from phase * channels, at shift u Wq + v (stride 1: row 0, shift i d Wq + j d)."""
    return [(phase * channels, u * width + v) for _, _, phase, u, v in _offset_phases(kernel, dilation, stride)]


_COLUMN_BLOCK = 2_400_000  # floats per block of stacked columns (~10 MB): big GEMMs, bounded memory
_ROW_STACK_BLOCK = 1_600_000  # the same for the row stacks of stride-1 kernels (measured best)


def _column_blocks(xf: Any, taps: list[tuple[int, int]], channels: int, span: int, reach: int = 0,
                   block: int = _COLUMN_BLOCK) -> Any:
    """Yield (start, stop, cols), cols[k*C + c, p] = xf[row_k + c, start + p + shift_k] for p < stop - start + reach:
    im2col a block at a time (`reach` more columns than the block's positions, for row stacks)."""
    c = channels
    if taps == [(0, 0)] and xf.shape[0] == c and not reach:  # 1x1 kernel, stride 1: the grid is the column matrix
        yield 0, span, xf[:, :span]
        return
    width = max(1024, block // (c * len(taps)) - reach)
    cols = xp.empty((c * len(taps), min(width, span) + reach), xf.dtype)
    for start in range(0, span, width):
        stop = min(start + width, span)
        for k, (row, shift) in enumerate(taps):
            cols[k * c:(k + 1) * c, :stop - start + reach] = xf[row:row + c, start + shift:stop + shift + reach]
        yield start, stop, cols[:, :stop - start + reach]


def grid_span(grid_len: int, kernel: tuple[int, int], dilation: tuple[int, int], width: int,
              stride: tuple[int, int] = (1, 1)) -> int:
    """How many leading grid positions have a whole window inside the grid."""
    return grid_len - grid_taps(kernel, dilation, width, stride)[-1][1]


def grid_correlate(xf: Any, weight: Any, grid_hw: tuple[int, int], dilation: tuple[int, int],
                   out: Any = None, stride: tuple[int, int] = (1, 1), products_with: Any = None,
                   epilogue: Any = None) -> Any:
    """y[:, p] = sum_{c,i,j} W[:, c, i, j] xf[row(i,j) + c, p + shift(i,j)] for the grid positions p with whole
    windows (grid_taps gives row and shift; stride 1: row 0, shift i d Wq + j d).

    `out`, if given, is an (O, span) array or view with contiguous rows that receives y.
    `products_with`, an (M, L) array indexed like y (zeros past its end), makes it return (y, P) with
    P[k C + c, m] = sum_p xf[row_k + c, p + shift_k] products_with[m, p], from the same column blocks.
    `epilogue(block)`, if given, updates each finished (O, block) part of y in place while it is still in cache
    (inference applies bias and ReLU there: one pass over a large y from memory each, otherwise).
    """
    o, c, kh, kw = weight.shape
    taps = grid_taps((kh, kw), dilation, grid_hw[1], stride, c)
    span = xf.shape[1] - taps[-1][1]
    y = xp.empty((o, span), xf.dtype) if out is None else out
    products = None if products_with is None else xp.zeros((len(taps) * c, products_with.shape[0]), xf.dtype)
    if stride == (1, 1) and kh > 1:
        # Stride 1: kernel row i reads the stack of row 0's kw shifts at i d Wq columns further, so a block copies
        # kw shifted windows (not kh kw) and runs one GEMM per kernel row, with K = kw C.
        stacked, row_step, block = taps[:kw], dilation[0] * grid_hw[1], _ROW_STACK_BLOCK
        rows = [xp.ascontiguousarray(weight[:, :, i].transpose(0, 2, 1)).reshape(o, kw * c) for i in range(kh)]
    else:  # every tap in one stack: one GEMM per block
        stacked, row_step, block = taps, 0, _COLUMN_BLOCK
        rows = [xp.ascontiguousarray(weight.transpose(0, 2, 3, 1)).reshape(o, kh * kw * c)]
    depth, part = len(stacked) * c, None
    for start, stop, stack in _column_blocks(xf, stacked, c, span, (len(rows) - 1) * row_step, block):
        width, block_out = stop - start, y[:, start:stop]
        other = None if products is None else products_with[:, start:stop]
        for i, row_weight in enumerate(rows):
            cols = stack[:, i * row_step:i * row_step + width]
            if i == 0:
                xp.matmul(row_weight, cols, out=block_out)
            else:
                part = xp.empty((o, width), xf.dtype) if part is None else part
                xp.matmul(row_weight, cols, out=part[:, :width])
                block_out += part[:, :width]
            if other is not None:
                products[i * depth:(i + 1) * depth] += cols[:, :other.shape[1]] @ other.T
        if epilogue is not None:
            epilogue(block_out)
    return y if products is None else (y, products)


def grid_weight_grad(gf: Any, xf: Any, kernel: tuple[int, int], grid_hw: tuple[int, int],
                     dilation: tuple[int, int], stride: tuple[int, int] = (1, 1)) -> Any:
    """dW[o, c, i, j] = sum_p g[o, p] xf[row(i,j) + c, p + shift(i,j)], g given at the positions with whole windows."""
    c = xf.shape[0] // (stride[0] * stride[1])
    taps = grid_taps(kernel, dilation, grid_hw[1], stride, c)
    # accumulated as dW^T = cols g^T: OpenBLAS runs this orientation faster than g cols^T (benchmarks/README.md)
    dw_t = xp.zeros((len(taps) * c, gf.shape[0]), gf.dtype)
    for start, stop, cols in _column_blocks(xf, taps, c, gf.shape[1]):
        dw_t += cols @ gf[:, start:stop].T
    return tap_products_to_weight(dw_t, kernel)


def tap_products_to_weight(products: Any, kernel: tuple[int, int]) -> Any:
    """P[(i, j, c), m] (rows in grid_taps' order, as grid_correlate's products) -> W[m, c, i, j]."""
    return products.reshape(tuple(kernel) + (-1, products.shape[1])).transpose(3, 2, 0, 1)


def phase_adjoint(weight: Any, stride: tuple[int, int], dilation: tuple[int, int]) -> tuple[Any, tuple[int, int]]:
    """The kernel whose stride-1 correlation with g gives a strided convolution's input gradient on the phases.

    dx_phase(a,b)[q] = sum over offsets (i, j) in that phase of W[:, :, i, j]^T g[q - (u, v)], (u, v) = (i, j) d div s.
    With g padded by (U, V) = the largest (u, v) in front, that is a correlation with the kernel
    K[(a, b) C + c, o, U - u, V - v] = W[o, c, i, j]; K is zero where a phase has no offset at (u, v).
    Returns K and (U, V).
    """
    o, c, kh, kw = weight.shape
    (sh, sw), (dh, dw) = stride, dilation
    steps = ((kh - 1) * dh // sh, (kw - 1) * dw // sw)
    kernel = xp.zeros((sh * sw * c, o, steps[0] + 1, steps[1] + 1), weight.dtype)
    for i, j, phase, u, v in _offset_phases((kh, kw), dilation, stride):
        kernel[phase * c:(phase + 1) * c, :, steps[0] - u, steps[1] - v] = weight[:, :, i, j].T
    return kernel, steps


def grad_to_grid(g: Any, grid_hw: tuple[int, int], span: int) -> Any:
    """(N, O, Ho, Wo) -> (O, span): g placed at its grid positions, zeros at the dropped ones."""
    n, o, ho, wo = g.shape
    gf = xp.zeros((o, max(span, n * grid_hw[0] * grid_hw[1])), g.dtype)
    grid_view(gf, n, grid_hw, (ho, wo))[...] = g.transpose(1, 0, 2, 3)
    return gf[:, :span]
