"""nnci approximate: the universal approximation theorem, made visible.

One hidden layer of sigmoids can approximate any continuous f on [a, b]. The course's
construction: two steep sigmoids sigma(k(x - e_i)) - sigma(k(x - e_{i+1})) make a "rect" of
height ~1 on [e_i, e_{i+1}]; N hidden units give N/2 rects, each weighted by f at its centre,
so the output is a staircase within (max - min of f on a rect) / 2 of f. Next to it, the same
architecture trained by gradient descent.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from ..backend import manual_seed, xp
from ..data import DataLoader, TensorDataset
from .. import nn
from ..optim import SGD, Adam
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..plotting import pyplot, save_figure
from ..train import write_json
from .expression import compile_function
from .common import (add_eval_arguments, add_train_command, fit, load_trained, open_run,
                     output_of_this_rank, picture_dir, report, results_file, write_results)
from .options import (LEARNING_RATE, SEED, BadValue, Settings, UserError, epochs_option, integer, minutes_option,
                      number, option)

NAME = "approximate"
HELP = "universal approximation: a constructive sigmoid network and a trained one for a 1-D function"
BUILTINS = {
    "sin": ("sin(x)", (0.0, 1.0)), "sin2pi": ("sin(2*pi*x)", (0.0, 1.0)), "step": ("where(x < 0.5, 0.0, 1.0)", (0.0, 1.0)),
    "abs": ("abs(x)", (-1.0, 1.0)), "bump": ("exp(-50*(x-0.5)**2)", (0.0, 1.0)),
}
COORDINATE = number(-1e6, 1e6)
MAX_VALUES = 10_000_000  # x values one run may evaluate


def target_function(expression: str):
    """f(x) from a built-in name or an expression in x (nnci.tasks.expression: sin, exp, abs, where, pi, ...)."""
    return compile_function(BUILTINS.get(expression, (expression, None))[0])


def one_hidden_layer(units: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(1, units), nn.Sigmoid(), nn.Linear(units, 1))


def constructive_network(f, units: int, low: float, high: float, steepness: float = 40.0) -> nn.Sequential:
    """units/2 rects, each two sigmoids sigma(k(x - e_i)) - sigma(k(x - e_{i+1})) weighted by f(centre)."""
    if units < 2 or units % 2:
        raise UserError(f"the constructive network needs an even number of units >= 2, got {units}")
    rects = units // 2
    width = (high - low) / rects
    edges = low + width * xp.arange(rects + 1)
    edges[0], edges[-1] = low - width, high + width  # keep the domain's ends away from a transition
    centres = low + width * (xp.arange(rects) + 0.5)
    k = steepness / width
    model = one_hidden_layer(units)
    with no_grad():
        model[0].weight.copy_(xp.full((units, 1), k))
        model[0].bias.copy_(-k * xp.concatenate([edges[:-1], edges[1:]]))
        heights = f(centres)
        model[2].weight.copy_(xp.concatenate([heights, -heights])[None])
        model[2].bias.fill_(0.0)
    return model


@no_grad()
def evaluate_on_grid(model, f, low: float, high: float, points: int = 2001) -> tuple[xp.ndarray, xp.ndarray, dict]:
    x = xp.linspace(low, high, points)
    y = model(as_tensor(x[:, None].astype(xp.float32))).detach().numpy()[:, 0]
    error = xp.abs(y - f(x))
    return x, y, {"max_error": float(error.max()), "mean_abs_error": float(error.mean())}


def function_text(value: Any) -> str:
    """A built-in name or an expression in x that target_function accepts (checked when the option is read)."""
    if not isinstance(value, str) or not value.strip():
        raise BadValue(f"expected a built-in ({', '.join(BUILTINS)}) or an expression in x, got {value!r}")
    try:
        target_function(value)
    except UserError as error:
        raise BadValue(str(error)) from None
    return value


@dataclasses.dataclass
class Config(Settings):
    """Training options of `nnci approximate train` (and of approximate.train in Python)."""
    epochs: int = epochs_option(3000)
    minutes: float = minutes_option(2)
    checkpoint_every: int = option(500, integer(1, 10_000_000), "steps between checkpoints")
    function: str = option("sin2pi", function_text,
                           f"built-in ({', '.join(BUILTINS)}) or an expression in x, e.g. 'x**2*sin(5*x)'")
    low: float | None = option(None, COORDINATE, "left end of the domain (default: the built-in's, else 0)")
    high: float | None = option(None, COORDINATE, "right end of the domain (default: the built-in's, else 1)")
    units: int = option(32, integer(1, 100_000), "sigmoids in the hidden layer")
    lr: float = option(0.02, LEARNING_RATE, "Adam's learning rate")


def domain_of(expression: str, low: float | None = None, high: float | None = None) -> tuple[float, float]:
    """[low, high]: the ones given, else the built-in's domain, else [0, 1]."""
    default_low, default_high = BUILTINS.get(expression, (None, (0.0, 1.0)))[1]
    low = default_low if low is None else low
    high = default_high if high is None else high
    if not high > low:
        raise UserError(f"the domain needs low < high, got [{low:g}, {high:g}]")
    return float(low), float(high)


