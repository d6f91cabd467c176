"""The guide's figures (docs/images), each drawn from what nnci computes: `nnci figures --out DIR`.

Concept figures take seconds. Application figures come from the tasks' own eval commands: on the shipped
weights where there are some, otherwise after a short training run (minutes on 2 cores).
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from . import nn
from .backend import manual_seed, xp
from .nn import functional as F
from .creation import tensor
from .tensor import Tensor
from .plotting import pyplot, save_figure


def _grid(ax: Any, values: Any, title: str, cmap: str = "Blues", fmt: str = "{:g}", highlight: Any = None) -> None:
    """A small matrix drawn as coloured cells with its numbers written in."""
    values = xp.asarray(values, dtype=float)
    ax.imshow(values, cmap=cmap, vmin=min(values.min(), 0), vmax=max(values.max(), 1) * 1.4)
    for (i, j), v in xp.ndenumerate(values):
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=10,
                fontweight="bold" if highlight is not None and highlight[i, j] else "normal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)


def activations(path: Path) -> None:
    """Each activation and its derivative, the derivative taken by nnci's backward pass."""
    plt = pyplot()
    layers = {"Sigmoid": nn.Sigmoid(), "Tanh": nn.Tanh(), "ReLU": nn.ReLU(), "LeakyReLU(0.1)": nn.LeakyReLU(0.1),
              "ELU(1)": nn.ELU(), "Softplus(beta=1)": nn.Softplus(), "Softplus(beta=4)": nn.Softplus(beta=4.0)}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, layer in layers.items():
        x = tensor(xp.linspace(-4, 4, 801), requires_grad=True)
        y = layer(x)
        y.sum().backward()  # d sum(f(x_i)) / d x_i = f'(x_i)
        axes[0].plot(x.detach().numpy(), y.detach().numpy(), label=name)
        axes[1].plot(x.detach().numpy(), x.grad.numpy(), label=name)
    axes[0].set_title("f(x)")
    axes[1].set_title("f'(x) from backward()")
    axes[0].set_ylim(-1.5, 4)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.axhline(0, color="k", lw=0.5)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


