"""nnci denoise: residual-learning denoising with DnCNN (Zhang et al., IEEE TIP 2017).

The network R estimates the noise n of a noisy image y = x + n; the clean estimate is y - R(y).
DnCNN-S is trained at one noise level, DnCNN-B ("blind") over sigma in [0, 55]. Sigmas are on
the 0..255 scale. Reference results (cszn/DnCNN README, BSD68, PSNR dB): DnCNN-S 31.73 / 29.23 /
26.23 at sigma 15 / 25 / 50; BM3D 31.07 / 28.57 / 25.62.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ..backend import Generator, generator, manual_seed, xp
from ..data import DataLoader, TensorDataset, load_photos, random_patches
from ..data.patches import dihedral, inverse_dihedral
from ..io import read_image, write_image
from ..metrics import psnr, ssim
from ..inference import fuse
from ..models import DnCNN, deepen
from ..nn import functional as F
from ..optim import Adam
from ..optim.lr_scheduler import CosineAnnealingLR
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..tensor import Tensor
from .common import (LEARNING_RATE, SEED, add_eval_arguments, add_train_arguments, integer, load_model, number, numbers,
                     picture_dir, prepare_out_dir, pyplot, report, save_figure, train_and_save, UserError,
                     weights_or_shipped)
from .common import shipped_weights as common_shipped_weights

NAME = "denoise"
HELP = "DnCNN residual-learning denoiser: train, evaluate against BM3D, denoise your photos"
MAX_SIGMA = 55.0
SHIPPED = {"sigma25": "dncnn_gray_sigma25.safetensors", "blind": "dncnn_gray_blind.safetensors"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def build(config: dict) -> DnCNN:
    return DnCNN(config["channels"], depth=config["depth"], width=config["width"], batch_norm=config["batch_norm"],
                 residual=config["residual"])


def shipped_weights(kind: str) -> Path:
    """Path of a pretrained model inside the package ('sigma25' or 'blind')."""
    return common_shipped_weights(SHIPPED[kind])


# ----- data ----------------------------------------------------------------------------------------
def training_images(folder: Path | None, color: bool) -> list:
    """The bundled training photos, or every image in a user folder."""
    if folder is None:
        return list(load_photos("train", gray=not color).values())
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"--data {folder}: not a directory")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"--data {folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in it")
    images = []
    for path in files:
        image, info = read_image(path, gray=not color)
        if color and info["channels"] == 1:
            image = xp.repeat(image[..., None], 3, axis=2)
        images.append(image)
    return images


def add_noise(clean: Tensor, config: dict) -> Tensor:
    """y = x + sigma/255 n, sigma fixed or uniform per patch in the blind range, from nnci's generator."""
    count = clean.shape[0]
    if config["sigma"] is not None:
        sigmas = xp.full(count, config["sigma"], xp.float32)
    else:
        low, high = config["sigma_range"]
        sigmas = generator().uniform(low, high, count).astype(xp.float32)
    noise = generator().standard_normal(clean.shape, dtype=xp.float32) * (sigmas / 255.0).reshape(-1, 1, 1, 1)
    return clean + as_tensor(noise)


# ----- applying a model ----------------------------------------------------------------------------
@no_grad()
def denoise_array(model: DnCNN, noisy: Any, tile: int | None = None) -> Any:
    """Denoise (C, H, W) in tiles of `tile` pixels, each with a margin of the receptive radius, so the
    result equals the untiled one while memory stays bounded."""
    channels, height, width = noisy.shape
    if tile is None or (height <= tile and width <= tile):
        return model(as_tensor(noisy[None].astype(xp.float32))).detach().numpy()[0]
    margin = model.depth  # each 3x3 conv sees one more pixel: beyond `depth` the tile edge cannot matter
    out = xp.empty((channels, height, width), xp.float32)
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            t0, l0 = max(top - margin, 0), max(left - margin, 0)
            b1, r1 = min(top + tile + margin, height), min(left + tile + margin, width)
            result = model(as_tensor(noisy[None, :, t0:b1, l0:r1].astype(xp.float32))).detach().numpy()[0]
            h, w = min(tile, height - top), min(tile, width - left)
            out[:, top:top + h, left:left + w] = result[:, top - t0:top - t0 + h, left - l0:left - l0 + w]
    return out


