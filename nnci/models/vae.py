"""Variational autoencoder (Kingma & Welling, 2014).

The encoder gives the mean and log-variance of q(z|x); z = mu + sigma * eps keeps the sample
differentiable (reparameterisation); the loss is the negative ELBO,
reconstruction (Bernoulli log-likelihood on logits) + beta * KL(q(z|x) || N(0, I)).
"""
from __future__ import annotations

from typing import Sequence

from ..backend import generator, xp
from ..nn import functional as F
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..tensor import Tensor
from .. import nn
from .autoencoder import code_shape, conv_decoder, conv_encoder


class VAE(nn.Module):
    """encoder -> (fc_mu, fc_logvar) -> z = mu + e^(logvar/2) eps -> decoder (logits)"""

    def __init__(self, in_channels: int = 1, image_size: int = 8, widths: Sequence[int] = (32, 64),
                 latent_dim: int = 8, upsampling: str = "transpose", beta: float = 1.0) -> None:
        super().__init__()
        self.code_shape = code_shape("VAE", image_size, widths)
        flat = self.code_shape[0] * self.code_shape[1] * self.code_shape[2]
        self.in_channels, self.image_size, self.latent_dim, self.beta = in_channels, image_size, latent_dim, beta
        self.encoder = conv_encoder(in_channels, widths, batch_norm=False)
        self.fc_mu = nn.Linear(flat, latent_dim)
        self.fc_logvar = nn.Linear(flat, latent_dim)
        self.from_latent = nn.Linear(latent_dim, flat)
        self.decoder = conv_decoder(in_channels, widths, upsampling, batch_norm=False)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.encoder(x).flatten(1)
        return self.fc_mu(h), self.fc_logvar(h)

    def reparameterize(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """z = mu + exp(logvar / 2) eps, eps ~ N(0, I) from nnci's generator (seeded by manual_seed)."""
        eps = as_tensor(generator().standard_normal(mu.shape).astype(mu.dtype))
        return mu + (logvar * 0.5).exp() * eps

    def decode(self, z: Tensor) -> Tensor:
        """Logits of the pixel intensities."""
        h = self.from_latent(z).relu().reshape((z.shape[0],) + self.code_shape)
        return self.decoder(h)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar) if self.training else mu
        return self.decode(z), mu, logvar

    def loss(self, x: Tensor, logits: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
        """negative ELBO per image: sum BCE(logits, x) + beta KL, averaged over the batch"""
        reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = F.kl_normal(mu, logvar, reduction="sum")
        return (reconstruction + self.beta * kl) / x.shape[0]

    @no_grad()
    def sample(self, n: int) -> Tensor:
        """n images decoded from z ~ N(0, I), as intensities in [0, 1]."""
        z = as_tensor(generator().standard_normal((n, self.latent_dim)).astype(xp.float32))
        return self.decode(z).sigmoid()
