"""Automatic differentiation with torch.autograd's names: backward, grad, Function, grad modes, gradcheck."""
from __future__ import annotations

from typing import Any, Callable

from . import functional
from .engine import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["functional", "backward", "grad", "Function", "FunctionCtx", "once_differentiable", "Variable", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled", "gradcheck",
           "set_detect_anomaly", "detect_anomaly", "GradcheckError"]


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Any:  # noqa: N802 - torch's name
    """The pre-0.4 wrapper: today a tensor is a Variable; returns `data` (requiring grad if asked)."""
    from ..tensor import Tensor, to_array
    tensor = data if isinstance(data, Tensor) else Tensor._wrap(to_array(data))
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


class GradcheckError(RuntimeError):
    """An analytic gradient that differs from its finite-difference estimate."""


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **ignored: Any) -> bool:
    """Compare the Jacobian from backward with central finite differences, column by column (use float64)."""
    from ..backend import xp
    from ..tensor import Tensor

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    wrt = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]

    def outputs() -> list:
        out = func(*inputs)
        return [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if isinstance(o, Tensor)]

    with no_grad():
        reference = [o._array.copy() for o in outputs()]
    for out_index, value in enumerate(reference):
        for flat in range(value.size):
            analytic = grad(outputs()[out_index].reshape(-1)[flat], wrt, allow_unused=True)
            for tensor, column in zip(wrt, analytic):
                numeric = xp.zeros(tensor.shape)
                base = tensor._array
                for position in range(base.size):
                    keep = base.flat[position]
                    with no_grad():
                        base.flat[position] = keep + eps
                        plus = outputs()[out_index]._array.reshape(-1)[flat]
                        base.flat[position] = keep - eps
                        minus = outputs()[out_index]._array.reshape(-1)[flat]
                        base.flat[position] = keep
                    numeric.flat[position] = (plus - minus) / (2 * eps)
                got = xp.zeros(tensor.shape) if column is None else column._array
                if not xp.allclose(got, numeric, atol=atol, rtol=rtol):
                    if raise_exception:
                        raise GradcheckError(f"Jacobian mismatch for output {out_index} (element {flat}) with respect "
                                             f"to an input of shape {tuple(tensor.shape)}:\nnumerical: {numeric}\n"
                                             f"analytical: {got}")
                    return False
    return True


class detect_anomaly:  # noqa: N801 - torch's name
    """Accepted for compatibility: nnci's errors already name the op that failed."""

    def __init__(self, check_nan: bool = True) -> None:
        pass

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


class set_detect_anomaly(detect_anomaly):  # noqa: N801 - torch's name
    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        pass


