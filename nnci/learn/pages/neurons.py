"""Section 1 and 2 of the course: a sigmoid neuron, steps, rects, and the universal approximation they build."""
from __future__ import annotations

import functools

from ... import nn
from ...autograd.grad_mode import no_grad
from ...backend import xp
from ...creation import as_tensor
from ...tasks import approximate
from ...tasks.options import UserError
from ..controls import Choice, Page, Slider, Text
from ..views import plot, readout, readouts, series

SECTION = "Neurons and universal approximation"
X = xp.linspace(0.0, 1.0, 401)
STEEP = 1000.0  # hidden weight of the step pages: a sigmoid this steep is a step at s = -b / w


def sigmoid_network(weights: list[float], biases: list[float], heights: list[float]) -> nn.Sequential:
    """g(x) = sum_i h_i sigmoid(w_i x + b_i): one hidden layer of len(weights) sigmoids, as an nnci model."""
    model = nn.Sequential(nn.Linear(1, len(weights)), nn.Sigmoid(), nn.Linear(len(weights), 1, bias=False))
    with no_grad():
        model[0].weight.copy_(xp.array(weights, xp.float32)[:, None])
        model[0].bias.copy_(xp.array(biases, xp.float32))
        model[2].weight.copy_(xp.array(heights, xp.float32)[None])
    return model


@no_grad()
def curve(model: nn.Module, x: xp.ndarray = X) -> xp.ndarray:
    """g(x) of a 1-in, 1-out network at each x, as a float32 array."""
    return model(as_tensor(x[:, None].astype(xp.float32))).numpy()[:, 0]


def neuron(v: dict) -> dict:
    """y = sigmoid(w x + b) on [0, 1]; its step sits at s = -b / w with slope w / 4 there."""
    model = sigmoid_network([v["w"]], [v["b"]], [1.0])
    s = -v["b"] / v["w"]
    return {"panels": [
        plot("y = \u03c3(w x + b)", [series("y", X, curve(model))], ylabel="y", ylim=(-0.05, 1.05),
             marks=[{"x": s, "label": "s = -b/w"}] if 0 <= s <= 1 else []),
        readouts(readout("step", "step position s = -b / w", s), readout("slope", "slope at s, w / 4", v["w"] / 4),
                 readout("y0", "y(0)", curve(model, xp.array([0.0]))[0]),
                 readout("y1", "y(1)", curve(model, xp.array([1.0]))[0]))]}


def steps(v: dict) -> dict:
    """y = w1 sigmoid(k (x - s1)) + w2 sigmoid(k (x - s2)), k = 1000: two steps, of heights w1 and w2."""
    model = sigmoid_network([STEEP, STEEP], [-STEEP * v["s1"], -STEEP * v["s2"]], [v["w1"], v["w2"]])
    y = curve(model)
    return {"panels": [
        plot("y = w\u2081 \u03c3(k(x - s\u2081)) + w\u2082 \u03c3(k(x - s\u2082))", [series("y", X, y)], ylabel="y",
             marks=[{"x": v["s1"], "label": "s\u2081"}, {"x": v["s2"], "label": "s\u2082"}]),
        readouts(readout("y_left", "y at x = 0", y[0]), readout("y_right", "y at x = 1", y[-1]),
                 readout("y_max", "max y", y.max()), readout("y_min", "min y", y.min()))]}


def rects(v: dict) -> dict:
    """Two rect functions h (sigmoid(k (x - s_i1)) - sigmoid(k (x - s_i2))) added: four hidden sigmoids."""
    model = sigmoid_network([STEEP] * 4, [-STEEP * v[name] for name in ("s11", "s12", "s21", "s22")],
                            [v["h1"], -v["h1"], v["h2"], -v["h2"]])
    y = curve(model)
    middle = lambda a, b: curve(model, xp.array([(v[a] + v[b]) / 2]))[0]  # noqa: E731
    return {"panels": [
        plot("two rects: h\u2081 on [s\u2081\u2081, s\u2081\u2082], h\u2082 on [s\u2082\u2081, s\u2082\u2082]",
             [series("y", X, y)], ylabel="y",
             marks=[{"x": v[name], "label": name} for name in ("s11", "s12", "s21", "s22")]),
        readouts(readout("rect1", "y at the middle of rect 1", middle("s11", "s12")),
                 readout("rect2", "y at the middle of rect 2", middle("s21", "s22")),
                 readout("y_max", "max y", y.max()), readout("y_min", "min y", y.min()))]}


def target(v: dict) -> tuple:
    """f, low, high of the approximation page: a built-in with its domain, or the typed expression on [low, high]."""
    if v["target"] != "custom":
        low, high = approximate.BUILTINS[v["target"]][1]
        return approximate.target_function(v["target"]), low, high
    if not v["low"] < v["high"]:
        raise UserError(f"low must be below high, got [{v['low']:g}, {v['high']:g}]")
    return approximate.target_function(v["expression"]), v["low"], v["high"]


OPTIMIZERS = {"sgd": "gradient descent with momentum 0.9 (lr 0.05)", "adam": "Adam (lr 0.02)"}


