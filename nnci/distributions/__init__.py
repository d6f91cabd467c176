"""Probability distributions with torch.distributions' names and formulas: sample / rsample (reparameterized,
so gradients flow through the draw), log_prob, entropy, mean, variance, and kl_divergence between families.
Draws come from nnci's generator (nnci.manual_seed fixes them); their values differ from torch's draws."""
from . import constraints
from .continuous import Exponential, Laplace, LogNormal, Normal, Uniform
from .discrete import Bernoulli, Binomial, Categorical, OneHotCategorical, Poisson
from .distribution import Distribution, ExponentialFamily
from .kl import kl_divergence, register_kl
from .multivariate import Independent, MultivariateNormal

__all__ = ["Bernoulli", "Binomial", "Categorical", "Distribution", "Exponential", "ExponentialFamily",
           "Independent", "Laplace", "LogNormal", "MultivariateNormal", "Normal", "OneHotCategorical", "Poisson",
           "Uniform", "constraints", "kl_divergence", "register_kl"]


def __getattr__(name: str) -> object:
    raise AttributeError(f"module 'nnci.distributions' has no attribute '{name}': nnci does not implement "
                         f"torch.distributions.{name}")
