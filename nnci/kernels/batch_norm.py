"""Batch norm's passes over an (N, C, L) array (the (N, C, ...) input with its trailing dims flattened), per
channel c over its N*L values:

    statistics:   mean_c = sum x / m,  var_c = sum (x - mean_c)^2 / m                  (m = N*L, biased)
    affine:       y = (x - mean_c) a_c + b_c             (a = w / s, s = sqrt(var + eps), b = bias)
    sums:         sum_g_c = sum g,  sum_gx_c = sum g (x - mean_c)
    input grad:   dx = g a_c + (x - mean_c) k_c + j_c    (training: k = -a sum_gx / (m s^2), j = -a sum_g / m)

Compiled, each is one pass over memory with threads over channels, sums in float64 (the statistics on values
shifted by each channel's first one, so a large mean does not cancel the variance away); the NumPy twins
take 2-4 passes each and read like the formulas.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import choose, jit, prange

_REDUCE = {"contract", "reassoc"}  # sums may be reordered (vectorised): the float64 accumulators keep them exact enough


# ----- reference twins ----------------------------------------------------------------------------------
def _plane(v: Any, x: Any) -> Any:
    """v (C,) in x's dtype, broadcast over x (N, C, L) as a whole (1, C, L) plane: NumPy runs x * plane as long
    contiguous loops, x * v[:, None] as N*C short strided ones."""
    v = np.asarray(v, x.dtype).reshape(1, -1, 1)
    return np.broadcast_to(v, (1,) + x.shape[1:]).copy() if x.shape[0] > 1 else v


def statistics_reference(x: Any) -> tuple[Any, Any]:
    """mean_c = sum x / m, var_c = sum (x - mean_c)^2 / m over the N and L dims"""
    count = x.shape[0] * x.shape[2]
    mean = x.sum(axis=2).sum(axis=0) / count
    centered = x - _plane(mean, x)
    return mean, np.einsum("ncl,ncl->c", centered, centered) / count


def affine_reference(x: Any, mean: Any, a: Any, b: Any) -> Any:
    """y = (x - mean_c) a_c + b_c"""
    y = x - _plane(mean, x)
    y *= _plane(a, x)
    y += _plane(b, x)
    return y


def sums_reference(g: Any, x: Any, mean: Any) -> tuple[Any, Any]:
    """sum_g_c = sum g, sum_gx_c = sum g (x - mean_c)"""
    return g.sum(axis=2).sum(axis=0), np.einsum("ncl,ncl->c", g, x - _plane(mean, x))


def input_grad_reference(g: Any, x: Any, mean: Any, a: Any, k: Any, j: Any) -> Any:
    """dx = g a_c + (x - mean_c) k_c + j_c"""
    dx = g * _plane(a, g)
    centered = x - _plane(mean, x)
    centered *= _plane(k, x)
    dx += centered
    dx += _plane(j, x)
    return dx


# ----- compiled -----------------------------------------------------------------------------------------
@jit(parallel=True, fastmath=_REDUCE)
def _statistics(x, mean, var):  # pragma: no cover - compiled
    n, c, length = x.shape
    for ch in prange(c):
        shift = np.float64(x[0, ch, 0])
        total = 0.0
        squares = 0.0
        for i in range(n):
            for p in range(length):
                d = np.float64(x[i, ch, p]) - shift
                total += d
                squares += d * d
        m = total / (n * length)
        mean[ch] = shift + m
        var[ch] = max(squares / (n * length) - m * m, 0.0)


@jit(parallel=True)
def _affine(x, mean, a, b, y):  # pragma: no cover - compiled
    n, c, length = x.shape
    for ch in prange(c):
        centre, scale, offset = mean[ch], a[ch], b[ch]
        for i in range(n):
            for p in range(length):
                y[i, ch, p] = (x[i, ch, p] - centre) * scale + offset


@jit(parallel=True, fastmath=_REDUCE)
def _sums(g, x, mean, sum_g, sum_gx):  # pragma: no cover - compiled
    n, c, length = g.shape
    for ch in prange(c):
        centre = mean[ch]
        total = 0.0
        products = 0.0
        for i in range(n):
            for p in range(length):
                gv = np.float64(g[i, ch, p])
                total += gv
                products += gv * (np.float64(x[i, ch, p]) - centre)
        sum_g[ch] = total
        sum_gx[ch] = products


@jit(parallel=True)
def _input_grad(g, x, mean, a, k, j, dx):  # pragma: no cover - compiled
    n, c, length = g.shape
    for ch in prange(c):
        centre, ga, xk, shift = mean[ch], a[ch], k[ch], j[ch]
        for i in range(n):
            for p in range(length):
                dx[i, ch, p] = g[i, ch, p] * ga + (x[i, ch, p] - centre) * xk + shift


def statistics_fast(x: Any) -> tuple[Any, Any]:
    mean, var = np.empty(x.shape[1]), np.empty(x.shape[1])
    _statistics(x, mean, var)
    return mean, var


def affine_fast(x: Any, mean: Any, a: Any, b: Any) -> Any:
    y = np.empty_like(x)
    _affine(x, *(np.asarray(v, x.dtype) for v in (mean, a, b)), y)
    return y


def sums_fast(g: Any, x: Any, mean: Any) -> tuple[Any, Any]:
    sum_g, sum_gx = np.empty(g.shape[1]), np.empty(g.shape[1])
    _sums(g, x, np.asarray(mean, np.float64), sum_g, sum_gx)
    return sum_g, sum_gx


def input_grad_fast(g: Any, x: Any, mean: Any, a: Any, k: Any, j: Any) -> Any:
    dx = np.empty_like(g)
    _input_grad(g, x, *(np.asarray(v, g.dtype) for v in (mean, a, k, j)), dx)
    return dx


def _compiled_for(x: Any, *rest: Any) -> bool:
    """The loops are compiled for float32 and float64, and the statistics read each channel's first value."""
    return x.dtype in (np.float32, np.float64) and x.size > 0


statistics = choose(statistics_fast, statistics_reference, _compiled_for)
affine = choose(affine_fast, affine_reference, _compiled_for)
sums = choose(sums_fast, sums_reference, _compiled_for)
input_grad = choose(input_grad_fast, input_grad_reference, _compiled_for)
