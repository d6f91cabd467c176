"""The "Learning to See in the Dark" network (Chen et al., CVPR 2018): a U-Net from packed raw to sRGB."""
from __future__ import annotations

from .. import nn
from ..nn import functional as F
from ..tensor import Tensor
from .unet import UNet


class SIDNet(nn.Module):
    """(N, 4, H/2, W/2) packed RGGB raw x ratio -> U-Net -> 12 channels -> pixel_shuffle(2) -> (N, 3, H, W) sRGB"""

    def __init__(self, depth: int = 3, base_width: int = 32) -> None:
        super().__init__()
        self.unet = UNet(4, 12, depth=depth, base_width=base_width)

    def forward(self, packed: Tensor) -> Tensor:
        if packed.ndim != 4 or packed.shape[1] != 4:
            raise ValueError(f"SIDNet: expected packed raw (N, 4, H/2, W/2), got {tuple(packed.shape)}")
        return F.pixel_shuffle(self.unet(packed), 2)
