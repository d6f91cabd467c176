"""Explicit inference fusion: `nnci.inference.fuse(model)` returns a copy of the model for inference in which
BatchNorm is folded into the convolution before it and runs of same-padding stride-1 convolutions stay in the
padded grid layout from one layer to the next. Nothing is fused unless fuse is called; the fused copy says
what it fused (`fused.fusions`) and refuses to run with gradients on.

Folding: w' = w g / s, b' = beta + (b - mu) g / s, s = sqrt(var + eps).
Grid chain: a layer's output at grid position p is the next layer's input pixel at p + ph Wq + pw, so the GEMM
writes straight into the next layer's padded grid (bias and ReLU applied per block, in cache) and only the pads
are zeroed again: no copy out of the grid and back into it between layers (ops/conv.py has the grid layout).
"""
from __future__ import annotations

from typing import Any

import copy

from .autograd.grad_mode import is_grad_enabled
from .backend import xp
from .nn.activation import ReLU
from .nn.container import Sequential
from .nn.conv import Conv2d
from .nn.module import Module
from .nn.normalization import BatchNorm2d
from .ops.activation import relu_array
from .kernels.conv_grid import from_grid, grid_correlate, pad_to_grid
from .ops.conv import _winograd_applies
from .tensor import Tensor


def _plain(module: Module, kind: type) -> bool:
    """A module of exactly `kind` (not a subclass that may compute something else) with no hooks."""
    return (type(module) is kind and not module._forward_hooks and not module._forward_pre_hooks
            and not module._backward_hooks)


def foldable(conv: Module, norm: Module | None) -> bool:
    """Conv2d followed by an eval-mode BatchNorm2d over its output channels."""
    return (_plain(conv, Conv2d) and conv.padding_mode == "zeros" and norm is not None and _plain(norm, BatchNorm2d)
            and not norm.training and norm.track_running_stats and norm.num_features == conv.out_channels)


def folded(conv: Conv2d, norm: BatchNorm2d | None) -> tuple[Any, Any]:
    """(weight, bias) arrays of the one convolution that computes norm(conv(x)); bias may be None."""
    if norm is None:
        return conv.weight._array, None if conv.bias is None else conv.bias._array
    scale = 1.0 / xp.sqrt(norm.running_var._array.astype(xp.float64) + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight._array
    shift = -norm.running_mean._array * scale
    if conv.bias is not None:
        shift = shift + conv.bias._array * scale
    if norm.bias is not None:
        shift = shift + norm.bias._array
    dtype = conv.weight.dtype
    return (conv.weight._array * scale.reshape(-1, 1, 1, 1)).astype(dtype), shift.astype(dtype)


def conv_bn_relu(conv: Conv2d, norm: BatchNorm2d, after: Module | None, x: Tensor) -> tuple[Tensor, int]:
    """y = conv(x) with BN folded in, then an in-place ReLU when one follows (the conv output is a fresh array
    no one else holds). Returns y and how many modules it consumed."""
    from .nn import functional as F

    weight, bias = folded(conv, norm)
    y = F.conv2d(x, Tensor._wrap(weight), Tensor._wrap(bias), conv.stride, conv.padding, conv.dilation, conv.groups)
    if after is not None and _plain(after, ReLU):
        relu_array(y._array, out=y._array)
        return y, 3
    return y, 2


def _size_keeping_pads(module: Module) -> tuple[int, int] | None:
    """(ph, pw) of a stride-1 Conv2d whose zero padding keeps the size (odd kernel, k // 2), else None."""
    if not (_plain(module, Conv2d) and module.padding_mode == "zeros" and module.stride == (1, 1)
            and module.dilation == (1, 1) and module.groups == 1):
        return None
    kh, kw = module.kernel_size
    same = (kh // 2, kw // 2)
    return same if kh % 2 and kw % 2 and module.padding in (same, "same") else None


def grid_chain_at(modules: list, start: int, channels: int) -> tuple[list, int]:
    """The longest run of [Conv2d (same padding, all alike), optional BatchNorm2d, optional ReLU] units from
    modules[start], as (conv, norm or None, relu) triples, and how many modules it spans."""
    units, i, pad = [], start, None
    while i < len(modules):
        conv = modules[i]
        this_pad = _size_keeping_pads(conv)
        if this_pad is None or (pad is not None and this_pad != pad) or conv.in_channels != channels:
            break
        pad, used = this_pad, 1
        norm = modules[i + 1] if i + 1 < len(modules) and foldable(conv, modules[i + 1]) else None
        used += norm is not None
        relu = i + used < len(modules) and _plain(modules[i + used], ReLU)
        used += relu
        units.append((conv, norm, relu))
        channels, i = conv.out_channels, i + used
    return units, i - start


def _bias_relu(bias: Any, relu: bool) -> Any:
    """The in-place epilogue y += b; y = max(y, 0) for each block of a grid GEMM's output (None: nothing to do)."""
    if bias is None and not relu:
        return None

    def epilogue(block: Any) -> None:
        if bias is not None:
            block += bias[:, None]
        if relu:
            relu_array(block, out=block)
    return epilogue


def grid_chain(units: list, x: Any) -> Any:
    """Run grid_chain_at's units of same-padding stride-1 convolutions on x (N, C, H, W) in the grid layout."""
    n, _, h, w = x.shape
    ph, pw = units[0][0].kernel_size[0] // 2, units[0][0].kernel_size[1] // 2
    xf, grid_hw = pad_to_grid(x, (ph, ph, pw, pw), reach=(2 * ph, 2 * pw))
    hq, wq = grid_hw  # (h + ph, w + pw): one shared gap of pads between rows and between images
    total, offset = xf.shape[1], ph * wq + pw  # offset: the column of image 0's pixel (0, 0)
    span = total - 2 * offset
    for index, (conv, norm, relu) in enumerate(units):
        weight, bias = folded(conv, norm)
        epilogue = _bias_relu(bias, relu)
        if index == len(units) - 1:  # the last layer leaves the grid
            return from_grid(grid_correlate(xf, weight, grid_hw, (1, 1), epilogue=epilogue), n, grid_hw, (h, w))
        out_channels = weight.shape[0]
        grid = xp.empty((out_channels, total), xf.dtype)
        grid_correlate(xf, weight, grid_hw, (1, 1), out=grid[:, offset:offset + span], epilogue=epilogue)
        # zero the pads again: the columns before the first pixel and after the last, and each gap between
        # rows and between images, where the GEMM wrote the outputs of windows that straddled a border
        grid[:, :offset] = 0
        grid[:, offset + span:] = 0
        image = grid[:, offset:].reshape(out_channels, n, hq, wq)
        image[:, :, h:] = 0
        image[:, :, :, w:] = 0
        xf = grid
    raise ValueError("grid_chain needs at least one unit")


# ----- the fused modules and fuse() ------------------------------------------------------------------------
class _Fused(Module):
    """An inference-only stand-in for a run of modules; it keeps them (and their state_dict keys) as children."""

    def __init__(self, modules: list) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def _check(self, x: Tensor) -> None:
        if is_grad_enabled():
            raise RuntimeError(f"{type(self).__name__} comes from nnci.inference.fuse and computes no gradients: run the "
                               "fused model under nnci.no_grad() (or use the model before fusing for training)")
        if x.ndim != 4:
            raise RuntimeError(f"{type(self).__name__}: expected a 4-D input (N, C, H, W), got shape {tuple(x.shape)}")


class FoldedConv(_Fused):
    """Conv2d with the BatchNorm2d after it folded in (and an in-place ReLU when one follows)."""

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        modules = list(self._modules.values())
        return conv_bn_relu(modules[0], modules[1], modules[2] if len(modules) > 2 else None, x)[0]


class GridChain(_Fused):
    """A run of same-padding stride-1 [Conv2d, BatchNorm2d?, ReLU?] units computed grid to grid."""

    def __init__(self, units: list) -> None:
        super().__init__([m for conv, norm, _ in units for m in (conv, norm) if m is not None])
        self.units = units

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        conv = self.units[0][0]
        pads = (conv.kernel_size[0] // 2,) * 2 + (conv.kernel_size[1] // 2,) * 2
        if any(_winograd_applies(x._array, unit[0].weight._array, (1, 1), pads, (1, 1), 1) for unit in self.units):
            return self._layer_by_layer(x)
        return Tensor._wrap(grid_chain(self.units, x._array))

    def _layer_by_layer(self, x: Tensor) -> Tensor:
        """Each unit as its own folded convolution, so that conv2d runs Winograd where it applies (faster than the
        grid chain's GEMMs: benchmarks/README.md) and the grid elsewhere."""
        from .nn import functional as F

        for conv, norm, relu in self.units:
            weight, bias = folded(conv, norm)
            x = F.conv2d(x, Tensor._wrap(weight), None if bias is None else Tensor._wrap(bias), 1, conv.padding)
            if relu:
                relu_array(x._array, out=x._array)
        return x


def _fuse_sequence(modules: list, names: list, where: str, report: list) -> list:
    """The modules with foldable runs replaced by fused modules (a list of (name, module) pairs)."""
    out, i = [], 0
    while i < len(modules):
        module = modules[i]
        units, used = (grid_chain_at(modules, i, module.in_channels) if _plain(module, Conv2d) else ([], 0))
        if len(units) >= 2:
            report.append(f"{where}{names[i]}..{names[i + used - 1]}: {len(units)} same-padding convolutions kept in "
                          f"the grid layout ({sum(n is not None for _, n, _ in units)} batch norms folded)")
            out.append((names[i], GridChain(units)))
            i += used
            continue
        following = modules[i + 1] if i + 1 < len(modules) else None
        if foldable(module, following):
            after = modules[i + 2] if i + 2 < len(modules) and _plain(modules[i + 2], ReLU) else None
            parts = [module, following] + ([after] if after is not None else [])
            report.append(f"{where}{names[i]}..{names[i + len(parts) - 1]}: batch norm folded into the convolution"
                          + (", ReLU in place" if after is not None else ""))
            out.append((names[i], FoldedConv(parts)))
            i += len(parts)
            continue
        out.append((names[i], module))
        i += 1
    return out


def fuse(model: Module, inplace: bool = False) -> Module:
    """A copy of `model` in eval mode for inference, with BatchNorm2d folded into the Conv2d before it
    (w' = w g / s, b' = beta + (b - mu) g / s) and runs of same-padding convolutions kept in the grid layout, inside
    every Sequential. Only exact Conv2d / BatchNorm2d / ReLU modules without hooks are fused. The result lists what
    it fused in `.fusions` and must be run under nnci.no_grad()."""
    fused = model if inplace else copy.deepcopy(model)
    fused.eval()
    report: list[str] = []
    for path, module in list(fused.named_modules()):
        if type(module) is not Sequential:
            continue
        names, children = list(module._modules.keys()), list(module._modules.values())
        replaced = _fuse_sequence(children, names, f"{path}." if path else "", report)
        if len(replaced) != len(children):
            module._modules.clear()
            for name, child in replaced:
                module._modules[name] = child
    object.__setattr__(fused, "fusions", report)
    return fused
