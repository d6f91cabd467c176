"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch's update)."""
from __future__ import annotations

from typing import Any, Iterable

from ..tensor import no_grad
from .optimizer import Optimizer


class SGD(Optimizer):
    """d = g + wd p;  b = mu b + (1 - dampening) d;  p -= lr (d + mu b if nesterov else b)"""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be >= 0, got {lr}, {momentum}, {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov))

    @no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            lr, mu, damp, wd = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
            for p, grad, state in self._params_with_grad(group):
                d = grad + wd * p.data if wd else grad
                if mu:
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = d.copy()
                    else:
                        buf *= mu
                        buf += (1 - damp) * d
                    d = d + mu * buf if group["nesterov"] else buf
                p.data -= (lr * d).astype(p.dtype, copy=False)
