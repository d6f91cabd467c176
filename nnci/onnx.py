"""Export a model to ONNX by tracing the engine's ops (needs the optional `onnx` package: pip install 'nnci[onnx]').

The model runs once on the example input in eval mode while a hook on Function.apply records every op.
Values that do not depend on the input (parameters, buffers, and anything computed from them alone, such
as a transposed weight) are folded into constants; each op that touches the input becomes ONNX nodes.
The trace runs twice on different inputs: a constant that differs between the two was computed outside
the engine from the input, and the export refuses rather than write a wrong graph.
The graph has the example's fixed input shape.
"""
from __future__ import annotations

import math
import os
from typing import Any, Callable

from .backend import xp
from .nn.module import Module
from .autograd.grad_mode import enable_grad
from .autograd.graph import trace_hooks
from .ops import activation, conv, elementwise, linalg, norm, pointwise, pool, reduce, resample, shape
from .tensor import Tensor

OPSET = 19


class ExportError(Exception):
    """The model uses something that cannot be written as ONNX."""


def _require_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the onnx package: pip install 'nnci[onnx]'") from None
    return onnx


class _Trace:
    """Records (op, inputs, kwargs, output) for every op applied while active."""

    def __init__(self) -> None:
        self.records: list = []

    def __call__(self, op: type, inputs: tuple, kwargs: dict, output: Tensor) -> None:
        self.records.append((op, inputs, kwargs, output))  # holding the tensors keeps their ids unique


def _run_traced(model: Module, example: Tensor) -> tuple[list, Any]:
    trace = _Trace()
    trace_hooks.append(trace)
    try:
        with enable_grad():  # without grad, eval Sequentials fuse conv + BN + in-place ReLU outside the ops
            outputs = model(example)
    finally:
        trace_hooks.remove(trace)
    return trace.records, outputs


class _GraphBuilder:
    """Turns a trace into ONNX nodes and initializers."""

    def __init__(self, onnx: Any, names: dict[int, str]) -> None:
        self.onnx, self.names = onnx, names
        self.nodes: list = []
        self.initializers: dict[str, Any] = {}
        self.dynamic: dict[int, str] = {}  # id(tensor) -> value name, for values that depend on the input
        self.constants: list = []  # constant arrays in order of use, for the two-trace check
        self.count = 0

    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def constant(self, array: Any, stem: str = "const", key: int | None = None) -> str:
        """An initializer holding `array` (named after the parameter or buffer it is, when known)."""
        array = xp.asarray(array)
        self.constants.append(array)
        name = self.names.get(key if key is not None else id(array)) or self.fresh(stem)
        if name not in self.initializers:
            self.initializers[name] = self.onnx.numpy_helper.from_array(xp.ascontiguousarray(array), name)
        return name

    def value(self, tensor: Tensor, dtype: Any = None) -> str:
        """The name of a tensor's value: a traced output, or a constant initializer."""
        if id(tensor) in self.dynamic:
            return self.dynamic[id(tensor)]
        if dtype is None or tensor._array.dtype == dtype:
            return self.constant(tensor._array, key=id(tensor))
        return self.constant(tensor._array.astype(dtype))  # ONNX wants both operands of Add etc. in one dtype

    def ints(self, values: Any, stem: str = "shape") -> str:
        return self.constant(xp.asarray(values, dtype=xp.int64), stem)

    def node(self, op_type: str, inputs: list[str], output: str | None = None, **attributes: Any) -> str:
        output = output or self.fresh(op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [output], **attributes))
        return output


# ----- one converter per op: (builder, input names, input tensors, kwargs, output tensor) -> output name -----
def _same(op_type: str) -> Callable:
    """An op whose ONNX twin takes the same inputs and no attributes."""
    return lambda b, names, inputs, kw, out: b.node(op_type, names)


def _conv(b, names, inputs, kw, out):
    top, bottom, left, right = kw["padding"]
    return b.node("Conv", names, kernel_shape=list(inputs[1].shape[2:]), strides=list(kw["stride"]),
                  pads=[top, left, bottom, right], dilations=list(kw["dilation"]), group=kw["groups"])


