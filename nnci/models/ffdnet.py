"""FFDNet (Zhang, Zuo, Zhang, "FFDNet: Toward a Fast and Flexible Solution for CNN-Based Image Denoising",
IEEE TIP 2018): one network for every noise level, told the level by a noise-level map."""
from __future__ import annotations

from typing import Any

from .. import nn
from ..backend import xp
from ..creation import as_tensor
from ..nn import functional as F
from ..ops.shape import cat, pad
from ..tensor import Tensor
from .dncnn import conv_stack


class FFDNet(nn.Module):
    """x_hat = shuffle(B([unshuffle(y), M])) for a noisy image y and its noise level sigma, where unshuffle
    packs each 2x2 block into 4 channels (half the resolution: 4x fewer operations per layer), M holds
    sigma/255 in one channel per image channel, and B is conv+ReLU, (depth-2) x [conv, BN, ReLU], conv.
    residual: B estimates the packed noise and x_hat = y - shuffle(B(...)); otherwise B gives x_hat directly
    (the paper's choice). Odd sizes are padded by replication and cropped back."""

    def __init__(self, channels: int = 1, depth: int = 15, width: int = 64, batch_norm: bool = True,
                 residual: bool = True) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"FFDNet: depth must be at least 2, got {depth}")
        if channels not in (1, 3):
            raise ValueError(f"FFDNet: channels must be 1 (gray) or 3 (colour), got {channels}")
        self.channels, self.depth, self.width = channels, depth, width
        self.batch_norm, self.residual = batch_norm, residual
        packed = 4 * channels
        self.layers = conv_stack(packed + channels, width, packed, depth, batch_norm)

    def forward(self, x: Tensor, sigma: Any) -> Tensor:
        """x (N, C, H, W) in [0, 1]; sigma on the 0..255 scale: a number, or one per image ((N,) array or Tensor)."""
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"FFDNet: expected an (N, {self.channels}, H, W) batch, got shape {tuple(x.shape)}")
        height, width = x.shape[2], x.shape[3]
        padded = pad(x, (0, width % 2, 0, height % 2), mode="replicate") if height % 2 or width % 2 else x
        packed = F.pixel_unshuffle(padded, 2)
        levels = sigma.detach().numpy() if isinstance(sigma, Tensor) else sigma
        levels = xp.broadcast_to(xp.asarray(levels, dtype=x.dtype).reshape(-1), (x.shape[0],)) / 255.0
        noise_map = as_tensor(xp.broadcast_to(levels.reshape(-1, 1, 1, 1).astype(x.dtype),
                                              (x.shape[0], self.channels) + packed.shape[2:]).copy())
        out = F.pixel_shuffle(self.layers(cat([packed, noise_map], 1)), 2)
        if self.residual:
            out = padded - out
        return out[:, :, :height, :width] if out.shape[2] != height or out.shape[3] != width else out

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, depth={self.depth}, width={self.width}, batch_norm={self.batch_norm}, "
                f"residual={self.residual}")
