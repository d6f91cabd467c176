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
from .grad_mode import no_grad


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


def _seeds(outputs: tuple, grads: tuple, name: str) -> list[tuple[Tensor, Any]]:
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
            seed = xp.ones_like(out._array)
        else:
            seed = to_array(given).astype(out._array.dtype, copy=False)
            if seed.shape != out._array.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{index}] has a shape of {tuple(seed.shape)} and "
                                   f"output[{index}] has a shape of {tuple(out.shape)}")
        seeds.append((out, seed))
    return seeds


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
             inputs: Any = None) -> None:
    """Accumulate the gradients of `tensors` (weighted by grad_tensors) into the .grad of every leaf, or of
    `inputs` only when given (torch.autograd.backward)."""
    _no_create_graph(create_graph)
    seeds = _seeds(_as_tuple(tensors), _as_tuple(grad_tensors), "backward")
    targets = None
    if inputs is not None:
        targets = {}
        for tensor in _as_tuple(inputs):
            if not tensor.requires_grad:
                raise RuntimeError("backward(inputs=...): every input must require grad")
            targets.setdefault(_key(edge_of(tensor)), []).append(tensor)
    captured = _run(seeds, bool(retain_graph), targets, accumulate_into=targets)
    for tensors_at in (targets or {}).values():
        for tensor in tensors_at:
            if tensor._grad_fn is not None and id(tensor) in captured:  # leaves were accumulated on the way
                tensor._grad = _accumulated(tensor._grad, captured[id(tensor)], tensor._array.dtype)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """d(outputs)/d(inputs), weighted by grad_outputs, returned without touching any .grad (torch.autograd.grad)."""
    _no_create_graph(create_graph)
    if is_grads_batched:
        raise NotImplementedError("nnci.autograd.grad: is_grads_batched is not supported")
    inputs = _as_tuple(inputs)
    seeds = _seeds(_as_tuple(outputs), _as_tuple(grad_outputs), "grad")
    targets: dict = {}
    for tensor in inputs:
        if not isinstance(tensor, Tensor) or not tensor.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        targets.setdefault(_key(edge_of(tensor)), []).append(tensor)
    captured = _run(seeds, bool(retain_graph), targets, accumulate_into=None)
    result = []
    for index, tensor in enumerate(inputs):
        value = captured.get(id(tensor))
        if value is None:
            if materialize_grads:
                value = xp.zeros_like(tensor._array)
            elif not allow_unused:
                raise RuntimeError(f"One of the differentiated Tensors (input {index}) appears to not have been used "
                                   "in the graph. Set allow_unused=True if this is the desired behavior.")
        result.append(None if value is None else Tensor._wrap(value))
    return tuple(result)


def _no_create_graph(create_graph: bool) -> None:
    if create_graph:
        raise NotImplementedError("create_graph=True (gradients of gradients) is not supported by nnci: its backward "
                                  "passes compute on arrays, outside the graph")


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


def _run(seeds: list[tuple[Tensor, Any]], retain_graph: bool, targets: dict | None,
         accumulate_into: dict | None) -> dict[int, Any]:
    """Propagate the seed gradients; accumulate into leaves (all of them, or those in accumulate_into), and
    return {id(tensor): grad} for the tensors in `targets`."""
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
        with no_grad():
            while ready:
                node = ready.pop()
                grads = buffers.pop(id(node), None)
                _visit(node, grads, targets, accumulate_into, captured, retain_graph, buffers, pending, useful, ready)
    finally:
        restore_floating_errors(token)
    return captured


def _visit(node: Node, grads: list | None, targets: dict | None, accumulate_into: dict | None, captured: dict,
           retain_graph: bool, buffers: dict, pending: dict, useful: set, ready: list) -> None:
    if grads is not None:
        if isinstance(node, AccumulateGrad):
            grads = [_leaf_hooks(node.variable, grads[0])]
        else:
            grads = _output_hooks(node, grads)
        if targets is not None:
            for nr, g in enumerate(grads):
                for tensor in targets.get((id(node), nr), ()):
                    if g is not None:
                        captured[id(tensor)] = g if id(tensor) not in captured else captured[id(tensor)] + g
    if isinstance(node, AccumulateGrad):
        if grads is not None and grads[0] is not None:
            if (targets is None) or (accumulate_into is not None and (id(node), 0) in accumulate_into):
                leaf = node.variable
                leaf._grad = _accumulated(leaf._grad, grads[0], leaf._array.dtype)
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
            grads = [xp.zeros(*meta) if g is None and meta is not None else g for g, meta in zip(grads, metas)]
        pre = node.__dict__.get("_pre_hooks")
        if pre:
            grads = _call_prehooks(pre, grads)
        input_grads = node.backward(*grads)
        if not isinstance(input_grads, (tuple, list)):
            input_grads = (input_grads,)
        post = node.__dict__.get("_post_hooks")
        if post:
            wrapped_in = tuple(None if g is None else Tensor._wrap(xp.asarray(g)) for g in input_grads)
            wrapped_out = tuple(Tensor._wrap(g) for g in grads)
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
            g = xp.asarray(g)
            g = unbroadcast(g, shape)
            if g.dtype != dtype:
                g = g.astype(dtype)
            _add(buffers, child, nr, g)
        pending[id(child)] -= 1
        if pending[id(child)] == 0:
            ready.append(child)


def _add(buffers: dict, node: Node, nr: int, grad: Any) -> None:
    slots = buffers.get(id(node))
    if slots is None:
        count = len(getattr(node, "_output_meta", ((),)))
        slots = buffers[id(node)] = [None] * max(count, nr + 1)
    slots[nr] = grad if slots[nr] is None else slots[nr] + grad  # out of place: grads may share memory


def _output_hooks(node: Node, grads: list) -> list:
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
            replaced = hook(Tensor._wrap(g))
            if replaced is not None:
                g = to_array(replaced)
        grads[nr] = g
        ref = (retained or {}).get(nr)
        tensor = ref() if ref is not None else None
        if tensor is not None:
            tensor._grad = _accumulated(tensor._grad, g, tensor._array.dtype)
    return grads


def _call_prehooks(hooks: list, grads: list) -> list:
    for hook in hooks:
        replaced = hook(tuple(Tensor._wrap(g) for g in grads))
        if replaced is not None:
            grads = [to_array(g) for g in replaced]
    return grads


def _leaf_hooks(leaf: Tensor, grad: Any) -> Any:
    for hook in leaf._hooks or ():
        replaced = hook(Tensor._wrap(grad))
        if replaced is not None:
            grad = to_array(replaced)
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
