"""Normalisation: batch norm as one op over the batch and spatial dims of (N, C, ...) arrays; layer, group,
instance and local response norm composed from reductions."""
from __future__ import annotations

from typing import Any

from ..autograd.grad_mode import no_grad
from ..autograd.graph import Op
from ..backend import xp
from ..kernels import batch_norm as passes
from ..tensor import Tensor


class BatchNorm(Op):
    """y = (x - mu) / sqrt(var + eps) w + b, with mu, var of the batch (training) or given (eval).

    Training backward, xhat = (x - mu) / s, s = sqrt(var + eps), m = count per channel:
      dx = (w / s) (g - sum(g) / m - xhat sum(g xhat) / m);  dw = sum(g xhat);  db = sum(g)
    Eval backward: dx = g w / s.
    The passes over the data are nnci.kernels.batch_norm's, on the (N, C, L) view of x.
    The batch statistics (mean, biased var) are left in `stats` for the running averages.
    """

    def saves(self):
        return (0, 1) if len(self.next_functions) > 1 else (0,)

    def forward(self, x, *affine, mean, var, eps, stats):
        self.batch_stats, self.shape = mean is None, x.shape
        self.x = x3 = xp.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], -1)
        if mean is None:
            mean, var = passes.statistics(x3)
            stats["mean"], stats["var"], stats["count"] = mean, var, x3.shape[0] * x3.shape[2]
        self.mean = xp.asarray(mean, x.dtype)
        self.inv_std = (1.0 / xp.sqrt(xp.asarray(var, xp.float64) + eps)).astype(x.dtype)
        self.weight = affine[0] if affine else None
        scale = self.inv_std * self.weight if affine else self.inv_std
        shift = affine[1] if affine else xp.zeros_like(scale)
        return passes.affine(x3, self.mean, scale, shift).reshape(x.shape)

    def backward(self, g):
        inv_std, x3 = self.inv_std, self.x
        scale = inv_std * self.weight if self.weight is not None else inv_std
        g3 = xp.ascontiguousarray(g).reshape(x3.shape)
        dx = dw = db = None
        if self.batch_stats or self.weight is not None:
            sum_g, sum_gx = passes.sums(g3, x3, self.mean)
        if self.needs_input_grad[0]:
            if self.batch_stats:
                count = x3.shape[0] * x3.shape[2]
                dx = passes.input_grad(g3, x3, self.mean, scale, -scale * inv_std * inv_std * sum_gx / count,
                                           -scale * sum_g / count)
            else:
                dx = passes.affine(g3, xp.zeros_like(scale), scale, xp.zeros_like(scale))
            dx = dx.reshape(self.shape)
        if self.weight is not None:
            dw, db = (inv_std * sum_gx).astype(g.dtype), sum_g.astype(g.dtype)
        self.x = None
        return dx, dw, db


# ----- functional forms -------------------------------------------------------------------------------
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) w + b per channel (dim 1); batch statistics when training (the running
    ones move towards them by momentum, with the unbiased variance, as torch), running statistics otherwise"""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...), got {tuple(input.shape)}")
    if training and input.numel() // input.shape[1] <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(input.shape)}")
    affine = () if weight is None else (weight, bias if bias is not None else _zeros_like_channel(weight))
    stats: dict = {}
    if training or running_mean is None:
        y = BatchNorm.apply(input, *affine, mean=None, var=None, eps=eps, stats=stats)
        if training and running_mean is not None:
            count = stats["count"]
            with no_grad():
                running_mean.mul_(1 - momentum).add_(Tensor._wrap(xp.asarray(stats["mean"] * momentum,
                                                                             running_mean._array.dtype)))
                unbiased = stats["var"] * (count / (count - 1))
                running_var.mul_(1 - momentum).add_(Tensor._wrap(xp.asarray(unbiased * momentum,
                                                                            running_var._array.dtype)))
        return y
    return BatchNorm.apply(input, *affine, mean=running_mean._array, var=running_var._array, eps=eps, stats=stats)


def _zeros_like_channel(weight: Tensor) -> Tensor:
    return Tensor._wrap(xp.zeros(weight._array.shape, weight._array.dtype))


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) w + b over the last len(normalized_shape) dims (biased variance)"""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape [*, "
                           f"{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    return _normalized(input, dims, weight, bias, eps)


def _normalized(x: Tensor, dims: tuple, weight: Tensor | None, bias: Tensor | None, eps: float) -> Tensor:
    from .reduce import mean
    centered = x - mean(x, dims, keepdim=True)
    y = centered * ((mean(centered * centered, dims, keepdim=True) + eps) ** -0.5)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) over each group of channels (and all positions), then w, b per channel"""
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    grouped = input.reshape(n, num_groups, -1)
    y = _normalized(grouped, (2,), None, None, eps).reshape(input.shape)
    per_channel = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(per_channel)
    if bias is not None:
        y = y + bias.reshape(per_channel)
    return y


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) per sample and channel over the spatial dims, then w, b per channel"""
    n, c = input.shape[:2]
    if use_input_stats:
        folded = input.reshape((1, n * c) + tuple(input.shape[2:]))
        rm = None if running_mean is None else Tensor._wrap(xp.tile(running_mean._array, n))
        rv = None if running_var is None else Tensor._wrap(xp.tile(running_var._array, n))
        y = batch_norm(folded, rm, rv, None, None, True, momentum, eps).reshape(input.shape)
        if running_mean is not None:
            with no_grad():
                running_mean.copy_(Tensor._wrap(rm._array.reshape(n, c).mean(axis=0)))
                running_var.copy_(Tensor._wrap(rv._array.reshape(n, c).mean(axis=0)))
    else:
        y = batch_norm(input, running_mean, running_var, None, None, False, momentum, eps)
    per_channel = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(per_channel)
    if bias is not None:
        y = y + bias.reshape(per_channel)
    return y


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """y = x / (k + alpha / size sum_{size neighbouring channels} x^2)^beta"""
    from .pool import avg_pool2d
    from .shape import pad
    squared = (input * input).unsqueeze(1)
    n, _, c = squared.shape[:3]
    flat = squared.reshape(n, 1, c, -1)
    padded = pad(flat, (0, 0, size // 2, (size - 1) // 2))
    summed = avg_pool2d(padded, (size, 1), stride=1).reshape(input.shape)
    return input / (summed * alpha + k) ** beta
