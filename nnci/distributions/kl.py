"""KL(p || q) = E_p[log p - log q] in closed form for pairs of families, looked up by type (most specific
registered pair first), as torch.distributions.kl_divergence."""
from __future__ import annotations

import math
from typing import Callable

from ..creation import full_like
from ..linalg import solve_triangular
from ..nn.functional import softplus
from ..ops.elementwise import where
from ..ops.shape import broadcast_shapes
from ..tensor import Tensor
from .continuous import Cauchy, Exponential, Gumbel, HalfNormal, Laplace, LogNormal, Normal, Uniform
from .gamma import Beta, Dirichlet, Gamma
from .discrete import Bernoulli, Binomial, Categorical, OneHotCategorical, Poisson
from .distribution import Distribution
from .multivariate import Independent, MultivariateNormal, mahalanobis, sum_rightmost

_KL_REGISTRY: dict = {}


def register_kl(type_p: type, type_q: type) -> Callable:
    """Decorator: fn(p, q) computes KL(p || q) for p of type_p and q of type_q."""
    def register(function: Callable) -> Callable:
        _KL_REGISTRY[type_p, type_q] = function
        return function
    return register


def _lookup(type_p: type, type_q: type) -> Callable | None:
    matches = [(type_p.__mro__.index(p) + type_q.__mro__.index(q), fn) for (p, q), fn in _KL_REGISTRY.items()
               if issubclass(type_p, p) and issubclass(type_q, q)]
    return min(matches, key=lambda m: m[0])[1] if matches else None


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q), batched over the distributions' batch shape"""
    function = _lookup(type(p), type(q))
    if function is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p = {type(p).__name__} and "
                                  f"q = {type(q).__name__}")
    return function(p, q)


def _infinite_where(mask: Tensor, value: Tensor) -> Tensor:
    return where(mask, full_like(value, math.inf), value)


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(LogNormal, LogNormal)
def _kl_lognormal_lognormal(p: LogNormal, q: LogNormal) -> Tensor:
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = where(p.probs == 0, t1 * 0, _infinite_where(q.probs == 0, t1))
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = where(p.probs == 1, t2 * 0, _infinite_where(q.probs == 1, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    t = p.probs * (p.logits - q.logits)
    t = _infinite_where((q.probs == 0).expand_as(t), t)
    t = where((p.probs == 0).expand_as(t), t * 0, t)
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p: OneHotCategorical, q: OneHotCategorical) -> Tensor:
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _infinite_where((q.low > p.low) | (q.high < p.high), result)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p: Exponential, q: Exponential) -> Tensor:
    rate_ratio = q.rate / p.rate
    return -rate_ratio.log() + rate_ratio - 1


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p: Laplace, q: Laplace) -> Tensor:
    scale_ratio = p.scale / q.scale
    distance = (p.loc - q.loc).abs()
    return -scale_ratio.log() + distance / q.scale + scale_ratio * (-distance / p.scale).exp() - 1


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p: Poisson, q: Poisson) -> Tensor:
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p: MultivariateNormal, q: MultivariateNormal) -> Tensor:
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes cannot be "
                         "computed")
    Lp, Lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_log_ratio = (Lq.diagonal(dim1=-2, dim2=-1).log().sum(-1) - Lp.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    n = p.event_shape[0]
    shape = broadcast_shapes(Lq.shape[:-2], Lp.shape[:-2])
    # trace(Sq^-1 Sp) = ||Lq^-1 Lp||_F^2
    trace = (solve_triangular(Lq.expand(shape + (n, n)), Lp.expand(shape + (n, n)), upper=False) ** 2).sum((-2, -1))
    return half_log_ratio + 0.5 * (trace + mahalanobis(Lq, q.loc - p.loc) - n)


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> Tensor:
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("KL between Independents with different reinterpreted_batch_ndims is not "
                                  "implemented")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)



# ----- across families ---------------------------------------------------------------------------------
def _infinite(parameter: Tensor) -> Tensor:
    return full_like(parameter, math.inf)


@register_kl(Exponential, Uniform)
def _kl_exponential_uniform(p: Exponential, q: Uniform) -> Tensor:
    return _infinite(p.rate)  # p's support [0, inf) is not inside q's bounded one


@register_kl(Laplace, Exponential)
@register_kl(Laplace, Uniform)
def _kl_laplace_bounded(p: Laplace, q: Distribution) -> Tensor:
    return _infinite(p.loc)