@functools.lru_cache(maxsize=32)
def trained_network(text: str, low: float, high: float, units: int, epochs: int, seed: int,
                    optimizer: str = "sgd") -> nn.Sequential:
    """approximate's network (its spread start), fitted on the full-batch MSE over 512 points by gradient descent
    with momentum 0.9 and lr 0.05, or by Adam with lr 0.02."""
    return approximate.fit_by_gradient_descent(approximate.target_function(text), units, low, high, epochs, seed,
                                               lr=0.05 if optimizer == "sgd" else 0.02, optimizer=optimizer)


def approximation(v: dict) -> dict:
    """The constructive network (units/2 rects weighted by f at their centres) beside one trained by gradient descent."""
    f, low, high = target(v)
    x = xp.linspace(low, high, 2001)
    values = f(x)
    if not xp.isfinite(values).all():
        raise UserError(f"the function is not finite everywhere on [{low:g}, {high:g}]")
    text = approximate.BUILTINS.get(v["target"], (v["expression"],))[0]
    constructive = approximate.constructive_network(f, v["units"], low, high)
    trained = trained_network(text, low, high, v["units"], v["epochs"], v["seed"], v["optimizer"])
    _, y_constructive, error_constructive = approximate.evaluate_on_grid(constructive, f, low, high)
    _, y_trained, error_trained = approximate.evaluate_on_grid(trained, f, low, high)
    every = slice(None, None, 5)  # 401 of the 2001 points are drawn; the errors are over all 2001
    return {"panels": [
        plot(f"f(x) = {text} and two networks of {v['units']} sigmoid units",
             [series("f", x[every], values[every], "dashed"),
              series("constructive", x[every], y_constructive[every]),
              series(f"trained by {'SGD' if v['optimizer'] == 'sgd' else 'Adam'}", x[every], y_trained[every])],
             ylabel="y"),
        readouts(readout("max_error_constructive", "max |error|, constructive", error_constructive["max_error"]),
                 readout("max_error_trained", "max |error|, trained", error_trained["max_error"]),
                 readout("units", "hidden units", v["units"]))]}


PAGES = [
    Page("neuron", "A sigmoid neuron", SECTION,
         "A linear block followed by a sigmoid: y = \u03c3(w x + b). A large weight makes it a step at s = -b / w.",
         (Slider("w", "weight w", 1, 200, 1, 10, integer=True), Slider("b", "bias b", -100, 100, 1, -5, integer=True)),
         neuron),
    Page("steps", "Two neurons make steps", SECTION,
         "Two steep hidden neurons (w = 1000) with steps at s\u2081 and s\u2082, weighted by w\u2081 and w\u2082 "
         "in the output: equal and opposite weights make a bump.",
         (Slider("s1", "step s\u2081", 0, 1, 0.01, 0.4), Slider("s2", "step s\u2082", 0, 1, 0.01, 0.6),
          Slider("w1", "output weight w\u2081", -3, 3, 0.1, 0.8), Slider("w2", "output weight w\u2082", -3, 3, 0.1, -0.8)),
         steps),
    Page("rects", "Rect functions", SECTION,
         "Each pair of steep neurons makes a rect of height h on [s\u1d62\u2081, s\u1d62\u2082]; rects add up.",
         (Slider("s11", "rect 1 starts s\u2081\u2081", 0, 1, 0.01, 0.2), Slider("s12", "rect 1 ends s\u2081\u2082", 0, 1, 0.01, 0.4),
          Slider("s21", "rect 2 starts s\u2082\u2081", 0, 1, 0.01, 0.6), Slider("s22", "rect 2 ends s\u2082\u2082", 0, 1, 0.01, 0.8),
          Slider("h1", "height h\u2081", -2, 2, 0.05, 0.6), Slider("h2", "height h\u2082", -2, 2, 0.05, -0.4)),
         rects),
    Page("approximation", "Universal approximation", SECTION,
         "N sigmoids make N/2 rects, each weighted by f at its centre: a staircase that gets as close to f as you "
         "like. Beside it, the same network trained by gradient descent. A typed function is used when the "
         "target is 'typed', on [low, high]; it may use x, pi, e, + - * / ** and sin, cos, exp, log, sqrt, abs, "
         "tanh, where, minimum, maximum, ...",
         (Choice("target", "target function", tuple((name, text) for name, (text, _) in approximate.BUILTINS.items())
                 + (("custom", "typed below"),), "sin2pi"),
          Text("expression", "typed function of x", "x**2*sin(5*x)"),
          Slider("low", "low (typed)", -10, 10, 0.5, 0), Slider("high", "high (typed)", -10, 10, 0.5, 1),
          Slider("units", "hidden units N", 2, 200, 2, 20, integer=True),
          Slider("epochs", "training steps", 0, 3000, 50, 1000, integer=True),
          Choice("optimizer", "training", tuple(OPTIMIZERS.items()), "sgd"),
          Slider("seed", "seed", 0, 99, 1, 0, integer=True)),
         approximation),
]
