"""The backward pass: the chain rule applied node by node, outputs first.

The nodes reachable from the outputs are found by an iterative depth-first walk (no recursion: a
10,000-op chain works), each node counting the edges that lead into it; a node runs once every
gradient meant for it has arrived, which is a reverse topological order. Gradients reaching an
input are summed back over broadcast dims (`unbroadcast`, in one place for every op) and cast to
the input's dtype. `grad()` captures the gradients of chosen tensors instead of accumulating .grad.
"""
from __future__ import annotations

from typing import Any

from ..backend import ignore_floating_errors, restore_floating_errors, xp
from ..tensor import Tensor, to_array
from .graph import AccumulateGrad, Node, edge_of
from .grad_mode import enable_grad, no_grad


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast gradient back to `shape`: d(x broadcast)/dx is a sum over the copies."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if grad.shape != tuple(shape):
        try:
            grad = xp.broadcast_to(grad, shape)  # a gradient given for fewer elements (a scalar 0 from a custom op)
        except ValueError:
            raise RuntimeError(f"a gradient of shape {tuple(grad.shape)} cannot flow into an input of shape "
                               f"{tuple(shape)}") from None
    return grad


def _as_tuple(value: Any) -> tuple:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _seeds(outputs: tuple, grads: tuple, name: str, mode: Any) -> list[tuple[Tensor, Any]]:
    if len(grads) not in (0, len(outputs)):
        raise RuntimeError(f"{name}: got {len(grads)} gradients for {len(outputs)} outputs")
    seeds = []
    for index, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}: expected tensors, got {type(out).__name__}")
        given = grads[index] if grads else None
        if not out.requires_grad:
            raise RuntimeError(f"element {index} of tensors does not require grad and does not have a grad_fn")
        if given is None:
            if out._array.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs (output {index} has "
                                   f"shape {tuple(out.shape)}); pass gradient= with that shape")
            seed = mode.value(xp.ones_like(out._array))
        else:
            if tuple(getattr(given, "shape", xp.shape(given))) != out._array.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{index}] has a shape of "
                                   f"{tuple(getattr(given, 'shape', xp.shape(given)))} and output[{index}] has a shape "
                                   f"of {tuple(out.shape)}")
            seed = mode.fit(mode.value(given), out._array.shape, out._array.dtype)
        seeds.append((out, seed))
    return seeds


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
             inputs: Any = None) -> None:
    """Accumulate the gradients of `tensors` (weighted by grad_tensors) into the .grad of every leaf, or of
    `inputs` only when given (torch.autograd.backward); create_graph=True records the backward pass itself, so
    the gradients can be differentiated again."""
    mode = _TENSORS if create_graph else _ARRAYS
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seeds(_as_tuple(tensors), _as_tuple(grad_tensors), "backward", mode)
    targets = None
    if inputs is not None:
        targets = {}
        for tensor in _as_tuple(inputs):
            if not tensor.requires_grad:
                raise RuntimeError("backward(inputs=...): every input must require grad")
            targets.setdefault(_key(edge_of(tensor)), []).append(tensor)
    captured = _run(seeds, bool(retain_graph), targets, targets, mode)
    for tensors_at in (targets or {}).values():
        for tensor in tensors_at:
            if tensor._grad_fn is not None and id(tensor) in captured:  # leaves were accumulated on the way
                tensor._grad = mode.accumulate(tensor._grad, captured[id(tensor)], tensor._array.dtype)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """d(outputs)/d(inputs), weighted by grad_outputs, returned without touching any .grad (torch.autograd.grad);
    with create_graph=True the returned gradients are in the graph and can be differentiated again."""
    if is_grads_batched:
        raise NotImplementedError("nnci.autograd.grad: is_grads_batched is not supported")
    mode = _TENSORS if create_graph else _ARRAYS
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tuple(inputs)
    seeds = _seeds(_as_tuple(outputs), _as_tuple(grad_outputs), "grad", mode)
    targets: dict = {}
    for tensor in inputs:
        if not isinstance(tensor, Tensor) or not tensor.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        targets.setdefault(_key(edge_of(tensor)), []).append(tensor)
    captured = _run(seeds, bool(retain_graph), targets, None, mode)
    result = []
    for index, tensor in enumerate(inputs):
        value = captured.get(id(tensor))
        if value is None:
            if materialize_grads:
                value = mode.zeros(tensor._array.shape, tensor._array.dtype)
            elif not allow_unused:
                raise RuntimeError(f"One of the differentiated Tensors (input {index}) appears to not have been used "
                                   "in the graph. Set allow_unused=True if this is the desired behavior.")
        result.append(None if value is None else mode.tensor(value))
    return tuple(result)


