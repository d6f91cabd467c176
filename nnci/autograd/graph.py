"""The graph: nodes (torch's grad_fn objects), ops that create them, views, and in-place changes.

An `Op` is one differentiable operation: `forward(*arrays)` computes its output from arrays and keeps
what `backward` needs; `backward(grad)` turns the gradient of the output into one gradient per input.
`Op.apply(*tensors)` runs it and, when an input requires grad, makes the op the output's grad_fn with
`next_functions` pointing at the nodes that made the inputs (an `AccumulateGrad` for a leaf).

Edges point at nodes, not at tensors, so an in-place change can give a tensor a new grad_fn without
changing what earlier ops differentiate: x.mul_(2) makes x's grad_fn a Mul whose edge leads to x's old
node. Every input array an op keeps is checked against the tensor's version counter when backward runs;
a value changed in place since then raises, naming the op, instead of giving a wrong gradient.

A view (a tensor sharing its base's memory) changed in place rewrites its base's history as torch
does: the base's grad_fn becomes `CopySlices` (the gradient outside the view goes to the old base, the
gradient inside it through the in-place op), and every live view of the base is re-pointed at it.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

from ..backend import ignore_floating_errors, restore_floating_errors, xp
from ..tensor import Tensor
from .grad_mode import is_grad_enabled

trace_hooks: list = []  # callables (op class, input tensors, keyword arguments, output tensor), for nnci.onnx


class Node:
    """A backward function of the graph: gradients of its outputs in, gradients of its inputs out."""

    next_functions: tuple = ()
    _released = False

    def name(self) -> str:
        return f"{type(self).__name__}Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def metadata(self) -> dict:
        if "_metadata" not in self.__dict__:
            self._metadata = {}
        return self._metadata

    # ----- tensor hooks and retained gradients, per output --------------------------------------------
    def _tensor_hooks(self, output_nr: int) -> list:
        table = self.__dict__.setdefault("_hooks_by_output", {})
        return table.setdefault(output_nr, [])

    def _retain(self, output_nr: int, tensor: Tensor) -> None:
        self.__dict__.setdefault("_retained", {})[output_nr] = weakref.ref(tensor)

    def register_hook(self, hook: Callable) -> Any:
        """hook(grad_inputs, grad_outputs) after this node ran (its results are ignored here)."""
        hooks = self.__dict__.setdefault("_post_hooks", [])
        hooks.append(hook)
        return _Handle(hooks, hook)

    def register_prehook(self, hook: Callable) -> Any:
        """hook(grad_outputs) before this node runs; it may return replacement grad_outputs."""
        hooks = self.__dict__.setdefault("_pre_hooks", [])
        hooks.append(hook)
        return _Handle(hooks, hook)


class _Handle:
    def __init__(self, hooks: list, hook: Callable) -> None:
        self.hooks, self.hook = hooks, hook

    def remove(self) -> None:
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


class AccumulateGrad(Node):
    """The node of a leaf that requires grad: adds the incoming gradient to leaf.grad."""

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"


def edge_of(tensor: Tensor) -> tuple[Node | None, int]:
    """The (node, output number) that gradients for `tensor` flow into; (None, 0) when it needs none."""
    if tensor._grad_fn is not None:
        return tensor._grad_fn, tensor._output_nr
    if not tensor._requires_grad:
        return None, 0
    accumulator = tensor._accumulator() if tensor._accumulator is not None else None
    if accumulator is None:
        accumulator = AccumulateGrad(tensor)
        tensor._accumulator = weakref.ref(accumulator)
    return accumulator, 0


def _is_view_of(out: Any, source: Any) -> bool:
    return out is source or (out.base is not None and xp.may_share_memory(out, source))


class Op(Node):
    """A differentiable op: forward(*arrays, **kwargs) -> array and backward(grad) -> one grad per input.

    `saved_inputs` lists the inputs whose arrays backward reads (None: all of them); `saves_output` says
    that backward reads the output array. Both are checked for in-place changes when backward runs.
    A `view` op returns a view of input 0's memory through its static `view(array, **kwargs)`.
    """

    saved_inputs: tuple[int, ...] | None = None
    saves_output = False
    is_view = False
    node_name: str | None = None  # torch's grad_fn class name where it is not the op's name + Backward0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # torch's grad_fn classes are named after the op: type(y.grad_fn).__name__ == "MulBackward0" for y = a * b.
        # The module attribute keeps the op's own name (elementwise.Mul); only the class's name says Backward0.
        super().__init_subclass__(**kwargs)
        if "node_name" in cls.__dict__ and cls.node_name:
            cls.__name__ = cls.node_name
        elif not cls.__name__.endswith("Backward0"):
            cls.__name__ = f"{cls.__name__}Backward0"  # __qualname__ stays: inspect finds the source by it

    def name(self) -> str:
        return type(self).__name__

    def forward(self, *arrays: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad: Any) -> Any:
        raise NotImplementedError

    # ----- for a differentiable backward (create_graph=True): what backward read, as tensors in the graph -----
    def input_tensor(self, index: int, array: Any) -> Tensor:
        """Input `index`, whose value this op kept as `array`, as a tensor whose gradient reaches that input."""
        node, nr = self.next_functions[index]
        if node is None:
            return Tensor._wrap(array)
        if isinstance(node, AccumulateGrad):
            return node.variable
        tensor = Tensor._wrap(array, True)
        tensor._grad_fn, tensor._output_nr = node, nr
        return tensor

    def output_tensor(self, array: Any, nr: int = 0) -> Tensor:
        """This op's output `nr` (kept as `array`) as a tensor in the graph, produced by this very node."""
        tensor = Tensor._wrap(array, True)
        tensor._grad_fn, tensor._output_nr = self, nr
        return tensor

    def saves(self) -> tuple[int, ...]:
        """The inputs whose arrays backward reads (may depend on needs_input_grad)."""
        return tuple(range(len(self.next_functions))) if self.saved_inputs is None else self.saved_inputs

    @classmethod
    def apply(cls, *inputs: Tensor, **kwargs: Any) -> Tensor:
        """Run the op on tensors; record it for backward when grad mode is on and an input requires grad."""
        fn = cls()
        record = False
        if is_grad_enabled():
            fn.needs_input_grad = needs = tuple(t._requires_grad for t in inputs)
            record = any(needs)
        else:
            fn.needs_input_grad = (False,) * len(inputs)
        token = ignore_floating_errors()  # log 0 = -inf and 0/0 = NaN, as in torch, without NumPy's warnings
        try:
            out = fn.forward(*[t._array for t in inputs], **kwargs)
        finally:
            restore_floating_errors(token)
        if not isinstance(out, xp.ndarray):
            out = xp.asarray(out)
        result = Tensor._wrap(out, record)
        if record:
            fn.next_functions = tuple(edge_of(t) for t in inputs)
            fn._input_meta = tuple((t._array.shape, t._array.dtype) for t in inputs)
            fn._output_meta = ((out.shape, out.dtype),)
            fn._record_versions(inputs, (result,))
            result._grad_fn = fn
        if cls.is_view and _is_view_of(out, inputs[0]._array):
            mark_view(result, inputs[0], _bound_view(cls.view, kwargs))
        for hook in trace_hooks:
            hook(cls, inputs, kwargs, result)
        return result

    def _record_versions(self, inputs: tuple, outputs: tuple) -> None:
        saved = [(inputs[i], i) for i in self.saves()]
        if self.saves_output:
            saved += [(out, -1 - k) for k, out in enumerate(outputs)]
        self._saved = [(t._version_counter, t._version_counter.value, position, tuple(t._array.shape), t.dtype)
                       for t, position in saved]

    def _check_versions(self) -> None:
        for counter, version, position, shape, dtype in getattr(self, "_saved", ()):
            if counter.value != version:
                what = f"input {position}" if position >= 0 else f"output {-1 - position}"
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: [{dtype} tensor of shape {list(shape)}], which is {what} of {self.name()}, is at "
                    f"version {counter.value}; expected version {version} instead. Hint: the in-place change "
                    "came after the op; use an out-of-place op (x = x + y, not x += y) or clone() the tensor")

    def _release(self) -> None:
        """Free the arrays backward kept, as torch frees saved tensors after a backward pass."""
        for name, value in list(self.__dict__.items()):
            if name.startswith("_") or name in ("next_functions", "needs_input_grad"):
                continue
            if isinstance(value, xp.ndarray) or (isinstance(value, (list, tuple)) and
                                                  any(isinstance(v, xp.ndarray) for v in value)):
                del self.__dict__[name]
                self._released = True


def _bound_view(view: Callable, kwargs: dict) -> Callable:
    return lambda array: view(array, **kwargs)


def mark_view(result: Tensor, source: Tensor, view_fn: Callable) -> None:
    """Record that `result` is a view of `source`'s memory: one version counter, and a way to re-derive it
    from the root base's array (for in-place changes of views)."""
    root = source._base if source._base is not None else source
    if source._base is not None:
        outer = source._view_fn
        result._view_fn = lambda array: view_fn(outer(array))
    else:
        result._view_fn = view_fn
    result._base = root
    result._version_counter = root._version_counter
    if root._views is None:
        root._views = weakref.WeakSet()
    root._views.add(result)


class ViewOf(Node):
    """A view re-derived from its base after the base changed in place: dbase = g placed into the view."""

    def __init__(self, base_edge: tuple, view_fn: Callable, base_meta: tuple) -> None:
        self.next_functions = (base_edge,)
        self.view_fn, (self.base_shape, self.base_dtype) = view_fn, base_meta
        self._input_meta = (base_meta,)

    def name(self) -> str:
        return "AsStridedBackward0"

    def backward(self, g: Any) -> tuple:
        grad = xp.zeros(self.base_shape, g.dtype)
        self.view_fn(grad)[...] = g
        return (grad,)


