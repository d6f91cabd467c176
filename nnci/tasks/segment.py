"""nnci segment: a U-Net that marks defects (or shapes) pixel by pixel, trained on labelled masks.

Loss: binary cross-entropy on the logits plus a soft Dice term (1 - 2|P.T| / (|P| + |T|)), which keeps
the rare defect pixels from being drowned by the background.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from ..backend import Generator, manual_seed, xp
from ..data import CATEGORIES, DataLoader, TensorDataset, inspection_dataset, synthetic_shapes
from ..metrics import dice, iou, roc_auc
from ..models import UNet
from ..nn import functional as F
from ..optim import Adam
from ..optim.lr_scheduler import CosineAnnealingLR
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..tensor import Tensor
from ..plotting import pyplot, save_figure
from .common import (add_eval_arguments, add_run_command, add_train_command, check_memory, fit, input_images,
                     load_trained, open_run, output_of_this_rank, output_paths, picture_dir, report,
                     share_of_work)
from .options import (LEARNING_RATE, Settings, UserError, choice, epochs_option, integer, minutes_option, option)

NAME = "segment"
HELP = "U-Net segmentation of defects (or synthetic shapes): Dice, IoU, overlays"
DEPTH = 3


@dataclasses.dataclass
class Config(Settings):
    """Training options of `nnci segment train` (and of segment.train in Python)."""
    epochs: int = epochs_option(10)
    minutes: float = minutes_option(10)
    data: str = option("defects", choice("defects", "shapes"), "labelled defects on generated surfaces, or shapes")
    category: str = option("weave", choice(*CATEGORIES), "generated surface (with --data defects)")
    size: int = option(64, integer(16, 1024), "side of the training images")
    width: int = option(16, integer(1, 1024), "U-Net base width")
    count: int = option(512, integer(1, 1_000_000), "labelled training images")
    lr: float = option(3e-3, LEARNING_RATE, "Adam's learning rate")


def build(config: dict) -> UNet:
    return UNet(1, 1, depth=config["depth"], base_width=config["base_width"])


def splits(config: dict, train_count: int) -> dict:
    size, seed = config["size"], config["seed"]
    if config["data"] == "shapes":
        return {"train": synthetic_shapes(train_count, size, seed), "val": synthetic_shapes(64, size, seed + 1),
                "test": synthetic_shapes(128, size, seed + 2)}
    category = config["category"]
    pick = (lambda split, count, fraction: inspection_dataset(split, count, size, category, seed, fraction)[:2])
    return {"train": pick("labelled", train_count, 0.8), "val": pick("val", 64, 0.5), "test": pick("test", 128, 0.5)}


@no_grad()
def probabilities(model: UNet, images: xp.ndarray, batch: int = 32) -> xp.ndarray:
    return xp.concatenate([model(as_tensor(images[i:i + batch])).sigmoid().detach().numpy() for i in range(0, len(images), batch)])


def segmentation_loss(logits: Tensor, target: Tensor) -> Tensor:
    """BCE(logits, target) + 1 - soft Dice(sigmoid(logits), target)"""
    probs = logits.sigmoid()
    soft_dice = (2 * (probs * target).sum() + 1) / (probs.sum() + target.sum() + 1)
    return F.binary_cross_entropy_with_logits(logits, target) + (1 - soft_dice)


def scores(predicted: xp.ndarray, masks: xp.ndarray, probs: xp.ndarray | None = None) -> dict:
    result = {"dice": dice(predicted, masks), "iou": iou(predicted, masks)}
    has = masks.reshape(len(masks), -1).any(1)
    if has.any():
        result["dice_per_image"] = float(xp.mean([dice(p, m) for p, m in zip(predicted[has], masks[has])]))
    if probs is not None and 0 < masks.mean() < 1:
        result["pixel_auroc"] = roc_auc(probs, masks > 0)
    return result


def deviation_baseline(val: tuple, test: tuple) -> dict:
    """Baseline: pixels whose intensity is far from their image's median, the cut-off chosen on val by Dice."""
    def deviation(images):
        return xp.abs(images - xp.median(images, axis=(2, 3), keepdims=True))
    val_dev, test_dev = deviation(val[0]), deviation(test[0])
    cut = max(xp.quantile(val_dev, xp.linspace(0.5, 0.999, 60)), key=lambda t: dice(val_dev >= t, val[1]))
    return scores(test_dev >= cut, test[1], test_dev)


def train(config: Config | None = None, out: str | Path | None = None, *, resume: bool = False, force: bool = False,
          progress: bool = True, **overrides: Any) -> UNet:
    """Train a U-Net f on labelled masks m by min E[BCE(f(x), m) + 1 - Dice(sigmoid(f(x)), m)]; files go to `out`
    (none when None). Returns the trained model in eval mode."""
    args = open_run(NAME, Config, config, overrides, out, resume, force)
    out = output_of_this_rank(out)
    manual_seed(args.seed)
    config = {"depth": DEPTH, "base_width": args.width, "size": args.size, "data": args.data, "category": args.category,
              "seed": args.seed, "input_channels": 1, "input_size": args.size}
    check_memory(2 * args.count * args.size ** 2, f"{args.count} training images and masks of {args.size}x{args.size}",
                 "lower --count or --size")
    data = splits(config, args.count)
    model = build(config)
    optimizer = Adam(model.parameters(), lr=args.lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.lr / 20)
    loader = DataLoader(TensorDataset(*data["train"]), batch_size=16, shuffle=True,
                        generator=Generator().manual_seed(args.seed))
    val_images, val_masks = data["val"]

    def loss_fn(model, batch):
        images, masks = batch
        return segmentation_loss(model(images), masks)

    def evaluate(model):
        return {"dice": dice(probabilities(model, val_images) >= 0.5, val_masks)}

    what = "synthetic shapes" if args.data == "shapes" else f"labelled defects on '{args.category}' surfaces"
    print(f"training a U-Net ({model.num_parameters():,} parameters) on {args.count} images of {what}")
    fit(args, out, NAME, config, model, optimizer, loss_fn, loader, resume=resume, progress=progress,
        evaluate=evaluate, scheduler=scheduler, title=f"segment: U-Net on {what}")
    return model