@register_kl(Normal, Exponential)
@register_kl(Normal, Uniform)
def _kl_normal_bounded(p: Normal, q: Distribution) -> Tensor:
    return _infinite(p.loc)


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_bounded(p: Poisson, q: Distribution) -> Tensor:
    return _infinite(p.rate)


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p: Exponential, q: Normal) -> Tensor:
    # -H(p) - E_p log q, with E_p (x - mu)^2 = 2 / rate^2 - 2 mu / rate + mu^2
    var = q.scale ** 2
    rate_sq = p.rate ** 2
    return 0.5 * (rate_sq * var * 2 * math.pi).log() - 1 + (rate_sq.reciprocal() - q.loc / p.rate
                                                            + q.loc ** 2 * 0.5) / var


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p: Laplace, q: Normal) -> Tensor:
    var = q.scale ** 2
    ratio = p.scale ** 2 / var
    return (-0.5 * (2 * ratio / math.pi).log() + ratio
            + (0.5 * p.loc ** 2 - p.loc * q.loc + 0.5 * q.loc ** 2) / var - 1)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p: Normal, q: Laplace) -> Tensor:
    difference = p.loc - q.loc
    standardized = difference / p.scale
    expected_abs = (math.sqrt(2 / math.pi) * p.scale * (-0.5 * standardized ** 2).exp()
                    + difference * (math.sqrt(0.5) * standardized).erf())  # E_p |x - q.loc|
    return -(p.scale / q.scale).log() + expected_abs / q.scale - 0.5 * (1 + math.log(0.5 * math.pi))


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p: Uniform, q: Normal) -> Tensor:
    width = p.high - p.low
    return ((math.sqrt(2 * math.pi) * q.scale / width).log()
            + 0.5 * (width ** 2 / 12 + ((p.high + p.low - 2 * q.loc) / 2) ** 2) / q.scale ** 2)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p: Uniform, q: Exponential) -> Tensor:
    result = q.rate * (p.high + p.low) / 2 - ((p.high - p.low) * q.rate).log()
    return _infinite_where(p.low < 0, result)


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p: Bernoulli, q: Poisson) -> Tensor:
    return -p.entropy() - (p.probs * q.rate.log() - q.rate)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p: Gamma, q: Gamma) -> Tensor:
    from ..ops.pointwise import digamma, lgamma
    a1, b1, a2, b2 = p.concentration, p.rate, q.concentration, q.rate
    return (a2 * (b1 / b2).log() - lgamma(a1) + lgamma(a2) + (a1 - a2) * digamma(a1) + (b2 - b1) * (a1 / b1))


@register_kl(Beta, Beta)
def _kl_beta_beta(p: Beta, q: Beta) -> Tensor:
    from ..ops.pointwise import digamma, lgamma
    a1, b1, a2, b2 = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    total = a1 + b1
    log_beta = lambda a, b: lgamma(a) + lgamma(b) - lgamma(a + b)  # noqa: E731
    return (log_beta(a2, b2) - log_beta(a1, b1) + (a1 - a2) * digamma(a1) + (b1 - b2) * digamma(b1)
            + (a2 - a1 + b2 - b1) * digamma(total))


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p: Dirichlet, q: Dirichlet) -> Tensor:
    from ..ops.pointwise import digamma, lgamma
    a, b = p.concentration, q.concentration
    total = a.sum(-1)
    return (lgamma(total) - lgamma(b.sum(-1)) - (lgamma(a) - lgamma(b)).sum(-1)
            + ((a - b) * (digamma(a) - digamma(total).unsqueeze(-1))).sum(-1))


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p: HalfNormal, q: HalfNormal) -> Tensor:
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p: Gumbel, q: Gumbel) -> Tensor:
    from ..ops.pointwise import lgamma
    ct1 = p.scale / q.scale
    ct2 = q.loc / q.scale
    ct3 = p.loc / q.scale
    t1 = -ct1.log() - ct2 + ct3
    t2 = ct1 * Gumbel._EULER
    t3 = (ct2 - ct3 + lgamma(ct1 + 1)).exp()
    return t1 + t2 + t3 - (1 + Gumbel._EULER)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p: Cauchy, q: Cauchy) -> Tensor:
    # Chyzak & Nielsen, "A closed-form formula for the Kullback-Leibler divergence between Cauchy distributions", 2019
    return (((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2).log() - (4 * p.scale * q.scale).log())