def denoise_self_ensemble(model: DnCNN, noisy: Any, tile: int | None = None) -> Any:
    """1/8 sum_k T_k^-1 R(T_k y) over the 8 flips and rotations T_k (geometric self-ensemble, Timofte et al.,
    "Seven ways to improve example-based single image super resolution", CVPR 2016): 8x the time."""
    total = xp.zeros(noisy.shape, xp.float32)
    for k in range(8):
        turned = xp.ascontiguousarray(dihedral(noisy, k))
        total += inverse_dihedral(denoise_array(model, turned, tile), k)
    return total / 8


def to_chw(image: Any) -> Any:
    return image[None] if image.ndim == 2 else image.transpose(2, 0, 1)


def from_chw(image: Any) -> Any:
    return image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)


def check_sigma(sigma: float | None) -> None:
    if sigma is not None and not 0 <= sigma <= MAX_SIGMA:
        raise UserError(f"sigma {sigma:g} is outside the range the models are trained for (0..{MAX_SIGMA:g}, "
                        "on the 0..255 scale)")


def choose_model(weights: Path | None, sigma: float | None, blind: bool) -> tuple[DnCNN, dict, Path]:
    """The user's weights, or the shipped sigma-25 model for --sigma 25 and the blind one otherwise."""
    check_sigma(sigma)
    weights = weights_or_shipped(weights, SHIPPED["sigma25" if (sigma == 25 and not blind) else "blind"])
    model, config = load_model(weights, NAME, build)
    if config["sigma"] is not None and sigma is not None and sigma != config["sigma"] and not blind:
        raise UserError(f"{weights} was trained for sigma {config['sigma']:g}, not {sigma:g}; "
                        "use a blind model (--blind) or weights trained for that sigma")
    return fuse(model), config, weights


# ----- train ---------------------------------------------------------------------------------------
def start_from(weights: Path, config: dict, depth: int | None, width: int | None, pool: Any,
               seed: int) -> tuple[DnCNN, dict]:
    """Fine-tuning: the model of a weights file, in training mode, deepened to `depth` if that is larger;
    its architecture replaces the command line's."""
    model, trained = load_model(weights, NAME, build)
    for key, wanted in (("channels", config["channels"]), ("residual", config["residual"]),
                        ("width", width if width is not None else trained["width"])):
        if trained[key] != wanted:
            raise UserError(f"--init {weights}: a model with {key}={trained[key]}, but this run asks for {wanted}")
    if depth is not None and depth != trained["depth"]:
        if depth < trained["depth"] or not trained["batch_norm"]:
            raise UserError(f"--init {weights}: --depth {depth} can only deepen a batch-norm model of depth "
                            f"{trained['depth']}, not shrink it")
        rng = xp.random.default_rng(seed + 3)
        clean = pool[rng.choice(len(pool), size=min(len(pool), 256), replace=False)]
        sample = add_noise(as_tensor(clean), config)
        model = deepen(model, depth, sample)
        print(f"deepened DnCNN-{trained['depth']} to DnCNN-{depth} with identity blocks (the same function in eval)")
        trained = {**trained, "depth": depth}
    model.train()
    architecture = {key: trained[key] for key in ("depth", "width", "batch_norm")}
    return model, {**config, **architecture, "init": str(weights)}