def _conv_transpose(b, names, inputs, kw, out):
    ph, pw = kw["padding"]
    return b.node("ConvTranspose", names, kernel_shape=list(inputs[1].shape[2:]), strides=list(kw["stride"]),
                  pads=[ph, pw, ph, pw], dilations=list(kw["dilation"]), group=kw["groups"],
                  output_padding=list(kw["output_padding"]))


def _batch_norm(b, names, inputs, kw, out):
    if kw["mean"] is None:
        raise ExportError("batch norm with batch statistics: export the model in eval mode")
    channels = inputs[0].shape[1]
    dtype = inputs[0].dtype
    scale, bias = (names[1], names[2]) if len(names) == 3 else (b.constant(xp.ones(channels, dtype), "bn_scale"),
                                                                b.constant(xp.zeros(channels, dtype), "bn_bias"))
    mean = b.constant(kw["mean"].astype(dtype, copy=False), "bn_mean", key=id(kw["mean"]))
    var = b.constant(kw["var"].astype(dtype, copy=False), "bn_var", key=id(kw["var"]))
    return b.node("BatchNormalization", [names[0], scale, bias, mean, var], epsilon=float(kw["eps"]))


def _pool_ceil_mode(inputs, kw) -> int:
    floor = [math.floor((n + 2 * p - (d * (k - 1) + 1)) / s) + 1 for n, k, s, p, d in
             zip(inputs[0].shape[2:], kw["kernel"], kw["stride"], kw["padding"], kw.get("dilation", (1, 1)))]
    return int(tuple(kw["out_hw"]) != tuple(floor))


def _max_pool(b, names, inputs, kw, out):
    ph, pw = kw["padding"]
    return b.node("MaxPool", names, kernel_shape=list(kw["kernel"]), strides=list(kw["stride"]),
                  pads=[ph, pw, ph, pw], dilations=list(kw["dilation"]), ceil_mode=_pool_ceil_mode(inputs, kw))


def _avg_pool(b, names, inputs, kw, out):
    if kw["divisor_override"] is not None:
        raise ExportError("avg_pool2d with divisor_override has no ONNX equivalent")
    ph, pw = kw["padding"]
    return b.node("AveragePool", names, kernel_shape=list(kw["kernel"]), strides=list(kw["stride"]),
                  pads=[ph, pw, ph, pw], count_include_pad=int(kw["count_include_pad"]),
                  ceil_mode=_pool_ceil_mode(inputs, kw))


def _softplus(b, names, inputs, kw, out):
    beta = kw["beta"]
    if beta == 1:
        return b.node("Softplus", names)
    dtype = inputs[0].dtype
    scaled = b.node("Mul", [names[0], b.constant(xp.asarray(beta, dtype))])
    return b.node("Div", [b.node("Softplus", [scaled]), b.constant(xp.asarray(beta, dtype))])


def _clamp(b, names, inputs, kw, out):
    dtype = inputs[0].dtype
    low = b.constant(xp.asarray(kw["low"], dtype)) if kw.get("low") is not None else ""
    high = b.constant(xp.asarray(kw["high"], dtype)) if kw.get("high") is not None else ""
    return b.node("Clip", [names[0], low, high])


def _pow_scalar(b, names, inputs, kw, out):
    return b.node("Pow", [names[0], b.constant(xp.asarray(kw["exponent"], inputs[0].dtype))])


def _sum(b, names, inputs, kw, out):
    axes = kw["axes"] if kw["axes"] is not None else tuple(range(inputs[0].ndim))
    return b.node("ReduceSum", [names[0], b.ints(list(axes), "axes")], keepdims=int(kw["keepdim"]))


def _reshape(b, names, inputs, kw, out):
    return b.node("Reshape", [names[0], b.ints(list(out.shape))])


def _permute(b, names, inputs, kw, out):
    return b.node("Transpose", names, perm=list(kw["dims"]))


def _expand(b, names, inputs, kw, out):
    return b.node("Expand", [names[0], b.ints(list(out.shape))])


def _cat(b, names, inputs, kw, out):
    return b.node("Concat", names, axis=int(kw["axis"]))


def _stack(b, names, inputs, kw, out):
    axis = int(kw["axis"])
    return b.node("Concat", [b.node("Unsqueeze", [n, b.ints([axis], "axes")]) for n in names], axis=axis)


