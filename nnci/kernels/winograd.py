"""Winograd F(4x4, 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016).

A 3x3 correlation of a 6x6 input tile d gives a 4x4 output tile

    Y = A^T [ (G w G^T) * (B^T d B) ] A        (* elementwise)

so per tile and channel pair it costs 36 multiplications instead of 144. Over a batch, the elementwise products
summed over input channels are 36 GEMMs, one per tile position e = (a, b):

    U[e, k, c] = (G w[k, c] G^T)[a, b]          filter transform
    V[e, c, p] = (B^T d[c, p] B)[a, b]          input transform, p = (n, tile row, tile column)
    M[e]       = U[e] @ V[e]                    (K, C) @ (C, P)
    y[n, k]    = A^T M[:, k, p] A per tile      output transform, cropped to the output size

Backward: the input gradient is the same pipeline on g with the flipped, transposed kernel; the weight gradient is
dU[e] = dM[e] @ V[e]^T with dM = A g_tile A^T (the output transform's adjoint) and dW = G^T dU G.

Each transform is a Numba kernel with a NumPy reference twin (einsum over the tiles). The transforms are exact in
real arithmetic; in float32 their rounding adds a relative error of about 1e-5 (tests/test_kernels.py measures it).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import choose, jit, prange

B_T = np.array([[4, 0, -5, 0, 1, 0],
                [0, -4, -4, 1, 1, 0],
                [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0],
                [0, 2, -1, -2, 1, 0],
                [0, 4, 0, -5, 0, 1]], np.float64)
G = np.array([[1 / 4, 0, 0],
              [-1 / 6, -1 / 6, -1 / 6],
              [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6],
              [1 / 24, -1 / 12, 1 / 6],
              [0, 0, 1]], np.float64)
A_T = np.array([[1, 1, 1, 1, 1, 0],
                [0, 1, -1, 2, -2, 0],
                [0, 1, 1, 4, 4, 0],
                [0, 1, -1, 8, -8, 1]], np.float64)

TILE, WINDOW = 4, 6  # output tile size m and input tile size m + 3 - 1


def tiles_for(out_hw: tuple[int, int]) -> tuple[int, int]:
    """Tile rows and columns covering an output of out_hw."""
    return -(-out_hw[0] // TILE), -(-out_hw[1] // TILE)


# ----- filter transform (small: numpy for both paths) ---------------------------------------------------
def filter_transform(weight: Any) -> Any:
    """U[(a, b), k, c] = (G w[k, c] G^T)[a, b], in float64 then cast (the filters are few)"""
    k, c = weight.shape[:2]
    u = np.einsum("ai,kcij,bj->abkc", G, weight.astype(np.float64), G)
    return np.ascontiguousarray(u.reshape(WINDOW * WINDOW, k, c), dtype=weight.dtype)


def filter_transform_adjoint(du: Any) -> Any:
    """dW[k, c] = G^T dU[:, k, c] G (the adjoint of filter_transform)"""
    k, c = du.shape[1:]
    dw = np.einsum("ai,abkc,bj->kcij", G, du.reshape(WINDOW, WINDOW, k, c).astype(np.float64), G)
    return dw.astype(du.dtype)


# ----- reference twins ----------------------------------------------------------------------------------
def _padded_for_tiles(x: Any, top: int, left: int, tiles: tuple[int, int]) -> Any:
    """x placed at (top, left) in a zero array just large enough for every tile's 6x6 window."""
    n, c, h, w = x.shape
    rows, cols = TILE * tiles[0] + 2, TILE * tiles[1] + 2
    padded = np.zeros((n, c, rows, cols), x.dtype)
    r0, c0 = max(top, 0), max(left, 0)
    src = x[:, :, max(-top, 0):, max(-left, 0):][:, :, :rows - r0, :cols - c0]
    padded[:, :, r0:r0 + src.shape[2], c0:c0 + src.shape[3]] = src
    return padded


def input_transform_reference(x: Any, top: int, left: int, tiles: tuple[int, int]) -> Any:
    """V[(a, b), c, (n, ty, tx)] = (B^T d B)[a, b], d = the 6x6 window of x (padded by top, left) at (4 ty, 4 tx)"""
    n, c = x.shape[:2]
    padded = _padded_for_tiles(x, top, left, tiles)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (WINDOW, WINDOW), axis=(2, 3))[:, :, ::TILE, ::TILE]
    bt = B_T.astype(x.dtype)
    v = np.einsum("ai,nctuij,bj->abcntu", bt, windows, bt)
    return np.ascontiguousarray(v.reshape(WINDOW * WINDOW, c, -1))


def output_transform_reference(m: Any, out_shape: tuple[int, int, int, int], tiles: tuple[int, int]) -> Any:
    """y[n, k, 4 ty + i, 4 tx + j] = (A^T M[:, k, (n, ty, tx)] A)[i, j], cropped to out_shape"""
    n, k, ho, wo = out_shape
    th, tw = tiles
    at = A_T.astype(m.dtype)
    tiles_m = m.reshape(WINDOW, WINDOW, k, n, th, tw)
    y = np.einsum("ia,abknuv,jb->nkuivj", at, tiles_m, at).reshape(n, k, th * TILE, tw * TILE)
    return np.ascontiguousarray(y[:, :, :ho, :wo])


