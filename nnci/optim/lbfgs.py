"""L-BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed., Alg. 7.4 and 7.5) with an optional strong-Wolfe line
search (their Alg. 3.5/3.6, cubic interpolation in the zoom), following torch.optim.LBFGS's iteration and stopping
rules; the parameters are handled as one flat float vector."""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ..autograd.grad_mode import enable_grad, no_grad
from ..backend import xp
from .optimizer import Optimizer


def cubic_minimizer(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                    bounds: tuple | None = None) -> float:
    """The minimiser of the cubic through (x1, f1, f1'=g1) and (x2, f2, g2), clipped to bounds (default [x1, x2])."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = d2_square ** 0.5
    if x1 <= x2:
        position = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        position = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(position, low), high)


def strong_wolfe(evaluate: Callable, t: float, d: Any, f: float, g: Any, gtd: Any, c1: float = 1e-4,
                 c2: float = 0.9, tolerance_change: float = 1e-9, max_ls: int = 25) -> tuple:
    """A step t along d with f(x + t d) <= f + c1 t g.d and |g(x + t d).d| <= c2 |g.d|: (f, g, t, evaluations)."""
    d_norm = xp.abs(d).max()
    f_new, g_new = evaluate(t)
    evaluations, iteration = 1, 0
    gtd_new = g_new @ d
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g.copy(), gtd
    done = False
    bracket = None
    while iteration < max_ls:  # bracketing phase
        sufficient_decrease = not (f_new > f + c1 * t * gtd or (iteration > 1 and f_new >= f_prev))
        if sufficient_decrease and abs(gtd_new) <= -c2 * gtd:
            bracket, done = [[t, f_new, g_new, gtd_new]], True
            break
        if not sufficient_decrease or gtd_new >= 0:
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new.copy(), gtd_new]]
            break
        low, high = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, cubic_minimizer(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(low, high))
        f_prev, g_prev, gtd_prev = f_new, g_new.copy(), gtd_new
        f_new, g_new = evaluate(t)
        evaluations += 1
        gtd_new = g_new @ d
        iteration += 1
    if iteration == max_ls:
        bracket = [[0, f, g, None], [t, f_new, g_new, None]]
    low_pos, high_pos = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    stuck = False
    while not done and iteration < max_ls:  # zoom phase
        (t_a, f_a, _, gtd_a), (t_b, f_b, _, gtd_b) = bracket
        if abs(t_b - t_a) * d_norm < tolerance_change:
            break
        t = cubic_minimizer(t_a, f_a, gtd_a, t_b, f_b, gtd_b)
        top, bottom = max(t_a, t_b), min(t_a, t_b)
        margin = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < margin:  # too close to an end: move inside, unless progress was fine
            if stuck or t >= top or t <= bottom:
                t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
                stuck = False
            else:
                stuck = True
        else:
            stuck = False
        f_new, g_new = evaluate(t)
        evaluations += 1
        gtd_new = g_new @ d
        iteration += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket[low_pos][1]:
            bracket[high_pos] = [t, f_new, g_new.copy(), gtd_new]
            low_pos, high_pos = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos][0] - bracket[low_pos][0]) >= 0:
                bracket[high_pos] = list(bracket[low_pos])
            bracket[low_pos] = [t, f_new, g_new.copy(), gtd_new]
    t, f_new, g_new, _ = bracket[low_pos]
    return f_new, g_new, t, evaluations


def _array(value: Any) -> Any:
    """State as arrays (a loaded state_dict holds tensors)."""
    from ..tensor import Tensor
    if isinstance(value, list):
        return [_array(v) for v in value]
    return value._array if isinstance(value, Tensor) else value


class LBFGS(Optimizer):
    """Quasi-Newton steps d = -H g, H from the last history_size (s, y) pairs by the two-loop recursion;
    step(closure) runs up to max_iter iterations (closure re-evaluates the loss and its gradients)."""

    def __init__(self, params: Iterable[Any], lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if line_search_fn not in (None, "strong_wolfe"):
            raise RuntimeError("only 'strong_wolfe' is supported")
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _flat_grad(self) -> Any:
        return xp.concatenate([xp.zeros(p.numel(), p._array.dtype) if p.grad is None else p.grad._array.reshape(-1)
                               for p in self._params])

    def _add_step(self, t: Any, d: Any) -> None:
        offset = 0
        for p in self._params:
            n = p.numel()
            p._array += (d[offset:offset + n] * t).reshape(p._array.shape).astype(p._array.dtype, copy=False)
            p._bump_version()
            offset += n

    def _set(self, values: list) -> None:
        for p, value in zip(self._params, values):
            p._array[...] = value
            p._bump_version()

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Up to max_iter L-BFGS iterations; returns the loss closure() gave before the first."""
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that re-evaluates the model and returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]

        def evaluate() -> float:
            with enable_grad():
                return closure()

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        first_loss = evaluate()
        loss = float(first_loss)
        evaluations = 1
        state["func_evals"] += 1
        with no_grad():
            flat_grad = self._flat_grad()
            if xp.abs(flat_grad).max() <= tolerance_grad:
                return first_loss
            d, t = _array(state.get("d")), _array(state.get("t"))
            old_dirs, old_steps, ro = (_array(state.get(k)) for k in ("old_dirs", "old_stps", "ro"))
            h_diag, prev_flat_grad = _array(state.get("H_diag")), _array(state.get("prev_flat_grad"))
            prev_loss = state.get("prev_loss")
            iteration = 0
            while iteration < max_iter:
                iteration += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d, old_dirs, old_steps, ro, h_diag = -flat_grad, [], [], [], 1
                else:
                    y, s = flat_grad - prev_flat_grad, d * t
                    ys = y @ s
                    if ys > 1e-10:  # keep the pair only where the curvature condition holds
                        if len(old_dirs) == history_size:
                            old_dirs.pop(0), old_steps.pop(0), ro.pop(0)
                        old_dirs.append(y), old_steps.append(s), ro.append(1.0 / ys)
                        h_diag = ys / (y @ y)
                    if "al" not in state:
                        state["al"] = [None] * history_size
                    alphas = state["al"]
                    q = -flat_grad
                    for i in range(len(old_dirs) - 1, -1, -1):
                        alphas[i] = (old_steps[i] @ q) * ro[i]
                        q = q - alphas[i] * old_dirs[i]
                    d = q * h_diag
                    for i in range(len(old_dirs)):
                        beta = (old_dirs[i] @ d) * ro[i]
                        d = d + (alphas[i] - beta) * old_steps[i]
                prev_flat_grad = flat_grad.copy()
                prev_loss = loss
                t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
                gtd = flat_grad @ d
                if gtd > -tolerance_change:
                    break
                if group["line_search_fn"] is not None:
                    start = [p._array.copy() for p in self._params]

                    def along(step: float) -> tuple:
                        self._add_step(step, d)
                        value = float(evaluate())
                        gradient = self._flat_grad()
                        self._set(start)
                        return value, gradient

                    loss, flat_grad, t, used = strong_wolfe(along, t, d, loss, flat_grad, gtd,
                                                            max_ls=max_eval - evaluations)
                    self._add_step(t, d)
                    converged = xp.abs(flat_grad).max() <= tolerance_grad
                else:
                    self._add_step(t, d)
                    used, converged = 0, False
                    if iteration != max_iter:
                        loss = float(evaluate())
                        flat_grad = self._flat_grad()
                        converged = xp.abs(flat_grad).max() <= tolerance_grad
                        used = 1
                evaluations += used
                state["func_evals"] += used
                if (iteration == max_iter or evaluations >= max_eval or converged
                        or xp.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change):
                    break
            state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_steps, ro=ro, H_diag=h_diag,
                         prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return first_loss