def initial_fit(f, units: int, low: float, high: float, seed: int) -> tuple[nn.Sequential, Any, Any]:
    """The untrained network, its sigmoids' slopes and centres spread over the domain so that every unit starts
    useful, and the 512 points (x, f(x)) of the fit, as float32 columns."""
    manual_seed(seed)
    model = one_hidden_layer(units)
    with no_grad():
        slopes = xp.random.default_rng(seed).uniform(5, 20, units) / (high - low)
        model[0].weight.copy_(slopes[:, None])
        model[0].bias.copy_(-slopes * xp.random.default_rng(seed + 1).uniform(low, high, units))
    x = xp.linspace(low, high, 512, dtype=xp.float32)[:, None]
    return model, x, f(x).astype(xp.float32)


def train(config: Config | None = None, out: str | Path | None = None, *, resume: bool = False, force: bool = False,
          progress: bool = True, **overrides: Any) -> nn.Sequential:
    """Fit one hidden layer of `units` sigmoids by Adam on the full-batch mean squared error
    mean_i (g(x_i) - f(x_i))^2 over 512 points spread on the domain; files (and approximation.png) go to `out`
    (none when None). Returns the trained model in eval mode."""
    args = open_run(NAME, Config, config, overrides, out, resume, force)
    out = output_of_this_rank(out)
    f = target_function(args.function)
    low, high = domain_of(args.function, args.low, args.high)
    model, x, y = initial_fit(f, args.units, low, high, args.seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=len(x), shuffle=False)
    optimizer = Adam(model.parameters(), lr=args.lr)
    model_config = {"function": args.function, "domain": [low, high], "units": args.units, "input_features": 1}
    fit(args, out, NAME, model_config, model, optimizer, lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(), loader,
        resume=resume, progress=progress, title=f"approximate: {args.units} sigmoid units trained by Adam")
    if out is not None:
        plot_approximations(f, low, high, {f"trained, {args.units} units": model,
                                           f"constructive, {args.units} units": constructive_network(f, args.units, low, high)},
                            Path(out) / "approximation.png", f"f(x) = {BUILTINS.get(args.function, (args.function,))[0]}")
    print(f"max error {evaluate_on_grid(model, f, low, high)[2]['max_error']:.4f} on [{low:g}, {high:g}]")
    return model


def build(config: dict) -> nn.Sequential:
    return one_hidden_layer(config["units"])


def load(weights: str | Path | None = None) -> nn.Sequential:
    """The network of a model.safetensors written by train (no weights are shipped for this task)."""
    return load_trained(weights, NAME, build, "approximation network")


def evaluate(model: nn.Sequential | None = None, *, out: str | Path | None = None) -> dict:
    """max |g(x) - f(x)| and mean |g(x) - f(x)| on 2001 points of the trained domain, for the model and for the
    constructive network of as many units; with `out`, approximation.png (both curves and f) goes there."""
    if model is None:
        model = load(None)
    config = model.task_config
    f = target_function(config["function"])
    low, high = config["domain"]
    constructive = constructive_network(f, config["units"], low, high) if config["units"] % 2 == 0 else None
    result: dict[str, Any] = {"model": evaluate_on_grid(model, f, low, high)[2], "baselines": {},
                              "function": config["function"], "domain": [low, high], "units": config["units"]}
    if constructive is not None:
        result["baselines"]["constructive"] = evaluate_on_grid(constructive, f, low, high)[2]
    if out is not None:
        curves = {f"trained, {config['units']} units": model}
        if constructive is not None:
            curves[f"constructive, {config['units']} units"] = constructive
        path = picture_dir(out) / "approximation.png"
        plot_approximations(f, low, high, curves, path, f"f(x) = {BUILTINS.get(config['function'], (config['function'],))[0]}")
        result["picture"] = str(path)
    return result


