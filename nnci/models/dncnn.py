"""DnCNN (Zhang et al., "Beyond a Gaussian Denoiser", IEEE TIP 2017)."""
from __future__ import annotations

import copy

from .. import nn
from ..backend import xp
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..tensor import Tensor


def conv_stack(in_channels: int, width: int, out_channels: int, depth: int, batch_norm: bool) -> nn.Sequential:
    """DnCNN's plain stack of `depth` 3x3 convolutions: conv+ReLU, (depth - 2) x conv+BN+ReLU, conv."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU()]
    for _ in range(depth - 2):
        layers.append(nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU())
    layers.append(nn.Conv2d(width, out_channels, 3, padding=1, bias=False))
    return nn.Sequential(*layers)


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
        self.layers = conv_stack(in_channels, width, out_channels, depth, batch_norm)

    def forward(self, x: Tensor) -> Tensor:
        estimate = self.layers(x)
        return x - estimate if self.residual else estimate

    def extra_repr(self) -> str:
        return f"depth={self.depth}, width={self.width}, batch_norm={self.batch_norm}, residual={self.residual}"


def _identity_block(features: Tensor, eps: float) -> list[nn.Module]:
    """[conv, BN, ReLU] that returns its nonnegative input unchanged in eval mode, for activations like `features`.

    The conv is a centred delta per channel; BN's affine undoes its own normalisation with the statistics of
    `features` (mean m, variance v): ((h - m) / sqrt(v + eps)) sqrt(v + eps) + m = h; ReLU keeps h >= 0.
    In training mode BN uses batch statistics, so the block is then close to, not exactly, the identity.
    """
    width = features.shape[1]
    conv = nn.Conv2d(width, width, 3, padding=1, bias=False)
    kernel = xp.zeros((width, width, 3, 3), features.dtype)
    kernel[xp.arange(width), xp.arange(width), 1, 1] = 1.0
    conv.weight.data[...] = kernel
    values = features.detach().numpy()
    mean = values.mean(axis=(0, 2, 3))
    var = values.var(axis=(0, 2, 3))
    norm = nn.BatchNorm2d(width, eps=eps)
    norm.weight.data[...] = xp.sqrt(var + eps)
    norm.bias.data[...] = mean
    norm.running_mean.data[...] = mean
    norm.running_var.data[...] = var
    return [conv, norm, nn.ReLU()]


@no_grad()
def deepen(model: DnCNN, depth: int, sample: Tensor) -> DnCNN:
    """A deeper DnCNN that computes the same function in eval mode (Net2DeeperNet, Chen et al., ICLR 2016).

    depth - model.depth identity [conv, BN, ReLU] blocks are spread evenly after the existing middle blocks;
    each one's BN is set from the statistics of its input on `sample` (a batch of typical inputs).
    """
    if not model.batch_norm:
        raise ValueError("deepen: only DnCNN with batch norm can be deepened (its BN makes the identity block)")
    if depth < model.depth:
        raise ValueError(f"deepen: depth {depth} is smaller than the model's {model.depth}")
    was_training = model.training
    model.eval()
    layers = list(copy.deepcopy(model.layers))  # the deeper model owns its modules: no state shared with `model`
    # blocks: the first conv+ReLU, then each middle conv+BN+ReLU; the final conv stays last
    blocks = [layers[:2]] + [layers[i:i + 3] for i in range(2, len(layers) - 1, 3)]
    old_middle, extra = len(blocks) - 1, depth - model.depth
    new_layers: list[nn.Module] = []
    x = sample
    for index, block in enumerate(blocks):
        for module in block:
            x = module(x)
        new_layers += block
        if old_middle == 0:  # no middle block: all of them after the first
            count = extra
        elif index == 0:
            count = 0
        else:  # the j-th middle block gets its share of floor-spaced extras
            j = index - 1
            count = (j + 1) * extra // old_middle - j * extra // old_middle
        new_layers += [m for _ in range(count) for m in _identity_block(x, eps=1e-5)]
    new_layers.append(layers[-1])
    deeper = DnCNN(model.in_channels, model.out_channels, depth=depth, width=model.width, batch_norm=True,
                   residual=model.residual)
    deeper.layers = nn.Sequential(*new_layers)
    model.train(was_training)
    deeper.train(was_training)
    return deeper
