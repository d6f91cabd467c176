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

The reference twins below compute each step over the whole batch with einsum and matmul, as the formulas read. The
compiled pipeline does the same per block of tiles, so that a block's V and M (36 x channels x ~128 tiles) stay in
the core's cache: each thread transforms a block, runs the 36 GEMMs on it with single-threaded BLAS, and
transforms back, instead of streaming the whole V and M through memory between three passes. The transforms are
exact in real arithmetic; in float32 their rounding adds a relative error of about 1e-5 (tests/test_kernels.py
measures it).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import choose, jit, numba, prange, single_threaded_blas

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
_G_KRON = np.kron(G, G)  # (36, 9): U[(a, b)] = sum_(i, j) G[a, i] G[b, j] w[i, j] as one matrix


def filter_transform_reference(weight: Any) -> Any:
    """U[(a, b), k, c] = (G w[k, c] G^T)[a, b]: one (K C, 9) @ (9, 36) GEMM"""
    k, c = weight.shape[:2]
    u = weight.reshape(k * c, 9) @ _G_KRON.T.astype(weight.dtype)
    return np.ascontiguousarray(u.T).reshape(WINDOW * WINDOW, k, c)


def filter_transform_adjoint_reference(du: Any) -> Any:
    """dW[k, c] = G^T dU[:, k, c] G (the adjoint of filter_transform)"""
    k, c = du.shape[1:]
    return (_G_KRON.T.astype(du.dtype) @ du.reshape(WINDOW * WINDOW, k * c)).T.reshape(k, c, 3, 3).copy()


# The compiled twins keep the filter transforms off BLAS: a BLAS call wakes its thread pool, whose threads then
# spin for a while on the cores that the next compiled kernel's threads need. Both are one small matrix (G (x) G,
# or its transpose) times the kernel held tap-major ((9, pairs): unit-stride loops over the pairs, which
# vectorise), skipping the matrix's zeros; one thread, as the whole transform is a few microseconds of
# arithmetic, less than a parallel launch costs.
@jit()
def _sparse_rows_product(matrix, rows, out):  # pragma: no cover - compiled
    for r in range(matrix.shape[0]):
        target = out[r]
        target[:] = 0
        for s in range(matrix.shape[1]):
            if matrix[r, s] != 0:
                weight, source = matrix[r, s], rows[s]
                for pair in range(target.shape[0]):
                    target[pair] += weight * source[pair]


def filter_transform_fast(weight: Any) -> Any:
    k, c = weight.shape[:2]
    u = np.empty((WINDOW * WINDOW, k * c), weight.dtype)
    _sparse_rows_product(_G_KRON.astype(weight.dtype), np.ascontiguousarray(weight.reshape(k * c, 9).T), u)
    return u.reshape(WINDOW * WINDOW, k, c)


def filter_transform_adjoint_fast(du: Any) -> Any:
    k, c = du.shape[1:]
    taps = np.empty((9, k * c), du.dtype)
    _sparse_rows_product(np.ascontiguousarray(_G_KRON.T, du.dtype), np.ascontiguousarray(du).reshape(WINDOW * WINDOW, k * c),
                         taps)
    return np.ascontiguousarray(taps.T).reshape(k, c, 3, 3)


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


# ----- compiled pipeline --------------------------------------------------------------------------------
# A block is `rows_per_block` tile rows of one image (tile rows past the image read zeros and are never written
# out). Each transform is a column pass and a row pass. The column pass runs per tile row over a whole padded row
# (unit stride) into a buffer that holds the block's rows one after the other, 4 tw columns each; the row pass
# then runs over every tile of the block at once, tile f reading columns 4 f .. 4 f + 5 of that buffer: one
# loop of ~128 tiles whose reads LLVM vectorises as interleaved groups, where a tile row alone has ~10 tiles,
# less than a vector. The input windows overlap by two columns, so the last tile of each row reads the next
# row's first two there; their own two (columns 4 tw, 4 tw + 1) wait in `edge`, and those tiles are redone.
_2, _4, _5, _8 = np.float32(2), np.float32(4), np.float32(5), np.float32(8)
BLOCK_TILES = 128  # tiles per block: V and M of a 64-channel block are 36 x 64 x 128 floats, ~1.2 MB each
SLAB_PAD = 48  # floats between the 36 slabs of a block's V and M: slab starts off the same cache sets


