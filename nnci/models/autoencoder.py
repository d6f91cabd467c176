"""Convolutional autoencoder: an encoder of conv+pool blocks to a small latent vector, and a decoder back.

The bottleneck keeps the structure that recurs in the training images and loses rare details,
which is what makes the reconstruction error useful for finding defects.
"""
from __future__ import annotations

from typing import Sequence

from ..tensor import Tensor
from .. import nn


def conv_encoder(in_channels: int, widths: Sequence[int], batch_norm: bool) -> nn.Sequential:
    """[conv3x3, (BN), ReLU, maxpool 2] per width: halves the size each time."""
    layers: list[nn.Module] = []
    channels = in_channels
    for width in widths:
        layers.append(nn.Conv2d(channels, width, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
        channels = width
    return nn.Sequential(*layers)


def code_shape(name: str, image_size: int, widths: Sequence[int]) -> tuple[int, int, int]:
    """Shape (C, h, w) of conv_encoder's output: each width halves the size, so it must divide by 2^len(widths)."""
    scale = 2 ** len(widths)
    if image_size % scale:
        raise ValueError(f"{name}: image_size {image_size} must be divisible by 2^{len(widths)}")
    return widths[-1], image_size // scale, image_size // scale


def conv_decoder(out_channels: int, widths: Sequence[int], upsampling: str, batch_norm: bool) -> nn.Sequential:
    """The mirror of conv_encoder: per width, double the size (transposed conv or upsample+conv), then a 3x3 conv out."""
    layers: list[nn.Module] = []
    widths = list(widths)[::-1]
    for i, width in enumerate(widths):
        nxt = widths[i + 1] if i + 1 < len(widths) else widths[-1]
        if upsampling == "transpose":
            layers.append(nn.ConvTranspose2d(width, nxt, 2, stride=2, bias=not batch_norm))
        elif upsampling in ("nearest", "bilinear"):
            layers += [nn.Upsample(scale_factor=2, mode=upsampling),
                       nn.Conv2d(width, nxt, 3, padding=1, bias=not batch_norm)]
        else:
            raise ValueError(f"upsampling must be 'transpose', 'nearest' or 'bilinear', got {upsampling!r}")
        if batch_norm:
            layers.append(nn.BatchNorm2d(nxt))
        layers.append(nn.ReLU())
    layers.append(nn.Conv2d(widths[-1], out_channels, 3, padding=1))
    return nn.Sequential(*layers)


class ConvAutoencoder(nn.Module):
    """x -> encoder -> bottleneck -> decoder -> x_hat (sigmoid or raw).

    The bottleneck is a vector (flatten -> Linear(latent_dim) -> Linear -> reshape), or, with
    latent_channels, a spatial one (1x1 conv to latent_channels -> 1x1 conv back), which suits textures.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 32, widths: Sequence[int] = (32, 64),
                 latent_dim: int = 32, upsampling: str = "transpose", batch_norm: bool = False,
                 sigmoid_output: bool = True, latent_channels: int | None = None) -> None:
        super().__init__()
        self.code_shape = code_shape("ConvAutoencoder", image_size, widths)
        flat = self.code_shape[0] * self.code_shape[1] * self.code_shape[2]
        self.in_channels, self.image_size, self.latent_dim = in_channels, image_size, latent_dim
        self.sigmoid_output, self.spatial = sigmoid_output, latent_channels is not None
        self.encoder = conv_encoder(in_channels, widths, batch_norm)
        if self.spatial:
            self.to_latent = nn.Conv2d(widths[-1], latent_channels, 1)
            self.from_latent = nn.Conv2d(latent_channels, widths[-1], 1)
        else:
            self.to_latent = nn.Linear(flat, latent_dim)
            self.from_latent = nn.Linear(latent_dim, flat)
        self.decoder = conv_decoder(in_channels, widths, upsampling, batch_norm)

    def encode(self, x: Tensor) -> Tensor:
        h = self.encoder(x)
        return self.to_latent(h if self.spatial else h.flatten(1))

    def decode(self, z: Tensor) -> Tensor:
        h = self.from_latent(z).relu()
        if not self.spatial:
            h = h.reshape((z.shape[0],) + self.code_shape)
        out = self.decoder(h)
        return out.sigmoid() if self.sigmoid_output else out

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))
