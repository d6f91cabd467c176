"""nnci classify: a VGG-style classifier with cross-entropy on the bundled handwritten digits.

The network f maps an 8x8 digit x to 10 logits; training minimises the cross-entropy
-log softmax(f(x))_y over the labelled digits, and the predicted digit is argmax_k f(x)_k.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from ..backend import Generator, manual_seed, xp
from ..data import DataLoader, TensorDataset, load_digits, split_indices
from ..metrics import accuracy, confusion_matrix
from ..models import VGG
from ..nn import functional as F
from ..optim import Adam
from ..optim.lr_scheduler import CosineAnnealingLR
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..plotting import pyplot, save_figure
from .common import (add_eval_arguments, add_run_command, add_train_command, fit, load_trained, open_run,
                     output_of_this_rank, picture_dir, report, results_file, share_of_work, write_results)
from .options import LEARNING_RATE, Settings, UserError, epochs_option, integer, minutes_option, option

NAME = "classify"
HELP = "VGG-style classifier on the bundled 8x8 digits (cross-entropy)"
SIZE = 8  # the bundled digits are 8x8, one channel
DEFAULT_CONFIG = {"config": [32, 32, "M", 64, 64, "M", 128], "in_channels": 1, "num_classes": 10, "hidden": 128,
                  "dropout": 0.2, "input_channels": 1, "input_size": SIZE}


@dataclasses.dataclass
class Config(Settings):
    """Training options of `nnci classify train` (and of classify.train in Python)."""
    epochs: int = epochs_option(30)
    minutes: float = minutes_option(3)
    checkpoint_every: int = option(50, integer(1, 10_000_000), "steps between checkpoints")
    lr: float = option(3e-3, LEARNING_RATE, "Adam's learning rate")
    batch: int = option(64, integer(1, 4096), "digits per step")


def build(config: dict) -> VGG:
    return VGG(config["config"], in_channels=config["in_channels"], num_classes=config["num_classes"],
               hidden=config["hidden"], dropout=config["dropout"])


def digits_split() -> dict:
    """The fixed split of the digits: train (of which the last 10% validate) and test."""
    images, labels = load_digits()
    train, test = split_indices(len(labels), 0.2, seed=0)
    cut = int(len(train) * 0.9)
    return {"train": (images[train[:cut]], labels[train[:cut]]), "val": (images[train[cut:]], labels[train[cut:]]),
            "test": (images[test], labels[test])}


@no_grad()
def predict(model: Any, images: Any, batch: int = 512) -> Any:
    """Class probabilities softmax(f(x)) for images (N, 1, 8, 8)."""
    return xp.concatenate([F.softmax(model(as_tensor(images[i:i + batch])), 1).detach().numpy()
                           for i in range(0, len(images), batch)])


# ----- train ---------------------------------------------------------------------------------------
def train(config: Config | None = None, out: str | Path | None = None, *, resume: bool = False, force: bool = False,
          progress: bool = True, **overrides: Any) -> VGG:
    """Train the VGG by min E[-log softmax(f(x))_y] over the training digits (Adam, cosine schedule); files go
    to `out` (none when None). Returns the trained model in eval mode."""
    args = open_run(NAME, Config, config, overrides, out, resume, force)
    out = output_of_this_rank(out)
    manual_seed(args.seed)
    data = digits_split()
    model = build(DEFAULT_CONFIG)
    optimizer = Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs)
    loader = DataLoader(TensorDataset(*data["train"]), batch_size=args.batch, shuffle=True,
                        generator=Generator().manual_seed(args.seed))
    val_images, val_labels = data["val"]

    def loss_fn(model, batch):
        images, labels = batch
        return F.cross_entropy(model(images), labels)

    def evaluate(model):
        return {"accuracy": accuracy(predict(model, val_images).argmax(1), val_labels)}

    fit(args, out, NAME, dict(DEFAULT_CONFIG), model, optimizer, loss_fn, loader, resume=resume, progress=progress,
        evaluate=evaluate, scheduler=scheduler, title="classify: VGG on digits")
    print(f"test accuracy {accuracy(predict(model, data['test'][0]).argmax(1), data['test'][1]):.2%}")
    return model


# ----- eval ----------------------------------------------------------------------------------------
def nearest_mean(train_images: Any, train_labels: Any, images: Any) -> Any:
    """Baseline: the class whose mean training image is nearest in pixels."""
    means = xp.stack([train_images[train_labels == c].reshape(-1, SIZE * SIZE).mean(0) for c in range(10)])
    distances = ((images.reshape(len(images), 1, -1) - means[None]) ** 2).sum(-1)
    return distances.argmin(1)


def load(weights: str | Path | None = None) -> VGG:
    """The classifier of a model.safetensors written by train (no weights are shipped for this task)."""
    return load_trained(weights, NAME, build, "digit classifier")


def evaluate(model: VGG | None = None, *, out: str | Path | None = None) -> dict:
    """Accuracy on the test split of the digits against the nearest-class-mean baseline:
    {"model": {"accuracy"}, "baselines": {...}, "test_digits": N}; the confusion matrix picture goes into `out`
    (confusion.png) when given."""
    if model is None:
        model = load(None)
    data = digits_split()
    images, labels = data["test"]
    predicted = predict(model, images).argmax(1)
    baseline = nearest_mean(*data["train"], images)
    result: dict[str, Any] = {"model": {"accuracy": accuracy(predicted, labels)},
                              "baselines": {"nearest class mean": {"accuracy": accuracy(baseline, labels)}},
                              "test_digits": int(len(labels))}
    if out is not None:
        result["picture"] = str(write_confusion(picture_dir(out) / "confusion.png", predicted, labels))
    return result


def write_confusion(path: Path, predicted: Any, labels: Any) -> Path:
    matrix = confusion_matrix(predicted, labels, 10)
    plt = pyplot()
    fig, axis = plt.subplots(figsize=(5, 4.5))
    shown = axis.imshow(matrix, cmap="Blues")
    for (t, p), count in xp.ndenumerate(matrix):
        if count:
            axis.text(p, t, str(count), ha="center", va="center", fontsize=7,
                      color="white" if count > matrix.max() / 2 else "black")
    axis.set_xlabel("predicted digit")
    axis.set_ylabel("true digit")
    axis.set_xticks(range(10))
    axis.set_yticks(range(10))
    axis.set_title(f"test accuracy {accuracy(predicted, labels):.2%} ({len(labels)} digits)")
    fig.colorbar(shown)
    save_figure(fig, path)
    return path


# ----- applying a model ----------------------------------------------------------------------------
def to_digit(image: Any) -> Any:
    """A picture of one digit, (H, W) or (H, W, 3) in [0, 1], as the 8x8 intensities the model sees: gray,
    scaled to a maximum of 1, inverted when it is dark on light paper (the digits are light on dark), resized."""
    from skimage.transform import resize
    image = xp.asarray(image, dtype=xp.float64)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3) or min(image.shape[:2]) < 1:
        raise UserError(f"expected a gray (H, W) or RGB (H, W, 3) image, got an array of shape {image.shape}")
    if not xp.isfinite(image).all():
        raise UserError("the image holds NaN or infinite values")
    if image.ndim == 3:
        image = image.mean(-1)
    image = image / (image.max() or 1)
    if image.mean() > 0.5:
        image = 1 - image
    if image.shape != (SIZE, SIZE):
        image = resize(image, (SIZE, SIZE), anti_aliasing=True)
    return image.astype(xp.float32)


def apply(model: VGG, images: Any, *, probabilities: bool = False) -> Any:
    """argmax_k f(x)_k, the digit (an int) in each image (H, W) or (H, W, 3) in [0, 1] (one array or a list
    of them; any size, resized to 8x8 by to_digit); with probabilities=True the 10 class probabilities
    softmax(f(x)) instead."""
    single = not isinstance(images, (list, tuple))
    digits = [to_digit(image)[None] for image in ([images] if single else images)]
    probs = predict(model, xp.stack(digits)) if digits else xp.zeros((0, 10), xp.float32)
    results = list(probs) if probabilities else [int(p.argmax()) for p in probs]
    return results[0] if single else results


# ----- the command line ------------------------------------------------------------------------------
def evaluate_command(args: argparse.Namespace) -> int:
    result = evaluate(load(args.weights), out=picture_dir(args.out))
    report(result, args.json, "classify: test split of the digits")
    return 0


def run_command(args: argparse.Namespace) -> int:
    from ..io import read_image
    from .common import input_images
    sources = input_images(args.inputs)
    target = results_file(args.out, args.force)
    model = load(args.weights)
    rows = []
    for source in share_of_work(sources, args.quiet, "classifying"):
        image, info = read_image(source)
        if info["alpha"] is not None:
            raise UserError(f"{source}: has an alpha channel, which classify cannot keep; save the digit as gray or "
                            "RGB without transparency")
        probs = apply(model, image, probabilities=True)
        label = int(probs.argmax())
        rows.append({"input": str(source), "label": label, "probability": round(float(probs[label]), 6),
                     "probabilities": [round(float(p), 6) for p in probs]})
        print(f"{source}: {label} (p = {probs[label]:.3f})")
    from .. import distributed
    order = {str(source): index for index, source in enumerate(sources)}
    rows = sorted((row for part in distributed.all_gather_object(rows) for row in part), key=lambda r: order[r["input"]])
    if distributed.is_main():
        write_results(target, rows, ["input", "label", "probability"] + [f"p{k}" for k in range(10)],
                      lambda row: [row["input"], row["label"], f"{row['probability']:.6f}"]
                      + [f"{p:.6f}" for p in row["probabilities"]])
    print(f"{len(rows)} result{'s' if len(rows) > 1 else ''} written to {target}")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    add_train_command(actions, sys.modules[__name__], "train the VGG-style classifier on the bundled digits")

    parser = actions.add_parser("eval", help="test accuracy, baseline and confusion matrix")
    add_eval_arguments(parser)
    for action in parser._actions:
        if action.dest == "out":
            action.help = "directory for the confusion matrix picture (default: the working directory)"
    parser.set_defaults(run=evaluate_command)

    parser = add_run_command(actions, "classify your own images of digits (one digit per image, any size)",
                             "the results file")
    for action in parser._actions:
        if action.dest == "out":
            action.help = ("the results file, one row per input: .json (a list of {input, label, probability, "
                           "probabilities}) or .csv (columns input, label, probability, p0..p9)")
        elif action.dest == "weights":
            action.required = True
            action.help = "a model.safetensors written by 'nnci classify train' (no classifier is shipped)"
    parser.set_defaults(run=run_command)
