"""torch.autograd.functional: Jacobians and vector-Jacobian products of a function, by reverse mode (one backward
pass per output element for the Jacobian); Hessians and Hessian-vector products through create_graph."""
from __future__ import annotations

from typing import Any, Callable

from ..backend import xp
from .engine import grad
from .grad_mode import enable_grad


def _as_tuple(value: Any) -> tuple[tuple, bool]:
    return (tuple(value), True) if isinstance(value, (tuple, list)) else ((value,), False)


def _fresh_inputs(inputs: tuple) -> tuple:
    return tuple(t.detach().requires_grad_(True) for t in inputs)


def _no_create_graph(create_graph: bool) -> None:
    if create_graph:
        raise NotImplementedError("nnci's autograd does not build graphs of gradients (create_graph=True)")


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), v^T J): the vector-Jacobian product at inputs"""
    from ..creation import ones_like, zeros_like
    _no_create_graph(create_graph)
    inputs, inputs_tuple = _as_tuple(inputs)
    inputs = _fresh_inputs(inputs)
    with enable_grad():
        outputs = func(*inputs)
    outputs_t, outputs_tuple = _as_tuple(outputs)
    if v is None:
        if any(o.numel() != 1 for o in outputs_t):
            raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                               "Tensor with a single element.")
        v_t = tuple(ones_like(o) for o in outputs_t)
    else:
        v_t, _ = _as_tuple(v)
    grads = grad(outputs_t, inputs, v_t, allow_unused=True)
    grads = tuple(zeros_like(i) if g is None else g for g, i in zip(grads, inputs))
    detached = tuple(o.detach() for o in outputs_t)
    return (detached if outputs_tuple else detached[0]), (grads if inputs_tuple else grads[0])


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """J[i..., j...] = d func(inputs)[i...] / d inputs[j...], one entry per (output, input) pair"""
    from ..tensor import Tensor
    _no_create_graph(create_graph)
    inputs, inputs_tuple = _as_tuple(inputs)
    inputs = _fresh_inputs(inputs)
    with enable_grad():
        outputs = func(*inputs)
    outputs_t, outputs_tuple = _as_tuple(outputs)
    table = []
    for out in outputs_t:
        blocks = [xp.zeros((out.numel(),) + tuple(i.shape), dtype=i._array.dtype) for i in inputs]
        flat = out.reshape(-1)
        for k in range(out.numel()):
            rows = grad(flat[k], inputs, retain_graph=True, allow_unused=True)
            for block, row in zip(blocks, rows):
                if row is not None:
                    block[k] = row._array
        table.append(tuple(Tensor._wrap(b.reshape(tuple(out.shape) + tuple(i.shape)))
                           for b, i in zip(blocks, inputs)))
    if not outputs_tuple:
        return table[0] if inputs_tuple else table[0][0]
    return tuple(row if inputs_tuple else row[0] for row in table)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), J v): the Jacobian-vector product, from the full Jacobian"""
    from ..ops.linalg import tensordot
    _no_create_graph(create_graph)
    inputs_t, inputs_tuple = _as_tuple(inputs)
    if v is None:
        if any(i.numel() != 1 for i in inputs_t):
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                               "single Tensor with a single element.")
        from ..creation import ones_like
        v_t = tuple(ones_like(i) for i in inputs_t)
    else:
        v_t, _ = _as_tuple(v)
    from .grad_mode import no_grad
    with no_grad():
        outputs = func(*inputs_t)
    outputs_t, outputs_tuple = _as_tuple(outputs)
    table = jacobian(func, tuple(inputs_t))
    table = table if outputs_tuple else (table,)
    products = []
    for out, row in zip(outputs_t, table):
        total = None
        for block, direction in zip(row, v_t):
            term = tensordot(block, direction, dims=direction.ndim)
            total = term if total is None else total + term
        products.append(total.reshape(out.shape))
    detached = tuple(o.detach() for o in outputs_t)
    return (detached if outputs_tuple else detached[0]), (tuple(products) if outputs_tuple else products[0])


def _gradient_function(func: Callable) -> Callable:
    """x -> d func(x) / dx, differentiable (create_graph)"""
    def gradients(*xs: Any) -> tuple:
        out = func(*xs)
        if out.numel() != 1:
            raise RuntimeError("The function given to hessian should return a single element Tensor")
        return grad(out.reshape(()), xs, create_graph=True, allow_unused=True, materialize_grads=True)
    return gradients


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """H[i][j] = d^2 func / d inputs[i] d inputs[j] for a scalar func"""
    _no_create_graph(create_graph)
    inputs_t, inputs_tuple = _as_tuple(inputs)
    table = jacobian(_gradient_function(func), inputs_t)
    return table if inputs_tuple else table[0][0]


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), v^T H): the vector-Hessian product, by differentiating <grad func, v>"""
    _no_create_graph(create_graph)
    inputs_t, inputs_tuple = _as_tuple(inputs)
    v_t, _ = _as_tuple(v)
    xs = _fresh_inputs(inputs_t)
    with enable_grad():
        out = func(*xs)
        grads = grad(out.reshape(()), xs, create_graph=True, allow_unused=True, materialize_grads=True)
        total = None
        for g, direction in zip(grads, v_t):
            term = (g * direction).sum()
            total = term if total is None else total + term
    products = grad(total, xs, allow_unused=True, materialize_grads=True)
    return out.detach(), (products if inputs_tuple else products[0])


hvp = vhp  # the Hessian of a twice-differentiable function is symmetric: H v = (v^T H)^T
