"""Gradient utilities."""
from __future__ import annotations

from typing import Iterable

from ..backend import xp
from ..tensor import Tensor


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0) -> Tensor:
    """Scale all grads by min(1, max_norm / (||g|| + 1e-6)); returns the total norm ||g||."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad.data for p in params if p.grad is not None]
    if not grads:
        return Tensor(xp.zeros((), xp.float32))
    if norm_type == float("inf"):
        total = max(float(xp.abs(g).max()) for g in grads)
    else:
        total = float(sum(float((xp.abs(g.astype(xp.float64)) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type))
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in params:
            if p.grad is not None:
                p.grad.data *= xp.asarray(coef, p.grad.dtype)
    return Tensor(xp.asarray(total, grads[0].dtype))
