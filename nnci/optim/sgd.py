"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch's update order)."""
from __future__ import annotations

from typing import Any, Iterable

from ..tensor import Tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    """d = g + wd p;  b = mu b + (1 - dampening) d (b = d at the first step);  p -= lr (d + mu b if nesterov else b)"""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _update_group(self, group: dict) -> None:
        lr, mu, damp, wd = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
        for p, grad, state in self._params_with_grad(group):
            d = grad + wd * p._array if wd else grad
            if mu:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = Tensor._wrap(d.astype(p._array.dtype, copy=True))
                else:
                    buf._array *= mu
                    buf._array += (1 - damp) * d
                d = d + mu * buf._array if group["nesterov"] else buf._array
            p._array -= (lr * d).astype(p._array.dtype, copy=False)
            self._changed(p)
