"""RMSprop (Hinton's lecture 6e), Adagrad (Duchi et al., JMLR 2011), Adadelta (Zeiler, 2012) and Rprop (Riedmiller &
Braun, 1993), as torch."""
from __future__ import annotations

from typing import Any, Iterable

from ..backend import xp
from ..tensor import Tensor
from .optimizer import Optimizer, step_count, zeros_state


class RMSprop(Optimizer):
    """s = a s + (1-a) g^2;  p -= lr g / (sqrt(s - (centered) mean(g)^2) + eps)  (with momentum: through a buffer)"""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        for name, value in (("learning rate", lr), ("epsilon value", eps), ("momentum value", momentum),
                            ("weight_decay value", weight_decay), ("alpha value", alpha)):
            if value < 0:
                raise ValueError(f"Invalid {name}: {value}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, capturable=capturable, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def _update_group(self, group: dict) -> None:
        lr, alpha, eps, wd, mu = group["lr"], group["alpha"], group["eps"], group["weight_decay"], group["momentum"]
        for p, grad, state in self._params_with_grad(group):
            param = p._array
            if wd:
                grad = grad + wd * param
            if "square_avg" not in state:
                state["square_avg"] = zeros_state(p)
                if mu > 0:
                    state["momentum_buffer"] = zeros_state(p)
                if group["centered"]:
                    state["grad_avg"] = zeros_state(p)
            step_count(state)
            square = state["square_avg"]._array
            square *= alpha
            square += (1 - alpha) * grad * grad
            if group["centered"]:
                mean = state["grad_avg"]._array
                mean += (1 - alpha) * (grad - mean)
                avg = xp.sqrt(square - mean * mean) + eps
            else:
                avg = xp.sqrt(square) + eps
            if mu > 0:
                buf = state["momentum_buffer"]._array
                buf *= mu
                buf += grad / avg
                param -= (lr * buf).astype(param.dtype, copy=False)
            else:
                param -= (lr * grad / avg).astype(param.dtype, copy=False)
            self._changed(p)


class Adagrad(Optimizer):
    """s += g^2;  p -= lr / (1 + (t - 1) lr_decay) g / (sqrt(s) + eps)"""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        if lr < 0 or lr_decay < 0 or weight_decay < 0 or initial_accumulator_value < 0 or eps < 0:
            raise ValueError(f"Adagrad: invalid lr {lr}, lr_decay {lr_decay}, weight_decay {weight_decay}, "
                             f"initial_accumulator_value {initial_accumulator_value} or eps {eps}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        for group in self.param_groups:  # torch fills the state at construction
            for p in group["params"]:
                state = self.state[p]
                state["step"] = Tensor._wrap(xp.zeros((), xp.float32))
                state["sum"] = Tensor._wrap(xp.full_like(p._array, group["initial_accumulator_value"]))

    def _update_group(self, group: dict) -> None:
        lr, decay, eps, wd = group["lr"], group["lr_decay"], group["eps"], group["weight_decay"]
        for p, grad, state in self._params_with_grad(group):
            param = p._array
            if wd:
                grad = grad + wd * param
            t = step_count(state)
            clr = lr / (1 + (t - 1) * decay)
            total = state["sum"]._array
            total += grad * grad
            param -= (clr * grad / (xp.sqrt(total) + eps)).astype(param.dtype, copy=False)
            self._changed(p)


class Adadelta(Optimizer):
    """s = r s + (1-r) g^2;  d = sqrt(a + eps) / sqrt(s + eps) g;  a = r a + (1-r) d^2;  p -= lr d"""

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        if lr < 0 or not 0 <= rho <= 1 or eps < 0 or weight_decay < 0:
            raise ValueError(f"Adadelta: invalid lr {lr}, rho {rho}, eps {eps} or weight_decay {weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      capturable=capturable, maximize=maximize, differentiable=differentiable))

    def _update_group(self, group: dict) -> None:
        lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        for p, grad, state in self._params_with_grad(group):
            param = p._array
            if wd:
                grad = grad + wd * param
            if "square_avg" not in state:
                state["square_avg"], state["acc_delta"] = zeros_state(p), zeros_state(p)
            step_count(state)
            square, acc = state["square_avg"]._array, state["acc_delta"]._array
            square *= rho
            square += (1 - rho) * grad * grad
            delta = xp.sqrt(acc + eps) / xp.sqrt(square + eps) * grad
            acc *= rho
            acc += (1 - rho) * delta * delta
            param -= (lr * delta).astype(param.dtype, copy=False)
            self._changed(p)


class Rprop(Optimizer):
    """Resilient backprop (Riedmiller & Braun, 1993): per-weight step sizes grow by eta+ while sign(g) holds and
    shrink by eta- when it flips (that step skipped); p -= sign(g) step"""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def _update_group(self, group: dict) -> None:
        (eta_minus, eta_plus), (smallest, largest) = group["etas"], group["step_sizes"]
        for p, grad, state in self._params_with_grad(group):
            if "prev" not in state:
                state["prev"] = zeros_state(p)
                state["step_size"] = Tensor._wrap(xp.full_like(p._array, group["lr"]))
            step_count(state)
            prev, step_size = state["prev"]._array, state["step_size"]._array
            sign = xp.sign(grad * prev)
            factor = xp.where(sign > 0, eta_plus, xp.where(sign < 0, eta_minus, 1.0)).astype(step_size.dtype)
            step_size *= factor
            xp.clip(step_size, smallest, largest, out=step_size)
            grad = xp.where(factor == step_size.dtype.type(eta_minus), 0, grad).astype(p._array.dtype)
            p._array -= xp.sign(grad) * step_size
            prev[...] = grad
            self._changed(p)
