"""MultivariateNormal and Independent (batch dims reinterpreted as event dims).

For N(mu, L L^T): log p(x) = -(k log 2 pi + ||L^-1 (x - mu)||^2) / 2 - sum log diag L,
H = k (1 + log 2 pi) / 2 + sum log diag L.
"""
from __future__ import annotations

import math
from typing import Any

from ..creation import randn
from ..linalg import cholesky, inv, solve_triangular
from ..ops.shape import broadcast_shapes
from ..tensor import Size, Tensor
from . import constraints
from .distribution import Distribution


def whitened(scale_tril: Tensor, x: Tensor) -> Tensor:
    """L^-1 x for a batch of lower-triangular L and vectors x (broadcast)"""
    shape = broadcast_shapes(scale_tril.shape[:-2], x.shape[:-1])
    n = x.shape[-1]
    columns = x.expand(shape + (n,)).unsqueeze(-1)
    return solve_triangular(scale_tril.expand(shape + (n, n)), columns, upper=False).squeeze(-1)


def mahalanobis(scale_tril: Tensor, x: Tensor) -> Tensor:
    """||L^-1 x||^2"""
    return (whitened(scale_tril, x) ** 2).sum(-1)


def sum_rightmost(value: Tensor, dims: int) -> Tensor:
    """value summed over its last `dims` dims"""
    return value.reshape(tuple(value.shape[:value.ndim - dims]) + (-1,)).sum(-1) if dims > 0 else value


class MultivariateNormal(Distribution):
    """N(loc, Sigma) with Sigma given as covariance_matrix, precision_matrix or scale_tril (L, Sigma = L L^T)"""
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Tensor, covariance_matrix: Tensor | None = None, precision_matrix: Tensor | None = None,
                 scale_tril: Tensor | None = None, validate_args: bool | None = None) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        matrix = given[0]
        if matrix.dim() < 2:
            raise ValueError("covariance_matrix, precision_matrix or scale_tril must be at least two-dimensional, "
                             "with optional leading batch dimensions")
        batch_shape = broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
        event = loc.shape[-1:]
        if scale_tril is not None:
            self.scale_tril = scale_tril.expand(batch_shape + (-1, -1))
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self.covariance_matrix = covariance_matrix.expand(batch_shape + (-1, -1))
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            self.precision_matrix = precision_matrix.expand(batch_shape + (-1, -1))
            self._unbroadcasted_scale_tril = cholesky(inv(precision_matrix))
        self.loc = loc.expand(batch_shape + (-1,))
        super().__init__(batch_shape, event, validate_args=validate_args)

    def __getattr__(self, name: str) -> Any:
        # the two matrix forms not given are computed from L on first use
        L = self.__dict__.get("_unbroadcasted_scale_tril")
        if L is None or name not in ("scale_tril", "covariance_matrix", "precision_matrix"):
            raise AttributeError(f"'MultivariateNormal' object has no attribute '{name}'")
        shape = self._batch_shape + self._event_shape + self._event_shape
        if name == "scale_tril":
            value = L.expand(shape)
        elif name == "covariance_matrix":
            value = (L @ L.mT).expand(shape)
        else:
            value = inv(L @ L.mT).expand(shape)
        self.__dict__[name] = value
        return value

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return (self._unbroadcasted_scale_tril ** 2).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        eps = randn(self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        k = self._event_shape[0]
        squared = mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (k * math.log(2 * math.pi) + squared) - half_log_det

    def entropy(self) -> Tensor:
        k = self._event_shape[0]
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        value = 0.5 * k * (1.0 + math.log(2 * math.pi)) + half_log_det
        return value.expand(self._batch_shape) if self._batch_shape else value


class Independent(Distribution):
    """base with its last reinterpreted_batch_ndims batch dims read as event dims: log p summed over them"""
    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, reinterpreted_batch_ndims: int,
                 validate_args: bool | None = None) -> None:
        batch = tuple(base_distribution.batch_shape)
        if reinterpreted_batch_ndims > len(batch):
            raise ValueError(f"Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), actual "
                             f"{reinterpreted_batch_ndims} vs {len(batch)}")
        split = len(batch) - reinterpreted_batch_ndims
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, reinterpreted_batch_ndims
        super().__init__(batch[:split], batch[split:] + tuple(base_distribution.event_shape),
                         validate_args=validate_args)

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @property
    def support(self) -> Any:  # type: ignore[override]
        return self.base_dist.support

    @property
    def mean(self) -> Tensor:
        return self.base_dist.mean

    @property
    def mode(self) -> Tensor:
        return self.base_dist.mode

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def sample(self, sample_shape: Any = Size()) -> Tensor:
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value: Tensor) -> Tensor:
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self) -> Tensor:
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
