"""Section 3 of the course, the building blocks: activations and their derivatives, pooling, convolution and
transposed convolution stepped one window at a time, upsampling, batch norm's two sets of statistics."""
from __future__ import annotations

from ... import nn
from ...autograd.grad_mode import no_grad
from ...backend import xp
from ...creation import as_tensor, tensor
from ...nn import functional as F
from ..controls import Choice, Page, Slider
from ..views import grid, grids, note, plot, readout, readouts, series

SECTION = "Building blocks"
ACTIVATIONS = {  # name: (what the learner reads, f(x, parameter))
    "sigmoid": ("sigmoid 1 / (1 + e^-x)", lambda x, a: x.sigmoid()),
    "tanh": ("tanh", lambda x, a: x.tanh()),
    "relu": ("ReLU max(0, x)", lambda x, a: F.relu(x)),
    "leaky_relu": ("leaky ReLU (slope a below 0)", lambda x, a: F.leaky_relu(x, a)),
    "elu": ("ELU (a (e^x - 1) below 0)", lambda x, a: F.elu(x, a)),
    "softplus": ("softplus log(1 + e^(a x)) / a", lambda x, a: F.softplus(x, beta=a)),
    "gelu": ("GELU x \u03a6(x)", lambda x, a: F.gelu(x)),
    "silu": ("SiLU x \u03c3(x)", lambda x, a: F.silu(x)),
    "softsign": ("softsign x / (1 + |x|)", lambda x, a: F.softsign(x)),
}
EXAMPLES = {  # the course's small inputs
    "ones_eye4": ("ones(4, 4) + eye(4)", lambda: xp.ones((4, 4)) + xp.eye(4)),
    "ones_eye6": ("ones(6, 6) + eye(6)", lambda: xp.ones((6, 6)) + xp.eye(6)),
    "arange5": ("arange(25) as 5 x 5", lambda: xp.arange(25.0).reshape(5, 5)),
    "one_hot5": ("one-hot 5 x 5 (centre)", lambda: xp.eye(1, 25, 12).reshape(5, 5)),
    "eye5": ("eye(5)", lambda: xp.eye(5)),
}
SMALL_INPUTS = {
    "one_hot2": ("one-hot 2 x 2", lambda: xp.array([[1.0, 0.0], [0.0, 0.0]])),
    "eye2": ("eye(2)", lambda: xp.eye(2)),
    "eye3": ("eye(3)", lambda: xp.eye(3)),
    "arange3": ("arange(9) as 3 x 3", lambda: xp.arange(9.0).reshape(3, 3)),
}
KERNELS = {
    "ones3": ("ones(3, 3)", lambda: xp.ones((3, 3))),
    "arange3": ("arange(1, 10) as 3 x 3", lambda: xp.arange(1.0, 10.0).reshape(3, 3)),
    "sobel": ("Sobel x [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]", lambda: xp.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])),
    "arange2": ("arange(1, 5) as 2 x 2", lambda: xp.arange(1.0, 5.0).reshape(2, 2)),
    "identity3": ("identity (1 in the centre)", lambda: xp.eye(1, 9, 4).reshape(3, 3)),
}


def options(table: dict) -> tuple:
    """(value, label) pairs of a table of examples, for a Choice."""
    return tuple((name, text) for name, (text, _) in table.items())


def activations(v: dict) -> dict:
    """f(x) and f'(x) on [-5, 5]; f' is what nnci's backward gives for y = f(x).sum()."""
    name, a = v["activation"], v["parameter"]
    f = ACTIVATIONS[name][1]
    x = tensor(xp.linspace(-5, 5, 401), requires_grad=True)
    y = f(x, a)
    y.sum().backward()
    probe = tensor([v["x0"]], requires_grad=True)
    y0 = f(probe, a)
    y0.sum().backward()
    return {"panels": [
        plot(ACTIVATIONS[name][0], [series("f(x)", x.detach(), y.detach()), series("f\u2032(x)", x.detach(), x.grad, "dashed")],
             ylabel="f, f\u2032", marks=[{"x": v["x0"], "label": "x\u2080"}]),
        readouts(readout("f_x0", "f(x\u2080)", y0.detach()[0]), readout("df_x0", "f\u2032(x\u2080), from backward", probe.grad[0]))]}


