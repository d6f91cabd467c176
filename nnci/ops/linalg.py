"""Matrix products."""
from __future__ import annotations

from ..backend import xp
from ..tensor import Function, Tensor, as_tensor
from .shape import squeeze, unsqueeze


class MatMul(Function):
    """y = a @ b (batched, broadcast);  da = g @ b^T, db = a^T @ g"""
    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        da = g @ xp.swapaxes(self.b, -1, -2) if self.needs_input_grad[0] else None
        db = xp.swapaxes(self.a, -1, -2) @ g if self.needs_input_grad[1] else None
        return da, db


def matmul(a: Tensor, b: Tensor, op: str = "matmul") -> Tensor:
    """a @ b with numpy/torch rules for 1-D operands and batch broadcasting"""
    a, b = as_tensor(a), as_tensor(b, like=a)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"{op}: both operands need at least one dim, got shapes {a.shape} and {b.shape}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be multiplied ({k_a} != {k_b})")
    if a.ndim == 1 and b.ndim == 1:
        return (a * b).sum()
    if a.ndim == 1:
        return squeeze(MatMul.apply(unsqueeze(a, 0), b), -2)
    if b.ndim == 1:
        return squeeze(MatMul.apply(a, unsqueeze(b, 1)), -1)
    try:
        xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: batch dims of shapes {a.shape} and {b.shape} do not broadcast") from None
    return MatMul.apply(a, b)