class CopySlices(Node):
    """A base after one of its views changed in place: g outside the view goes to the old base, g inside it
    through the in-place op's node."""

    def __init__(self, base_edge: tuple, view_fn: Callable, op_edge: tuple, base_meta: tuple, view_meta: tuple) -> None:
        self.next_functions = (base_edge, op_edge)
        self.view_fn = view_fn
        self._input_meta = (base_meta, view_meta)

    def name(self) -> str:
        return "CopySlices"

    def backward(self, g: Any) -> tuple:
        outside = g.copy()
        region = self.view_fn(outside)
        inside = region.copy()
        region[...] = 0
        return outside, inside


def _check_inplace_allowed(target: Tensor) -> None:
    if not is_grad_enabled():
        return
    if target._grad_fn is None and target._requires_grad and target._base is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    base = target._base
    if base is not None and base._grad_fn is None and base._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")


def _category(kind: str) -> int:
    return {"b": 0, "u": 1, "i": 1, "f": 2}[kind]


def _check_result_fits(name: str, target: Tensor, out: Any) -> None:
    if out.shape != target._array.shape:
        raise RuntimeError(f"{name}: output with shape {list(target._array.shape)} doesn't match the broadcast shape "
                           f"{list(out.shape)}")
    if _category(out.dtype.kind) > _category(target._array.dtype.kind):
        raise RuntimeError(f"{name}: result type {out.dtype} can't be cast to the desired output type "
                           f"{target._array.dtype}")


class Linearized(Op):
    """The backward of an op whose backward is linear in g with constants fixed by its forward (max pooling's
    routing, average pooling, interpolation), as an op: dx = owner.backward(g), and d/dg of that is
    owner.jvp(h), the forward's derivative, so gradients of gradients flow through it."""
    saved_inputs = ()

    def forward(self, g, owner):
        self.owner = owner
        return owner.backward(g)[0]

    def backward(self, h):
        return (self.owner.jvp(h),)


def apply_inplace(cls: type, target: Tensor, *others: Tensor, name: str = "", **kwargs: Any) -> Tensor:
    """Run op `cls` on (target, *others) and write the result into target's memory, as torch's x.op_(...).

    The op's forward computes the new value; when the op keeps its input 0 for backward, it gets a copy of
    target's old value (the memory is overwritten). With gradients on, target (or, for a view, its base)
    gets a new grad_fn; every in-place change bumps the version counter shared with target's views.
    """
    name = name or f"{cls.__name__.removesuffix('Backward0').lower()}_"
    _check_inplace_allowed(target)
    if not target._array.flags.writeable:
        raise RuntimeError(f"{name}: the tensor's memory is read-only (an expand()ed view, or a read-only NumPy "
                           "array); clone() it first")
    inputs = (target,) + others
    fn = cls()
    record = is_grad_enabled() and any(t._requires_grad for t in inputs)
    fn.needs_input_grad = tuple(t._requires_grad for t in inputs) if record else (False,) * len(inputs)
    if record:
        fn.next_functions = tuple(edge_of(t) for t in inputs)
    # an input that backward keeps and whose memory is about to be overwritten is given to the op as a copy
    kept = set(fn.saves()) if record else set()
    private = {i for i, t in enumerate(inputs) if i in kept and (i == 0 or xp.may_share_memory(t._array, target._array))}
    keeps_target = 0 in private
    arrays = [t._array.copy() if i in private else t._array for i, t in enumerate(inputs)]
    direct = getattr(fn, "forward_into", None)
    token = ignore_floating_errors()
    try:
        if direct is not None and not keeps_target:
            direct(*arrays, **kwargs)  # writes target's memory itself (setitem: only the indexed region)
        else:
            out = fn.forward(*arrays, **kwargs)
    finally:
        restore_floating_errors(token)
    if direct is None or keeps_target:
        if not isinstance(out, xp.ndarray):
            out = xp.asarray(out)
        _check_result_fits(name, target, out)
        xp.copyto(target._array, out, casting="unsafe")
    target._bump_version()
    if not record:
        return target
    fn._input_meta = tuple((t._array.shape, t._array.dtype) for t in inputs)
    fn._output_meta = ((target._array.shape, target._array.dtype),)
    fn._record_versions(inputs, (target,))
    fn._saved = [entry for entry in fn._saved if entry[2] not in private]  # the op's own copies need no check
    base = target._base
    if base is None:
        target._grad_fn, target._output_nr, target._requires_grad = fn, 0, True
        views = list(target._views) if target._views is not None else []
        _repoint_views(views, (fn, 0), (target._array.shape, target._array.dtype))
        return target
    base_meta = (base._array.shape, base._array.dtype)
    copy = CopySlices(edge_of(base), target._view_fn, (fn, 0), base_meta, fn._output_meta[0])
    base._grad_fn, base._output_nr, base._requires_grad = copy, 0, True
    _repoint_views(list(base._views), (copy, 0), base_meta)
    return target


def _repoint_views(views: list, base_edge: tuple, base_meta: tuple) -> None:
    for view in views:
        view._grad_fn = ViewOf(base_edge, view._view_fn, base_meta)
        view._output_nr, view._requires_grad = 0, True