@jit()
def _b_transpose(d0, d1, d2, d3, d4, d5):  # pragma: no cover - compiled
    """B^T d for one column (or row) of six values: the input transform's 1-D step"""
    return (_4 * d0 - _5 * d2 + d4, -_4 * (d1 + d2) + d3 + d4, _4 * (d1 - d2) - d3 + d4,
            _2 * (d3 - d1) - d2 + d4, _2 * (d1 - d3) - d2 + d4, _4 * d1 - _5 * d3 + d5)


@jit()
def _a_transpose(m0, m1, m2, m3, m4, m5):  # pragma: no cover - compiled
    """A^T m for six values: the output transform's 1-D step"""
    return (m0 + (m1 + m2) + (m3 + m4), (m1 - m2) + _2 * (m3 - m4), (m1 + m2) + _4 * (m3 + m4),
            (m1 - m2) + _8 * (m3 - m4) + m5)


@jit()
def _a(g0, g1, g2, g3):  # pragma: no cover - compiled
    """A g for four values: the 1-D step of the output transform's adjoint"""
    return (g0, (g0 + g2) + (g1 + g3), (g0 + g2) - (g1 + g3), g0 + _2 * g1 + _4 * g2 + _8 * g3,
            g0 - _2 * g1 + _4 * g2 - _8 * g3, g3)


@jit()
def _input_block(x, row0, rows_per_block, th, top, left, tw, v, stride, offset, rows, t, edge, quads):  # pragma: no cover
    n_images, channels, height, width = x.shape
    span = 4 * tw  # buffer columns per tile row
    count = rows_per_block * tw
    for c in range(channels):
        for row in range(row0, row0 + rows_per_block):
            n, ty = row // th, row % th
            if n >= n_images:  # past the last image: zero tiles
                n, ty = 0, (height + top + 8) // 4
            for i in range(6):
                r, line = 4 * ty + i - top, rows[i]
                if 0 <= r < height:
                    source = x[n, c, r]
                    line[:left] = 0
                    line[left:left + width] = source
                    line[left + width:span + 2] = 0
                else:
                    line[:span + 2] = 0
            s = (row - row0) * span
            i0, i1, i2, i3, i4, i5 = rows[0], rows[1], rows[2], rows[3], rows[4], rows[5]
            t0, t1, t2 = t[0, s:s + span], t[1, s:s + span], t[2, s:s + span]
            t3, t4, t5 = t[3, s:s + span], t[4, s:s + span], t[5, s:s + span]
            for q in range(span):  # B^T d down the columns
                t0[q], t1[q], t2[q], t3[q], t4[q], t5[q] = _b_transpose(i0[q], i1[q], i2[q], i3[q], i4[q], i5[q])
            ends = edge[:, row - row0]  # (6, 2): B^T d of the window's two columns past the row's tiles
            for j in range(2):
                q = span + j
                ends[0, j], ends[1, j], ends[2, j], ends[3, j], ends[4, j], ends[5, j] = _b_transpose(
                    i0[q], i1[q], i2[q], i3[q], i4[q], i5[q])
        base = c * stride + offset
        for a in range(6):  # then (B^T d) B along the rows, every tile of the block at once
            ta = t[a]  # one-dimensional views: loops over them vectorise, over 2-D indexing they did not
            q0, q1, q2, q3 = quads[0], quads[1], quads[2], quads[3]
            for f in range(count + 1):  # columns 4 f + j into q_j: whole groups of four, which LLVM shuffles
                q0[f], q1[f], q2[f], q3[f] = ta[4 * f], ta[4 * f + 1], ta[4 * f + 2], ta[4 * f + 3]
            v0, v1, v2 = v[6 * a, base:base + count], v[6 * a + 1, base:base + count], v[6 * a + 2, base:base + count]
            v3, v4, v5 = v[6 * a + 3, base:base + count], v[6 * a + 4, base:base + count], v[6 * a + 5, base:base + count]
            for f in range(count):  # tile f's columns 4 f .. 4 f + 5, all at unit stride
                v0[f], v1[f], v2[f], v3[f], v4[f], v5[f] = _b_transpose(q0[f], q1[f], q2[f], q3[f], q0[f + 1], q1[f + 1])
            for r in range(rows_per_block):  # each row's last tile again, with its own last two columns
                f = r * tw + tw - 1
                v0[f], v1[f], v2[f], v3[f], v4[f], v5[f] = _b_transpose(
                    ta[4 * f], ta[4 * f + 1], ta[4 * f + 2], ta[4 * f + 3], edge[a, r, 0], edge[a, r, 1])


