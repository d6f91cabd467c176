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


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky, 1992), torch's form: p = p (1 - lambd eta) - eta g; the average
    ax += mu (p - ax); eta = lr / (1 + lambd lr t)^alpha, mu = 1 / max(1, t - t0)"""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update_group(self, group: dict) -> None:
        import numpy as np
        lr, lambd, alpha, t0, wd = group["lr"], group["lambd"], group["alpha"], group["t0"], group["weight_decay"]
        for p, grad, state in self._params_with_grad(group):
            param = p._array
            if "ax" not in state:
                state["step"] = Tensor._wrap(np.zeros((), np.float32))
                state["eta"] = Tensor._wrap(np.asarray(lr, np.float32))
                state["mu"] = Tensor._wrap(np.ones((), np.float32))
                state["ax"] = Tensor._wrap(np.zeros_like(param))
            state["step"]._array += 1
            step = float(state["step"]._array)
            if wd:
                grad = grad + wd * param
            eta = float(state["eta"]._array)
            param *= param.dtype.type(1 - lambd * eta)
            param -= (eta * grad).astype(param.dtype, copy=False)
            ax, mu = state["ax"]._array, float(state["mu"]._array)
            if mu != 1:
                ax += (param - ax) * mu
            else:
                ax[...] = param
            # torch computes both as float32 tensors, whatever dtype the state holds them in
            state["eta"]._array[...] = np.float32(lr / ((1 + lambd * lr * step) ** alpha))
            state["mu"]._array[...] = np.float32(1 / max(1, step - t0))
            self._changed(p)