POOL_INPUT = [[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]
CONV_INPUT = [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
CONV_KERNEL = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
TRANSPOSE_INPUT = [[0, 1], [2, 3]]
TRANSPOSE_KERNEL = [[0, 1], [2, 3]]


def _grid_figure(path: Path, panels: list[tuple]) -> None:
    """One row of small annotated matrices: panels of (values, title, keyword arguments of _grid)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(2.9 * len(panels), 3.2))
    for ax, (values, title, options) in zip(axes, panels):
        _grid(ax, values, title, **options)
    fig.tight_layout()
    save_figure(fig, path)


def _image(values: list) -> Tensor:
    return tensor(xp.array(values, xp.float32)[None, None])


def max_pooling(path: Path) -> None:
    """2x2 max pooling with stride 2 on a 4x4 input, and the gradient routed back to each window's maximum."""
    x = _image(POOL_INPUT)
    x.requires_grad_(True)
    y = F.max_pool2d(x, 2, stride=2)
    y.sum().backward()
    routed = x.grad.numpy()[0, 0]
    _grid_figure(path, [(POOL_INPUT, "input (4x4)", {"highlight": routed > 0}),
                        (y.detach().numpy()[0, 0], "max_pool2d(x, 2, stride=2)", {"cmap": "Oranges"}),
                        (routed, "gradient of sum(y): 1 at each max", {"cmap": "Greens"})])


def convolution(path: Path) -> None:
    """A 3x3 kernel on a 5x5 binary image: no padding, padding 1, and stride 2."""
    x, k = _image(CONV_INPUT), _image(CONV_KERNEL)
    out = {"cmap": "Oranges"}
    _grid_figure(path, [(CONV_INPUT, "input (5x5)", {}), (CONV_KERNEL, "kernel (3x3)", {"cmap": "Purples"}),
                        (F.conv2d(x, k).detach().numpy()[0, 0], "conv2d: 3x3 out", out),
                        (F.conv2d(x, k, padding=1).detach().numpy()[0, 0], "padding=1: 5x5 out", out),
                        (F.conv2d(x, k, padding=1, stride=2).detach().numpy()[0, 0], "padding=1, stride=2: 3x3", out)])


def transposed_convolution(path: Path) -> None:
    """Transposed convolution (each input pixel stamps the kernel, scaled) and nearest/bilinear upsampling."""
    x, k = _image(TRANSPOSE_INPUT), _image(TRANSPOSE_KERNEL)
    out, upsampled = {"cmap": "Oranges"}, {"cmap": "Greens"}
    bilinear = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False).detach().numpy()[0, 0]
    _grid_figure(path, [(TRANSPOSE_INPUT, "input (2x2)", {}), (TRANSPOSE_KERNEL, "kernel (2x2)", {"cmap": "Purples"}),
                        (F.conv_transpose2d(x, k).detach().numpy()[0, 0], "conv_transpose2d: 3x3", out),
                        (F.conv_transpose2d(x, k, stride=2).detach().numpy()[0, 0], "stride=2: 4x4", out),
                        (F.interpolate(x, scale_factor=2, mode="nearest").detach().numpy()[0, 0], "Upsample nearest x2",
                         upsampled),
                        (bilinear, "Upsample bilinear x2", {**upsampled, "fmt": "{:.2f}"})])


def computation_graph(path: Path, x_value: float = 3.0) -> None:
    """y = log(x)^2 as a graph: forward values above each node, backward gradients dy/d(node) below."""
    plt = pyplot()
    x = tensor(x_value, dtype=xp.float64, requires_grad=True)
    u = x.log()
    y = u ** 2
    u.retain_grad()
    y.backward()
    nodes = [("x", x.item(), x.grad.item()), ("u = log(x)", u.item(), u.grad.item()), ("y = u^2", y.item(), 1.0)]
    local = ["du/dx = 1/x", "dy/du = 2u"]
    fig, ax = plt.subplots(figsize=(9, 2.8))
    for i, (label, value, grad) in enumerate(nodes):
        ax.add_patch(plt.Circle((3 * i, 0), 0.8, color="#cfe2f3", ec="k"))
        ax.text(3 * i, 0, label, ha="center", va="center", fontsize=10)
        ax.text(3 * i, 1.1, f"forward: {value:.4f}", ha="center", color="#1f4e79", fontsize=9)
        ax.text(3 * i, -1.25, f"dy/d{label.split()[0]} = {grad:.4f}", ha="center", color="#990000", fontsize=9)
        if i < 2:
            ax.annotate("", xy=(3 * i + 2.2, 0.15), xytext=(3 * i + 0.8, 0.15), arrowprops=dict(arrowstyle="->"))
            ax.annotate("", xy=(3 * i + 0.8, -0.2), xytext=(3 * i + 2.2, -0.2),
                        arrowprops=dict(arrowstyle="->", color="#990000"))
            ax.text(3 * i + 1.5, -0.55, local[i], ha="center", fontsize=8, color="#990000")
    ax.set_xlim(-1.2, 7.2)
    ax.set_ylim(-1.7, 1.6)
    ax.axis("off")
    ax.set_title(f"y = log(x)^2 at x = {x_value:g}: forward (blue), backward by the chain rule (red)", fontsize=10)
    save_figure(fig, path)


def universal_approximation(path: Path) -> None:
    """The constructive sigmoid-pair network for sin on [0, 1] at 4, 16 and 64 units, and its error by width."""
    from .tasks.approximate import constructive_network, evaluate_on_grid, target_function
    plt = pyplot()
    f = target_function("sin2pi")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    grid = xp.linspace(0, 1, 2001)
    axes[0].plot(grid, f(grid), "k", lw=2, label="f(x) = sin(2 pi x)")
    sizes = [2, 4, 8, 16, 32, 64, 128, 256]
    errors = []
    for units in sizes:
        x, y, metrics = evaluate_on_grid(constructive_network(f, units, 0.0, 1.0), f, 0.0, 1.0)
        errors.append(metrics["max_error"])
        if units in (4, 16, 64):
            axes[0].plot(x, y, label=f"{units} sigmoid units")
    axes[0].legend(fontsize=8)
    axes[0].set_title("one hidden layer of sigmoid pairs ('rects')")
    axes[1].loglog(sizes, errors, "o-")
    axes[1].set_xlabel("hidden units")
    axes[1].set_ylabel("max |f - network|")
    axes[1].set_title("error halves as the width doubles")
    axes[1].grid(alpha=0.3, which="both")
    fig.tight_layout()
    save_figure(fig, path)


def optimisers(path: Path, steps: int = 300) -> None:
    """Training curves of one small network under full-batch GD, mini-batch SGD, momentum and Adam, and the
    learning-rate schedules."""
    from .backend import Generator
    from .data import DataLoader, TensorDataset, load_digits
    from .optim import SGD, Adam
    from .optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR
    plt = pyplot()
    images, labels = load_digits()
    x_all, y_all = images[:1024].reshape(1024, -1), labels[:1024]
    setups = {"gradient descent (full batch), lr 0.5": (lambda p: SGD(p, lr=0.5), 1024),
              "mini-batch SGD (64), lr 0.1": (lambda p: SGD(p, lr=0.1), 64),
              "SGD + momentum 0.9, lr 0.02": (lambda p: SGD(p, lr=0.02, momentum=0.9), 64),
              "Adam, lr 3e-3": (lambda p: Adam(p, lr=3e-3), 64)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for label, (make, batch) in setups.items():
        manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        optimizer = make(model.parameters())
        loader = DataLoader(TensorDataset(x_all, y_all), batch_size=batch, shuffle=True, generator=Generator().manual_seed(0))
        losses: list[float] = []
        while len(losses) < steps:
            for xb, yb in loader:
                loss = F.cross_entropy(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                if len(losses) == steps:
                    break
        axes[0].plot(losses, label=label, lw=1)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("cross-entropy")
    axes[0].set_title("the same MLP on the digits, four optimizers")
    axes[0].legend(fontsize=7)
    schedules = {"StepLR(30, 0.5)": lambda o: StepLR(o, 30, 0.5), "ExponentialLR(0.97)": lambda o: ExponentialLR(o, 0.97),
                 "CosineAnnealingLR(100)": lambda o: CosineAnnealingLR(o, 100)}
    for label, make in schedules.items():
        optimizer = SGD([tensor(xp.zeros(1, xp.float32), requires_grad=True)], lr=0.1)
        schedule = make(optimizer)
        rates = []
        for _ in range(100):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
        axes[1].plot(rates, label=label)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("learning rate")
    axes[1].set_title("learning-rate schedules")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


CONCEPTS: dict[str, Callable[[Path], None]] = {
    "activations.png": activations, "max_pooling.png": max_pooling, "convolution.png": convolution,
    "transposed_convolution.png": transposed_convolution, "computation_graph.png": computation_graph,
    "universal_approximation.png": universal_approximation, "optimisers.png": optimisers,
}

def _trained_and_evaluated(task: str) -> Callable[[Path], Path]:
    """A figure maker that trains `task` with its defaults into scratch/task and writes its eval picture there."""
    def make(scratch: Path) -> Path:
        from importlib import import_module
        module = import_module(f".tasks.{task}", __package__)
        model = module.train(out=scratch / task, progress=False)
        return Path(module.evaluate(model, out=scratch / task)["picture"])
    return make


def _denoise_demo(scratch: Path) -> Path:
    from .tasks import denoise
    return Path(denoise.demo(out=scratch / "denoise-demo.png")["picture"])


def _denoise_against_bm3d(scratch: Path) -> Path | None:
    """The shipped denoiser against BM3D at sigma 25; None (the guide's picture is kept) without BM3D."""
    from .tasks import denoise
    result = denoise.evaluate(sigmas=(25,), out=scratch / "denoise")
    return None if "bm3d" in result else Path(result["picture"])  # the key holds the reason BM3D is absent


def _shipped_evaluated(task: str, **options: Any) -> Callable[[Path], Path]:
    """A figure maker that evaluates the shipped model of `task` and returns its picture."""
    def make(scratch: Path) -> Path:
        from importlib import import_module
        module = import_module(f".tasks.{task}", __package__)
        return Path(module.evaluate(out=scratch / task, **options)["picture"])
    return make


# guide image <- a function of a scratch folder that writes the picture there and returns its path (None: the
# picture cannot be made on this installation, and the guide's copy is left as it is)
APPLICATIONS: dict[str, Callable[[Path], Path | None]] = {
    "denoise_demo.png": _denoise_demo,
    "denoise_vs_bm3d.png": _denoise_against_bm3d,
    "classify_confusion.png": _trained_and_evaluated("classify"),
    "synthesize_samples.png": _trained_and_evaluated("synthesize"),
    "anomaly_maps.png": _trained_and_evaluated("anomaly"),
    "segmentation.png": _trained_and_evaluated("segment"),
    "isp.png": _shipped_evaluated("isp"),
    "hdr.png": _shipped_evaluated("hdr"),  # the shipped learned and ideal-lens models
}


def write_all(out: Path, applications: bool = True, progress: Callable[[str], None] = print) -> list[Path]:
    """Write every concept figure (and, with applications, every application figure) into out."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in CONCEPTS.items():
        draw(out / name)
        written.append(out / name)
        progress(f"wrote {out / name}")
    if not applications:
        return written
    with tempfile.TemporaryDirectory() as scratch:
        for name, make in APPLICATIONS.items():
            picture = make(Path(scratch))
            if picture is None:
                progress(f"left {out / name} as it is: the optional bm3d package is not installed (pip install 'nnci[bm3d]')")
                continue
            shutil.copyfile(picture, out / name)
            written.append(out / name)
            progress(f"wrote {out / name}")
    return written