def _flip(b, names, inputs, kw, out):
    axes = list(kw["axes"])
    size = [inputs[0].shape[a] for a in axes]
    return b.node("Slice", [names[0], b.ints([-1] * len(axes)), b.ints([-n - 1 for n in size]), b.ints(axes),
                            b.ints([-1] * len(axes))])


def _pad(b, names, inputs, kw, out):
    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
    widths = kw["widths"]
    pads = [w[0] for w in widths] + [w[1] for w in widths]
    value = b.constant(xp.asarray(kw["value"], inputs[0].dtype)) if kw["mode"] == "constant" else ""
    return b.node("Pad", [names[0], b.ints(pads, "pads"), value], mode=modes[kw["mode"]])


def _index(b, names, inputs, kw, out):
    """Basic indexing (ints, slices, Ellipsis, None) as Slice, Squeeze and Unsqueeze."""
    index = kw["index"] if isinstance(kw["index"], tuple) else (kw["index"],)
    if any(not isinstance(i, (int, slice, type(None))) and i is not Ellipsis for i in index):
        raise ExportError("advanced (array) indexing is not exported; use slices")
    if Ellipsis in index:
        position = index.index(Ellipsis)
        fill = inputs[0].ndim - sum(i is not None for i in index if i is not Ellipsis)
        index = index[:position] + (slice(None),) * fill + index[position + 1:]
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = out_axis = 0
    for item in index:
        if item is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        size = inputs[0].shape[axis]
        if isinstance(item, int):
            start = item % size
            starts, ends, axes, steps = starts + [start], ends + [start + 1], axes + [axis], steps + [1]
            squeeze.append(axis)
        else:
            start, stop, step = item.indices(size)
            if (start, stop, step) != (0, size, 1):
                stop = stop if stop >= 0 else -size - 1  # a negative step running past the front
                starts, ends, axes, steps = starts + [start], ends + [stop], axes + [axis], steps + [step]
            out_axis += 1
        axis += 1
    name = names[0]
    if axes:
        name = b.node("Slice", [name, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)])
    if squeeze:
        name = b.node("Squeeze", [name, b.ints(squeeze, "axes")])
    if unsqueeze:
        name = b.node("Unsqueeze", [name, b.ints(unsqueeze, "axes")])
    return name


def _resize(b, names, inputs, kw, out):
    """Our resize is y = A_h x A_w^T with A from torch's coordinate rules: two MatMuls reproduce it exactly."""
    dtype = inputs[0].dtype
    across = b.node("MatMul", [names[0], b.constant(kw["cols"].T.astype(dtype), "resize_cols")])
    return b.node("MatMul", [b.constant(kw["rows"].astype(dtype), "resize_rows"), across])


def _repeat_nearest(b, names, inputs, kw, out):
    scales = b.constant(xp.asarray([1, 1, *kw["factor"]], xp.float32), "scales")
    return b.node("Resize", [names[0], "", scales], mode="nearest", coordinate_transformation_mode="asymmetric",
                  nearest_mode="floor")


def _cast(b, names, inputs, kw, out):
    return b.node("Cast", names, to=b.onnx.helper.np_dtype_to_tensor_dtype(xp.dtype(kw["dtype"])))


CONVERTERS: dict[type, Callable] = {
    elementwise.Add: _same("Add"), elementwise.Sub: _same("Sub"), elementwise.Mul: _same("Mul"),
    elementwise.Div: _same("Div"), elementwise.Pow: _same("Pow"), elementwise.Maximum: _same("Max"),
    elementwise.Minimum: _same("Min"), linalg.MatMul: _same("MatMul"),
    pointwise.Neg: _same("Neg"), pointwise.Exp: _same("Exp"), pointwise.Log: _same("Log"),
    pointwise.Sqrt: _same("Sqrt"), pointwise.Sin: _same("Sin"), pointwise.Cos: _same("Cos"),
    pointwise.Tanh: _same("Tanh"), pointwise.Sigmoid: _same("Sigmoid"), pointwise.Abs: _same("Abs"),
    elementwise.PowScalar: _pow_scalar, elementwise.Clamp: _clamp, elementwise.Cast: _cast,
    activation.ReLU: _same("Relu"),
    activation.LeakyReLU: lambda b, n, i, kw, o: b.node("LeakyRelu", n, alpha=float(kw["slope"])),
    activation.ELU: lambda b, n, i, kw, o: b.node("Elu", n, alpha=float(kw["alpha"])),
    activation.Softplus: _softplus,
    activation.Softmax: lambda b, n, i, kw, o: b.node("Softmax", n, axis=int(kw["axis"])),
    activation.LogSoftmax: lambda b, n, i, kw, o: b.node("LogSoftmax", n, axis=int(kw["axis"])),
    conv.Conv2d: _conv, conv.ConvTranspose2d: _conv_transpose, norm.BatchNorm: _batch_norm,
    pool.MaxPool2d: _max_pool, pool.AvgPool2d: _avg_pool, reduce.Sum: _sum,
    resample.Resize: _resize, resample.RepeatNearest: _repeat_nearest,
    shape.Clone: _same("Identity"), shape.Reshape: _reshape, shape.Permute: _permute, shape.Expand: _expand,
    shape.BasicIndex: _index, shape.Cat: _cat, shape.Pad: _pad, shape.Stack: _stack, shape.Flip: _flip,
}


