"""Adam's update of one parameter, in torch's order (torch.optim.Adam, non-fused):

    m = m + (1 - b1) (g - m)                     (exp_avg.lerp_(g, 1 - b1))
    v = b2 v + (1 - b2) g g
    p = p - step_size m / (sqrt(v) / c2 + eps)   (step_size = lr / (1 - b1^t), c2 = sqrt(1 - b2^t))

Compiled, one pass over the four arrays, each element updated in registers, in the parameter's dtype; the NumPy
twin takes about twelve passes and reads like the formula.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import choose, jit


def adam_update_reference(param: Any, grad: Any, m: Any, v: Any, beta1: float, beta2: float, step_size: float,
                          c2: float, eps: float) -> None:
    """m += (1-b1)(g - m);  v = b2 v + (1-b2) g g;  p -= step_size m / (sqrt(v)/c2 + eps), in place"""
    m += (1 - beta1) * (grad - m)
    v *= beta2
    v += (1 - beta2) * grad * grad
    denom = np.sqrt(v) / c2 + eps
    param -= (step_size * m / denom).astype(param.dtype, copy=False)


@jit()
def _adam_update(param, grad, m, v, beta1, beta2, step_size, c2, eps):  # pragma: no cover - compiled
    b2 = param.dtype.type(beta2)
    lerp, keep = param.dtype.type(1 - beta1), param.dtype.type(1 - beta2)
    scale, correction, floor = param.dtype.type(step_size), param.dtype.type(c2), param.dtype.type(eps)
    for i in range(param.shape[0]):
        g = grad[i]
        mi = m[i] + lerp * (g - m[i])
        vi = v[i] * b2 + keep * g * g
        m[i], v[i] = mi, vi
        param[i] -= scale * mi / (np.sqrt(vi) / correction + floor)


def adam_update_fast(param: Any, grad: Any, m: Any, v: Any, beta1: float, beta2: float, step_size: float,
                     c2: float, eps: float) -> None:
    _adam_update(param.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1), beta1, beta2, step_size, c2,
                 eps)


def _applies(param: Any, grad: Any, m: Any, v: Any, *scalars: float) -> bool:
    """one dtype (float32 or float64) and C-contiguous arrays, so that reshape(-1) views them in place"""
    arrays = (param, grad, m, v)
    return (param.dtype in (np.float32, np.float64) and all(a.dtype == param.dtype for a in arrays)
            and all(a.flags.c_contiguous for a in arrays))


adam_update = choose(adam_update_fast, adam_update_reference, _applies)
