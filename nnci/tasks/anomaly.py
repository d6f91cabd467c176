"""nnci anomaly: find defects by reconstruction error, training on good parts only.

An autoencoder trained on defect-free surfaces reconstructs the recurring texture and loses what
it never saw, so the pixel-wise difference between an image and its reconstruction marks defects.
Two maps: squared error (L2) and 1 - local SSIM, each smoothed by a small Gaussian; the image's
score is the map's maximum. The baseline is the deviation from the mean good image.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..backend import Generator, manual_seed, xp
from ..data import CATEGORIES, DataLoader, TensorDataset, inspection_dataset, load_inspection_folder
from ..metrics import gaussian_blur, roc_auc, ssim_map
from ..models import VAE, ConvAutoencoder
from ..nn import functional as F
from ..optim import Adam
from ..optim.lr_scheduler import CosineAnnealingLR
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..tensor import Tensor
from .common import (LEARNING_RATE, add_eval_arguments, add_run_arguments, add_train_arguments, integer, load_model,
                     number, picture_dir, prepare_out_dir, pyplot, report, save_figure, train_and_save, UserError)

NAME = "anomaly"
HELP = "autoencoder anomaly detection for visual inspection (train on good parts, maps by reconstruction error)"
MAPS = ("l2", "ssim")
BLUR = 2.0


def build(config: dict) -> Any:
    if config["model"] == "vae":
        return VAE(1, config["size"], tuple(config["widths"]), config["latent_dim"])
    return ConvAutoencoder(1, config["size"], tuple(config["widths"]), upsampling="transpose", batch_norm=True,
                           sigmoid_output=True, latent_channels=config["latent_channels"])


def load_splits(config: dict, counts: dict) -> dict:
    """train (good only), val and test (mixed, with masks): generated, or from the user's folder."""
    if config["data"]:
        try:
            folder = load_inspection_folder(config["data"], config["size"])
        except ValueError as error:
            raise UserError(str(error)) from None
        test_images, test_masks, test_labels = folder["test"]
        # validation: every other test image, so the threshold is never chosen on the images it is scored on
        order = xp.arange(len(test_labels))
        val, test = order[::2], order[1::2]
        pick = (lambda idx: (test_images[idx], None if test_masks is None else test_masks[idx], test_labels[idx]))
        return {"train": folder["train"], "val": pick(val), "test": pick(test)}
    size, category, seed = config["size"], config["category"], config["seed"]
    return {"train": inspection_dataset("train", counts["train"], size, category, seed)[0],
            "val": inspection_dataset("val", counts["val"], size, category, seed),
            "test": inspection_dataset("test", counts["test"], size, category, seed)}


@no_grad()
def reconstruct(model: Any, images: xp.ndarray, batch: int = 64) -> xp.ndarray:
    parts = []
    for start in range(0, len(images), batch):
        x = as_tensor(images[start:start + batch])
        out = model(x)
        parts.append((out[0].sigmoid() if isinstance(out, tuple) else out).detach().numpy())
    return xp.concatenate(parts)


def anomaly_maps(images: xp.ndarray, references: xp.ndarray, kind: str) -> xp.ndarray:
    """Per-pixel anomaly (N, S, S): smoothed squared error, or smoothed 1 - local SSIM, against the references."""
    maps = []
    for image, reference in zip(images[:, 0], references[:, 0]):
        raw = (image - reference) ** 2 if kind == "l2" else 1 - ssim_map(image, reference)
        maps.append(gaussian_blur(raw, BLUR))
    return xp.stack(maps)


def best_threshold(scores: xp.ndarray, labels: xp.ndarray) -> float:
    """The score threshold that maximises TPR - FPR (Youden's J) on validation data."""
    candidates = xp.unique(scores)
    positives, negatives = max(labels.sum(), 1), max((1 - labels).sum(), 1)
    best, best_j = float(candidates[0]), -1.0
    for t in candidates:
        flagged = scores >= t
        j = (flagged & (labels == 1)).sum() / positives - (flagged & (labels == 0)).sum() / negatives
        if j > best_j:
            best, best_j = float(t), j
    return best


def score_method(val: tuple, test: tuple, reference_fn) -> dict:
    """Image and pixel AUROC on test, with the image threshold chosen on val."""
    result = {}
    for kind in MAPS:
        val_maps = anomaly_maps(val[0], reference_fn(val[0]), kind)
        test_maps = anomaly_maps(test[0], reference_fn(test[0]), kind)
        threshold = best_threshold(val_maps.max((1, 2)), val[2])
        scores = test_maps.max((1, 2))
        result[f"image_auroc_{kind}"] = roc_auc(scores, test[2])
        if test[1] is not None:
            result[f"pixel_auroc_{kind}"] = roc_auc(test_maps, test[1][:, 0] > 0)
        result[f"accuracy_{kind}"] = float(((scores >= threshold) == (test[2] == 1)).mean())
        result[f"threshold_{kind}"] = threshold
    return result


