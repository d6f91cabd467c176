"""DnCNN (Zhang et al., "Beyond a Gaussian Denoiser", IEEE TIP 2017)."""
from __future__ import annotations

from ..tensor import Tensor
from .. import nn


class DnCNN(nn.Module):
    """conv+ReLU, (depth-2) x [conv, BN, ReLU], conv. residual: output = x - R(x) (R estimates the noise)."""

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, depth: int = 17, width: int = 64,
                 batch_norm: bool = True, residual: bool = True) -> None:
        super().__init__()
        out_channels = out_channels or in_channels
        if residual and out_channels != in_channels:
            raise ValueError(f"DnCNN: residual learning needs out_channels == in_channels, got {out_channels} "
                             f"and {in_channels}")
        if depth < 2:
            raise ValueError(f"DnCNN: depth must be at least 2, got {depth}")
        self.in_channels, self.out_channels, self.depth, self.width = in_channels, out_channels, depth, width
        self.batch_norm, self.residual = batch_norm, residual
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers.append(nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU())
        layers.append(nn.Conv2d(width, out_channels, 3, padding=1, bias=False))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        estimate = self.layers(x)
        return x - estimate if self.residual else estimate

    def extra_repr(self) -> str:
        return f"depth={self.depth}, width={self.width}, batch_norm={self.batch_norm}, residual={self.residual}"
