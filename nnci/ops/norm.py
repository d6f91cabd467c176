"""Batch normalisation over the batch and spatial dims of (N, C) or (N, C, ...) arrays."""
from __future__ import annotations

from ..backend import xp
from ..tensor import Function


def _channel_sum(a):
    """sum over every dim but 1, reducing the contiguous trailing dims first (fast, pairwise)."""
    return a.reshape(a.shape[0], a.shape[1], -1).sum(axis=2).sum(axis=0)


def _channel_dot(a, b):
    """sum over every dim but 1 of a * b, without a temporary."""
    n, c = a.shape[:2]
    return xp.einsum("ncl,ncl->c", a.reshape(n, c, -1), b.reshape(n, c, -1))


class BatchNorm(Function):
    """y = (x - mu) / sqrt(var + eps) w + b, with mu, var of the batch (training) or given (eval).

    Training backward, xhat = (x - mu) / s, s = sqrt(var + eps), m = count per channel:
      dx = (w / s) (g - sum(g) / m - xhat sum(g xhat) / m);  dw = sum(g xhat);  db = sum(g)
    Eval backward: dx = g w / s.
    The batch statistics (mean, biased var) are left in `stats` for the running averages.
    """
    def forward(self, x, *affine, mean, var, eps, stats):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        self.shape, self.batch_stats, self.x = shape, mean is None, x
        count = x.size // x.shape[1]
        if mean is None:
            mean = _channel_sum(x) / count
            centered = x - mean.reshape(shape)
            var = _channel_dot(centered, centered) / count
            stats["mean"], stats["var"], stats["count"] = mean, var, count
        else:
            centered = x - mean.reshape(shape).astype(x.dtype)
        self.mean = mean.astype(x.dtype)
        self.inv_std = (1.0 / xp.sqrt(var + eps)).astype(x.dtype)
        self.weight = affine[0] if affine else None
        scale = self.inv_std * self.weight if affine else self.inv_std
        centered *= scale.reshape(shape)  # y is built in place: no further full-size arrays
        if affine:
            centered += affine[1].reshape(shape)
        return centered

    def backward(self, g):
        shape, inv_std = self.shape, self.inv_std
        scale = inv_std * self.weight if self.weight is not None else inv_std
        centered = self.x - self.mean.reshape(shape)
        sum_g = _channel_sum(g)
        sum_g_centered = _channel_dot(g, centered)
        dx = dw = db = None
        if self.needs_input_grad[0]:
            dx = g * scale.reshape(shape)
            if self.batch_stats:
                count = g.size // g.shape[1]
                centered *= (-scale * inv_std * inv_std * sum_g_centered / count).reshape(shape)
                dx += centered
                dx -= (scale * sum_g / count).reshape(shape)
        if self.weight is not None:
            dw, db = inv_std * sum_g_centered, sum_g
        self.x = None
        return dx, dw, db