@no_grad()
def apply(model: nn.Sequential, x: Any) -> Any:
    """g(x), the network's value at each x (any shape of finite numbers), as a float64 array of x's shape."""
    values = xp.asarray(x, dtype=xp.float64)
    if not xp.isfinite(values).all():
        raise UserError("x holds NaN or infinite values")
    flat = values.reshape(-1, 1).astype(xp.float32)
    y = model(as_tensor(flat)).detach().numpy()[:, 0] if flat.size else xp.zeros(0, xp.float32)
    return y.astype(xp.float64).reshape(values.shape)


def fit_by_gradient_descent(f, units: int, low: float, high: float, steps: int, seed: int, lr: float = 0.02,
                            optimizer: str = "adam") -> nn.Sequential:
    """`steps` full-batch Adam steps (or SGD with momentum 0.9, optimizer="sgd") on mean_i (g(x_i) - f(x_i))^2
    over 512 points spread on [low, high]."""
    model, x, y = initial_fit(f, units, low, high, seed)
    x, y = as_tensor(x), as_tensor(y)
    optimizer = SGD(model.parameters(), lr=lr, momentum=0.9) if optimizer == "sgd" else Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    return model.eval()


def plot_approximations(f, low, high, curves: dict, path: Path, title: str) -> None:
    plt = pyplot()
    fig, axis = plt.subplots(figsize=(7, 4))
    x = xp.linspace(low, high, 2001)
    axis.plot(x, f(x), color="black", linewidth=2.5, label="f(x)")
    for label, model in curves.items():
        _, y, _ = evaluate_on_grid(model, f, low, high)
        axis.plot(x, y, linewidth=1.2, label=label)
    axis.set_xlabel("x")
    axis.legend(fontsize=8)
    axis.set_title(title)
    save_figure(fig, path)


def sweep(f, low: float, high: float, sizes, steps: int, seed: int) -> list[dict]:
    rows = []
    for units in sizes:
        constructive = evaluate_on_grid(constructive_network(f, units, low, high), f, low, high)[2]["max_error"]
        trained = evaluate_on_grid(fit_by_gradient_descent(f, units, low, high, steps, seed), f, low, high)[2]["max_error"]
        rows.append({"units": units, "constructive_max_error": constructive, "trained_max_error": trained})
    return rows


def x_values(inputs: list[str]) -> Any:
    """The x values of run: each input is a number, or a text file of numbers (separated by commas, spaces or
    new lines)."""
    values = []
    for item in inputs:
        try:
            values.append(COORDINATE(item))
            continue
        except BadValue as error:
            if not Path(item).is_file():
                raise UserError(f"{item}: neither a number in [-1e6, 1e6] nor a file of them ({error})") from None
        try:
            words = Path(item).read_text().replace(",", " ").split()
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"{item}: unreadable ({getattr(error, 'strerror', None) or error})") from None
        for line, word in enumerate(words):
            try:
                values.append(COORDINATE(word))
            except BadValue as error:
                raise UserError(f"{item}: value {line + 1} ({word!r}): {error}") from None
        if len(values) > MAX_VALUES:
            raise UserError(f"more than {MAX_VALUES:,} x values; split them over several runs")
    return xp.asarray(values, dtype=xp.float64)


def evaluate_command(args: argparse.Namespace) -> int:
    result = evaluate(load(args.weights), out=picture_dir(args.out))
    report(result, args.json, f"approximate: f(x) = {result['function']} on [{result['domain'][0]:g}, "
                              f"{result['domain'][1]:g}], {result['units']} units")
    return 0


