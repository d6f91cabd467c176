"""nnci classify: a VGG-style classifier with cross-entropy on the bundled handwritten digits."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..backend import Generator, manual_seed, xp
from ..data import DataLoader, TensorDataset, load_digits, split_indices
from ..metrics import accuracy, confusion_matrix
from ..models import VGG
from ..nn import functional as F
from ..optim import Adam
from ..optim.lr_scheduler import CosineAnnealingLR
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..tensor import Tensor
from .common import (LEARNING_RATE, add_eval_arguments, add_run_arguments, add_train_arguments, load_model, picture_dir,
                     prepare_out_dir, pyplot, report, save_figure, train_and_save, UserError)

NAME = "classify"
HELP = "VGG-style classifier on the bundled 8x8 digits (cross-entropy)"
DEFAULT_CONFIG = {"config": [32, 32, "M", 64, 64, "M", 128], "in_channels": 1, "num_classes": 10, "hidden": 128,
                  "dropout": 0.2}


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
def predict(model, images: xp.ndarray, batch: int = 512) -> xp.ndarray:
    """Class probabilities for images (N, 1, 8, 8)."""
    return xp.concatenate([F.softmax(model(as_tensor(images[i:i + batch])), 1).detach().numpy()
                           for i in range(0, len(images), batch)])


def train(args: argparse.Namespace) -> int:
    out = prepare_out_dir(args)
    manual_seed(args.seed)
    data = digits_split()
    model = build(DEFAULT_CONFIG)
    optimizer = Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs)
    loader = DataLoader(TensorDataset(*data["train"]), batch_size=64, shuffle=True, generator=Generator().manual_seed(args.seed))
    val_images, val_labels = data["val"]

    def loss_fn(model, batch):
        images, labels = batch
        return F.cross_entropy(model(images), labels)

    def evaluate(model):
        return {"accuracy": accuracy(predict(model, val_images).argmax(1), val_labels)}

    train_and_save(args, out, NAME, DEFAULT_CONFIG, model, optimizer, loss_fn, loader, evaluate=evaluate,
                   scheduler=scheduler, title="classify: VGG on digits", checkpoint_every=50)
    model.eval()
    test_accuracy = accuracy(predict(model, data["test"][0]).argmax(1), data["test"][1])
    print(f"test accuracy {test_accuracy:.2%}")
    return 0


def nearest_mean(train_images: xp.ndarray, train_labels: xp.ndarray, images: xp.ndarray) -> xp.ndarray:
    """Baseline: the class whose mean training image is nearest in pixels."""
    means = xp.stack([train_images[train_labels == c].reshape(-1, 64).mean(0) for c in range(10)])
    distances = ((images.reshape(len(images), 1, -1) - means[None]) ** 2).sum(-1)
    return distances.argmin(1)


def evaluate(args: argparse.Namespace) -> int:
    model, _ = load_model(args.weights, NAME, build)
    data = digits_split()
    images, labels = data["test"]
    predicted = predict(model, images).argmax(1)
    baseline = nearest_mean(*data["train"], images)
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
    path = picture_dir(args) / "confusion.png"
    save_figure(fig, path)
    result = {"model": {"accuracy": accuracy(predicted, labels)},
              "baselines": {"nearest class mean": {"accuracy": accuracy(baseline, labels)}},
              "confusion_matrix_png": str(path)}
    report(result, args.json, "classify: test split of the digits")
    return 0


def load_user_image(path: Path) -> xp.ndarray:
    """A user's picture of a digit as the 8x8 intensities the model sees (dark digit on light paper inverted)."""
    import skimage.io
    import skimage.transform
    try:
        image = skimage.io.imread(path)
    except (OSError, ValueError, SyntaxError) as error:
        raise UserError(f"{path}: cannot read as an image ({error})") from None
    image = image.astype(xp.float64)
    image = image / (image.max() or 1)
    if image.ndim == 3:
        image = image[..., :3].mean(-1)
    if image.mean() > 0.5:  # the digits are light on dark
        image = 1 - image
    return skimage.transform.resize(image, (8, 8), anti_aliasing=True).astype(xp.float32)


def run(args: argparse.Namespace) -> int:
    model, _ = load_model(args.weights, NAME, build)
    images = xp.stack([load_user_image(Path(p))[None] for p in args.images])
    for path, probs in zip(args.images, predict(model, images)):
        best = int(probs.argmax())
        print(f"{path}: {best} (p = {probs[best]:.3f})")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser("train", help="train on the digits")
    add_train_arguments(parser, epochs=30, minutes=3)
    parser.add_argument("--lr", type=LEARNING_RATE, default=3e-3)
    parser.set_defaults(run=train)
    parser = actions.add_parser("eval", help="test accuracy, baseline and confusion matrix")
    add_eval_arguments(parser)
    parser.set_defaults(run=evaluate)
    parser = actions.add_parser("run", help="classify your own images of digits")
    add_run_arguments(parser)
    parser.set_defaults(run=run)
