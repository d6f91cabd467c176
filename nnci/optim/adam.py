"""Adam (Kingma & Ba, ICLR 2015), AdamW (Loshchilov & Hutter, ICLR 2019) and Adamax, with torch's update order."""
from __future__ import annotations

import math
from typing import Any, Iterable

from ..backend import xp
from .optimizer import Optimizer, step_count, zeros_state


def _check(name: str, lr: float, betas: Any, eps: float, weight_decay: float) -> None:
    if lr < 0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if weight_decay < 0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """m += (1-b1)(g - m);  v = b2 v + (1-b2) g^2;  p -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps)"""

    decoupled_weight_decay = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        _check(type(self).__name__, lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused))

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        for p, grad, state in self._params_with_grad(group):
            param = p._array
            if wd and self.decoupled_weight_decay:
                param *= param.dtype.type(1 - lr * wd)
            elif wd:
                grad = grad + wd * param
            if "exp_avg" not in state:
                state["exp_avg"], state["exp_avg_sq"] = zeros_state(p), zeros_state(p)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = zeros_state(p)
            t = step_count(state)
            m, v = state["exp_avg"]._array, state["exp_avg_sq"]._array
            m += (1 - beta1) * (grad - m)  # torch's exp_avg.lerp_(grad, 1 - beta1)
            v *= beta2
            v += (1 - beta2) * grad * grad
            if group["amsgrad"]:
                peak = state["max_exp_avg_sq"]._array
                xp.maximum(peak, v, out=peak)
                v = peak
            step_size = lr / (1 - beta1 ** t)
            denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps
            param -= (step_size * m / denom).astype(param.dtype, copy=False)
            self._changed(p)


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr wd before the Adam step"""

    decoupled_weight_decay = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, **kwargs: Any) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, **kwargs)


class Adamax(Optimizer):
    """m += (1-b1)(g - m);  u = max(b2 u, |g| + eps);  p -= lr/(1-b1^t) m / u"""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *, maximize: bool = False, **ignored: Any) -> None:
        _check("Adamax", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=None, differentiable=False, capturable=False))

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        for p, grad, state in self._params_with_grad(group):
            param = p._array
            if wd:
                grad = grad + wd * param
            if "exp_avg" not in state:
                state["exp_avg"], state["exp_inf"] = zeros_state(p), zeros_state(p)
            t = step_count(state)
            m, u = state["exp_avg"]._array, state["exp_inf"]._array
            m += (1 - beta1) * (grad - m)
            xp.maximum(u * beta2, xp.abs(grad) + eps, out=u)
            param -= (lr / (1 - beta1 ** t) * m / u).astype(param.dtype, copy=False)
            self._changed(p)