def train(args: argparse.Namespace) -> int:
    out = prepare_out_dir(args)
    check_sigma(args.sigma)
    manual_seed(args.seed)
    config = {"channels": 3 if args.color else 1, "depth": args.depth or 17, "width": args.width or 64,
              "batch_norm": True,
              "residual": not args.no_residual, "sigma": None if args.blind else float(args.sigma),
              "sigma_range": [0.0, MAX_SIGMA] if args.blind else None, "patch": args.patch,
              "data": str(args.data) if args.data else "bundled photos (train split)", "sampling": args.sampling}
    images = training_images(args.data, args.color)
    smallest = min(min(image.shape[:2]) for image in images)
    if smallest < args.patch:
        raise UserError(f"an image of the training data is {smallest} pixels on its short side, smaller than "
                        f"--patch {args.patch}")
    rng = xp.random.default_rng(args.seed)
    pool = random_patches(images, args.patch, args.patches, rng, share=args.sampling)
    if args.init is not None:
        model, config = start_from(args.init, config, args.depth, args.width, pool, args.seed)
    else:
        model = build(config)
    val_size = min(64, smallest)
    val_clean = random_patches(images, val_size, 16, xp.random.default_rng(args.seed + 1), augment=False,
                               share=args.sampling)
    val_sigma = 25.0 if args.blind else float(args.sigma)
    val_noisy = val_clean + xp.random.default_rng(args.seed + 2).standard_normal(val_clean.shape).astype(
        xp.float32) * (val_sigma / 255)
    optimizer = Adam(model.parameters(), lr=args.lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.lr / 20)
    loader = DataLoader(TensorDataset(pool), batch_size=args.batch, shuffle=True, drop_last=True, generator=Generator().manual_seed(args.seed))

    def loss_fn(model, batch):
        (clean,) = batch
        return F.mse_loss(model(add_noise(clean, config)), clean)

    def evaluate(model):
        return {f"psnr_sigma{val_sigma:g}": _batch_psnr(model, val_noisy, val_clean)}

    mode = "blind" if args.blind else f"sigma {args.sigma:g}"
    print(f"training DnCNN-{config['depth']} (width {config['width']}, {model.num_parameters():,} parameters, {mode}, "
          f"{'residual' if config['residual'] else 'direct'}) on {args.patches} patches of {args.patch}x{args.patch}")
    warmup = args.warmup if args.warmup is not None else (500 if args.init is not None else 0)
    train_and_save(args, out, NAME, config, model, optimizer, loss_fn, loader, evaluate=evaluate, scheduler=scheduler,
                   title=f"denoise: DnCNN-{config['depth']}, {mode}", warmup_steps=warmup)
    return 0


@no_grad()
def _batch_psnr(model: DnCNN, noisy: Any, clean: Any) -> float:
    estimate = xp.clip(model(as_tensor(noisy)).detach().numpy(), 0, 1)
    return float(xp.mean([psnr(e, c) for e, c in zip(estimate, clean)]))


# ----- eval ----------------------------------------------------------------------------------------
def gaussian_filter_best(noisy: Any, clean: Any) -> tuple[Any, float]:
    """Baseline: a Gaussian blur with the width that maximises PSNR on this very image (an oracle choice)."""
    from skimage.filters import gaussian
    best = (noisy, psnr(xp.clip(noisy, 0, 1), clean), 0.0)
    for width in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0):
        smooth = gaussian(noisy, sigma=width, mode="reflect", preserve_range=True)
        score = psnr(xp.clip(smooth, 0, 1), clean)
        if score > best[1]:
            best = (smooth, score, width)
    return best[0], best[2]


def bm3d_denoise(noisy: Any, sigma: float) -> Any | None:
    """BM3D (Dabov et al., 2007) through the optional `bm3d` package; None when it is not installed."""
    try:
        import bm3d
    except ImportError:
        return None
    return bm3d.bm3d(noisy, sigma_psd=sigma / 255.0)


