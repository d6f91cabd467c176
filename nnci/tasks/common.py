"""The contract every task follows on the command line.

train --out DIR writes DIR/model.safetensors (weights + the config that rebuilds the model, in its
metadata), DIR/config.json, DIR/history.json and DIR/loss.png; eval --weights W [--json] prints a
table or {"model": {...}, "baselines": {name: {...}}}; run applies a model to the user's input.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Callable

from ..serialization import WeightsFileError, load_safetensors, safetensors_metadata, save_safetensors
from ..nn.module import Module
from ..train import Trainer, write_json

WEIGHTS = "model.safetensors"


class UserError(Exception):
    """A mistake in the user's input: reported as one line, without a traceback."""


def integer(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high], else a one-line error (argparse names the option)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}], got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}], got {value}")
        return value
    parse.__name__ = "integer"
    return parse


def number(low: float, high: float, above: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in [low, high] (or (low, high] when `above`), never NaN."""
    interval = f"{'(' if above else '['}{low:g}, {high:g}]"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {text!r}") from None
        if not (low < value <= high if above else low <= value <= high):  # NaN fails both
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {text}")
        return value
    parse.__name__ = "number"
    return parse


def numbers(low: float, high: float, above: bool = False) -> Callable[[str], list]:
    """An argparse type: comma-separated numbers, each as `number(low, high, above)` checks it."""
    one = number(low, high, above)

    def parse(text: str) -> list:
        parts = text.split(",")
        if not all(part.strip() for part in parts):
            raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 15,25,50, got {text!r}")
        return [one(part) for part in parts]
    parse.__name__ = "numbers"
    return parse


SEED = integer(0, 2 ** 32 - 1)
LEARNING_RATE = number(0, 10)
EPOCHS = integer(1, 100_000)
MINUTES = number(0, 7 * 24 * 60, above=True)  # up to a week


def add_train_arguments(parser: argparse.ArgumentParser, epochs: int, minutes: float) -> None:
    parser.add_argument("--out", required=True, type=Path, help="directory for model, config, history and plots")
    parser.add_argument("--epochs", type=EPOCHS, default=epochs, help=f"passes over the data (default {epochs})")
    parser.add_argument("--minutes", type=MINUTES, default=minutes,
                        help=f"wall-time budget in minutes, up to a week (default {minutes:g})")
    parser.add_argument("--seed", type=SEED, default=0, help="seed for initialisation, shuffling and sampling")
    parser.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.safetensors")
    parser.add_argument("--force", action="store_true", help="overwrite a model already in DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def add_run_arguments(parser: argparse.ArgumentParser, out: str | None = None) -> None:
    """images (one or more files), --weights, and --out DIR (default `out`) when the task writes files."""
    parser.add_argument("images", nargs="+", help="image files (PNG, JPEG, TIFF, ...)")
    parser.add_argument("--weights", required=True, type=Path, help="a model.safetensors written by train")
    if out is not None:
        parser.add_argument("--out", default=out, type=Path, help=f"directory for the results (default {out})")


def add_eval_arguments(parser: argparse.ArgumentParser, shipped: str | None = None) -> None:
    """--weights (optional when the package ships a default, described by `shipped`), --json, --out."""
    if shipped:
        parser.add_argument("--weights", type=Path, help=f"a model.safetensors written by train (default: {shipped})")
    else:
        parser.add_argument("--weights", required=True, type=Path, help="a model.safetensors written by train")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--out", type=Path, help="directory for the pictures (default: next to the weights)")


def shipped_weights(filename: str) -> Path:
    """A pretrained model inside the package (nnci/weights/)."""
    from importlib import resources
    return Path(str(resources.files("nnci").joinpath("weights", filename)))


def weights_or_shipped(weights: Path | None, filename: str) -> Path:
    """The user's weights, or the shipped ones when none were given."""
    if weights is not None:
        return Path(weights)
    path = shipped_weights(filename)
    if not path.exists():
        raise UserError(f"the shipped weights {filename} are missing from this installation; pass --weights")
    return path


def prepare_out_dir(args: argparse.Namespace) -> Path:
    """Create the output directory and prove it writable before any training starts."""
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".nnci-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise UserError(f"cannot write to output directory {out}: {error.strerror or error}") from None
    if (out / WEIGHTS).exists() and not (args.force or args.resume):
        raise UserError(f"{out / WEIGHTS} already exists; use --force to overwrite it or --resume to continue")
    return out


def save_model(model: Module, task: str, config: dict, out: Path) -> None:
    """Weights with the task and config in the metadata, plus config.json beside them."""
    save_safetensors(model.state_dict(), out / WEIGHTS, metadata={"nnci_task": task, "nnci_config": json.dumps(config)})
    write_json(out / "config.json", {"task": task, **config})


def train_and_save(args: argparse.Namespace, out: Path, task: str, config: dict, model: Module, optimizer: Any,
                   loss_fn: Callable, loader: Any, *, title: str, evaluate: Callable | None = None,
                   scheduler: Any = None, checkpoint_every: int = 100, warmup_steps: int = 0) -> Trainer:
    """Run the shared Trainer with the command line's budget (--epochs, --minutes, --resume, --quiet),
    then write the model and its config."""
    trainer = Trainer(model, optimizer, loss_fn, loader, evaluate=evaluate, scheduler=scheduler, out_dir=out,
                      epochs=args.epochs, minutes=args.minutes, checkpoint_every=checkpoint_every,
                      warmup_steps=warmup_steps,
                      progress=not args.quiet, title=title)
    trainer.fit(resume=args.resume)
    save_model(model, task, config, out)
    print(f"model written to {out / WEIGHTS}")
    return trainer


def _read_weights(path: Path, read: Callable[[Path], Any]) -> Any:
    """read(path), with a missing, unreadable or foreign file reported as one line naming it."""
    try:
        return read(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such weights file") from None
    except (WeightsFileError, OSError) as error:
        raise UserError(str(error)) from None


def weights_task(path: Path) -> str | None:
    """The task a weights file was trained by, from its metadata (None when it names none)."""
    return _read_weights(Path(path), safetensors_metadata).get("nnci_task")


def load_model(path: Path, task: str, build: Callable[[dict], Module]) -> tuple[Module, dict]:
    """Rebuild the model a weights file was trained as, and load it; errors name the file and what is wrong."""
    path = Path(path)
    metadata = _read_weights(path, safetensors_metadata)
    tensors = _read_weights(path, load_safetensors)
    found = metadata.get("nnci_task")
    if found is None:
        raise UserError(f"{path}: not written by 'nnci {task} train' (no task in its metadata)")
    if found != task:
        raise UserError(f"{path}: weights of task '{found}', not '{task}'")
    config = json.loads(metadata["nnci_config"])
    model = build(config)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as error:
        raise UserError(f"{path}: {error}") from None
    model.eval()
    return model, config


def report(result: dict, as_json: bool, title: str) -> None:
    """Print {"model": {...}, "baselines": {...}} as JSON or as a readable table."""
    if as_json:
        print(json.dumps(result))
        return
    rows = [("nnci model", result["model"])] + list(result.get("baselines", {}).items())
    metrics = sorted({k for _, values in rows for k in values})
    width = max(len(name) for name, _ in rows) + 2
    cell = {m: max(12, len(m) + 2) for m in metrics}
    print(title)
    print(" " * width + "".join(f"{m:>{cell[m]}s}" for m in metrics))
    for name, values in rows:
        cells = "".join(f"{values[m]:{cell[m]}.4f}" if isinstance(values.get(m), (int, float)) else f"{'-':>{cell[m]}s}"
                        for m in metrics)
        print(f"{name:<{width}s}{cells}")
    for key, value in result.items():
        if key not in ("model", "baselines"):
            print(f"{key}: {value}")


def picture_dir(args: argparse.Namespace) -> Path:
    out = Path(args.out) if getattr(args, "out", None) else Path(args.weights).parent
    out.mkdir(parents=True, exist_ok=True)
    return out


def save_figure(fig: Any, path: Path) -> None:
    """Write a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    from ..io import atomic_write
    atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=110))
    plt.close(fig)


def pyplot() -> Any:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt
