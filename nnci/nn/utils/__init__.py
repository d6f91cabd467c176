"""Gradient and parameter utilities: clipping, and parameters as one flat vector."""
from __future__ import annotations

import math
from typing import Any, Iterable

from ...autograd.grad_mode import no_grad
from ...backend import xp
from ...tensor import Tensor
from . import rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm", "parameters_to_vector",
           "weight_norm", "remove_weight_norm",
           "vector_to_parameters", "rnn"]


def _as_list(parameters: Iterable[Tensor] | Tensor) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def get_total_norm(tensors: Iterable[Tensor] | Tensor, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """||(||t_1||, ..., ||t_n||)||_p: the p-norm of all the tensors together"""
    arrays = [t._array for t in _as_list(tensors)]
    if not arrays:
        return Tensor._wrap(xp.zeros((), xp.float32))
    total = _norm_of(arrays, float(norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
                           "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
                           "anyway, set `error_if_nonfinite=False`")
    return Tensor._wrap(xp.asarray(total, arrays[0].dtype))


def _norm_of(arrays: list, norm_type: float) -> float:
    if norm_type == math.inf:
        return max(float(xp.abs(a).max()) if a.size else 0.0 for a in arrays)
    return float(sum(float((xp.abs(a.astype(xp.float64)) ** norm_type).sum()) for a in arrays) ** (1.0 / norm_type))


def clip_grads_with_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, total_norm: Any,
                          foreach: bool | None = None) -> None:
    """Scale every grad by min(1, max_norm / (total_norm + 1e-6))."""
    coef = max_norm / (float(total_norm) + 1e-6)
    if coef < 1:
        with no_grad():
            for p in _as_list(parameters):
                if p.grad is not None:
                    p.grad.mul_(coef)


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale all grads by min(1, max_norm / (||g|| + 1e-6)), ||g|| the norm of all grads together; returns ||g||."""
    params = _as_list(parameters)
    grads = [p.grad._array for p in params if p.grad is not None]
    if not grads:
        return Tensor._wrap(xp.zeros((), xp.float32))
    norm_type = float(norm_type)
    total = _norm_of(grads, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
                           "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
                           "anyway, set `error_if_nonfinite=False`")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        with no_grad():
            for p in params:
                if p.grad is not None:
                    p.grad.mul_(coef)
    return Tensor._wrap(xp.asarray(total, grads[0].dtype))


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every grad to [-clip_value, clip_value]."""
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened into one 1-D tensor (differentiable)."""
    from ...ops.shape import cat
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of vec into the parameters."""
    start = 0
    with no_grad():
        for p in parameters:
            count = p.numel()
            p.copy_(vec[start:start + count].reshape(p.shape))
            start += count


def _norm_except_dim(v: Tensor, dim: int | None) -> Tensor:
    """||v|| over every dim but `dim` (all of them for None), kept broadcastable to v"""
    if dim is None:
        return v.norm()
    dim = dim % v.ndim
    return v.norm(dim=tuple(d for d in range(v.ndim) if d != dim), keepdim=True)


class _WeightNorm:
    """w = g v / ||v|| recomputed before each forward (Salimans & Kingma, NeurIPS 2016)."""

    def __init__(self, name: str, dim: int | None) -> None:
        self.name, self.dim = name, dim

    def compute(self, module: Any) -> Tensor:
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    def __call__(self, module: Any, inputs: Any) -> None:
        setattr(module, self.name, self.compute(module))


def weight_norm(module: Any, name: str = "weight", dim: int | None = 0) -> Any:
    """Reparameterise module.<name> as <name>_g (its norm except along dim) times <name>_v / ||<name>_v||."""
    from ..module import Parameter
    weight = getattr(module, name)
    if dim == -1:
        dim = None
    norm = _WeightNorm(name, dim)
    del module._parameters[name]
    module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight, dim).detach().clone()))
    module.register_parameter(name + "_v", Parameter(weight.detach().clone()))
    setattr(module, name, norm.compute(module))
    module._weight_norm_hook = (norm, module.register_forward_pre_hook(norm))
    return module


def remove_weight_norm(module: Any, name: str = "weight") -> Any:
    """Undo weight_norm: <name> is a plain parameter again, with its current value."""
    from ..module import Parameter
    norm, handle = module.__dict__.pop("_weight_norm_hook", (None, None))
    if norm is None or norm.name != name:
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    handle.remove()
    weight = norm.compute(module).detach()
    del module._parameters[name + "_g"], module._parameters[name + "_v"]
    if name in module.__dict__:
        del module.__dict__[name]
    module.register_parameter(name, Parameter(weight))
    return module