@jit()
def _output_block(m, row0, rows_per_block, th, tw, bias, y, t, out):  # pragma: no cover - compiled
    n_images, channels, height, width = y.shape
    span = 4 * tw
    pb = rows_per_block * tw
    for k in range(channels):
        shift = bias[k] if bias.shape[0] > 0 else y.dtype.type(0)
        base = k * pb
        for a in range(6):  # M A along the rows, 4 values per tile, every tile of the block at once
            ta = t[a]
            r0, r1, r2 = m[6 * a, base:base + pb], m[6 * a + 1, base:base + pb], m[6 * a + 2, base:base + pb]
            r3, r4, r5 = m[6 * a + 3, base:base + pb], m[6 * a + 4, base:base + pb], m[6 * a + 5, base:base + pb]
            for f in range(pb):
                ta[4 * f], ta[4 * f + 1], ta[4 * f + 2], ta[4 * f + 3] = _a_transpose(r0[f], r1[f], r2[f], r3[f], r4[f], r5[f])
        for row in range(row0, min(row0 + rows_per_block, n_images * th)):
            n, ty = row // th, row % th
            s = (row - row0) * span
            t0, t1, t2 = t[0, s:s + span], t[1, s:s + span], t[2, s:s + span]
            t3, t4, t5 = t[3, s:s + span], t[4, s:s + span], t[5, s:s + span]
            out0, out1, out2, out3 = out[0], out[1], out[2], out[3]
            for col in range(width):  # then A^T (M A) down the columns
                y0, y1, y2, y3 = _a_transpose(t0[col], t1[col], t2[col], t3[col], t4[col], t5[col])
                out0[col], out1[col], out2[col], out3[col] = y0 + shift, y1 + shift, y2 + shift, y3 + shift
            for i in range(min(4, height - 4 * ty)):
                for col in range(width):
                    y[n, k, 4 * ty + i, col] = out[i, col]


