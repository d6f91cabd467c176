"""Tensor: an array, its gradient, and the op that made it.

Every differentiable op is a `Function` with `forward(*arrays)` and `backward(grad)`.
`Function.apply` runs the forward and, when gradients are wanted, remembers the op on the
output tensor. `Tensor.backward()` orders the graph (iteratively, so very deep graphs work),
walks it from the output back to the leaves and applies the chain rule: each op turns the
gradient of its output into gradients of its inputs, and `unbroadcast` undoes broadcasting
in one place for all ops.
"""
from __future__ import annotations

import contextlib
import threading
from collections import namedtuple
from typing import Any, Sequence

from .backend import default_dtype, generator, xp

_state = threading.local()


def is_grad_enabled() -> bool:
    """True unless inside `no_grad()`."""
    return getattr(_state, "grad_enabled", True)


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self) -> None:
        self.previous = is_grad_enabled()
        _state.grad_enabled = self.enabled

    def __exit__(self, *exc: Any) -> None:
        _state.grad_enabled = self.previous


def no_grad() -> _GradMode:
    """Context manager and decorator: ops inside record no graph (inference, updates)."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Context manager and decorator: turn graph recording back on inside no_grad."""
    return _GradMode(True)


def unbroadcast(grad: xp.ndarray, shape: tuple[int, ...]) -> xp.ndarray:
    """Sum a broadcast gradient back to `shape`: d(x broadcast)/dx is a sum over copies."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


trace_hooks: list = []  # callables (op class, input tensors, keyword arguments, output tensor)


class _Freed:
    """Marks an op whose saved arrays were released by a backward pass."""


_FREED = _Freed()


class Function:
    """One differentiable op: `forward` on arrays, `backward` from output grad to input grads."""

    def __init__(self, *parents: "Tensor") -> None:
        self.parents = parents
        self.needs_input_grad = tuple(p.requires_grad for p in parents)

    def forward(self, *arrays: xp.ndarray, **kwargs: Any) -> xp.ndarray:
        raise NotImplementedError

    def backward(self, grad: xp.ndarray) -> Sequence[xp.ndarray | None]:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: "Tensor", **kwargs: Any) -> "Tensor":
        """Run the op on tensors; record it for backward when any input requires grad."""
        fn = cls(*inputs)
        out = fn.forward(*(t.data for t in inputs), **kwargs)
        requires_grad = is_grad_enabled() and any(fn.needs_input_grad)
        result = Tensor(out, requires_grad=requires_grad, _copy=False)
        if requires_grad:
            result._ctx = fn
        for hook in trace_hooks:  # graph export (nnci.onnx) records every op as it runs
            hook(cls, inputs, kwargs, result)
        return result


def _to_array(data: Any, dtype: Any = None) -> xp.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    array = xp.asarray(data)
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if array.dtype == xp.float64 and not isinstance(data, xp.ndarray):
        return array.astype(default_dtype)  # Python floats and lists become float32, as in torch
    if array.dtype == xp.float16 or array.dtype.kind in "fiub":
        return array
    raise TypeError(f"cannot make a tensor from data of dtype {array.dtype}")


class Tensor:
    """An n-dimensional array that can record the ops applied to it and differentiate them."""

    __array_priority__ = 1000  # numpy_scalar * tensor goes to Tensor.__rmul__

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False, _copy: bool = True) -> None:
        if _copy or dtype is not None:
            self.data = _to_array(data, dtype)
        else:
            self.data = data
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError(f"only floating point tensors can require gradients, not {self.data.dtype}")
        self.requires_grad = requires_grad
        self.grad: Tensor | None = None
        self._ctx: Function | _Freed | None = None
        self._retains_grad = False

    # ----- plain properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        return self._ctx if isinstance(self._ctx, Function) else None

    def size(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> xp.ndarray:
        """The underlying array (shared, not copied), as torch's .numpy() on a detached tensor."""
        return self.data

    def item(self) -> float | int:
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """The same values, cut from the graph (shares memory)."""
        return Tensor(self.data, requires_grad=False, _copy=False)

    def clone(self) -> "Tensor":
        from .ops import shape
        return shape.Clone.apply(self)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and self.data.dtype.kind != "f":
            raise RuntimeError(f"only floating point tensors can require gradients, not {self.data.dtype}")
        self.requires_grad = flag
        return self

    def retain_grad(self) -> None:
        """Keep .grad on this non-leaf tensor after backward."""
        self._retains_grad = True

    def float(self) -> "Tensor":
        return self.to(xp.float32)

    def double(self) -> "Tensor":
        return self.to(xp.float64)

    def long(self) -> "Tensor":
        return Tensor(self.data.astype(xp.int64))

    def to(self, dtype: Any) -> "Tensor":
        """Cast to `dtype`; differentiable between float types."""
        from .ops import elementwise
        if xp.dtype(dtype) == self.dtype:
            return self
        if xp.dtype(dtype).kind == "f" and self.requires_grad:
            return elementwise.Cast.apply(self, dtype=dtype)
        return Tensor(self.data.astype(dtype))

    type = to

    def __repr__(self) -> str:
        body = xp.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype not in (xp.float32, xp.int64):
            extra += f", dtype={self.data.dtype}"
        if isinstance(self._ctx, Function):
            extra += f", grad_fn=<{type(self._ctx).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> xp.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    __hash__ = object.__hash__

    # ----- in-place helpers for initialisation and optimizers (never recorded) -----------
    def _check_inplace(self) -> None:
        if is_grad_enabled() and self.requires_grad and self.is_leaf:
            raise RuntimeError(
                "a leaf tensor that requires grad cannot be modified in place; wrap the update in nnci.no_grad()")

    def copy_(self, source: Any) -> "Tensor":
        self._check_inplace()
        src = _to_array(source)
        if src.shape != self.shape and xp.broadcast_shapes(src.shape, self.shape) != self.shape:
            raise ValueError(f"copy_: cannot copy shape {src.shape} into shape {self.shape}")
        self.data[...] = src
        return self

    def fill_(self, value: float) -> "Tensor":
        self._check_inplace()
        self.data[...] = value
        return self

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    def uniform_(self, low: float = 0.0, high: float = 1.0) -> "Tensor":
        self._check_inplace()
        self.data[...] = generator().uniform(low, high, self.shape)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> "Tensor":
        self._check_inplace()
        self.data[...] = generator().normal(mean, std, self.shape)
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check_inplace()
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError("assigning into a tensor that is part of a graph is not supported; use nnci.where or cat")
        self.data[_index_arrays(index)] = _to_array(value)

    # ----- autodiff -------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's .grad by the chain rule, outputs first."""
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no graph")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() on a tensor of shape {self.shape} needs gradient=: the gradient can be "
                    "created implicitly only for a single-element output")
            seed = xp.ones_like(self.data)
        else:
            seed = _to_array(gradient, self.dtype)
            if seed.shape != self.shape:
                raise RuntimeError(f"backward(): gradient has shape {seed.shape} but the output has shape {self.shape}")
        grads: dict[int, xp.ndarray] = {id(self): seed}
        for node in reversed(_topological_order(self)):
            grad = grads.pop(id(node), None)
            if grad is None:
                continue
            ctx = node._ctx
            if ctx is None or node._retains_grad:
                node._accumulate_grad(grad)
            if ctx is None:
                continue
            if ctx is _FREED:
                raise RuntimeError(
                    "backward through a graph a second time: its saved values were freed; "
                    "use backward(retain_graph=True) the first time")
            input_grads = ctx.backward(grad)
            for parent, parent_grad in zip(ctx.parents, input_grads):
                if parent_grad is None or not parent.requires_grad:
                    continue
                parent_grad = unbroadcast(parent_grad, parent.shape)
                if parent_grad.dtype != parent.dtype:
                    parent_grad = parent_grad.astype(parent.dtype)
                key = id(parent)
                grads[key] = parent_grad if key not in grads else grads[key] + parent_grad
            if not retain_graph:
                node._ctx = _FREED

    def _accumulate_grad(self, grad: xp.ndarray) -> None:
        if self.grad is None:
            self.grad = Tensor(xp.array(grad, dtype=self.dtype, copy=True), _copy=False)
        else:
            self.grad = Tensor(self.grad.data + grad, _copy=False)

    # ----- operators (defined in ops/, attached below) ------------------------------------
    def __neg__(self) -> "Tensor":
        return _elementwise().Neg.apply(self)

    def __add__(self, other: Any) -> "Tensor":
        return _elementwise().Add.apply(*_pair(self, other))

    def __radd__(self, other: Any) -> "Tensor":
        return _elementwise().Add.apply(*_pair(other, self))

    def __sub__(self, other: Any) -> "Tensor":
        return _elementwise().Sub.apply(*_pair(self, other))

    def __rsub__(self, other: Any) -> "Tensor":
        return _elementwise().Sub.apply(*_pair(other, self))

    def __mul__(self, other: Any) -> "Tensor":
        return _elementwise().Mul.apply(*_pair(self, other))

    def __rmul__(self, other: Any) -> "Tensor":
        return _elementwise().Mul.apply(*_pair(other, self))

    def __truediv__(self, other: Any) -> "Tensor":
        return _elementwise().Div.apply(*_pair(self, other))

    def __rtruediv__(self, other: Any) -> "Tensor":
        return _elementwise().Div.apply(*_pair(other, self))

    def __pow__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)):
            return _elementwise().PowScalar.apply(self, exponent=other)
        return _elementwise().Pow.apply(*_pair(self, other))

    def __rpow__(self, other: Any) -> "Tensor":
        return _elementwise().Pow.apply(*_pair(other, self))

    def __matmul__(self, other: Any) -> "Tensor":
        from .ops.linalg import matmul
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> "Tensor":
        from .ops.linalg import matmul
        return matmul(as_tensor(other), self)

    def __getitem__(self, index: Any) -> "Tensor":
        from .ops.shape import Index
        return Index.apply(self, index=_index_arrays(index))

    # comparisons give boolean tensors without gradient, as in torch
    def __lt__(self, other: Any) -> "Tensor":
        return Tensor(self.data < _to_array(other), _copy=False)

    def __le__(self, other: Any) -> "Tensor":
        return Tensor(self.data <= _to_array(other), _copy=False)

    def __gt__(self, other: Any) -> "Tensor":
        return Tensor(self.data > _to_array(other), _copy=False)

    def __ge__(self, other: Any) -> "Tensor":
        return Tensor(self.data >= _to_array(other), _copy=False)

    def eq(self, other: Any) -> "Tensor":
        return Tensor(self.data == _to_array(other), _copy=False)

    def ne(self, other: Any) -> "Tensor":
        return Tensor(self.data != _to_array(other), _copy=False)

    def __invert__(self) -> "Tensor":
        return Tensor(~self.data, _copy=False)

    def __and__(self, other: Any) -> "Tensor":
        return Tensor(self.data & _to_array(other), _copy=False)

    def __or__(self, other: Any) -> "Tensor":
        return Tensor(self.data | _to_array(other), _copy=False)


def _elementwise() -> Any:
    from .ops import elementwise
    return elementwise


def _index_arrays(index: Any) -> Any:
    """Turn tensors inside an index into arrays, so numpy indexing rules apply unchanged."""
    if isinstance(index, tuple):
        return tuple(_index_arrays(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return xp.asarray(index)
    return index


def as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """A Tensor from a tensor, array or Python number; numbers take `like`'s dtype."""
    if isinstance(value, Tensor):
        return value
    if like is not None and not isinstance(value, xp.ndarray) and like.dtype.kind == "f":
        return Tensor(xp.asarray(value, dtype=like.dtype), _copy=False)
    if isinstance(value, xp.generic) and like is not None:  # a numpy scalar acts like a Python number
        return Tensor(xp.asarray(value, dtype=like.dtype), _copy=False)
    return Tensor(value)


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as tensors; an integer or bool operand takes the float one's dtype (torch's promotion)."""
    a, b = (a, as_tensor(b, like=a)) if isinstance(a, Tensor) else (as_tensor(a, like=b), b)
    if a.dtype.kind == "f" and b.dtype.kind in "iub":
        b = Tensor(b.data.astype(a.dtype), _copy=False)
    elif b.dtype.kind == "f" and a.dtype.kind in "iub":
        a = Tensor(a.data.astype(b.dtype), _copy=False)
    return a, b


def _topological_order(root: Tensor) -> list[Tensor]:
    """Nodes that lead to `root` requiring grad, each after its inputs (iterative DFS)."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if isinstance(node._ctx, Function):
            for parent in node._ctx.parents:
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order


# ----- module-level constructors (torch names) ---------------------------------------------
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (float32 for Python floats, as in torch)."""
    array = xp.array(_to_array(data, dtype), copy=True)
    return Tensor(array, requires_grad=requires_grad, _copy=False)


def _shape_of(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(xp.zeros(_shape_of(shape), dtype or default_dtype), requires_grad=requires_grad, _copy=False)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(xp.ones(_shape_of(shape), dtype or default_dtype), requires_grad=requires_grad, _copy=False)


def full(shape: Sequence[int], value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(xp.full(tuple(shape), value, dtype or default_dtype), requires_grad=requires_grad, _copy=False)


def zeros_like(t: Tensor, dtype: Any = None) -> Tensor:
    return Tensor(xp.zeros(t.shape, dtype or t.dtype), _copy=False)


def ones_like(t: Tensor, dtype: Any = None) -> Tensor:
    return Tensor(xp.ones(t.shape, dtype or t.dtype), _copy=False)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the global generator (seed with nnci.manual_seed)."""
    data = generator().standard_normal(_shape_of(shape), dtype=dtype or default_dtype)
    return Tensor(data, requires_grad=requires_grad, _copy=False)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) from the global generator."""
    data = generator().random(_shape_of(shape), dtype=dtype or default_dtype)
    return Tensor(data, requires_grad=requires_grad, _copy=False)


def randint(low: int, high: int, size: Sequence[int]) -> Tensor:
    return Tensor(generator().integers(low, high, tuple(size), dtype=xp.int64), _copy=False)


def randperm(n: int) -> Tensor:
    return Tensor(generator().permutation(n).astype(xp.int64), _copy=False)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None) -> Tensor:
    """Evenly spaced values in [start, end): int64 for integer arguments, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, int) for v in (start, end, step))
        dtype = xp.int64 if is_int else default_dtype
    return Tensor(xp.arange(start, end, step, dtype=dtype), _copy=False)


def linspace(start: float, end: float, steps: int, dtype: Any = None) -> Tensor:
    return Tensor(xp.linspace(start, end, steps, dtype=dtype or default_dtype), _copy=False)


def eye(n: int, m: int | None = None, dtype: Any = None) -> Tensor:
    return Tensor(xp.eye(n, m, dtype=dtype or default_dtype), _copy=False)


MaxResult = namedtuple("MaxResult", ["values", "indices"])