def stepped(shape: tuple, step: int) -> tuple[int, xp.ndarray, tuple[int, int] | None]:
    """Windows taken in raster order over a grid of `shape`: the step shown (0, nothing yet, ... every cell), the
    mask of the cells not reached yet, and the (row, column) reached last (None at step 0)."""
    count = int(xp.prod(shape))
    step = max(0, min(step, count))
    return step, (xp.arange(count) >= step).reshape(shape), divmod(step - 1, shape[1]) if step else None


def pooling(v: dict) -> dict:
    """max or average pooling of a course example, its windows in raster order: output[i, j] is the max (mean)
    of input[i s : i s + k, j s : j s + k]."""
    image = EXAMPLES[v["input"]][1]()
    k, s = v["kernel"], v["stride"]
    if k > image.shape[0]:
        return {"panels": [note(f"the {k} x {k} window is larger than the {image.shape[0]} x {image.shape[1]} input")]}
    pool = F.max_pool2d if v["kind"] == "max" else F.avg_pool2d
    output = pool(as_tensor(image[None, None].astype(xp.float32)), k, s).numpy()[0, 0]
    count = output.size
    step, shown, last = stepped(output.shape, v["step"])
    panels = []
    items = [grid("input", image, "input", None), grid("output", output, "output", None, hidden=shown)]
    if last:
        i, j = last
        items[0] = grid("input", image, "input", [i * s, j * s, k, k])
        items[1] = grid("output", output, "output", [i, j, 1, 1], hidden=shown)
        window = image[i * s:i * s + k, j * s:j * s + k]
        panels.append(readouts(readout("value", f"output[{i}, {j}] = {v['kind']} of the window", output[i, j]),
                               readout("window_max", "window max", window.max()),
                               readout("window_mean", "window mean", window.mean())))
    return {"panels": [grids(*items), *panels,
                       readouts(readout("windows", "windows", count), readout("step_shown", "step", step))],
            "limits": {"step": count}}


def convolution(v: dict) -> dict:
    """output[i, j] = sum_{u, v} padded[i s + u, j s + v] kernel[u, v] (a cross-correlation, as in every deep
    learning library), the padding drawn from the input by the padding mode."""
    image, kernel = EXAMPLES[v["input"]][1](), KERNELS[v["kernel"]][1]()
    p, s = v["padding"], v["stride"]
    x = as_tensor(image[None, None].astype(xp.float32))
    if p and v["mode"] == "reflect" and p >= min(image.shape):
        return {"panels": [note(f"reflect padding needs padding < the input's side {min(image.shape)}")]}
    padded = F.pad(x, (p, p, p, p), mode="constant" if v["mode"] == "zeros" else v["mode"]) if p else x
    if kernel.shape[0] > padded.shape[-1]:
        return {"panels": [note("the kernel is larger than the padded input")]}
    output = F.conv2d(padded, as_tensor(kernel[None, None].astype(xp.float32)), stride=s).numpy()[0, 0]
    padded = padded.numpy()[0, 0]
    count, k = output.size, kernel.shape[0]
    step, hidden, last = stepped(output.shape, v["step"])
    items = [grid("padded input" if p else "input", padded, "input"), grid("kernel", kernel, "kernel"),
             grid("output", output, "output", hidden=hidden)]
    panels = []
    if last:
        i, j = last
        items[0] = grid("padded input" if p else "input", padded, "input", [i * s, j * s, k, k])
        items[2] = grid("output", output, "output", [i, j, 1, 1], hidden=hidden)
        panels.append(readouts(readout("value", f"output[{i}, {j}] = sum(window \u00d7 kernel)", output[i, j])))
    return {"panels": [grids(*items), *panels,
                       readouts(readout("windows", "windows", count), readout("step_shown", "step", step))],
            "limits": {"step": count}}