@jit()
def _output_adjoint_block(g, row0, rows_per_block, th, tw, dm, stride, offset, rows, t):  # pragma: no cover
    n_images, channels, height, width = g.shape
    span = 4 * tw
    count = rows_per_block * tw
    for k in range(channels):
        for row in range(row0, row0 + rows_per_block):
            n, ty = row // th, row % th
            for i in range(4):
                r, line = 4 * ty + i, rows[i]
                if r < height and n < n_images:
                    line[:width] = g[n, k, r]
                    line[width:span] = 0
                else:
                    line[:span] = 0
            s = (row - row0) * span
            i0, i1, i2, i3 = rows[0], rows[1], rows[2], rows[3]
            t0, t1, t2 = t[0, s:s + span], t[1, s:s + span], t[2, s:s + span]
            t3, t4, t5 = t[3, s:s + span], t[4, s:s + span], t[5, s:s + span]
            for col in range(span):  # A g down the columns
                t0[col], t1[col], t2[col], t3[col], t4[col], t5[col] = _a(i0[col], i1[col], i2[col], i3[col])
        base = k * stride + offset
        for a in range(6):  # then (A g) A^T along the rows, every tile of the block at once
            ta = t[a]
            o0, o1, o2 = dm[6 * a, base:base + count], dm[6 * a + 1, base:base + count], dm[6 * a + 2, base:base + count]
            o3, o4, o5 = dm[6 * a + 3, base:base + count], dm[6 * a + 4, base:base + count], dm[6 * a + 5, base:base + count]
            for f in range(count):
                o0[f], o1[f], o2[f], o3[f], o4[f], o5[f] = _a(ta[4 * f], ta[4 * f + 1], ta[4 * f + 2], ta[4 * f + 3])