def output_transform_adjoint_reference(g: Any, tiles: tuple[int, int]) -> Any:
    """dM[(a, b), k, (n, ty, tx)] = (A g_tile A^T)[a, b], g_tile the 4x4 block of g at (4 ty, 4 tx), zero-padded"""
    n, k, ho, wo = g.shape
    th, tw = tiles
    padded = np.zeros((n, k, th * TILE, tw * TILE), g.dtype)
    padded[:, :, :ho, :wo] = g
    blocks = padded.reshape(n, k, th, TILE, tw, TILE)
    at = A_T.astype(g.dtype)
    dm = np.einsum("ia,nkuivj,jb->abknuv", at, blocks, at)
    return np.ascontiguousarray(dm.reshape(WINDOW * WINDOW, k, -1))


# ----- compiled kernels: per (image, channel) plane, a row pass then a column pass per tile row ---------
_2, _4, _5, _8 = np.float32(2), np.float32(4), np.float32(5), np.float32(8)


@jit(parallel=True)
def _input_transform(x, top, left, th, tw, v):  # pragma: no cover - compiled
    n_images, channels, height, width = x.shape
    row_len = 4 * tw + 2
    for plane in prange(n_images * channels):
        n, c = plane // channels, plane % channels
        rows = np.zeros((6, row_len), x.dtype)
        t = np.empty((6, row_len), x.dtype)
        for ty in range(th):
            for i in range(6):
                r = 4 * ty + i - top
                if 0 <= r < height:
                    for q in range(row_len):
                        col = q - left
                        rows[i, q] = x[n, c, r, col] if 0 <= col < width else 0
                else:
                    rows[i, :] = 0
            for q in range(row_len):  # t = B^T d along the rows
                d0, d1, d2, d3, d4, d5 = rows[0, q], rows[1, q], rows[2, q], rows[3, q], rows[4, q], rows[5, q]
                t[0, q] = _4 * d0 - _5 * d2 + d4
                t[1, q] = -_4 * (d1 + d2) + d3 + d4
                t[2, q] = _4 * (d1 - d2) - d3 + d4
                t[3, q] = _2 * (d3 - d1) - d2 + d4
                t[4, q] = _2 * (d1 - d3) - d2 + d4
                t[5, q] = _4 * d1 - _5 * d3 + d5
            p0 = (n * th + ty) * tw
            for a in range(6):  # then (B^T d) B along the columns of each tile
                for tx in range(tw):
                    q = 4 * tx
                    d0, d1, d2, d3, d4, d5 = t[a, q], t[a, q + 1], t[a, q + 2], t[a, q + 3], t[a, q + 4], t[a, q + 5]
                    v[6 * a, c, p0 + tx] = _4 * d0 - _5 * d2 + d4
                    v[6 * a + 1, c, p0 + tx] = -_4 * (d1 + d2) + d3 + d4
                    v[6 * a + 2, c, p0 + tx] = _4 * (d1 - d2) - d3 + d4
                    v[6 * a + 3, c, p0 + tx] = _2 * (d3 - d1) - d2 + d4
                    v[6 * a + 4, c, p0 + tx] = _2 * (d1 - d3) - d2 + d4
                    v[6 * a + 5, c, p0 + tx] = _4 * d1 - _5 * d3 + d5


@jit(parallel=True)
def _output_transform(m, th, tw, bias, y):  # pragma: no cover - compiled
    n_images, channels, height, width = y.shape
    row_len = 4 * tw
    has_bias = bias.shape[0] > 0
    for plane in prange(n_images * channels):
        n, k = plane // channels, plane % channels
        t = np.empty((6, row_len), y.dtype)
        out = np.empty((4, row_len), y.dtype)
        shift = bias[k] if has_bias else y.dtype.type(0)
        for ty in range(th):
            p0 = (n * th + ty) * tw
            for a in range(6):  # M A along the columns of each tile
                for tx in range(tw):
                    p = p0 + tx
                    m0, m1, m2 = m[6 * a, k, p], m[6 * a + 1, k, p], m[6 * a + 2, k, p]
                    m3, m4, m5 = m[6 * a + 3, k, p], m[6 * a + 4, k, p], m[6 * a + 5, k, p]
                    q = 4 * tx
                    t[a, q] = m0 + (m1 + m2) + (m3 + m4)
                    t[a, q + 1] = (m1 - m2) + _2 * (m3 - m4)
                    t[a, q + 2] = (m1 + m2) + _4 * (m3 + m4)
                    t[a, q + 3] = (m1 - m2) + _8 * (m3 - m4) + m5
            for q in range(row_len):  # then A^T (M A) along the rows
                m0, m1, m2, m3, m4, m5 = t[0, q], t[1, q], t[2, q], t[3, q], t[4, q], t[5, q]
                out[0, q] = m0 + (m1 + m2) + (m3 + m4) + shift
                out[1, q] = (m1 - m2) + _2 * (m3 - m4) + shift
                out[2, q] = (m1 + m2) + _4 * (m3 + m4) + shift
                out[3, q] = (m1 - m2) + _8 * (m3 - m4) + m5 + shift
            for i in range(4):
                r = 4 * ty + i
                if r < height:
                    for col in range(width):
                        y[n, k, r, col] = out[i, col]


