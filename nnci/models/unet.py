"""U-Net (Ronneberger et al., 2015): a contracting path, an expanding path, and skips that concatenate."""
from __future__ import annotations

from ..nn import functional as F
from ..ops.shape import cat
from ..tensor import Tensor
from .. import nn


def double_conv(in_channels: int, out_channels: int, batch_norm: bool = True) -> nn.Sequential:
    """[conv3x3, (BN), ReLU] x 2"""
    layers: list[nn.Module] = []
    for cin in (in_channels, out_channels):
        layers.append(nn.Conv2d(cin, out_channels, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """depth levels of double convs, widths base * 2^level; upsampling by transposed conv or bilinear + 1x1 conv"""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, depth: int = 4, base_width: int = 32,
                 upsampling: str = "transpose", batch_norm: bool = True) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"UNet: depth must be at least 1, got {depth}")
        if upsampling not in ("transpose", "bilinear"):
            raise ValueError(f"UNet: upsampling must be 'transpose' or 'bilinear', got {upsampling!r}")
        widths = [base_width * 2 ** level for level in range(depth)]
        self.depth = depth
        self.downs = nn.ModuleList([double_conv(c, w, batch_norm) for c, w in zip([in_channels] + widths[:-1], widths)])
        self.pool = nn.MaxPool2d(2)
        ups = []
        for w in widths[:0:-1]:
            if upsampling == "transpose":
                ups.append(nn.ConvTranspose2d(w, w // 2, 2, stride=2))
            else:
                ups.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                         nn.Conv2d(w, w // 2, 1)))
        self.ups = nn.ModuleList(ups)
        self.merges = nn.ModuleList([double_conv(w, w // 2, batch_norm) for w in widths[:0:-1]])
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for level, block in enumerate(self.downs):
            x = block(x)
            if level < self.depth - 1:
                skips.append(x)
                x = self.pool(x)
        for up, merge in zip(self.ups, self.merges):
            skip = skips.pop()
            x = up(x)
            dh, dw = skip.shape[2] - x.shape[2], skip.shape[3] - x.shape[3]
            if dh or dw:  # odd sizes: pad the upsampled map to the skip's size
                x = F.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
            x = merge(cat([skip, x], 1))
        return self.head(x)
