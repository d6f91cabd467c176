"""Batch normalisation modules."""
from __future__ import annotations

from ..backend import default_dtype, xp
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter


class _BatchNorm(Module):
    """y = (x - mean) / sqrt(var + eps) w + b: batch statistics in training, running ones in eval"""

    expected_dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=None) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = dtype or default_dtype
        if affine:
            self.weight = Parameter(xp.ones(num_features, dtype))
            self.bias = Parameter(xp.zeros(num_features, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(xp.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(xp.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(xp.zeros((), xp.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.expected_dims or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected input of {' or '.join(map(str, self.expected_dims))} dims with "
                             f"{self.num_features} channels in dim 1, got shape {x.shape}")
        if not self.track_running_stats:  # always normalise by the batch, keep nothing
            return F.batch_norm(x, None, None, self.weight, self.bias, training=True, eps=self.eps)
        if self.training:
            self.num_batches_tracked.data = self.num_batches_tracked.data + 1
            # momentum None means a cumulative moving average, as in torch
            momentum = 1.0 / float(self.num_batches_tracked.data) if self.momentum is None else self.momentum
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, training=True,
                                momentum=momentum, eps=self.eps)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, training=False,
                            eps=self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L)"""
    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W)"""
    expected_dims = (4,)