class _Arrays:
    """The usual backward: gradients are arrays, computed outside the graph by each node's backward."""

    differentiable = False

    @staticmethod
    def tensor(g: Any) -> Tensor:  # what hooks and grad() hand out
        return Tensor._wrap(g)

    @staticmethod
    def value(t: Any) -> Any:  # a hook's (or a caller's) gradient as this mode holds it
        return to_array(t)

    @staticmethod
    def zeros(shape: tuple, dtype: Any) -> Any:
        return xp.zeros(shape, dtype)

    @staticmethod
    def fit(g: Any, shape: tuple, dtype: Any) -> Any:
        g = unbroadcast(xp.asarray(g), shape)
        return g if g.dtype == dtype else g.astype(dtype)

    @staticmethod
    def run(node: Node, grads: list) -> Any:
        return node.backward(*grads)

    @staticmethod
    def accumulate(current: Tensor | None, g: Any, dtype: Any) -> Tensor:
        return _accumulated(current, g, dtype)


class _Tensors:
    """create_graph=True: gradients are tensors and each node's vjp builds them from recorded ops, so they have
    a graph of their own (gradients of gradients: gradient penalties, physics-informed losses)."""

    differentiable = True

    @staticmethod
    def tensor(g: Any) -> Tensor:
        return g

    @staticmethod
    def value(t: Any) -> Tensor:
        return t if isinstance(t, Tensor) else Tensor._wrap(to_array(t))

    @staticmethod
    def zeros(shape: tuple, dtype: Any) -> Tensor:
        return Tensor._wrap(xp.zeros(shape, dtype))

    @staticmethod
    def fit(g: Tensor, shape: tuple, dtype: Any) -> Tensor:
        if tuple(g.shape) != tuple(shape):
            g = sum_to_shape(g, shape)
        return g if g._array.dtype == dtype else g.to(dtype)

    @staticmethod
    def run(node: Node, grads: list) -> Any:
        vjp = getattr(node, "vjp", None)
        if vjp is None:
            raise NotImplementedError(f"create_graph=True: nnci has no differentiable backward for {node.name()} "
                                      "(gradients of gradients go through elementwise ops, matmul, linear, "
                                      "convolutions, reductions, reshapes, indexing and the common activations)")
        return vjp(*grads)

    @staticmethod
    def accumulate(current: Tensor | None, g: Tensor, dtype: Any) -> Tensor:
        return g if current is None else current + g  # out of place: the sum stays in the graph


_ARRAYS, _TENSORS = _Arrays(), _Tensors()


def sum_to_shape(g: Tensor, shape: tuple) -> Tensor:
    """g summed over its broadcast dims back to `shape`, with tensor ops (differentiable)."""
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(dim=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(dim=axes, keepdim=True)
    if tuple(g.shape) != tuple(shape):
        g = g.expand(tuple(shape))
    return g


def _key(edge: tuple) -> tuple[int, int]:
    return id(edge[0]), edge[1]


def _graph(roots: list[Node], targets: dict | None) -> tuple[dict, dict, set]:
    """Nodes reachable from roots (by id), how many edges lead into each, and which lead to a target."""
    nodes: dict[int, Node] = {}
    order: list[Node] = []
    stack: list[tuple[Node, bool]] = [(root, False) for root in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in nodes:
            continue
        nodes[id(node)] = node
        stack.append((node, True))
        for child, _ in node.next_functions:
            if child is not None and id(child) not in nodes:
                stack.append((child, False))
    useful: set[int] = set()
    for node in order:  # children before parents
        if targets is None:
            leads = isinstance(node, AccumulateGrad)
        else:
            leads = any((id(node), nr) in targets for nr in range(len(getattr(node, "_output_meta", ((),)))))
        if leads or any(child is not None and id(child) in useful for child, _ in node.next_functions):
            useful.add(id(node))
    pending: dict[int, int] = {}
    for node in nodes.values():
        if id(node) not in useful:
            continue
        for child, _ in node.next_functions:
            if child is not None and id(child) in useful:
                pending[id(child)] = pending.get(id(child), 0) + 1
    return nodes, pending, useful


def _run(seeds: list[tuple[Tensor, Any]], retain_graph: bool, targets: dict | None, accumulate_into: dict | None,
         mode: Any = None) -> dict[int, Any]:
    """Propagate the seed gradients; accumulate into leaves (all of them, or those in accumulate_into), and
    return {id(tensor): grad} for the tensors in `targets`."""
    mode = mode or _ARRAYS
    buffers: dict[int, list] = {}
    roots: list[Node] = []
    for tensor, seed in seeds:
        node, nr = edge_of(tensor)
        _add(buffers, node, nr, seed)
        roots.append(node)
    nodes, pending, useful = _graph(roots, targets)
    captured: dict[int, Any] = {}
    ready = [node for node in dict.fromkeys(roots) if pending.get(id(node), 0) == 0 and id(node) in useful]
    token = ignore_floating_errors()  # gradients may be inf or NaN, as torch's, without NumPy's warnings
    try:
        with (enable_grad() if mode.differentiable else no_grad()):
            while ready:
                node = ready.pop()
                grads = buffers.pop(id(node), None)
                _visit(node, grads, targets, accumulate_into, captured, retain_graph, buffers, pending, useful, ready,
                       mode)
    finally:
        restore_floating_errors(token)
    return captured


def _visit(node: Node, grads: list | None, targets: dict | None, accumulate_into: dict | None, captured: dict,
           retain_graph: bool, buffers: dict, pending: dict, useful: set, ready: list, mode: Any) -> None:
    if grads is not None:
        if isinstance(node, AccumulateGrad):
            grads = [_leaf_hooks(node.variable, grads[0], mode)]
        else:
            grads = _output_hooks(node, grads, mode)
        if targets is not None:
            for nr, g in enumerate(grads):
                for tensor in targets.get((id(node), nr), ()):
                    if g is not None:
                        captured[id(tensor)] = g if id(tensor) not in captured else captured[id(tensor)] + g
    if isinstance(node, AccumulateGrad):
        if grads is not None and grads[0] is not None:
            if (targets is None) or (accumulate_into is not None and (id(node), 0) in accumulate_into):
                leaf = node.variable
                leaf._grad = mode.accumulate(leaf._grad, grads[0], leaf._array.dtype)
                for hook in leaf.__dict__.get("_post_accumulate_hooks", ()):
                    hook(leaf)
        return
    input_grads: tuple = ()
    if grads is not None and any(g is not None for g in grads):
        if node._released:
            raise RuntimeError("Trying to backward through the graph a second time (or directly access saved tensors "
                               "after they have already been freed). Saved intermediate values of the graph are freed "
                               "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
                               "backward through the graph a second time.")
        check = getattr(node, "_check_versions", None)
        if check is not None:
            check()
        metas = getattr(node, "_output_meta", None)
        if metas is not None and getattr(node, "materialize_grads", True):
            grads = [mode.zeros(*meta) if g is None and meta is not None else g for g, meta in zip(grads, metas)]
        pre = node.__dict__.get("_pre_hooks")
        if pre:
            grads = _call_prehooks(pre, grads, mode)
        input_grads = mode.run(node, grads)
        if not isinstance(input_grads, (tuple, list)):
            input_grads = (input_grads,)
        post = node.__dict__.get("_post_hooks")
        if post:
            wrapped_in = tuple(None if g is None else mode.tensor(mode.value(g)) for g in input_grads)
            wrapped_out = tuple(mode.tensor(g) for g in grads)
            for hook in post:
                hook(wrapped_in, wrapped_out)
        if not retain_graph and hasattr(node, "_release"):
            node._release()
    metas = getattr(node, "_input_meta", ())
    for index, (child, nr) in enumerate(node.next_functions):
        if child is None or id(child) not in useful:
            continue
        g = input_grads[index] if index < len(input_grads) else None
        if g is not None:
            shape, dtype = metas[index]
            _add(buffers, child, nr, mode.fit(g, shape, dtype))
        pending[id(child)] -= 1
        if pending[id(child)] == 0:
            ready.append(child)


def _add(buffers: dict, node: Node, nr: int, grad: Any) -> None:
    slots = buffers.get(id(node))
    if slots is None:
        count = len(getattr(node, "_output_meta", ((),)))
        slots = buffers[id(node)] = [None] * max(count, nr + 1)
    slots[nr] = grad if slots[nr] is None else slots[nr] + grad  # out of place: grads may share memory


def _output_hooks(node: Node, grads: list, mode: Any) -> list:
    """Tensor hooks registered on this node's outputs, then retained gradients (retain_grad)."""
    hooks = node.__dict__.get("_hooks_by_output")
    retained = node.__dict__.get("_retained")
    if not hooks and not retained:
        return grads
    grads = list(grads)
    for nr, g in enumerate(grads):
        if g is None:
            continue
        for hook in (hooks or {}).get(nr, ()):
            replaced = hook(mode.tensor(g))
            if replaced is not None:
                g = mode.value(replaced)
        grads[nr] = g
        ref = (retained or {}).get(nr)
        tensor = ref() if ref is not None else None
        if tensor is not None:
            tensor._grad = mode.accumulate(tensor._grad, g, tensor._array.dtype)
    return grads


def _call_prehooks(hooks: list, grads: list, mode: Any) -> list:
    for hook in hooks:
        replaced = hook(tuple(None if g is None else mode.tensor(g) for g in grads))
        if replaced is not None:
            grads = [None if g is None else mode.value(g) for g in replaced]
    return grads


def _leaf_hooks(leaf: Tensor, grad: Any, mode: Any) -> Any:
    for hook in leaf._hooks or ():
        replaced = hook(mode.tensor(grad))
        if replaced is not None:
            grad = mode.value(replaced)
    return grad


def _accumulated(current: Tensor | None, grad: Any, dtype: Any) -> Tensor:
    """current + grad, in place when current exists (torch's AccumulateGrad), else a copy of grad."""
    if current is None:
        return Tensor._wrap(xp.array(grad, dtype=dtype, copy=True))  # a copy: grads may share memory
    if current._array.flags.writeable and current._array.shape == grad.shape:
        current._array += grad
        current._bump_version()
        return current
    return Tensor._wrap(current._array + grad)


__all__ = ["backward", "grad", "unbroadcast"]
