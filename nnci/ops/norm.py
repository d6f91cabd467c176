"""Batch normalisation over the batch and spatial dims of (N, C) or (N, C, ...) arrays."""
from __future__ import annotations

from ..backend import xp
from ..tensor import Function


class BatchNorm(Function):
    """y = (x - mu) / sqrt(var + eps) w + b, with mu, var of the batch (training) or given (eval).

    Training backward: dx = w / sqrt(var + eps) (g - mean(g) - xhat mean(g xhat)); dw = sum g xhat; db = sum g.
    Eval backward: dx = g w / sqrt(var + eps).
    """
    def forward(self, x, *affine, mean, var, eps, batch_stats):
        self.axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        self.batch_stats, self.shape = batch_stats, shape
        self.inv_std = (1.0 / xp.sqrt(var + eps)).astype(x.dtype).reshape(shape)
        self.xhat = (x - mean.reshape(shape).astype(x.dtype)) * self.inv_std
        self.weight = affine[0].reshape(shape) if affine else None
        if affine:
            return self.xhat * self.weight + affine[1].reshape(shape)
        return self.xhat

    def backward(self, g):
        dxhat = g * self.weight if self.weight is not None else g
        dx = dw = db = None
        if self.needs_input_grad[0]:
            if self.batch_stats:
                mean_g = dxhat.mean(axis=self.axes, keepdims=True)
                mean_gx = (dxhat * self.xhat).mean(axis=self.axes, keepdims=True)
                dx = (dxhat - mean_g - self.xhat * mean_gx) * self.inv_std
            else:
                dx = dxhat * self.inv_std
        if self.weight is not None:
            dw = (g * self.xhat).sum(axis=self.axes)
            db = g.sum(axis=self.axes)
        self.xhat = None
        return dx, dw, db
