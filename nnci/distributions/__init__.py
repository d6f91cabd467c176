"""Probability distributions with torch.distributions' names and formulas: sample / rsample (reparameterized,
so gradients flow through the draw), log_prob, entropy, mean, variance, and kl_divergence between families.
Draws come from nnci's generator (nnci.manual_seed fixes them); their values differ from torch's draws."""
from . import constraints
from .continuous import Cauchy, Exponential, Gumbel, HalfNormal, Laplace, LogNormal, Normal, Uniform
from .discrete import Bernoulli, Binomial, Categorical, Geometric, Multinomial, OneHotCategorical, Poisson
from .distribution import Distribution, ExponentialFamily
from .gamma import Beta, Chi2, Dirichlet, Gamma, StudentT
from .kl import kl_divergence, register_kl
from .multivariate import Independent, MultivariateNormal

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "Dirichlet", "Distribution",
           "Exponential", "ExponentialFamily", "Gamma", "Geometric", "Gumbel", "HalfNormal", "Independent", "Laplace",
           "LogNormal", "Multinomial", "MultivariateNormal", "Normal", "OneHotCategorical", "Poisson", "StudentT",
           "Uniform", "constraints", "kl_divergence", "register_kl"]


def __getattr__(name: str) -> object:
    raise AttributeError(f"module 'nnci.distributions' has no attribute '{name}': nnci does not implement "
                         f"torch.distributions.{name}")
