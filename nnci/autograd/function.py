"""Custom differentiable functions written by users, with torch.autograd.Function's API.

    class Exp(nnci.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad_output):
            (y,) = ctx.saved_tensors
            return grad_output * y

    y = Exp.apply(x)

forward runs without recording a graph; the outputs get one node whose backward calls the class's
backward on tensors. forward(*args) with a separate setup_context(ctx, inputs, output) works too.
"""
from __future__ import annotations

from typing import Any, Callable

from ..backend import xp
from ..tensor import Tensor
from .graph import Node, edge_of
from .grad_mode import is_grad_enabled, no_grad

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after they have "
          "already been freed). Specify retain_graph=True if you need to backward through the graph a second time.")


class FunctionCtx:
    """What forward leaves for backward: saved tensors (checked for in-place changes) and any attribute."""

    def __init__(self) -> None:
        self._saved: list = []
        self._released = False
        self.needs_input_grad: tuple = ()
        self.materialize_grads = True
        self._dirty: tuple = ()
        self._non_differentiable: tuple = ()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        for tensor in tensors:
            if tensor is not None and not isinstance(tensor, Tensor):
                raise TypeError(f"save_for_backward can only save tensors or None, got {type(tensor).__name__}")
        self._saved = [(t, None if t is None else t._version_counter.value) for t in tensors]

    def _resnapshot(self) -> None:
        """Saved versions as of the end of forward (outputs saved in forward are saved as they are returned)."""
        self._saved = [(t, None if t is None else t._version_counter.value) for t, _ in self._saved]

    @property
    def saved_tensors(self) -> tuple:
        if self._released:
            raise RuntimeError(_FREED)
        for index, (tensor, version) in enumerate(self._saved):
            if tensor is not None and tensor._version_counter.value != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace operation: "
                    f"saved tensor {index} of shape {list(tensor.shape)} is at version {tensor._version_counter.value}; "
                    f"expected version {version} instead")
        return tuple(t for t, _ in self._saved)

    saved_variables = saved_tensors

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Declare inputs that forward changed in place."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Declare outputs that have no gradient (indices, masks)."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """False: backward receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)


class _CustomBackward(Node):
    """The node of a custom Function's outputs."""

    def __init__(self, function: type, ctx: FunctionCtx, positions: list[int], argument_count: int) -> None:
        self.function, self.ctx, self.positions, self.argument_count = function, ctx, positions, argument_count

    def name(self) -> str:
        return f"{self.function.__name__}Backward"

    @property
    def materialize_grads(self) -> bool:
        return self.ctx.materialize_grads

    def backward(self, *grads: Any) -> tuple:
        grad_tensors = [None if g is None else Tensor._wrap(g) for g in grads]
        with no_grad():
            result = self.function.backward(self.ctx, *grad_tensors)
        return tuple(None if g is None else g._array for g in self._checked(result))

    def vjp(self, *grads: Any) -> tuple:
        """create_graph=True: the Function's backward run with gradients recorded (its ops must be nnci's)."""
        if not getattr(self.function.backward, "once_differentiable", False):
            return self._checked(self.function.backward(self.ctx, *grads))
        with no_grad():  # usable as first-order gradients; differentiating them again is an error, as in torch
            result = self._checked(self.function.backward(self.ctx, *grads))
        return tuple(None if g is None else _not_differentiable(g, self) for g in result)

    def _checked(self, result: Any) -> tuple:
        """The gradients backward returned, one per tensor input, as tensors (or None)."""
        result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        name = self.name()
        if len(result) < self.argument_count or any(g is not None for g in result[self.argument_count:]):
            raise RuntimeError(f"function {name} returned an incorrect number of gradients (expected "
                               f"{self.argument_count}, got {len(result)})")
        out = []
        for index, position in enumerate(self.positions):
            g = result[position] if position < len(result) else None
            if g is not None and not isinstance(g, Tensor):
                g = Tensor._wrap(xp.asarray(g))
            out.append(g)
        for position, g in enumerate(result[:self.argument_count]):
            if position not in self.positions and g is not None:
                raise RuntimeError(f"function {name} returned a gradient different than None at position "
                                   f"{position + 1}, but the corresponding forward input was not a Variable")
        return tuple(out)

    def _release(self) -> None:
        self.ctx._released = True
        self.ctx._saved = []


class Function:
    """Subclass with static forward(ctx, *args) and backward(ctx, *grad_outputs); call with .apply(*args)."""

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # each Function's graph nodes have their own class, named as torch's: MyFunction -> MyFunctionBackward
        super().__init_subclass__(**kwargs)
        cls._backward_cls = type(f"{cls.__name__}Backward", (_CustomBackward,), {"__module__": cls.__module__})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use new-style "
                           "autograd function with static forward method (call it with .apply)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError(f"{cls.__name__}.apply() takes no keyword arguments (pass them positionally)")
        ctx = FunctionCtx()
        grad_on = is_grad_enabled()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad and grad_on for a in args)
        separate = cls.setup_context is not Function.setup_context
        with no_grad():
            output = cls.forward(*args, **kwargs) if separate else cls.forward(ctx, *args, **kwargs)
        if separate:
            cls.setup_context(ctx, args, output)
        outputs = output if isinstance(output, tuple) else (output,)
        if not any(ctx.needs_input_grad):
            return output
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        node = cls._backward_cls(cls, ctx, positions, len(args))
        node.next_functions = tuple(edge_of(args[i]) for i in positions)
        node._input_meta = tuple((args[i]._array.shape, args[i]._array.dtype) for i in positions)
        dirty = {id(t) for t in ctx._dirty}
        for tensor in ctx._dirty:
            if tensor._grad_fn is None and tensor._requires_grad:
                raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        skipped = {id(t) for t in ctx._non_differentiable}
        inputs = {id(a) for a in args if isinstance(a, Tensor)}
        rebuilt, metas = [], []
        for nr, out in enumerate(outputs):
            if not isinstance(out, Tensor):
                rebuilt.append(out)
                metas.append(None)
                continue
            if id(out) in inputs and id(out) not in dirty:
                alias = Tensor._wrap(out._array)  # an input returned as it is: a new tensor on the same memory
                alias._version_counter = out._version_counter
                out = alias
            metas.append((out._array.shape, out._array.dtype))
            if id(out) not in skipped and out._array.dtype.kind == "f":
                out._grad_fn, out._output_nr, out._requires_grad = node, nr, True
            rebuilt.append(out)
        node._output_meta = tuple(metas)
        ctx._resnapshot()
        return tuple(rebuilt) if isinstance(output, tuple) else rebuilt[0]


def once_differentiable(function: Callable) -> Callable:
    """Marks a backward that is not itself differentiable: with create_graph=True its gradients can be used, but
    differentiating them again raises."""
    function.once_differentiable = True
    return function


class _OnceDifferentiable(Node):
    """Stands for a once-differentiable backward's result in the graph: reaching it raises."""

    def __init__(self, node: Node) -> None:
        self.function_name, self.next_functions = node.name(), node.next_functions

    def name(self) -> str:
        return "OnceDifferentiableBackward"

    def backward(self, *grads: Any) -> tuple:
        raise RuntimeError(f"trying to differentiate twice a function that was marked with @once_differentiable "
                           f"({self.function_name})")

    vjp = backward


def _not_differentiable(gradient: Tensor, node: Node) -> Tensor:
    tensor = Tensor._wrap(gradient._array, True)
    tensor._grad_fn = _OnceDifferentiable(node)
    return tensor
