"""Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019), with torch's update order."""
from __future__ import annotations

import math
from typing import Any, Iterable

from ..backend import xp
from ..tensor import no_grad
from .optimizer import Optimizer


class Adam(Optimizer):
    """m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr/(1-b1^t) m / (sqrt(v/(1-b2^t)) + eps)"""

    decoupled_weight_decay = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"{type(self).__name__}: invalid lr {lr}, betas {betas} or eps {eps}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    @no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p, grad, state in self._params_with_grad(group):
                if wd and self.decoupled_weight_decay:
                    p.data *= p.dtype.type(1 - lr * wd)
                elif wd:
                    grad = grad + wd * p.data
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = xp.zeros_like(p.data)
                    state["exp_avg_sq"] = xp.zeros_like(p.data)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = xp.zeros_like(p.data)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m *= beta1
                m += (1 - beta1) * grad
                v *= beta2
                v += (1 - beta2) * grad * grad
                if group["amsgrad"]:
                    xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                    v = state["max_exp_avg_sq"]
                step_size = lr / (1 - beta1 ** t)
                denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps
                p.data -= (step_size * m / denom).astype(p.dtype, copy=False)


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr wd before the Adam step"""

    decoupled_weight_decay = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