@jit(parallel=True)
def _output_transform_adjoint(g, th, tw, dm):  # pragma: no cover - compiled
    n_images, channels, height, width = g.shape
    row_len = 4 * tw
    for plane in prange(n_images * channels):
        n, k = plane // channels, plane % channels
        rows = np.zeros((4, row_len), g.dtype)
        t = np.empty((6, row_len), g.dtype)
        for ty in range(th):
            for i in range(4):
                r = 4 * ty + i
                if r < height:
                    for col in range(width):
                        rows[i, col] = g[n, k, r, col]
                else:
                    rows[i, :] = 0
            for q in range(row_len):  # t = A g along the rows
                g0, g1, g2, g3 = rows[0, q], rows[1, q], rows[2, q], rows[3, q]
                t[0, q] = g0
                t[1, q] = (g0 + g2) + (g1 + g3)
                t[2, q] = (g0 + g2) - (g1 + g3)
                t[3, q] = g0 + _2 * g1 + _4 * g2 + _8 * g3
                t[4, q] = g0 - _2 * g1 + _4 * g2 - _8 * g3
                t[5, q] = g3
            p0 = (n * th + ty) * tw
            for a in range(6):  # then (A g) A^T along the columns of each tile
                for tx in range(tw):
                    q = 4 * tx
                    g0, g1, g2, g3 = t[a, q], t[a, q + 1], t[a, q + 2], t[a, q + 3]
                    p = p0 + tx
                    dm[6 * a, k, p] = g0
                    dm[6 * a + 1, k, p] = (g0 + g2) + (g1 + g3)
                    dm[6 * a + 2, k, p] = (g0 + g2) - (g1 + g3)
                    dm[6 * a + 3, k, p] = g0 + _2 * g1 + _4 * g2 + _8 * g3
                    dm[6 * a + 4, k, p] = g0 - _2 * g1 + _4 * g2 - _8 * g3
                    dm[6 * a + 5, k, p] = g3


def input_transform_fast(x: Any, top: int, left: int, tiles: tuple[int, int]) -> Any:
    v = np.empty((WINDOW * WINDOW, x.shape[1], x.shape[0] * tiles[0] * tiles[1]), x.dtype)
    _input_transform(np.ascontiguousarray(x), top, left, tiles[0], tiles[1], v)
    return v


def output_transform_fast(m: Any, out_shape: tuple[int, int, int, int], tiles: tuple[int, int],
                          bias: Any = None) -> Any:
    y = np.empty(out_shape, m.dtype)
    _output_transform(m, tiles[0], tiles[1], np.zeros(0, m.dtype) if bias is None else bias.astype(m.dtype), y)
    return y


def output_transform_adjoint_fast(g: Any, tiles: tuple[int, int]) -> Any:
    n, k = g.shape[:2]
    dm = np.empty((WINDOW * WINDOW, k, n * tiles[0] * tiles[1]), g.dtype)
    _output_transform_adjoint(np.ascontiguousarray(g), tiles[0], tiles[1], dm)
    return dm


def _output_transform_reference_with_bias(m: Any, out_shape: tuple[int, int, int, int], tiles: tuple[int, int],
                                          bias: Any = None) -> Any:
    y = output_transform_reference(m, out_shape, tiles)
    return y if bias is None else y + bias.reshape(1, -1, 1, 1).astype(y.dtype)


input_transform = choose(input_transform_fast, input_transform_reference)
output_transform = choose(output_transform_fast, _output_transform_reference_with_bias)
output_transform_adjoint = choose(output_transform_adjoint_fast, output_transform_adjoint_reference)


# ----- the convolution and its gradients ----------------------------------------------------------------
def correlate3x3(x: Any, weight: Any, pads: tuple[int, int], out_hw: tuple[int, int], bias: Any = None) -> Any:
    """y = x (*) w for a 3x3 kernel at stride 1, x padded by pads = (top, left) (the bottom/right pads follow
    from out_hw)"""
    tiles = tiles_for(out_hw)
    v = input_transform(x, pads[0], pads[1], tiles)
    m = np.matmul(filter_transform(weight), v)
    return output_transform(m, (x.shape[0], weight.shape[0]) + tuple(out_hw), tiles, bias)


def weight_grad3x3(g: Any, x: Any, pads: tuple[int, int]) -> Any:
    """dW[k, c, i, j] = sum_{n, y, x} g[n, k, y, x] x_padded[n, c, y + i, x + j], in the Winograd domain"""
    tiles = tiles_for(g.shape[2:])
    v = input_transform(x, pads[0], pads[1], tiles)
    dm = output_transform_adjoint(g, tiles)
    return filter_transform_adjoint(np.matmul(dm, v.transpose(0, 2, 1)))