def run_command(args: argparse.Namespace) -> int:
    target = results_file(args.out, args.force)
    x = x_values(args.inputs)
    model = load(args.weights)
    y = apply(model, x)
    f = target_function(model.task_config["function"])(x)
    rows = [{"x": float(a), "y": float(b), "f": float(c)} for a, b, c in zip(x, y, f)]
    write_results(target, rows, ["x", "y", "f"], lambda row: [repr(row["x"]), repr(row["y"]), repr(row["f"])])
    if not args.quiet:
        for row in rows[:20]:
            print(f"g({row['x']:g}) = {row['y']:.6g}   f = {row['f']:.6g}")
        if len(rows) > 20:
            print(f"... {len(rows) - 20} more")
    print(f"{len(rows)} value{'s' if len(rows) != 1 else ''} written to {target}")
    return 0


def sweep_command(args: argparse.Namespace) -> int:
    f = target_function(args.function)
    low, high = domain_of(args.function, args.low, args.high)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out {out}: cannot create the folder ({error.strerror or error})") from None
    sizes = [2 ** k for k in range(1, 9)]
    rows = sweep(f, low, high, sizes, args.steps, args.seed)
    print(f"f(x) = {BUILTINS.get(args.function, (args.function,))[0]} on [{low:g}, {high:g}]: max |error|")
    print(f"{'units':>6s} {'constructive':>13s} {'trained':>10s}")
    for row in rows:
        print(f"{row['units']:6d} {row['constructive_max_error']:13.4f} {row['trained_max_error']:10.4f}")
    plt = pyplot()
    fig, axis = plt.subplots(figsize=(6, 4))
    axis.loglog(sizes, [r["constructive_max_error"] for r in rows], "o-", label="constructive (rects of sigmoids)")
    axis.loglog(sizes, [r["trained_max_error"] for r in rows], "s-", label=f"trained by Adam ({args.steps} steps)")
    axis.set_xlabel("hidden units")
    axis.set_ylabel("max |f - network|")
    axis.legend(fontsize=8)
    axis.set_title("error against width")
    save_figure(fig, out / "error_curve.png")
    plot_approximations(f, low, high, {f"constructive, {n} units": constructive_network(f, n, low, high)
                                       for n in (4, 16, 64)}, out / "approximations.png",
                        "the constructive network at three widths")
    write_json(out / "sweep.json", rows)
    print(f"pictures: {out / 'error_curve.png'}, {out / 'approximations.png'}")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    add_train_command(actions, sys.modules[__name__], "train one network of --units sigmoids by gradient descent")

    parser = actions.add_parser("eval", help="error of the trained network against the constructive one")
    add_eval_arguments(parser)
    for action in parser._actions:
        if action.dest == "out":
            action.help = "directory for approximation.png (default: the working directory)"
    parser.set_defaults(run=evaluate_command)

    help = "the trained network's value g(x) at your x values"
    parser = actions.add_parser("run", help=help, description=help)
    parser.add_argument("inputs", nargs="+", metavar="X",
                        help="numbers, or text files of numbers (separated by commas, spaces or new lines)")
    parser.add_argument("-o", "--out", required=True, type=Path, metavar="OUT",
                        help="the results file: .json (a list of {x, y, f}) or .csv (columns x, y, f); y is the "
                             "network's value, f the function it was trained on")
    parser.add_argument("--weights", required=True, type=Path,
                        help="a model.safetensors written by 'nnci approximate train' (none is shipped)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing results file")
    parser.add_argument("--quiet", action="store_true", help="do not print the first values")
    parser.set_defaults(run=run_command)

    help = "sweep 2..256 units: constructive and trained errors, with plots"
    parser = actions.add_parser("sweep", help=help, description=help)
    parser.add_argument("--function", default="sin2pi", type=function_text,
                        help=f"built-in ({', '.join(BUILTINS)}) or an expression in x, e.g. 'x**2*sin(5*x)'")
    parser.add_argument("--low", type=COORDINATE, help="left end of the domain (default: the built-in's, else 0)")
    parser.add_argument("--high", type=COORDINATE, help="right end of the domain (default: the built-in's, else 1)")
    parser.add_argument("--out", default="approximate-sweep", type=Path,
                        help="directory for sweep.json and the plots (default approximate-sweep)")
    parser.add_argument("--steps", type=integer(1, 10_000_000), default=1500, help="Adam steps per trained network")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.set_defaults(run=sweep_command)
