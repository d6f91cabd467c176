"""nnci approximate: the universal approximation theorem, made visible.

One hidden layer of sigmoids can approximate any continuous f on [a, b]. The course's
construction: two steep sigmoids sigma(k(x - e_i)) - sigma(k(x - e_{i+1})) make a "rect" of
height ~1 on [e_i, e_{i+1}]; N hidden units give N/2 rects, each weighted by f at its centre,
so the output is a staircase within (max - min of f on a rect) / 2 of f. Next to it, the same
architecture trained by gradient descent.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..backend import manual_seed, xp
from ..data import DataLoader, TensorDataset
from .. import nn
from ..optim import Adam
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..tensor import Tensor
from ..train import Trainer
from .common import (SEED, add_eval_arguments, add_train_arguments, integer, load_model, number, prepare_out_dir,
                     pyplot, report, save_figure, save_model, UserError)

NAME = "approximate"
HELP = "universal approximation: a constructive sigmoid network and a trained one for a 1-D function"
BUILTINS = {
    "sin": ("sin(x)", (0.0, 1.0)), "sin2pi": ("sin(2*pi*x)", (0.0, 1.0)), "step": ("where(x < 0.5, 0.0, 1.0)", (0.0, 1.0)),
    "abs": ("abs(x)", (-1.0, 1.0)), "bump": ("exp(-50*(x-0.5)**2)", (0.0, 1.0)),
}
_SAFE = {name: getattr(xp, name) for name in ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "where",
                                             "minimum", "maximum", "sign", "floor", "pi", "e", "arctan", "clip")}


def target_function(expression: str):
    """f(x) from a built-in name or a NumPy expression in x (sin, exp, abs, where, pi, ... are available)."""
    text = BUILTINS.get(expression, (expression, None))[0]
    try:
        code = compile(text, "<function>", "eval")
    except SyntaxError as error:
        raise UserError(f"cannot parse function {expression!r}: {error.msg}") from None
    unknown = set(code.co_names) - set(_SAFE) - {"x"}
    if unknown:
        raise UserError(f"function {expression!r} uses unknown names {sorted(unknown)}; available: x, "
                        f"{', '.join(sorted(_SAFE))}")

    def f(x):
        return xp.broadcast_to(xp.asarray(eval(code, {"__builtins__": {}}, {**_SAFE, "x": x}), xp.float64), x.shape)
    return f


def domain_of(expression: str, domain) -> tuple[float, float]:
    low, high = domain if domain else BUILTINS.get(expression, (None, (0.0, 1.0)))[1]
    if not high > low:
        raise UserError(f"the domain needs low < high, got [{low}, {high}]")
    return float(low), float(high)


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


def fit_by_gradient_descent(f, units: int, low: float, high: float, steps: int, seed: int, out=None, minutes=None,
                            progress=False) -> nn.Sequential:
    """Adam on mean squared error over 512 points spread on the domain (full batch)."""
    manual_seed(seed)
    model = one_hidden_layer(units)
    with no_grad():  # spread the sigmoids over the domain so that every unit starts useful
        slopes = xp.random.default_rng(seed).uniform(5, 20, units) / (high - low)
        model[0].weight.copy_(slopes[:, None])
        model[0].bias.copy_(-slopes * xp.random.default_rng(seed + 1).uniform(low, high, units))
    x = xp.linspace(low, high, 512, dtype=xp.float32)[:, None]
    loader = DataLoader(TensorDataset(x, f(x).astype(xp.float32)), batch_size=512, shuffle=False)
    optimizer = Adam(model.parameters(), lr=0.02)
    scheduler = None
    trainer = Trainer(model, optimizer, lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(), loader, out_dir=out,
                      epochs=steps, minutes=minutes, scheduler=scheduler, progress=progress, log=lambda s: None,
                      title=f"approximate: {units} sigmoid units trained by Adam")
    trainer.fit()
    return model


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


def train(args: argparse.Namespace) -> int:
    out = prepare_out_dir(args)
    f = target_function(args.function)
    low, high = domain_of(args.function, args.domain)
    model = fit_by_gradient_descent(f, args.units, low, high, args.epochs, args.seed, out=out, minutes=args.minutes,
                                    progress=not args.quiet)
    config = {"function": args.function, "domain": [low, high], "units": args.units}
    save_model(model, NAME, config, out)
    plot_approximations(f, low, high, {f"trained, {args.units} units": model,
                                       f"constructive, {args.units} units": constructive_network(f, args.units, low, high)},
                        out / "approximation.png", f"f(x) = {BUILTINS.get(args.function, (args.function,))[0]}")
    print(f"max error {evaluate_on_grid(model, f, low, high)[2]['max_error']:.4f}; model written to {out / 'model.safetensors'}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    model, config = load_model(args.weights, NAME, lambda c: one_hidden_layer(c["units"]))
    f = target_function(config["function"])
    low, high = config["domain"]
    constructive = constructive_network(f, config["units"], low, high)
    result = {"model": evaluate_on_grid(model, f, low, high)[2],
              "baselines": {"constructive": evaluate_on_grid(constructive, f, low, high)[2]}}
    report(result, args.json, f"approximate: f(x) = {config['function']} on [{low}, {high}], {config['units']} units")
    return 0


def run(args: argparse.Namespace) -> int:
    f = target_function(args.function)
    low, high = domain_of(args.function, args.domain)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
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
    from ..train import write_json
    write_json(out / "sweep.json", rows)
    print(f"pictures: {out / 'error_curve.png'}, {out / 'approximations.png'}")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    def common(parser):
        parser.add_argument("--function", default="sin2pi",
                            help=f"built-in ({', '.join(BUILTINS)}) or an expression in x, e.g. 'x**2*sin(5*x)'")
        parser.add_argument("--domain", nargs=2, type=number(-1e6, 1e6), metavar=("LOW", "HIGH"))
    parser = actions.add_parser("train", help="train one network of --units sigmoids by gradient descent")
    add_train_arguments(parser, epochs=3000, minutes=2)
    common(parser)
    parser.add_argument("--units", type=integer(1, 100_000), default=32)
    parser.set_defaults(run=train)
    parser = actions.add_parser("eval", help="error of the trained network against the constructive one")
    add_eval_arguments(parser)
    parser.set_defaults(run=evaluate)
    parser = actions.add_parser("run", help="sweep 2..256 units: constructive and trained errors, with plots")
    common(parser)
    parser.add_argument("--out", default="approximate-run", type=Path)
    parser.add_argument("--steps", type=integer(1, 10_000_000), default=1500, help="Adam steps per trained network")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.set_defaults(run=run)
