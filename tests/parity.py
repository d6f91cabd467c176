"""One helper compares an nnci computation with the same computation in torch, forward and backward.

`check(fn_nnci, fn_torch, *arrays)` feeds the same arrays to both, compares the outputs, then
back-propagates the same random upstream gradient through both and compares every input's
gradient. Tolerances are tight for float64 (so a wrong formula cannot hide) and float32-sized
for float32.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

import nnci

TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-5)}


def _as_list(out: Any) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def check(fn_nnci: Callable, fn_torch: Callable, *arrays: np.ndarray, grad: bool = True,
          rtol: float | None = None, atol: float | None = None, seed: int = 0) -> None:
    """Assert fn_nnci(*arrays) == fn_torch(*arrays) and d/d(arrays) agree for a random upstream grad."""
    float_dtype = next((a.dtype.type for a in arrays if a.dtype.kind == "f"), np.float32)
    tol = dict(TOL[float_dtype])
    if rtol is not None:
        tol["rtol"] = rtol
    if atol is not None:
        tol["atol"] = atol
    ours = [nnci.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    out_ours, out_theirs = _as_list(fn_nnci(*ours)), _as_list(fn_torch(*theirs))
    assert len(out_ours) == len(out_theirs)
    for o, t in zip(out_ours, out_theirs):
        expected = t.detach().numpy()
        assert o.shape == tuple(expected.shape), f"shape {o.shape} != torch {tuple(expected.shape)}"
        assert o.dtype == expected.dtype, f"dtype {o.dtype} != torch {expected.dtype}"
        np.testing.assert_allclose(o.detach().numpy(), expected, **tol, err_msg="forward differs from torch")
    if not grad:
        return
    rng = np.random.default_rng(seed + 1)
    differentiable = [(o, t) for o, t in zip(out_ours, out_theirs) if t.requires_grad]
    if not differentiable:
        return
    total_ours, total_theirs = 0, 0
    for o, t in differentiable:
        upstream = rng.standard_normal(o.shape).astype(o.dtype)
        total_ours = total_ours + (o * nnci.tensor(upstream)).sum()
        total_theirs = total_theirs + (t * torch.tensor(upstream)).sum()
    total_ours.backward()
    total_theirs.backward()
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if not b.requires_grad:
            continue
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad.numpy()), f"input {i}: torch has no grad, nnci has one"
            continue
        assert a.grad is not None, f"input {i}: no gradient reached it"
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol, err_msg=f"gradient of input {i} differs")


def numerical_check(fn: Callable, *arrays: np.ndarray, eps: float = 1e-6, rtol: float = 1e-5, seed: int = 0) -> None:
    """Independent of torch: compare autodiff's vector-Jacobian product with central differences (float64).

    For a random upstream u and random direction v: <u, J v> from finite differences of
    f along v must equal <J^T u, v> from backward.
    """
    rng = np.random.default_rng(seed)
    arrays = [a.astype(np.float64) for a in arrays]
    inputs = [nnci.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    upstream = rng.standard_normal(out.shape)
    (out * nnci.tensor(upstream)).sum().backward()
    directions = [rng.standard_normal(a.shape) for a in arrays]
    analytic = sum(float((t.grad.numpy() * d).sum()) for t, d in zip(inputs, directions))
    with nnci.no_grad():
        plus = fn(*[nnci.tensor(a + eps * d) for a, d in zip(arrays, directions)]).detach().numpy()
        minus = fn(*[nnci.tensor(a - eps * d) for a, d in zip(arrays, directions)]).detach().numpy()
    numeric = float(((plus - minus) / (2 * eps) * upstream).sum())
    assert abs(analytic - numeric) <= rtol * max(1.0, abs(numeric)), f"VJP {analytic} vs finite differences {numeric}"