def evaluate(args: argparse.Namespace) -> int:
    sigmas = list(args.sigma)
    for sigma in sigmas:
        check_sigma(sigma)
    photos = load_photos("test", gray=True)
    rows: dict[str, dict] = {"nnci": {}, "noisy": {}, "gaussian filter (best width)": {}, "bm3d": {}}
    have_bm3d = True
    figure_inputs = None
    for sigma in sigmas:
        model, config, weights = choose_model(args.weights, sigma, args.blind)
        scores: dict[str, list] = {name: [] for name in rows}
        for index, (name, clean) in enumerate(photos.items()):
            rng = xp.random.default_rng(1000 * index + int(sigma))  # the same noise for every method
            noisy = (clean + rng.standard_normal(clean.shape) * sigma / 255.0).astype(xp.float32)
            apply = denoise_self_ensemble if args.self_ensemble else denoise_array
            results = {"noisy": noisy,
                       "nnci": from_chw(apply(model, to_chw(noisy), tile=256)),
                       "gaussian filter (best width)": gaussian_filter_best(noisy, clean)[0]}
            bm3d_result = bm3d_denoise(noisy, sigma) if have_bm3d else None
            have_bm3d = bm3d_result is not None
            if have_bm3d:
                results["bm3d"] = bm3d_result
            for method, estimate in results.items():
                estimate = xp.clip(estimate, 0, 1)
                scores[method].append((psnr(estimate, clean), ssim(estimate, clean)))
            if figure_inputs is None and sigma == (25.0 if 25.0 in sigmas else sigmas[0]):
                figure_inputs = (name, sigma, clean, {k: xp.clip(v, 0, 1) for k, v in results.items()})
        for method, values in scores.items():
            if values:
                rows[method][f"psnr_sigma{sigma:g}"] = float(xp.mean([v[0] for v in values]))
                rows[method][f"ssim_sigma{sigma:g}"] = float(xp.mean([v[1] for v in values]))
    baselines = {name: values for name, values in rows.items() if name != "nnci" and values}
    result: dict[str, Any] = {"model": rows["nnci"], "baselines": baselines,
                              "test_photos": ", ".join(photos)}
    if not have_bm3d:
        result["bm3d"] = "absent: install the optional extra (pip install 'nnci[bm3d]') to compare with BM3D"
    out = picture_dir(args) if args.weights or args.out else Path(".")
    if figure_inputs is not None:
        result["picture"] = str(write_comparison(out / "denoise_comparison.png", *figure_inputs))
    report(result, args.json, "denoise: mean PSNR (dB) and SSIM on the held-out photos")
    return 0


