"""The gamma family and what is built from it: Gamma, Chi2, Beta, Dirichlet, StudentT.

Gamma draws are reparameterized implicitly (Figurnov et al., "Implicit Reparameterization Gradients", NeurIPS
2018): for x = F^-1(u; a) / rate with F the regularized incomplete gamma function, dx/da = -(dF/da) / (dF/dx),
dF/da by a central difference of scipy's gammainc (relative error about 1e-8), dF/dx the density. Beta and
Dirichlet draws are ratios of gamma draws, so their gradients follow. Formulas (log densities, entropies,
moments) are the standard ones, as in torch.distributions.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.graph import Op
from ..backend import generator
from ..ops.pointwise import digamma, lgamma
from ..tensor import Size, Tensor
from . import constraints
from .distribution import Distribution, ExponentialFamily, broadcast_all


class StandardGammaSample(Op):
    """x ~ Gamma(a, 1) drawn in forward;  da = g dx/da = -g (dF/da) / (dF/dx) (implicit reparameterization)"""

    def forward(self, concentration, shape):
        self.a = np.broadcast_to(concentration, shape)
        draw = generator(None).standard_gamma(self.a.astype(np.float64))
        tiny = np.finfo(concentration.dtype).tiny  # torch clamps draws to the smallest positive normal number
        self.x = np.maximum(draw, tiny)
        return self.x.astype(concentration.dtype)

    def backward(self, g):
        from scipy.special import gammainc, gammaln
        a, x = self.a.astype(np.float64), self.x
        step = 1e-5 * np.maximum(a, 1e-3)
        dF_da = (gammainc(a + step, x) - gammainc(a - step, x)) / (2 * step)
        log_density = (a - 1) * np.log(x) - x - gammaln(a)
        return ((-g * dF_da / np.exp(log_density)).astype(g.dtype),)


def standard_gamma(concentration: Tensor, shape: tuple) -> Tensor:
    """Gamma(concentration, 1) draws of `shape`, differentiable in the concentration"""
    return StandardGammaSample.apply(concentration, shape=tuple(shape))


class Gamma(ExponentialFamily):
    """p(x) = b^a x^(a-1) e^(-b x) / Gamma(a) on x > 0 (concentration a, rate b)"""
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate ** 2

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return standard_gamma(self.concentration, shape) / self.rate

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration, self.rate
        from ..ops.pointwise import xlogy
        return xlogy(a, b) + xlogy(a - 1, value) - b * value - lgamma(a)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a - self.rate.log() + lgamma(a) + (1.0 - a) * digamma(a)

    def cdf(self, value: Tensor) -> Tensor:
        from scipy.special import gammainc
        return Tensor._wrap(gammainc(self.concentration._array, (self.rate * value)._array))


class Chi2(Gamma):
    """Gamma(df / 2, 1 / 2)"""
    arg_constraints = {"df": constraints.positive}

    def __init__(self, df: Any, validate_args: bool | None = None) -> None:
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, df * 0 + 0.5, validate_args=validate_args)

    @property
    def df(self) -> Tensor:
        return self.concentration * 2


class Beta(ExponentialFamily):
    """p(x) = x^(a-1) (1 - x)^(b-1) / B(a, b) on (0, 1): X / (X + Y) for X ~ Gamma(a), Y ~ Gamma(b)"""
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1: Any, concentration0: Any, validate_args: bool | None = None) -> None:
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self) -> Tensor:
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total ** 2 * (total + 1))

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        x, y = standard_gamma(self.concentration1, shape), standard_gamma(self.concentration0, shape)
        return x / (x + y)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        from ..ops.pointwise import xlogy
        a, b = self.concentration1, self.concentration0
        return (xlogy(a - 1, value) + xlogy(b - 1, 1 - value) - lgamma(a) - lgamma(b) + lgamma(a + b))

    def entropy(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return (lgamma(a) + lgamma(b) - lgamma(total) - (a - 1) * digamma(a) - (b - 1) * digamma(b)
                + (total - 2) * digamma(total))


class Dirichlet(ExponentialFamily):
    """p(x) = Gamma(sum a) / prod Gamma(a_i) prod x_i^(a_i - 1) on the simplex: normalised gamma draws"""
    arg_constraints = {"concentration": constraints.independent_positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def variance(self) -> Tensor:
        total = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (total - self.concentration) / (total ** 2 * (total + 1))

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        draws = standard_gamma(self.concentration, self._extended_shape(sample_shape))
        return draws / draws.sum(-1, keepdim=True)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        from ..ops.pointwise import xlogy
        a = self.concentration
        return xlogy(a - 1, value).sum(-1) + lgamma(a.sum(-1)) - lgamma(a).sum(-1)

    def entropy(self) -> Tensor:
        a = self.concentration
        k, total = a.shape[-1], a.sum(-1)
        return (lgamma(a).sum(-1) - lgamma(total) - (k - total) * digamma(total)
                - ((a - 1) * digamma(a)).sum(-1))


class StudentT(Distribution):
    """p(x) = Gamma((v+1)/2) / (Gamma(v/2) sqrt(v pi) s) (1 + z^2 / v)^(-(v+1)/2), z = (x - loc) / s"""
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: bool | None = None) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        from ..ops.elementwise import where
        return where(self.df > 1, self.loc, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        from ..ops.elementwise import where
        v = self.df
        finite = self.scale ** 2 * v / where(v > 2, v - 2, 1.0)
        return where(v > 2, finite, where(v > 1, math.inf, math.nan))

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        from ..creation import randn
        shape = self._extended_shape(sample_shape)
        z = randn(shape, dtype=self.df.dtype)
        chi2 = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * z * (self.df / chi2).sqrt()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        v = self.df
        z = (value - self.loc) / self.scale
        normalizer = self.scale.log() + 0.5 * v.log() + 0.5 * math.log(math.pi) + lgamma(0.5 * v) - lgamma(0.5 * (v + 1))
        return -0.5 * (v + 1) * (z ** 2 / v).log1p() - normalizer

    def entropy(self) -> Tensor:
        v = self.df
        beta_log = lgamma(0.5 * v) + 0.5 * math.log(math.pi) - lgamma(0.5 * (v + 1))  # log B(v/2, 1/2)
        return (self.scale.log() + 0.5 * (v + 1) * (digamma(0.5 * (v + 1)) - digamma(0.5 * v))
                + 0.5 * v.log() + beta_log)
