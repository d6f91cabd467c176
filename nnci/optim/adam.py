"""Adam (Kingma & Ba, ICLR 2015), AdamW (Loshchilov & Hutter, ICLR 2019), Adamax, NAdam and RAdam, with torch's
update order."""
from __future__ import annotations

import math
from typing import Any, Iterable

from ..backend import xp
from ..kernels.adam import adam_update
from ..tensor import Tensor
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

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _check(type(self).__name__, lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        for p, grad, state in self._params_with_grad(group):
            param = p._array
            if wd and group["decoupled_weight_decay"]:
                param *= param.dtype.type(1 - lr * wd)
            elif wd:
                grad = grad + wd * param
            if "exp_avg" not in state:
                state["exp_avg"], state["exp_avg_sq"] = zeros_state(p), zeros_state(p)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = zeros_state(p)
            t = step_count(state)
            m, v = state["exp_avg"]._array, state["exp_avg_sq"]._array
            step_size, c2 = lr / (1 - beta1 ** t), math.sqrt(1 - beta2 ** t)
            if group["amsgrad"]:
                m += (1 - beta1) * (grad - m)  # torch's exp_avg.lerp_(grad, 1 - beta1)
                v *= beta2
                v += (1 - beta2) * grad * grad
                peak = state["max_exp_avg_sq"]._array
                xp.maximum(peak, v, out=peak)
                param -= (step_size * m / (xp.sqrt(peak) / c2 + eps)).astype(param.dtype, copy=False)
            else:
                adam_update(param, grad, m, v, beta1, beta2, step_size, c2, eps)
            self._changed(p)


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr wd before the Adam step"""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, **kwargs: Any) -> None:
        kwargs["decoupled_weight_decay"] = True
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, **kwargs)


class Adamax(Optimizer):
    """m += (1-b1)(g - m);  u = max(b2 u, |g| + eps);  p -= lr/(1-b1^t) m / u"""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, *, maximize: bool = False, **ignored: Any) -> None:
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


class NAdam(Optimizer):
    """Adam with Nesterov momentum (Dozat, ICLR 2016 workshop): mu_t = b1 (1 - 0.96^(t psi) / 2);
    p -= lr (1 - mu_t) / (1 - prod mu) g / d + lr mu_(t+1) / (1 - prod mu mu_(t+1)) m / d, d = sqrt(v / (1-b2^t)) + eps"""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        _check("NAdam", lr, betas, eps, weight_decay)
        if momentum_decay < 0:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        psi = group["momentum_decay"]
        for p, grad, state in self._params_with_grad(group):
            param = p._array
            if "exp_avg" not in state:
                state["mu_product"] = Tensor._wrap(xp.asarray(1.0, xp.float32))
                state["exp_avg"], state["exp_avg_sq"] = zeros_state(p), zeros_state(p)
            t = step_count(state)
            if wd and group["decoupled_weight_decay"]:
                param *= param.dtype.type(1 - lr * wd)
            elif wd:
                grad = grad + wd * param
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            product = state["mu_product"]._array
            product *= mu
            m, v = state["exp_avg"]._array, state["exp_avg_sq"]._array
            m += (1 - beta1) * (grad - m)
            v *= beta2
            v += (1 - beta2) * grad * grad
            denom = xp.sqrt(v / (1 - beta2 ** t)) + eps
            product_value = float(product)
            param += (-lr * (1.0 - mu) / (1.0 - product_value)) * (grad / denom)
            param += (-lr * mu_next / (1.0 - product_value * mu_next)) * (m / denom)
            self._changed(p)


class RAdam(Optimizer):
    """Rectified Adam (Liu et al., ICLR 2020): Adam's step times the variance rectification r_t when
    rho_t = rho_inf - 2 t b2^t / (1 - b2^t) > 5, else the bias-corrected momentum step alone"""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check("RAdam", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        for p, grad, state in self._params_with_grad(group):
            param = p._array
            if "exp_avg" not in state:
                state["exp_avg"], state["exp_avg_sq"] = zeros_state(p), zeros_state(p)
            t = step_count(state)
            if wd and group["decoupled_weight_decay"]:
                param *= param.dtype.type(1 - lr * wd)
            elif wd:
                grad = grad + wd * param
            m, v = state["exp_avg"]._array, state["exp_avg_sq"]._array
            m += (1 - beta1) * (grad - m)
            v *= beta2
            v += (1 - beta2) * grad * grad
            correction1, correction2 = 1 - beta1 ** t, 1 - beta2 ** t
            corrected = m / correction1
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * t * beta2 ** t / correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                adaptive = correction2 ** 0.5 / (xp.sqrt(v) + eps)
                param -= corrected * lr * adaptive * rect
            else:
                param -= corrected * lr
            self._changed(p)
