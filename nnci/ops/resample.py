"""Upsampling/resizing of (N, C, H, W) and (N, C, L) arrays, as separable linear maps: y = A_h x A_w^T.

Nearest, (bi)linear and bicubic interpolation are all linear in x, so each is one small matrix per
axis; the backward pass is the transpose: dx = A_h^T g A_w. Bicubic uses Keys' cubic convolution
with a = -0.75 and clamped border taps, as torch (R. Keys, "Cubic convolution interpolation for
digital image processing", IEEE TASSP 1981).
"""
from __future__ import annotations

import math
from typing import Any

from ..backend import xp
from ..autograd.graph import Op
from ..tensor import Tensor


_CUBIC_A = -0.75


def _cubic_weights(t: Any) -> Any:
    """Keys' weights of the taps at floor(src) - 1 .. floor(src) + 2 for the fractional offset t."""
    a = _CUBIC_A

    def near(x: Any) -> Any:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Any) -> Any:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def interpolation_matrix(n_in: int, n_out: int, mode: str, align_corners: bool | None,
                         scale: float | None) -> Any:
    """A (n_out, n_in) with y = A x along one axis, by torch's coordinate rules."""
    ratio = 1.0 / scale if scale else n_in / n_out  # torch uses 1/scale_factor when one was given
    dst = xp.arange(n_out, dtype=xp.float64)
    rows = xp.arange(n_out)
    matrix = xp.zeros((n_out, n_in), xp.float64)
    if mode in ("nearest", "nearest-exact"):
        offset = 0.5 if mode == "nearest-exact" else 0.0
        src = xp.floor(((dst + offset) * xp.float32(ratio)).astype(xp.float32)).astype(int)
        matrix[rows, xp.minimum(src, n_in - 1)] = 1
        return matrix
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1)) if n_out > 1 else xp.zeros(n_out)
    else:
        src = ratio * (dst + 0.5) - 0.5
        if mode != "bicubic":
            src = xp.maximum(src, 0)
    low = xp.floor(src).astype(int)
    frac = src - low
    if mode == "bicubic":
        for k, weight in enumerate(_cubic_weights(frac)):
            xp.add.at(matrix, (rows, xp.clip(low - 1 + k, 0, n_in - 1)), weight)
        return matrix
    low = xp.minimum(low, n_in - 1)
    high = xp.minimum(low + 1, n_in - 1)
    xp.add.at(matrix, (rows, low), 1 - frac)
    xp.add.at(matrix, (rows, high), frac)
    return matrix


class Resize(Op):
    """y = A_h x A_w^T;  dx = A_h^T g A_w"""
    saved_inputs = ()
    def forward(self, x, rows, cols):
        self.rows, self.cols = rows.astype(x.dtype), cols.astype(x.dtype)
        return self.rows @ (x @ self.cols.T)

    def backward(self, g):
        return (self.rows.T @ (g @ self.cols),)


class RepeatNearest(Op):
    """y = each pixel repeated k x k times (nearest, integer factor);  dx = sum of each k x k block of g"""
    saved_inputs = ()
    def forward(self, x, factor):
        self.factor = factor
        fh, fw = factor
        # two np.repeat passes run 2.6x faster than one copy of a 6-D broadcast view (measured, 8x32x32x32)
        return xp.repeat(xp.repeat(x, fw, axis=3), fh, axis=2)

    def backward(self, g):
        fh, fw = self.factor
        # the rows of each block first (whole contiguous rows), then the columns of the fh-times smaller result:
        # strided adds, 1.6x faster than adding the fh*fw strided corners and 13x faster than a strided sum
        rows = g[:, :, 0::fh].copy()
        for i in range(1, fh):
            rows += g[:, :, i::fh]
        dx = rows[..., 0::fw].copy()
        for j in range(1, fw):
            dx += rows[..., j::fw]
        return (dx,)


_MODES = {3: ("nearest", "nearest-exact", "linear", "area"), 4: ("nearest", "nearest-exact", "bilinear", "bicubic",
                                                                   "area")}


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """input resized to `size` or by `scale_factor`, with torch's pixel grid: nearest, nearest-exact, linear
    (3-D input), bilinear, bicubic (4-D), area"""
    if input.ndim not in _MODES:
        raise NotImplementedError(f"interpolate: input of {input.ndim} dims is not supported by nnci (3-D (N, C, L) or "
                                  "4-D (N, C, H, W))")
    if mode not in _MODES[input.ndim]:
        raise NotImplementedError(f"interpolate: mode {mode!r} needs a different input rank; for a {input.ndim}-D input "
                                  f"the modes are {_MODES[input.ndim]}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by nnci")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    spatial = input.ndim - 2
    x = input if spatial == 2 else input.unsqueeze(2)
    in_hw = x.shape[2:]
    if size is not None:
        size = (size,) * spatial if isinstance(size, int) else tuple(size)
        if len(size) != spatial:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {list(input.shape[2:])} and output size of {list(size)}.")
        out_hw = tuple(int(n) for n in size) if spatial == 2 else (1, int(size[0]))
        scales = (None, None)
    else:
        factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * spatial
        if len(factors) != spatial:
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {list(input.shape[2:])} and scale_factor of shape "
                             f"{list(factors)}.")
        factors = factors if spatial == 2 else (1.0,) + tuple(factors)
        out_hw = tuple(int(math.floor(n * f)) for n, f in zip(in_hw, factors))
        scales = (None, None) if recompute_scale_factor else tuple(float(f) for f in factors)
    if min(out_hw) < 1:
        raise ValueError(f"interpolate: the output size {out_hw} has an empty side")
    if mode == "area":
        from .pool import adaptive_avg_pool2d
        y = adaptive_avg_pool2d(x, out_hw)
    else:
        kind = "bilinear" if mode == "linear" else mode
        if kind == "nearest" and out_hw[0] % in_hw[0] == 0 and out_hw[1] % in_hw[1] == 0:
            factor = (out_hw[0] // in_hw[0], out_hw[1] // in_hw[1])
            if all(s is None or s == f for s, f in zip(scales, factor)):
                y = RepeatNearest.apply(x, factor=factor)
                return y if spatial == 2 else y.squeeze(2)
        rows = interpolation_matrix(in_hw[0], out_hw[0], kind, align_corners, scales[0])
        cols = interpolation_matrix(in_hw[1], out_hw[1], kind, align_corners, scales[1])
        y = Resize.apply(x, rows=rows, cols=cols)
    return y if spatial == 2 else y.squeeze(2)