def write_comparison(path: Path, name: str, sigma: float, clean: Any, results: dict) -> Path:
    plt = pyplot()
    panels = [("clean", clean)] + [(k, v) for k, v in results.items() if k != "gaussian filter (best width)"]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6))
    for axis, (label, image) in zip(axes, panels):
        axis.imshow(image, cmap="gray", vmin=0, vmax=1)
        axis.axis("off")
        axis.set_title(label if label == "clean" else f"{label}: {psnr(image, clean):.2f} dB", fontsize=9)
    fig.suptitle(f"{name}, sigma {sigma:g}", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    return path


# ----- run and demo ---------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    source, target = Path(args.input), Path(args.output)
    if target.exists() and not args.force:
        raise UserError(f"{target} already exists; use --force to overwrite it")
    if not target.parent.exists():
        raise UserError(f"output directory {target.parent} does not exist")
    model, config, weights = choose_model(args.weights, args.sigma, args.blind)
    image, info = read_image(source)
    per_channel = args.weights is None and config["channels"] == 1 and info["channels"] == 3
    if info["channels"] != config["channels"] and not per_channel:
        kinds = {1: "gray", 3: "RGB"}
        raise UserError(f"{weights.name} denoises {kinds[config['channels']]} images ({config['channels']} channel"
                        f"{'s' if config['channels'] > 1 else ''}); {source} is {kinds[info['channels']]}")
    start = time.perf_counter()
    apply = denoise_self_ensemble if args.self_ensemble else denoise_array
    if per_channel:  # the shipped models are gray: denoise R, G and B each
        result = xp.stack([apply(model, image[None, :, :, c], tile=args.tile)[0] for c in range(3)], axis=2)
    else:
        result = from_chw(apply(model, to_chw(image), tile=args.tile))
    seconds = time.perf_counter() - start
    write_image(target, result, bits=info["bits"])
    how = ", the gray model on each of R, G, B" if per_channel else ""
    print(f"{source} -> {target} ({image.shape[1]}x{image.shape[0]}, {info['bits']}-bit, {seconds:.2f} s, "
          f"weights {weights.name}{how})")
    return 0


def demo(args: argparse.Namespace) -> int:
    """Noise a bundled test photo, denoise it with the shipped weights, report PSNR and write a picture."""
    from ..data import load_photo
    clean = load_photo("camera")
    noisy = (clean + xp.random.default_rng(args.seed).standard_normal(clean.shape) * args.sigma / 255).astype(xp.float32)
    model, config, weights = choose_model(None, args.sigma, blind=False)
    start = time.perf_counter()
    result = xp.clip(from_chw(denoise_array(model, to_chw(noisy))), 0, 1)
    seconds = time.perf_counter() - start
    out = Path(args.output)
    write_comparison(out, "camera (held-out test photo)", args.sigma, clean, {"noisy": xp.clip(noisy, 0, 1), "nnci": result})
    print(f"camera, 512x512, Gaussian noise sigma {args.sigma:g}: PSNR {psnr(xp.clip(noisy, 0, 1), clean):.2f} dB "
          f"noisy -> {psnr(result, clean):.2f} dB denoised by {weights.name} in {seconds:.2f} s")
    print(f"picture: {out.resolve()}")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser("train", help="train DnCNN-S (--sigma) or DnCNN-B (--blind)")
    add_train_arguments(parser, epochs=20, minutes=30)
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("--sigma", type=number(0, MAX_SIGMA, above=True), default=25.0,
                       help=f"noise level on the 0..255 scale, up to {MAX_SIGMA:g} (default 25)")
    noise.add_argument("--blind", action="store_true", help=f"train over sigma in [0, {MAX_SIGMA:g}]")
    parser.add_argument("--color", action="store_true", help="RGB instead of gray")
    parser.add_argument("--no-residual", action="store_true", help="learn the clean image directly (ablation)")
    parser.add_argument("--depth", type=integer(2, 200),
                        help="layers (default 17; with --init, a larger depth deepens the model)")
    parser.add_argument("--width", type=integer(1, 1024), help="channels (default 64)")
    parser.add_argument("--patch", type=integer(8, 1024), default=40)
    parser.add_argument("--batch", type=integer(1, 4096), default=16)
    parser.add_argument("--patches", type=integer(1, 1_000_000), default=8000,
                        help="size of the (augmented) patch pool")
    parser.add_argument("--lr", type=LEARNING_RATE, default=1e-3)
    parser.add_argument("--data", type=Path, help="a folder of your own training images (default: bundled photos)")
    parser.add_argument("--sampling", choices=("equal", "area"), default="equal",
                        help="patches per image: the same share for every image (default) or by pixel count")
    parser.add_argument("--init", type=Path, help="start from these weights (fine-tuning; their depth and width)")
    parser.add_argument("--warmup", type=integer(0, 10_000_000),
                        help="steps of linear learning-rate warm-up (default 500 with --init, "
                        "else 0)")
    parser.set_defaults(run=train)

    parser = actions.add_parser("eval", help="PSNR/SSIM on the held-out photos against noisy, Gaussian filter, BM3D")
    add_eval_arguments(parser, shipped="the shipped models")
    parser.add_argument("--sigma", type=numbers(0, MAX_SIGMA), default=[15.0, 25.0, 50.0],
                        help=f"comma-separated noise levels in [0, {MAX_SIGMA:g}] (default 15,25,50)")
    parser.add_argument("--blind", action="store_true", help="use the blind model at every sigma")
    parser.add_argument("--self-ensemble", action="store_true",
                        help="average the model over the 8 flips/rotations (8x the time, ~0.15 dB better)")
    parser.set_defaults(run=evaluate)

    parser = actions.add_parser("run", help="denoise your own image (PNG, JPEG, TIFF; 8 or 16 bit; gray or RGB)")
    parser.add_argument("input")
    parser.add_argument("-o", "--output", required=True)
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("--sigma", type=number(0, MAX_SIGMA), help=f"the noise level, if known (0..{MAX_SIGMA:g})")
    noise.add_argument("--blind", action="store_true", help="unknown noise level (the default)")
    parser.add_argument("--weights", type=Path, help="weights from 'nnci denoise train' (default: shipped)")
    parser.add_argument("--tile", type=integer(16, 16384), default=256,
                        help="tile size that bounds memory (default 256)")
    parser.add_argument("--self-ensemble", action="store_true",
                        help="average the model over the 8 flips/rotations (8x the time, ~0.15 dB better)")
    parser.add_argument("--force", action="store_true", help="overwrite the output file")
    parser.set_defaults(run=run)

    parser = actions.add_parser("demo", help="denoise a noisy bundled photo with the shipped weights")
    parser.add_argument("--sigma", type=number(0, MAX_SIGMA), default=25.0)
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("-o", "--output", default="denoise-demo.png")
    parser.set_defaults(run=demo)