def transposed(v: dict) -> dict:
    """Transposed convolution: each input pixel x[i, j] adds x[i, j] kernel into the output at (i s - p, j s - p);
    the running output after step n is conv_transpose2d of the input with only its first n pixels kept."""
    image, kernel = SMALL_INPUTS[v["input"]][1](), KERNELS[v["kernel"]][1]()
    s, p, k = v["stride"], v["padding"], kernel.shape[0]
    weight = as_tensor(kernel[None, None].astype(xp.float32))
    full_shape = ((image.shape[0] - 1) * s - 2 * p + k, (image.shape[1] - 1) * s - 2 * p + k)
    if min(full_shape) < 1:
        return {"panels": [note(f"padding {p} crops the whole {full_shape} output")]}
    count = image.size
    step, waiting, last = stepped(image.shape, v["step"])
    kept = ~waiting
    running = F.conv_transpose2d(as_tensor((image * kept)[None, None].astype(xp.float32)), weight, stride=s,
                                 padding=p).numpy()[0, 0]
    final = F.conv_transpose2d(as_tensor(image[None, None].astype(xp.float32)), weight, stride=s,
                               padding=p).numpy()[0, 0]
    items = [grid("input", image, "input"), grid("kernel", kernel, "kernel"), grid("running output", running, "output")]
    if last:
        i, j = last
        items[0] = grid("input", image, "input", [i, j, 1, 1])
        items[2] = grid("running output", running, "output", [i * s - p, j * s - p, k, k])
    return {"panels": [grids(*items, grid("final output", final, "final")),
                       readouts(readout("pixels", "input pixels", count), readout("step_shown", "step", step),
                                readout("output_sum", "sum of the running output", running.sum()))],
            "limits": {"step": count}}


def upsampling(v: dict) -> dict:
    """F.interpolate of a small input by an integer factor: nearest repeats pixels, bilinear interpolates
    between pixel centres (align_corners: between the corner pixels)."""
    image = SMALL_INPUTS[v["input"]][1]()
    align = None if v["mode"] == "nearest" else v["align_corners"] == "yes"
    output = F.interpolate(as_tensor(image[None, None].astype(xp.float32)), scale_factor=v["scale"], mode=v["mode"],
                           align_corners=align).numpy()[0, 0]
    return {"panels": [grids(grid("input", image, "input"), grid("output", output, "output")),
                       readouts(readout("rows", "output rows", output.shape[0]),
                                readout("corner", "output[0, 0]", output[0, 0]),
                                readout("total", "sum of the output", output.sum()))]}


def batch_norm(v: dict) -> dict:
    """BatchNorm1d(1, momentum) trained on `steps` batches from N(mean, std^2): running <- (1 - m) running + m batch
    (unbiased variance); training mode normalises by the batch's own statistics, evaluation by the running ones."""
    rng = xp.random.default_rng(v["seed"])
    layer = nn.BatchNorm1d(1, momentum=v["momentum"], affine=False)
    means, variances, batch, train_out = [0.0], [1.0], None, None
    for _ in range(v["steps"]):
        batch = (v["mean"] + v["std"] * rng.standard_normal((v["batch"], 1))).astype(xp.float32)
        with no_grad():
            train_out = layer(as_tensor(batch)).numpy()[:, 0]
        means.append(float(layer.running_mean.numpy()[0]))
        variances.append(float(layer.running_var.numpy()[0]))
    layer.eval()
    with no_grad():
        probe = layer(as_tensor(xp.array([[v["x0"]]], xp.float32))).numpy()[0, 0]
    panels = [plot("running statistics after each training step",
                   [series("running mean", xp.arange(len(means)), means),
                    series("running variance", xp.arange(len(variances)), variances),
                    series("true mean", [0, len(means) - 1], [v["mean"]] * 2, "dashed"),
                    series("true variance", [0, len(means) - 1], [v["std"] ** 2] * 2, "dashed")],
                   xlabel="step", ylabel="value", id="running")]
    items = [readout("running_mean", "running mean", means[-1]), readout("running_var", "running variance", variances[-1]),
             readout("eval_x0", "evaluation output at x\u2080, (x\u2080 - running mean) / \u221a(running var + \u03b5)", probe)]
    if batch is not None:
        with no_grad():
            eval_out = layer(as_tensor(batch)).numpy()[:, 0]
        items = [readout("batch_mean", "last batch mean", batch.mean()),
                 readout("batch_var", "last batch variance (biased, used to normalise)", batch.var()), *items]
        panels.append(plot("the last batch through the layer", [
            series("training mode (batch statistics)", batch[:, 0], train_out, "points"),
            series("evaluation mode (running statistics)", batch[:, 0], eval_out, "points")],
            xlabel="input", ylabel="output", id="outputs"))
    return {"panels": [*panels, readouts(*items)]}


STEP = Slider("step", "step (windows computed)", 0, 64, 1, 1, integer=True)
PAGES = [
    Page("activations", "Activation functions", SECTION,
         "Each activation and its derivative, the derivative taken by nnci's backward pass. The parameter a is "
         "leaky ReLU's negative slope, ELU's alpha and softplus's beta.",
         (Choice("activation", "activation", options(ACTIVATIONS), "sigmoid"),
          Slider("parameter", "parameter a", 0.01, 3, 0.01, 0.1), Slider("x0", "probe x\u2080", -5, 5, 0.05, 1)),
         activations),
    Page("pooling", "Max pooling, window by window", SECTION,
         "A k x k window slides by the stride; each output is the max (or mean) of the window it covers.",
         (Choice("input", "input", options(EXAMPLES), "ones_eye4"), Choice("kind", "pooling", (("max", "max"), ("avg", "average")), "max"),
          Slider("kernel", "window k", 1, 4, 1, 2, integer=True), Slider("stride", "stride s", 1, 4, 1, 2, integer=True), STEP),
         pooling),
    Page("convolution", "Convolution, window by window", SECTION,
         "The kernel slides over the padded input; each output is the sum of the window times the kernel.",
         (Choice("input", "input", options(EXAMPLES), "ones_eye4"), Choice("kernel", "kernel", options(KERNELS), "ones3"),
          Slider("padding", "padding p", 0, 2, 1, 1, integer=True),
          Choice("mode", "padding mode", (("zeros", "zeros"), ("reflect", "reflect"), ("replicate", "replicate"),
                                          ("circular", "circular")), "zeros"),
          Slider("stride", "stride s", 1, 3, 1, 1, integer=True), STEP),
         convolution),
    Page("transposed", "Transposed convolution, pixel by pixel", SECTION,
         "Each input pixel stamps the kernel, scaled by its value, into the output at stride s; overlaps add. "
         "Padding p crops p rows and columns from each side of the result.",
         (Choice("input", "input", options(SMALL_INPUTS), "one_hot2"), Choice("kernel", "kernel", options(KERNELS), "arange3"),
          Slider("stride", "stride s", 1, 3, 1, 2, integer=True), Slider("padding", "padding p", 0, 2, 1, 0, integer=True),
          Slider("step", "step (input pixels stamped)", 0, 9, 1, 1, integer=True)),
         transposed),
    Page("upsampling", "Upsampling", SECTION,
         "Nearest-neighbour upsampling repeats each pixel; bilinear upsampling interpolates between them.",
         (Choice("input", "input", options(SMALL_INPUTS), "arange3"),
          Choice("mode", "mode", (("nearest", "nearest"), ("bilinear", "bilinear")), "nearest"),
          Slider("scale", "scale factor", 2, 4, 1, 2, integer=True),
          Choice("align_corners", "align corners (bilinear)", (("no", "no"), ("yes", "yes")), "no")),
         upsampling),
    Page("batchnorm", "Batch norm: training and evaluation", SECTION,
         "In training, batch norm normalises by the batch's mean and variance and updates running estimates; in "
         "evaluation it uses the running estimates, so one input gives one output whatever the batch.",
         (Slider("mean", "data mean", -5, 5, 0.1, 2), Slider("std", "data standard deviation", 0.1, 5, 0.1, 1.5),
          Slider("batch", "batch size", 2, 64, 1, 8, integer=True), Slider("momentum", "momentum", 0.01, 1, 0.01, 0.1),
          Slider("steps", "training steps", 0, 200, 1, 20, integer=True), Slider("x0", "probe x\u2080", -10, 10, 0.1, 2),
          Slider("seed", "seed", 0, 99, 1, 0, integer=True)),
         batch_norm),
]
