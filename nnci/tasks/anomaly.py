"""nnci anomaly: find defects by reconstruction error, training on good parts only.

An autoencoder trained on defect-free surfaces reconstructs the recurring texture and loses what
it never saw, so the pixel-wise difference between an image and its reconstruction marks defects.
Two maps: squared error (L2) and 1 - local SSIM, each smoothed by a small Gaussian; the image's
score is the map's maximum. The baseline is the deviation from the mean good image.

The decision threshold of each map is chosen on the validation split (Youden's J) when training ends
and stored in the model's config (the weights' metadata, key "thresholds"), so that `run` and `apply`
label an image anomalous exactly as `eval` scores it; eval reports the same thresholds.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
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
from ..plotting import pyplot, save_figure
from .common import (add_eval_arguments, add_run_command, add_train_command, check_memory, fit, input_images,
                     load_model, open_run, output_of_this_rank, output_paths, picture_dir, report,
                     save_model, share_of_work, shipped_weights, weights_or_shipped)
from .options import (BadValue, LEARNING_RATE, Settings, UserError, choice, epochs_option, filesystem_path, integer,
                      minutes_option, number, option)

NAME = "anomaly"
SHIPPED = "anomaly_weave_ae.safetensors"  # nnci/weights/README.md has the command that made it
HELP = "autoencoder anomaly detection for visual inspection (train on good parts, maps by reconstruction error)"
MAPS = ("l2", "ssim")
BLUR = 2.0
WIDTHS = [16, 32]  # the encoder halves the size once per width
MULTIPLE = 2 ** len(WIDTHS)
COUNTS = {"val": 64, "test": 128}


def image_size(value: Any) -> int:
    """A side in [16, 1024] that the encoder can halve twice (a multiple of 4)."""
    value = integer(16, 1024)(value)
    if value % MULTIPLE:
        raise BadValue(f"expected a multiple of {MULTIPLE} in [16, 1024], got {value}")
    return value


image_size.__name__ = "integer"  # a checked integer, as nnci's option walkers (and tests) recognise them



@dataclasses.dataclass
class Config(Settings):
    """Training options of `nnci anomaly train` (and of anomaly.train in Python)."""
    epochs: int = epochs_option(12)
    minutes: float = minutes_option(10)
    category: str = option("weave", choice(*CATEGORIES), "generated surface")
    data: Path | None = option(None, filesystem_path,
                               "your folder: good/, test/good/, test/defect/, optional masks/ (none: generated)")
    model: str = option("ae", choice("ae", "vae"), "convolutional autoencoder or variational autoencoder")
    size: int = option(64, image_size, "side the images are resized to (a multiple of 4)")
    latent: int = option(64, integer(1, 4096), "VAE: latent vector size")
    latent_channels: int = option(4, integer(1, 512), "autoencoder: channels of its spatial bottleneck at 1/4 "
                                  "resolution")
    count: int = option(1024, integer(1, 1_000_000), "generated training images")
    lr: float = option(3e-3, LEARNING_RATE, "Adam's learning rate")


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
        x = as_tensor(xp.ascontiguousarray(images[start:start + batch], dtype=xp.float32))
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


def choose_thresholds(val: tuple, references: xp.ndarray) -> dict:
    """{map: the image-score threshold chosen on the validation split} (what train stores, eval reports)."""
    return {kind: best_threshold(anomaly_maps(val[0], references, kind).max((1, 2)), val[2]) for kind in MAPS}


def score_method(val: tuple, test: tuple, reference_fn) -> dict:
    """Image and pixel AUROC on test, with the image threshold chosen on val."""
    result = {}
    thresholds = choose_thresholds(val, reference_fn(val[0]))
    test_references = reference_fn(test[0])
    for kind in MAPS:
        test_maps = anomaly_maps(test[0], test_references, kind)
        threshold = thresholds[kind]
        scores = test_maps.max((1, 2))
        result[f"image_auroc_{kind}"] = roc_auc(scores, test[2])
        if test[1] is not None:
            result[f"pixel_auroc_{kind}"] = roc_auc(test_maps, test[1][:, 0] > 0)
        result[f"accuracy_{kind}"] = float(((scores >= threshold) == (test[2] == 1)).mean())
        result[f"threshold_{kind}"] = threshold
    return result


# ----- train ---------------------------------------------------------------------------------------
def train(config: Config | None = None, out: str | Path | None = None, *, resume: bool = False, force: bool = False,
          progress: bool = True, **overrides: Any) -> Any:
    """Train an autoencoder D(E(x)) on good surfaces only by min E||x - D(E(x))||^2 (the VAE: its ELBO), then
    choose each map's threshold on the validation split; files go to `out` (none when None). Returns the
    model in eval mode; its task_config["thresholds"] holds the thresholds."""
    args = open_run(NAME, Config, config, overrides, out, resume, force)
    out = output_of_this_rank(out)
    manual_seed(args.seed)
    config = {"model": args.model, "size": args.size, "widths": list(WIDTHS), "latent_dim": args.latent,
              "latent_channels": args.latent_channels, "category": args.category,
              "data": str(args.data) if args.data else None, "seed": args.seed,
              "input_channels": 1, "input_size": args.size}
    if args.data is None:
        check_memory(args.count * args.size ** 2, f"{args.count} training images of {args.size}x{args.size}",
                     "lower --count or --size")
    splits = load_splits(config, {"train": args.count, **COUNTS})
    model = build(config)
    optimizer = Adam(model.parameters(), lr=args.lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.lr / 20)
    loader = DataLoader(TensorDataset(splits["train"]), batch_size=32, shuffle=True,
                        generator=Generator().manual_seed(args.seed))
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
    fit(args, out, NAME, config, model, optimizer, loss_fn, loader, resume=resume, progress=progress,
        evaluate=evaluate, scheduler=scheduler, title=f"anomaly: {args.model} on good {what}")
    config["thresholds"] = choose_thresholds(splits["val"], reconstruct(model, val_images))
    model.task_config = config
    shown = ", ".join(f"{kind} {value:.6g}" for kind, value in config["thresholds"].items())
    if out is not None:
        save_model(model, NAME, config, Path(out))  # again, now with the thresholds in its metadata
        print(f"thresholds chosen on the validation split ({shown}) stored in {Path(out) / 'model.safetensors'}")
    else:
        print(f"thresholds chosen on the validation split: {shown}")
    return model


# ----- the Python API --------------------------------------------------------------------------------
def load(weights: str | Path | None = None) -> Any:
    """The model of a model.safetensors written by train, or when None the shipped autoencoder of the
    generated 'weave' surfaces (its thresholds chosen on their validation split)."""
    return load_model(weights_or_shipped(weights, SHIPPED), NAME, build)[0]


@dataclasses.dataclass(frozen=True)
class Anomaly:
    """One image's result: its anomaly map (H, W) at the image's size, its score (the maximum of the map at
    the model's size), the threshold it was held against and the verdict (None without a threshold)."""
    map: Any
    score: float
    threshold: float | None
    anomalous: bool | None


def _check(validate: Any, name: str, value: Any) -> Any:
    try:
        return validate(value)
    except BadValue as error:
        raise UserError(f"{name}: {error}") from None


def stored_threshold(model: Any, kind: str) -> float | None:
    """The threshold of map `kind` that train chose on the validation split (None for older weights)."""
    return (getattr(model, "task_config", None) or {}).get("thresholds", {}).get(kind)


def apply(model: Any, images: Any, *, map: str = "l2", threshold: float | None = None) -> Any:  # noqa: A002
    """Anomaly(map, score, threshold, anomalous) for each image (H, W) or (H, W, 3) in [0, 1] (one array or a
    list of them): the image, resized to the model's size, against its reconstruction D(E(x)). The
    threshold is the one stored at training when None."""
    from skimage.transform import resize

    from ..io import rgb_to_gray
    kind = _check(choice(*MAPS), "map", map)
    if threshold is not None:
        threshold = _check(number(0, 1e6), "threshold", threshold)
    else:
        threshold = stored_threshold(model, kind)
    single = not isinstance(images, (list, tuple))
    size = model.task_config["size"] if hasattr(model, "task_config") else model.image_size
    shapes, small = [], []
    for image in ([images] if single else images):
        image = xp.asarray(image, dtype=xp.float32)
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
            raise UserError(f"expected a gray (H, W) or RGB (H, W, 3) image, got an array of shape {image.shape}")
        image = rgb_to_gray(image) if image.ndim == 3 else image
        shapes.append(image.shape)
        small.append(resize(image, (size, size), anti_aliasing=True).astype(xp.float32)[None])
    if not small:
        return []
    small = xp.stack(small)
    maps = anomaly_maps(small, reconstruct(model, small), kind)
    results = []
    for shape, anomaly in zip(shapes, maps):
        score = float(anomaly.max())
        full = resize(anomaly, shape, order=1).astype(xp.float32) if shape != anomaly.shape else anomaly
        results.append(Anomaly(full, score, threshold, None if threshold is None else score >= threshold))
    return results[0] if single else results


def heat_overlay(image: Any, anomaly: Any, threshold: float) -> Any:
    """RGB (H, W, 3): the gray image under the inferno colour map of anomaly / threshold, opaque as its square
    (full colour at and above the threshold, calm surface left gray)."""
    from matplotlib import colormaps
    level = xp.clip(anomaly / threshold, 0, 1) if threshold > 0 else (anomaly > 0).astype(xp.float32)
    colours = colormaps["inferno"](level)[..., :3]
    weight = 0.8 * level[..., None] ** 2
    return ((1 - weight) * image[..., None] + weight * colours).astype(xp.float32)


# ----- eval ----------------------------------------------------------------------------------------
def evaluate(model: Any = None, *, out: str | Path | None = None) -> dict:
    """Image and pixel AUROC of the L2 and SSIM maps on the test split, each thresholded as chosen on the
    validation split, against the mean good image: {"model": {...}, "baselines": {...}, "data": ...}; the
    overlays picture is written into `out` when given."""
    if model is None:
        model = load(None)
    config = model.task_config
    splits = load_splits(config, {"train": 256, **COUNTS})
    mean_good = splits["train"].mean(0, keepdims=True)
    ours = score_method(splits["val"], splits["test"], lambda images: reconstruct(model, images))
    baseline = score_method(splits["val"], splits["test"], lambda images: xp.broadcast_to(mean_good, images.shape))
    result = {"model": ours, "baselines": {"mean good image": baseline},
              "data": config["data"] or f"generated '{config['category']}' surfaces"}
    if out is not None:
        test_images, test_masks, test_labels = splits["test"]
        result["picture"] = str(write_overlays(picture_dir(out) / "anomaly_maps.png", model, test_images, test_masks,
                                               test_labels))
    return result


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


# ----- the command line ------------------------------------------------------------------------------
def evaluate_command(args: argparse.Namespace) -> int:
    result = evaluate(load(args.weights), out=picture_dir(args.out))
    report(result, args.json, "anomaly: test split, AUROC (image and pixel) per anomaly map")
    return 0


def run_command(args: argparse.Namespace) -> int:
    from ..io import read_image, write_image
    sources = input_images(args.inputs)
    targets = output_paths(sources, args.out, "_anomaly", args.force)
    model = load(args.weights)
    weights = args.weights or shipped_weights(SHIPPED)
    threshold = args.threshold if args.threshold is not None else stored_threshold(model, args.map)
    if threshold is None:
        raise UserError(f"{weights}: these weights record no threshold (trained by an older nnci); pass "
                        f"--threshold T (nnci anomaly eval prints threshold_{args.map})")
    origin = "given with --threshold" if args.threshold is not None else \
        f"chosen on the validation split at training, stored in {weights}"
    print(f"threshold {threshold:.6g} on the {args.map.upper()} map ({origin})")
    flagged = 0
    for source, target in share_of_work(list(zip(sources, targets)), args.quiet, "scoring"):
        image, info = read_image(source, gray=True)
        result = apply(model, image, map=args.map, threshold=threshold)
        write_image(target, heat_overlay(image, result.map, threshold), alpha=info["alpha"])
        flagged += result.anomalous
        print(f"{source}: score {result.score:.6g} {'>=' if result.anomalous else '<'} {threshold:.6g}: "
              f"{'ANOMALOUS' if result.anomalous else 'good'}; heat map -> {target}")
    if len(sources) > 1:
        from .. import distributed
        flagged = sum(distributed.all_gather_object(int(flagged)))
        print(f"{flagged} of {len(sources)} inputs anomalous")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    add_train_command(actions, sys.modules[__name__], "train an autoencoder on defect-free surfaces")
    parser = actions.add_parser("eval", help="image and pixel AUROC for the L2 and SSIM maps, threshold from validation")
    add_eval_arguments(parser, shipped="the shipped weave autoencoder")
    parser.set_defaults(run=evaluate_command)
    parser = add_run_command(actions, "label your own images anomalous or good, with heat-map overlays",
                             "the heat-map overlay(s) (full colour at and above the threshold), with the input's "
                             "size and alpha")
    parser.add_argument("--map", choices=MAPS, default="l2", help="the anomaly map that scores (default l2)")
    parser.add_argument("--threshold", type=number(0, 1e6),
                        help="flag images scoring at least this (default: the one chosen on the validation split "
                             "at training, stored in the weights)")
    parser.set_defaults(run=run_command)
