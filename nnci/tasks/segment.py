"""nnci segment: a U-Net that marks defects (or shapes) pixel by pixel, trained on labelled masks.

Loss: binary cross-entropy on the logits plus a soft Dice term (1 - 2|P.T| / (|P| + |T|)), which keeps
the rare defect pixels from being drowned by the background.
"""
from __future__ import annotations

import argparse
from pathlib import Path

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
from .common import (LEARNING_RATE, add_eval_arguments, add_run_arguments, add_train_arguments, integer, load_model,
                     picture_dir, prepare_out_dir, pyplot, report, save_figure, train_and_save)

NAME = "segment"
HELP = "U-Net segmentation of defects (or synthetic shapes): Dice, IoU, overlays"


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


def train(args: argparse.Namespace) -> int:
    out = prepare_out_dir(args)
    manual_seed(args.seed)
    config = {"depth": 3, "base_width": args.width, "size": args.size, "data": args.data, "category": args.category,
              "seed": args.seed}
    data = splits(config, args.count)
    model = build(config)
    optimizer = Adam(model.parameters(), lr=args.lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.lr / 20)
    loader = DataLoader(TensorDataset(*data["train"]), batch_size=16, shuffle=True, generator=Generator().manual_seed(args.seed))
    val_images, val_masks = data["val"]

    def loss_fn(model, batch):
        images, masks = batch
        return segmentation_loss(model(images), masks)

    def evaluate(model):
        return {"dice": dice(probabilities(model, val_images) >= 0.5, val_masks)}

    what = "synthetic shapes" if args.data == "shapes" else f"labelled defects on '{args.category}' surfaces"
    print(f"training a U-Net ({model.num_parameters():,} parameters) on {args.count} images of {what}")
    train_and_save(args, out, NAME, config, model, optimizer, loss_fn, loader, evaluate=evaluate, scheduler=scheduler,
                   title=f"segment: U-Net on {what}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    model, config = load_model(args.weights, NAME, build)
    data = splits(config, 0)
    test_images, test_masks = data["test"]
    probs = probabilities(model, test_images)
    result = {"model": scores(probs >= 0.5, test_masks, probs),
              "baselines": {"intensity deviation from the median": deviation_baseline(data["val"], data["test"])},
              "data": "synthetic shapes" if config["data"] == "shapes" else f"defects on '{config['category']}'"}
    result["picture"] = str(write_overlays(picture_dir(args) / "segmentation.png", test_images, test_masks, probs))
    report(result, args.json, "segment: test split")
    return 0


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


def run(args: argparse.Namespace) -> int:
    from ..io import read_image, write_image
    model, config = load_model(args.weights, NAME, build)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.images:
        image, _ = read_image(name, gray=True)
        h, w = image.shape
        pad_h, pad_w = -h % 4, -w % 4  # the U-Net halves the size twice
        padded = xp.pad(image, ((0, pad_h), (0, pad_w)), mode="reflect")[None, None].astype(xp.float32)
        mask = probabilities(model, padded)[0, 0, :h, :w] >= 0.5
        target = out / f"{Path(name).stem}_mask.png"
        write_image(target, mask.astype(xp.float32))
        print(f"{name}: {mask.mean():.2%} of the pixels marked -> {target}")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser("train", help="train the U-Net on labelled masks")
    add_train_arguments(parser, epochs=10, minutes=10)
    parser.add_argument("--data", choices=("defects", "shapes"), default="defects")
    parser.add_argument("--category", default="weave", choices=CATEGORIES)
    parser.add_argument("--size", type=integer(16, 1024), default=64)
    parser.add_argument("--width", type=integer(1, 1024), default=16, help="U-Net base width")
    parser.add_argument("--count", type=integer(1, 1_000_000), default=512, help="labelled training images")
    parser.add_argument("--lr", type=LEARNING_RATE, default=3e-3)
    parser.set_defaults(run=train)
    parser = actions.add_parser("eval", help="Dice, IoU and pixel AUROC on the test split, with overlays")
    add_eval_arguments(parser)
    parser.set_defaults(run=evaluate)
    parser = actions.add_parser("run", help="write defect masks for your own images")
    add_run_arguments(parser, out="segment-masks")
    parser.set_defaults(run=run)
