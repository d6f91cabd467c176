"""Section 4 of the course: backpropagation on a small graph, and optimisers training a network live."""
from __future__ import annotations

import time
from typing import Any, Iterator

from ... import nn
from ...autograd.grad_mode import no_grad
from ...backend import manual_seed, xp
from ...creation import as_tensor, tensor
from ...optim import SGD, Adam
from ..controls import Choice, Page, Slider
from ..views import graph, plot, readout, readouts, series

SECTION = "Optimisation and backpropagation"


def backprop(v: dict) -> dict:
    """y = log(x)^2 as the graph x -> a = log(x) -> y = a^2; values forward, dy/d(node) from nnci's backward
    (dy/da = 2a, dy/dx = 2a / x)."""
    x = tensor([v["x"]], requires_grad=True)
    a = x.log()
    a.retain_grad()
    y = a ** 2
    y.retain_grad()
    y.backward()
    grid = tensor(xp.linspace(0.05, 10, 400), requires_grad=True)
    curve = grid.log() ** 2
    curve.sum().backward()
    return {"panels": [
        graph([{"id": "x", "label": "x", "value": v["x"], "grad": float(x.grad[0])},
               {"id": "a", "label": "a = log(x)", "value": float(a.detach()[0]), "grad": float(a.grad[0])},
               {"id": "y", "label": "y = a\u00b2", "value": float(y.detach()[0]), "grad": float(y.grad[0])}],
              [("x", "a"), ("a", "y")]),
        plot("y = log(x)\u00b2 and dy/dx", [series("y", grid.detach(), curve.detach()),
                                          series("dy/dx", grid.detach(), grid.grad, "dashed")],
             marks=[{"x": v["x"], "label": "x"}]),
        readouts(readout("y", "y", y.detach()[0]), readout("dy_da", "dy/da = 2a", a.grad[0]),
                 readout("dy_dx", "dy/dx = 2 log(x) / x", x.grad[0]))]}


def problem(seed: int, points: int = 64) -> tuple[xp.ndarray, xp.ndarray]:
    """The training page's data: x uniform on [0, 1], y = sin(2 pi x) + 0.1 n, as float32 columns."""
    rng = xp.random.default_rng(seed)
    x = rng.uniform(0, 1, (points, 1)).astype(xp.float32)
    return x, (xp.sin(2 * xp.pi * x) + 0.1 * rng.standard_normal((points, 1))).astype(xp.float32)


def optimizer_for(name: str, parameters: Any, lr: float) -> Any:
    """Adam, or SGD with momentum 0.9 ('momentum') or none ('gd', 'sgd')."""
    if name == "adam":
        return Adam(parameters, lr=lr)
    return SGD(parameters, lr=lr, momentum=0.9 if name == "momentum" else 0.0)


def training_run(v: dict) -> Iterator[dict]:
    """Fit a 1-hidden-layer tanh network to 64 noisy samples of sin(2 pi x) by the chosen optimiser; 'gd' takes
    the whole set per step, the others shuffled mini-batches of `batch` per epoch (one permutation per epoch from
    a generator seeded by `seed`). Yields the panels after every epoch: the loss curve grows as it trains."""
    x, y = problem(v["seed"])
    manual_seed(v["seed"])
    model = nn.Sequential(nn.Linear(1, v["hidden"]), nn.Tanh(), nn.Linear(v["hidden"], 1))
    optimizer = optimizer_for(v["optimizer"], model.parameters(), float(v["lr"]))
    batch = len(x) if v["optimizer"] == "gd" else v["batch"]
    order_rng = xp.random.default_rng(v["seed"] + 1)
    inputs, targets = as_tensor(x), as_tensor(y)
    grid = xp.linspace(0, 1, 101, dtype=xp.float32)[:, None]
    losses, steps, started, shown = [], 0, time.perf_counter(), 0.0
    for epoch in range(1, v["epochs"] + 1):
        order = order_rng.permutation(len(x)) if batch < len(x) else xp.arange(len(x))
        for start in range(0, len(x), batch):
            index = order[start:start + batch]
            optimizer.zero_grad()
            loss = ((model(as_tensor(x[index])) - as_tensor(y[index])) ** 2).mean()
            loss.backward()
            optimizer.step()
            steps += 1
        with no_grad():
            losses.append(float(((model(inputs) - targets) ** 2).mean().item()))
        now = time.perf_counter()
        if epoch == v["epochs"] or now - shown > 0.1:  # about ten frames a second
            shown = now
            with no_grad():
                fit = model(as_tensor(grid)).numpy()[:, 0]
            yield {"done": epoch == v["epochs"], "panels": [
                plot("training loss (mean squared error over the 64 points) after each epoch",
                     [series("loss", xp.arange(1, epoch + 1), losses)], xlabel="epoch", ylabel="loss", id="loss"),
                plot("the data and the network's fit", [series("samples", x[:, 0], y[:, 0], "points"),
                                                        series("network", grid[:, 0], fit)], id="fit"),
                readouts(readout("epoch", "epoch", epoch), readout("steps", "optimiser steps", steps),
                         readout("loss", "loss", losses[-1]),
                         readout("seconds", "seconds", now - started))]}


LEARNING_RATES = ("0.0001", "0.0003", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1")
PAGES = [
    Page("backprop", "Backpropagation", SECTION,
         "The chain rule in reverse: each node's gradient dy/d(node) is the next node's gradient times the local "
         "derivative. Every number here comes from nnci's forward and backward passes.",
         (Slider("x", "x", 0.05, 10, 0.05, 2),), backprop),
    Page("training", "Training live", SECTION,
         "Gradient descent takes all 64 points per step; SGD, momentum (0.9) and Adam take shuffled mini-batches. "
         "The loss is measured on all points after each epoch.",
         (Choice("optimizer", "optimiser", (("gd", "gradient descent (full batch)"), ("sgd", "mini-batch SGD"),
                                             ("momentum", "SGD with momentum 0.9"), ("adam", "Adam")), "adam"),
          Choice("lr", "learning rate", tuple((value, value) for value in LEARNING_RATES), "0.01"),
          Slider("batch", "batch size", 1, 64, 1, 8, integer=True),
          Slider("epochs", "epochs", 1, 500, 1, 200, integer=True),
          Slider("hidden", "hidden units", 2, 64, 1, 16, integer=True),
          Slider("seed", "seed", 0, 99, 1, 0, integer=True)),
         training_run, stream=True),
]
