"""torch.special: special functions, each differentiable where torch's is (scipy.special computes the values).

ndtr(x) = Phi(x) = erfc(-x / sqrt 2) / 2, ndtri its inverse, log_ndtr = log Phi, entr(x) = -x ln x,
xlog1py(x, y) = x ln(1 + y), multigammaln(a, p) = p (p - 1) / 4 ln pi + sum_j lgamma(a - j / 2),
erfcx(x) = e^(x^2) erfc(x); the Bessel functions I_0, I_1 (and their exponentially scaled forms), J_0, J_1,
Y_0, Y_1. A function torch.special has and nnci does not raises AttributeError naming it.
"""
from __future__ import annotations

import math
from typing import Any

from .ops.activation import log_softmax, softmax
from .ops.elementwise import floating, where
from .ops.pointwise import (bessel_j0, bessel_j1, bessel_y0, bessel_y1, digamma, erf, erfc, erfinv, exp2, expm1,
                            i0, i0e, i1, i1e, lgamma, log, log1p, logit, polygamma, round, sigmoid, sinc, xlogy)
from .ops.reduce import logsumexp
from .tensor import Tensor

expit = sigmoid
gammaln = lgamma
psi = digamma
modified_bessel_i0, modified_bessel_i1 = i0, i1


def ndtr(input: Tensor) -> Tensor:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal CDF"""
    return erfc(-floating(input) / math.sqrt(2)) * 0.5


def ndtri(input: Tensor) -> Tensor:
    """Phi^-1(p) = sqrt 2 erfinv(2 p - 1)"""
    return erfinv(2 * floating(input) - 1) * math.sqrt(2)


def log_ndtr(input: Tensor) -> Tensor:
    """log Phi(x), with erfc for the lower tail"""
    return log(ndtr(input))


def entr(input: Tensor) -> Tensor:
    """-x ln x for x > 0, 0 at 0, -inf below"""
    x = floating(input)
    inside = -xlogy(x, where(x > 0, x, 1.0))
    return where(x < 0, -math.inf, inside)


def xlog1py(input: Any, other: Any) -> Tensor:
    """x ln(1 + y), 0 where x = 0"""
    return xlogy(input, 1 + floating(other) if isinstance(other, Tensor) else 1 + other)


def erfcx(input: Tensor) -> Tensor:
    """e^(x^2) erfc(x)"""
    x = floating(input)
    return (x * x).exp() * erfc(x)


def multigammaln(input: Tensor, p: int) -> Tensor:
    """the log of the multivariate gamma function of dimension p"""
    x = floating(input)
    total = x * 0 + p * (p - 1) / 4 * math.log(math.pi)
    for j in range(p):
        total = total + lgamma(x - j / 2)
    return total


__all__ = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv",
           "exp2", "expit", "expm1", "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax",
           "logit", "logsumexp", "modified_bessel_i0", "modified_bessel_i1", "multigammaln", "ndtr", "ndtri",
           "polygamma", "psi", "round", "sinc", "softmax", "xlog1py", "xlogy"]


def __getattr__(name: str) -> object:
    raise AttributeError(f"module 'nnci.special' has no attribute '{name}': nnci does not implement "
                         f"torch.special.{name}")