def load(weights: str | Path | None = None) -> UNet:
    """The U-Net of a model.safetensors written by train (no weights are shipped for this task)."""
    return load_trained(weights, NAME, build, "segmentation model")


def apply(model: UNet, images: Any) -> Any:
    """sigmoid(f(x)), the probability that each pixel is a defect (H, W), for each image (H, W) or (H, W, 3) in
    [0, 1] (one array or a list of them), at the image's own size (a colour image is read as gray)."""
    from ..io import rgb_to_gray
    single = not isinstance(images, (list, tuple))
    multiple = 2 ** (model.depth - 1)  # the U-Net halves the size depth - 1 times
    results = []
    for image in ([images] if single else images):
        image = xp.asarray(image, dtype=xp.float32)
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
            raise UserError(f"expected a gray (H, W) or RGB (H, W, 3) image, got an array of shape {image.shape}")
        image = rgb_to_gray(image) if image.ndim == 3 else image
        h, w = image.shape
        padded = xp.pad(image, ((0, -h % multiple), (0, -w % multiple)), mode="reflect")[None, None]
        results.append(probabilities(model, xp.ascontiguousarray(padded, dtype=xp.float32))[0, 0, :h, :w])
    return results[0] if single else results


def evaluate(model: UNet | None = None, *, out: str | Path | None = None) -> dict:
    """Dice, IoU and pixel AUROC of the mask p >= 0.5 on the test split, against the intensity-deviation
    baseline: {"model": {...}, "baselines": {...}, "data": ...}; the overlays picture goes into `out` when given."""
    if model is None:
        model = load(None)
    config = model.task_config
    data = splits(config, 0)
    test_images, test_masks = data["test"]
    probs = probabilities(model, test_images)
    result = {"model": scores(probs >= 0.5, test_masks, probs),
              "baselines": {"intensity deviation from the median": deviation_baseline(data["val"], data["test"])},
              "data": "synthetic shapes" if config["data"] == "shapes" else f"defects on '{config['category']}'"}
    if out is not None:
        result["picture"] = str(write_overlays(picture_dir(out) / "segmentation.png", test_images, test_masks, probs))
    return result


def write_overlays(path: Path, images: xp.ndarray, masks: xp.ndarray, probs: xp.ndarray, count: int = 6) -> Path:
    has = xp.flatnonzero(masks.reshape(len(masks), -1).any(1))[:count]
    plt = pyplot()
    fig, axes = plt.subplots(2, len(has), figsize=(2 * len(has), 4.3), squeeze=False)
    for k, index in enumerate(has):
        axes[0, k].imshow(images[index, 0], cmap="gray", vmin=0, vmax=1)
        axes[0, k].contour(masks[index, 0], levels=[0.5], colors="lime", linewidths=0.8)
        axes[1, k].imshow(images[index, 0], cmap="gray", vmin=0, vmax=1)
        axes[1, k].imshow(xp.ma.masked_less(probs[index, 0], 0.5), cmap="autumn", alpha=0.6)
        axes[0, k].axis("off")
        axes[1, k].axis("off")
    axes[0, 0].set_title("truth (green outline)", fontsize=8, loc="left")
    axes[1, 0].set_title("U-Net (p >= 0.5)", fontsize=8, loc="left")
    fig.tight_layout()
    save_figure(fig, path)
    return path


# ----- the command line ------------------------------------------------------------------------------
def evaluate_command(args: argparse.Namespace) -> int:
    result = evaluate(load(args.weights), out=picture_dir(args.out))
    report(result, args.json, "segment: test split")
    return 0


def run_command(args: argparse.Namespace) -> int:
    from ..io import read_image, write_image
    sources = input_images(args.inputs)
    targets = output_paths(sources, args.out, "_mask", args.force)
    model = load(args.weights)
    for source, target in share_of_work(list(zip(sources, targets)), args.quiet, "segmenting"):
        image, info = read_image(source, gray=True)
        mask = apply(model, image) >= 0.5
        write_image(target, mask.astype(xp.float32), alpha=info["alpha"])
        print(f"{source}: {mask.mean():.2%} of the pixels marked -> {target}")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    add_train_command(actions, sys.modules[__name__], "train the U-Net on labelled masks")
    parser = actions.add_parser("eval", help="Dice, IoU and pixel AUROC on the test split, with overlays")
    add_eval_arguments(parser)
    parser.set_defaults(run=evaluate_command)
    parser = add_run_command(actions, "write defect masks (p >= 0.5) for your own images",
                             "the mask(s), white where a defect is, with the input's size and alpha", shipped=False)
    parser.set_defaults(run=run_command)