def _build(onnx: Any, model: Module, example: Tensor) -> tuple[_GraphBuilder, list]:
    names = {id(t): key for key, t in list(model.named_parameters()) + list(model.named_buffers())}
    names.update({id(t._array): key for key, t in model.named_buffers()})
    records, outputs = _run_traced(model, example)
    builder = _GraphBuilder(onnx, names)
    builder.dynamic[id(example)] = "input"
    for op, inputs, kwargs, output in records:
        if not any(id(t) in builder.dynamic for t in inputs):
            continue  # depends on constants only: folded into the value that later ops read
        converter = CONVERTERS.get(op)
        if converter is None:
            raise ExportError(f"op {op.__name__.removesuffix('Backward0')} has no ONNX export yet")
        elementwise_op = op.__module__.endswith("elementwise")
        value_names = [builder.value(t, output.dtype if elementwise_op else None) for t in inputs]
        builder.dynamic[id(output)] = converter(builder, value_names, inputs, kwargs, output)
    outputs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    for position, out in enumerate(outputs):
        if id(out) not in builder.dynamic:
            raise ExportError(f"output {position} does not depend on the input")
    return builder, outputs


def export(model: Module, example_input: Any, path: str | os.PathLike, input_name: str = "input") -> None:
    """Write `model` as an ONNX graph (opset 19) for inputs shaped like example_input."""
    from .io import atomic_write

    onnx = _require_onnx()
    example = Tensor._wrap(xp.array(example_input._array if isinstance(example_input, Tensor) else example_input))
    was_training = model.training
    model.eval()
    try:
        builder, outputs = _build(onnx, model, example)
        rng = xp.random.default_rng(0)
        other = Tensor._wrap((example._array + rng.standard_normal(example.shape)).astype(example._array.dtype))
        check, _ = _build(onnx, model, other)
    finally:
        model.train(was_training)
    if len(check.constants) != len(builder.constants) or any(
            a.shape != b.shape or not xp.array_equal(a, b) for a, b in zip(builder.constants, check.constants)):
        raise ExportError("a value the graph would hold as a constant changes with the input: the model computes "
                          "on the input outside nnci's ops (e.g. on .data or .numpy()), which cannot be traced")
    helper = onnx.helper
    elem = helper.np_dtype_to_tensor_dtype
    output_names = [f"output{i}" if len(outputs) > 1 else "output" for i in range(len(outputs))]
    for out, name in zip(outputs, output_names):  # rename the last node's output to the graph's output name
        builder.nodes.append(helper.make_node("Identity", [builder.dynamic[id(out)]], [name]))
    graph = helper.make_graph(
        builder.nodes, type(model).__name__,
        [helper.make_tensor_value_info(input_name, elem(example.dtype), list(example.shape))],
        [helper.make_tensor_value_info(name, elem(out.dtype), list(out.shape)) for out, name in zip(outputs, output_names)],
        list(builder.initializers.values()))
    if input_name != "input":
        for node in graph.node:
            node.input[:] = [input_name if n == "input" else n for n in node.input]
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nnci")
    onnx.checker.check_model(proto)
    atomic_write(path, lambda handle: handle.write(proto.SerializeToString()))
