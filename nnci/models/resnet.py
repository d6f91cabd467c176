"""Residual networks (He et al., 2016): blocks whose input skips ahead and is added to their output.

When a block changes the shape, the skip is either a 1x1 projection (option B of the paper) or
the input subsampled and padded with zero channels (option A, no parameters).
"""
from __future__ import annotations

from typing import Sequence

from ..nn import functional as F
from ..tensor import Tensor
from .. import nn


class ZeroPadShortcut(nn.Module):
    """x[:, :, ::s, ::s] with zero channels appended up to out_channels (parameter-free shortcut)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.extra, self.stride = out_channels - in_channels, stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra)) if self.extra else x


def _shortcut(in_channels: int, out_channels: int, stride: int, kind: str) -> nn.Module | None:
    if stride == 1 and in_channels == out_channels:
        return None
    if kind == "projection":
        return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                             nn.BatchNorm2d(out_channels))
    if kind == "zeros":
        return ZeroPadShortcut(in_channels, out_channels, stride)
    raise ValueError(f"shortcut must be 'projection' or 'zeros', got {kind!r}")


class BasicBlock(nn.Module):
    """y = relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x))"""
    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1, shortcut: str = "projection") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _shortcut(in_channels, planes, stride, shortcut)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(out + skip)


class Bottleneck(nn.Module):
    """y = relu(bn(conv1x1(relu(bn(conv3x3(relu(bn(conv1x1(x)))))))) + shortcut(x)), 4x wider output"""
    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, shortcut: str = "projection") -> None:
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = _shortcut(in_channels, out_channels, stride, shortcut)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(out + skip)


class ResNet(nn.Module):
    """stem conv3x3 -> stages of residual blocks (stride 2 between stages) -> global average pool -> fc"""

    def __init__(self, block: type = BasicBlock, layers: Sequence[int] = (2, 2, 2, 2), in_channels: int = 3,
                 num_classes: int = 10, width: int = 64, shortcut: str = "projection") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        channels = width
        for index, count in enumerate(layers):
            planes = width * 2 ** index
            blocks = []
            for b in range(count):
                stride = 2 if index > 0 and b == 0 else 1
                blocks.append(block(channels, planes, stride, shortcut))
                channels = planes * block.expansion
            setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))
        self.num_stages = len(layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        for index in range(self.num_stages):
            x = getattr(self, f"layer{index + 1}")(x)
        return self.fc(self.avgpool(x).flatten(1))