def train(args: argparse.Namespace) -> int:
    out = prepare_out_dir(args)
    manual_seed(args.seed)
    config = {"model": args.model, "size": args.size, "widths": [16, 32], "latent_dim": args.latent,
              "latent_channels": args.latent_channels,
              "category": args.category, "data": str(args.data) if args.data else None, "seed": args.seed}
    splits = load_splits(config, {"train": args.count, "val": 64, "test": 128})
    model = build(config)
    optimizer = Adam(model.parameters(), lr=args.lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.lr / 20)
    loader = DataLoader(TensorDataset(splits["train"]), batch_size=32, shuffle=True, generator=Generator().manual_seed(args.seed))
    val_images, _, val_labels = splits["val"]

    def loss_fn(model, batch):
        (x,) = batch
        if isinstance(model, VAE):
            return model.loss(x, *model(x))
        return F.mse_loss(model(x), x)

    def evaluate(model):
        maps = anomaly_maps(val_images, reconstruct(model, val_images), "l2")
        return {"image_auroc_l2": roc_auc(maps.max((1, 2)), val_labels)} if 0 < val_labels.sum() < len(val_labels) \
            else {"reconstruction_mse": float(((reconstruct(model, val_images) - val_images) ** 2).mean())}

    what = f"folder {args.data}" if args.data else f"generated '{args.category}' surfaces"
    print(f"training a {args.model} ({model.num_parameters():,} parameters) on {len(splits['train'])} good images of {what}")
    train_and_save(args, out, NAME, config, model, optimizer, loss_fn, loader, evaluate=evaluate, scheduler=scheduler,
                   title=f"anomaly: {args.model} on good {args.category} surfaces")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    model, config = load_model(args.weights, NAME, build)
    splits = load_splits(config, {"train": 256, "val": 64, "test": 128})
    mean_good = splits["train"].mean(0, keepdims=True)
    ours = score_method(splits["val"], splits["test"], lambda images: reconstruct(model, images))
    baseline = score_method(splits["val"], splits["test"], lambda images: xp.broadcast_to(mean_good, images.shape))
    out = picture_dir(args)
    test_images, test_masks, test_labels = splits["test"]
    path = write_overlays(out / "anomaly_maps.png", model, test_images, test_masks, test_labels)
    result = {"model": ours, "baselines": {"mean good image": baseline},
              "data": config["data"] or f"generated '{config['category']}' surfaces", "picture": str(path)}
    report(result, args.json, "anomaly: test split, AUROC (image and pixel) per anomaly map")
    return 0


def write_overlays(path: Path, model: Any, images: xp.ndarray, masks: xp.ndarray | None, labels: xp.ndarray,
                   count: int = 6) -> Path:
    picks = list(xp.flatnonzero(labels == 1)[:count - 2]) + list(xp.flatnonzero(labels == 0)[:2])
    recon = reconstruct(model, images[picks])
    maps = anomaly_maps(images[picks], recon, "l2")
    scale = {"vmin": 0.0, "vmax": float(maps.max())}  # one scale for all, so good surfaces look as calm as they are
    plt = pyplot()
    rows = 4 if masks is not None else 3
    fig, axes = plt.subplots(rows, len(picks), figsize=(1.9 * len(picks), 1.9 * rows + 0.3), squeeze=False)
    for k, index in enumerate(picks):
        panels = [(images[index, 0], "gray", "input"), (recon[k, 0], "gray", "reconstruction"),
                  (maps[k], "inferno", "L2 anomaly map")]
        if masks is not None:
            panels.append((masks[index, 0], "gray", "true defect"))
        for row, (image, cmap, title) in enumerate(panels):
            axis = axes[row, k]
            axis.imshow(image, cmap=cmap, **({"vmin": 0, "vmax": 1} if cmap == "gray" else scale))
            axis.axis("off")
            if k == 0:
                axis.set_title(title, fontsize=8, loc="left")
    fig.suptitle("defective (left) and good (right) test surfaces", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    return path


def run(args: argparse.Namespace) -> int:
    from skimage.transform import resize

    from ..io import read_image
    model, config = load_model(args.weights, NAME, build)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    threshold = args.threshold
    plt = pyplot()
    for name in args.images:
        image, _ = read_image(name, gray=True)
        small = resize(image, (config["size"], config["size"]), anti_aliasing=True).astype(xp.float32)[None, None]
        anomaly = anomaly_maps(small, reconstruct(model, small), "l2")[0]
        score = float(anomaly.max())
        verdict = "" if threshold is None else (" DEFECT" if score >= threshold else " ok")
        fig, axis = plt.subplots(figsize=(4, 4))
        axis.imshow(small[0, 0], cmap="gray", vmin=0, vmax=1)
        axis.imshow(anomaly, cmap="inferno", alpha=0.5)
        axis.set_title(f"{Path(name).name}: score {score:.4f}{verdict}", fontsize=9)
        axis.axis("off")
        target = out / f"{Path(name).stem}_anomaly.png"
        save_figure(fig, target)
        print(f"{name}: anomaly score {score:.5f}{verdict} -> {target}")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser("train", help="train an autoencoder on defect-free surfaces")
    add_train_arguments(parser, epochs=12, minutes=10)
    parser.add_argument("--category", default="weave", choices=CATEGORIES, help="generated surface (default weave)")
    parser.add_argument("--data", type=Path, help="your folder: good/, test/good/, test/defect/, optional masks/")
    parser.add_argument("--model", choices=("ae", "vae"), default="ae")
    parser.add_argument("--size", type=integer(16, 1024), default=64)
    parser.add_argument("--latent", type=integer(1, 4096), default=64, help="VAE: latent vector size")
    parser.add_argument("--latent-channels", type=integer(1, 512), default=4,
                        help="autoencoder: channels of its spatial bottleneck at 1/4 resolution (default 4)")
    parser.add_argument("--count", type=integer(1, 1_000_000), default=1024, help="generated training images")
    parser.add_argument("--lr", type=LEARNING_RATE, default=3e-3)
    parser.set_defaults(run=train)
    parser = actions.add_parser("eval", help="image and pixel AUROC for the L2 and SSIM maps, threshold from validation")
    add_eval_arguments(parser)
    parser.set_defaults(run=evaluate)
    parser = actions.add_parser("run", help="anomaly heat-map overlays for your own images")
    add_run_arguments(parser, out="anomaly-maps")
    parser.add_argument("--threshold", type=number(0, 1e6), help="flag images scoring at least this (from eval)")
    parser.set_defaults(run=run)
