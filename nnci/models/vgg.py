"""VGG-style classifiers (Simonyan & Zisserman, 2015): stacks of 3x3 convs and 2x2 max pools."""
from __future__ import annotations

from typing import Sequence

from ..tensor import Tensor
from .. import nn

CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "small": [32, 32, "M", 64, 64, "M", 128, 128, "M"],
}


class VGG(nn.Module):
    """features (config: ints are 3x3 conv widths, 'M' a 2x2 max pool) -> global average pool -> classifier"""

    def __init__(self, config: str | Sequence = "small", in_channels: int = 3, num_classes: int = 10,
                 batch_norm: bool = True, width: float = 1.0, hidden: int = 256, dropout: float = 0.0) -> None:
        super().__init__()
        layers = CONFIGS[config] if isinstance(config, str) else list(config)
        features: list[nn.Module] = []
        channels = in_channels
        for item in layers:
            if item == "M":
                features.append(nn.MaxPool2d(2, 2))
                continue
            out = max(1, int(round(item * width)))
            features.append(nn.Conv2d(channels, out, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                features.append(nn.BatchNorm2d(out))
            features.append(nn.ReLU())
            channels = out
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # any input size
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels, hidden), nn.ReLU(), nn.Dropout(dropout),
                                        nn.Linear(hidden, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)))