@jit(parallel=True)
def _correlate(x, u, bias, top, left, th, tw, rows_per_block, workers, y):  # pragma: no cover - compiled
    channels, out_channels = x.shape[1], u.shape[1]
    blocks = -(-(x.shape[0] * th) // rows_per_block)
    pb = rows_per_block * tw
    for worker in prange(workers):
        v = np.empty((36, channels * pb + SLAB_PAD), x.dtype)
        m = np.empty((36, out_channels * pb + SLAB_PAD), x.dtype)
        rows = np.empty((6, 4 * tw + 8), x.dtype)
        t = np.empty((6, rows_per_block * 4 * tw + 8), x.dtype)
        edge = np.empty((6, rows_per_block, 2), x.dtype)
        quads = np.empty((4, pb + 8), x.dtype)
        out = np.empty((4, 4 * tw), x.dtype)
        for b in range(worker * blocks // workers, (worker + 1) * blocks // workers):
            _input_block(x, b * rows_per_block, rows_per_block, th, top, left, tw, v, pb, 0, rows, t, edge, quads)
            for e in range(36):
                np.dot(u[e], v[e, :channels * pb].reshape(channels, pb), m[e, :out_channels * pb].reshape(out_channels, pb))
            _output_block(m, b * rows_per_block, rows_per_block, th, tw, bias, y, t, out)


@jit(parallel=True)
def _transform_for_weight_grad(x, g, top, left, th, tw, rows_per_block, workers, v, dm):  # pragma: no cover
    rows_total = x.shape[0] * th
    blocks = -(-rows_total // rows_per_block)
    count = rows_total * tw
    for worker in prange(workers):
        rows = np.empty((6, 4 * tw + 8), x.dtype)
        t = np.empty((6, rows_per_block * 4 * tw + 8), x.dtype)
        edge = np.empty((6, rows_per_block, 2), x.dtype)
        quads = np.empty((4, rows_per_block * tw + 8), x.dtype)
        for b in range(worker * blocks // workers, (worker + 1) * blocks // workers):
            row0 = b * rows_per_block
            run = min(rows_per_block, rows_total - row0)
            _input_block(x, row0, run, th, top, left, tw, v, count, row0 * tw, rows, t, edge, quads)
            _output_adjoint_block(g, row0, run, th, tw, dm, count, row0 * tw, rows, t)


@jit(parallel=True)
def _position_gemms(dm, v, du, workers):  # pragma: no cover - compiled
    for worker in prange(workers):  # each thread its share of the 36 positions, on single-threaded BLAS
        for e in range(worker * 36 // workers, (worker + 1) * 36 // workers):
            np.dot(dm[e], v[e].T, du[e])


def _blocking(images: int, tiles: tuple[int, int], target: int) -> tuple[int, int]:
    """(tile rows per block, workers): blocks of about `target` tiles (running on across images), but at least
    one block per thread."""
    threads, rows = numba.get_num_threads(), images * tiles[0]
    rows_per_block = max(1, min(round(target / tiles[1]), -(-rows // threads)))
    return rows_per_block, max(1, min(threads, -(-rows // rows_per_block)))


def correlate3x3_fast(x: Any, weight: Any, pads: tuple[int, int], out_hw: tuple[int, int], bias: Any = None) -> Any:
    """y = x (*) w + b for a 3x3 kernel at stride 1 in float32, x padded by pads = (top, left), each 0..2 (the
    bottom/right pads follow from out_hw)"""
    tiles = tiles_for(out_hw)
    rows_per_block, workers = _blocking(x.shape[0], tiles, BLOCK_TILES)
    y = np.empty((x.shape[0], weight.shape[0]) + tuple(out_hw), x.dtype)
    shift = np.zeros(0, x.dtype) if bias is None else np.ascontiguousarray(bias, x.dtype)
    with single_threaded_blas():  # the threads are the blocks': each runs its own GEMMs
        _correlate(np.ascontiguousarray(x), filter_transform_fast(weight), shift, pads[0], pads[1], tiles[0], tiles[1],
                   rows_per_block, workers, y)
    return y


def weight_grad3x3_fast(g: Any, x: Any, pads: tuple[int, int]) -> Any:
    """dW[k, c, i, j] = sum_{n, y, x} g[n, k, y, x] x_padded[n, c, y + i, x + j] as dU = dM V^T: the transforms
    of the whole batch (compiled, threads over tile rows), then 36 GEMMs contracting over all tiles, split over
    the threads by position (BLAS's own threads split each thin K x C output poorly)"""
    tiles = tiles_for(g.shape[2:])
    count = x.shape[0] * tiles[0] * tiles[1]
    rows_per_block, workers = _blocking(x.shape[0], tiles, BLOCK_TILES)
    v = np.empty((WINDOW * WINDOW, x.shape[1], count), x.dtype)
    dm = np.empty((WINDOW * WINDOW, g.shape[1], count), x.dtype)
    _transform_for_weight_grad(np.ascontiguousarray(x), np.ascontiguousarray(g), pads[0], pads[1], tiles[0],
                               tiles[1], rows_per_block, workers, v.reshape(WINDOW * WINDOW, -1),
                               dm.reshape(WINDOW * WINDOW, -1))
    du = np.empty((WINDOW * WINDOW, g.shape[1], x.shape[1]), x.dtype)
    with single_threaded_blas():
        _position_gemms(dm, v, du, min(numba.get_num_threads(), WINDOW * WINDOW))
    return filter_transform_adjoint_fast(du)


# ----- the convolution and its gradients, reference twins -----------------------------------------------
def correlate3x3_reference(x: Any, weight: Any, pads: tuple[int, int], out_hw: tuple[int, int],
                           bias: Any = None) -> Any:
    """y = A^T [U * V] A tile by tile, over the whole batch at once"""
    tiles = tiles_for(out_hw)
    m = np.matmul(filter_transform_reference(weight), input_transform_reference(x, pads[0], pads[1], tiles))
    y = output_transform_reference(m, (x.shape[0], weight.shape[0]) + tuple(out_hw), tiles)
    return y if bias is None else y + np.asarray(bias, y.dtype).reshape(1, -1, 1, 1)


def weight_grad3x3_reference(g: Any, x: Any, pads: tuple[int, int]) -> Any:
    """dW = G^T (dM V^T) G over the whole batch at once"""
    tiles = tiles_for(g.shape[2:])
    v = input_transform_reference(x, pads[0], pads[1], tiles)
    dm = output_transform_adjoint_reference(g, tiles)
    return filter_transform_adjoint_reference(np.matmul(dm, v.transpose(0, 2, 1)))


correlate3x3 = choose(correlate3x3_fast, correlate3x3_reference)
weight_grad3x3 = choose(weight_grad3x3_fast, weight_grad3x3_reference)
