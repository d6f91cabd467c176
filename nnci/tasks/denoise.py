"""nnci denoise: residual-learning denoising with DnCNN (Zhang et al., IEEE TIP 2017).

The network R estimates the noise n of a noisy image y = x + n; the clean estimate is y - R(y).
DnCNN-S is trained at one noise level, DnCNN-B ("blind") over sigma in [0, 55]. Sigmas are on
the 0..255 scale. Reference results (cszn/DnCNN README, BSD68, PSNR dB): DnCNN-S 31.73 / 29.23 /
26.23 at sigma 15 / 25 / 50; BM3D 31.07 / 28.57 / 25.62.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from ..backend import Generator, manual_seed, xp
from ..data import DataLoader, TensorDataset, load_photos, random_patches
from ..data.dead_leaves import dead_leaves_patches
from ..data.patches import dihedral, inverse_dihedral
from ..io import read_image, write_image
from ..metrics import psnr, ssim
from ..inference import fuse
from ..models import DnCNN, FFDNet, deepen
from ..nn import functional as F
from ..optim import Adam
from ..physics import GaussianNoise, estimate_sigma
from ..optim.lr_scheduler import CosineAnnealingLR
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..plotting import pyplot, save_figure
from .common import (add_eval_arguments, add_run_command, add_train_command, check_memory, fit, input_images,
                     load_model, open_run, output_of_this_rank, output_paths, picture_dir, report, share_of_work,
                     weights_or_shipped)
from .common import shipped_weights as common_shipped_weights
from .options import (LEARNING_RATE, SEED, Settings, UserError, choice, epochs_option, integer, minutes_option, number,
                      numbers, option, filesystem_path)

NAME = "denoise"
HELP = "DnCNN residual-learning denoiser: train, evaluate against BM3D, denoise your photos"
MAX_SIGMA = 75.0  # the largest sigma any model is trained for (the blind FFDNet); each model says its own
DNCNN_BLIND_RANGE = (0.0, 55.0)  # DnCNN-B (Zhang et al. 2017)
FFDNET_BLIND_RANGE = (0.0, 75.0)  # FFDNet (Zhang et al. 2018)
# Tiles of 512 leave a 512x512 photo whole (0.30 s warm for the blind FFDNet, against 0.57 s in four 256 tiles,
# whose margins are recomputed) and hold a 12 MP gray photo to 435 MB peak (388 MB with 256): benchmarks/README.md.
DEFAULT_TILE = 512
SHIPPED = {"sigma25": "dncnn_gray_sigma25.safetensors", "blind": "ffdnet_gray_blind.safetensors",
           "color": "ffdnet_color_blind.safetensors", "dncnn_blind": "dncnn_gray_blind.safetensors"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


@dataclasses.dataclass
class Config(Settings):
    """Training options of `nnci denoise train` (and of denoise.train in Python)."""
    epochs: int = epochs_option(20)
    minutes: float = minutes_option(30)
    sigma: float = option(25.0, number(0, MAX_SIGMA, above=True),
                          f"noise level on the 0..255 scale, up to {MAX_SIGMA:g}", group="noise")
    blind: bool = option(False, help="train over a range of sigmas (DnCNN-B: [0, 55]; FFDNet: [0, 75]) instead "
                         "of one", group="noise")
    model: str = option("dncnn", choice("dncnn", "ffdnet"),
                        "DnCNN (one sigma or blind) or FFDNet (told the sigma by a noise-level map; half resolution)")
    color: bool = option(False, help="RGB instead of gray")
    residual: bool = option(True, help="learn the clean image directly instead of the noise (ablation)",
                            cli="--no-residual")
    depth: int | None = option(None, integer(2, 200),
                               "layers (none: 17 for DnCNN, 15 for FFDNet; with init, a larger depth deepens it)")
    width: int | None = option(None, integer(1, 1024), "channels (none: 64, or those of init)")
    synthetic: float = option(0.0, number(0, 1), "share of procedural dead-leaves patches in the pool (0: photos only)")
    patch: int = option(40, integer(8, 1024), "side of the training patches")
    batch: int = option(16, integer(1, 4096), "patches per step")
    patches: int = option(8000, integer(1, 1_000_000), "size of the (augmented) patch pool")
    lr: float = option(1e-3, LEARNING_RATE, "Adam's learning rate")
    data: Path | None = option(None, filesystem_path, "a folder of your own training images (none: the bundled photos)")
    sampling: str = option("equal", choice("equal", "area"),
                           "patches per image: the same share for every image, or by pixel count")
    init: Path | None = option(None, filesystem_path, "start from these weights (fine-tuning; their depth and width)")
    warmup: int | None = option(None, integer(0, 10_000_000),
                                "steps of linear learning-rate warm-up (none: 500 with init, else 0)")


def build(config: dict) -> DnCNN | FFDNet:
    # export's input: one patch of the training size (the shipped weights predate these keys)
    config.setdefault("input_channels", config["channels"])
    config.setdefault("input_size", config.get("patch", 40))
    if config.get("model", "dncnn") == "ffdnet":
        return FFDNet(config["channels"], depth=config["depth"], width=config["width"],
                      batch_norm=config["batch_norm"], residual=config["residual"])
    return DnCNN(config["channels"], depth=config["depth"], width=config["width"], batch_norm=config["batch_norm"],
                 residual=config["residual"])


def receptive_radius(model: Any) -> int:
    """How far an output pixel sees: one pixel per 3x3 layer, two at FFDNet's half resolution."""
    return 2 * model.depth + 2 if isinstance(model, FFDNet) else model.depth


def shipped_weights(kind: str) -> Path:
    """Path of a pretrained model inside the package: 'sigma25' (DnCNN-S), 'blind' (FFDNet, the default for any
    other or unknown sigma), 'color' (the colour FFDNet, the default for RGB images at any sigma) or
    'dncnn_blind' (the earlier blind DnCNN-B)."""
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


def noise_model(config: dict) -> GaussianNoise:
    """The training noise: sigma fixed (DnCNN-S) or drawn per patch from the blind range (DnCNN-B)."""
    return GaussianNoise(config["sigma"] if config["sigma"] is not None else tuple(config["sigma_range"]))


# ----- applying a model ----------------------------------------------------------------------------
@no_grad()
def denoise_array(model: Any, noisy: Any, tile: int | None = None, sigma: float | None = None) -> Any:
    """Denoise (C, H, W) in tiles of `tile` pixels, each with a margin of the receptive radius, so the
    result equals the untiled one while memory stays bounded. FFDNet is told `sigma`."""
    if isinstance(model, FFDNet) and sigma is None:
        raise ValueError("FFDNet needs the noise level sigma")

    def run(part: Any) -> Any:
        batch = as_tensor(xp.ascontiguousarray(part[None], dtype=xp.float32))
        return (model(batch, sigma) if isinstance(model, FFDNet) else model(batch)).detach().numpy()[0]

    channels, height, width = noisy.shape
    if tile is None or (height <= tile and width <= tile):
        return run(noisy)
    margin = receptive_radius(model)
    out = xp.empty((channels, height, width), xp.float32)
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            t0, l0 = max(top - margin, 0), max(left - margin, 0)
            b1, r1 = min(top + tile + margin, height), min(left + tile + margin, width)
            result = run(noisy[:, t0:b1, l0:r1])
            h, w = min(tile, height - top), min(tile, width - left)
            out[:, top:top + h, left:left + w] = result[:, top - t0:top - t0 + h, left - l0:left - l0 + w]
    return out


def denoise_self_ensemble(model: Any, noisy: Any, tile: int | None = None, sigma: float | None = None) -> Any:
    """1/8 sum_k T_k^-1 R(T_k y) over the 8 flips and rotations T_k (geometric self-ensemble, Timofte et al.,
    "Seven ways to improve example-based single image super resolution", CVPR 2016): 8x the time."""
    total = xp.zeros(noisy.shape, xp.float32)
    for k in range(8):
        turned = xp.ascontiguousarray(dihedral(noisy, k))
        total += inverse_dihedral(denoise_array(model, turned, tile, sigma), k)
    return total / 8


def to_chw(image: Any) -> Any:
    return image[None] if image.ndim == 2 else image.transpose(2, 0, 1)


def from_chw(image: Any) -> Any:
    return image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)


def shipped_kind(sigma: float | None, color: bool = False) -> str:
    """Which shipped model serves an image: the colour FFDNet for RGB, else the sigma-25 DnCNN-S at sigma 25
    and the gray FFDNet at any other or unknown sigma."""
    return "color" if color else "sigma25" if sigma == 25 else "blind"


def load(weights: str | Path | None = None, sigma: float | None = None, color: bool = False) -> DnCNN | FFDNet:
    """A trained denoiser: the weights file, or when None the shipped model for `sigma` and colour
    (shipped_kind)."""
    check_sigma(sigma)
    path = weights_or_shipped(weights, SHIPPED[shipped_kind(sigma, color)])
    return load_model(path, NAME, build)[0]


def model_channels(model: Any) -> int:
    """1 for a gray denoiser, 3 for a colour one."""
    if hasattr(model, "task_config"):
        return model.task_config["channels"]
    return model.layers[0].in_channels // (5 if isinstance(model, FFDNet) else 1)  # FFDNet: 4 subimages + the map


def apply(model: Any, images: Any, *, sigma: float | None = None, tile: int | None = DEFAULT_TILE,
          self_ensemble: bool = False) -> Any:
    """x_hat for each noisy image (H, W) or (H, W, 3) in [0, 1] (one array or a list of them): y - R(y) for
    DnCNN, FFDNet(y, sigma) for FFDNet, with sigma estimated from each image (estimate_sigma) when None.
    A gray model denoises R, G and B of a colour image one by one. Runs the model fused (nnci.inference.fuse)."""
    single = not isinstance(images, (list, tuple))
    fused = fuse(model)
    channels = model_channels(model)
    denoise = denoise_self_ensemble if self_ensemble else denoise_array
    results = []
    for image in ([images] if single else images):
        image = xp.asarray(image, dtype=xp.float32)
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
            raise UserError(f"expected a gray (H, W) or RGB (H, W, 3) image, got an array of shape {image.shape}")
        level = sigma
        if isinstance(model, FFDNet) and level is None:
            level = estimate_sigma(image)
        if channels == 1 and image.ndim == 3:
            results.append(xp.stack([denoise(fused, image[None, :, :, c], tile, level)[0] for c in range(3)], axis=2))
        elif channels == 3 and image.ndim == 2:
            raise UserError("this model denoises RGB images; the image is gray")
        else:
            results.append(from_chw(denoise(fused, to_chw(image), tile, level)))
    return results[0] if single else results


def check_sigma(sigma: float | None) -> None:
    if sigma is not None and not 0 <= sigma <= MAX_SIGMA:
        raise UserError(f"sigma {sigma:g} is outside the range the models are trained for (0..{MAX_SIGMA:g}, "
                        "on the 0..255 scale)")


def check_trained_sigma(model: Any, sigma: float) -> None:
    """A DnCNN-S serves only the sigma it was trained for, a blind model the range it was trained on."""
    config = getattr(model, "task_config", {})
    trained, trained_range = config.get("sigma"), config.get("sigma_range")
    if trained is not None and sigma != trained:
        raise UserError(f"the model was trained for sigma {trained:g}, not {sigma:g}; use a blind model or "
                        "weights trained for that sigma")
    if trained_range is not None and not trained_range[0] <= sigma <= trained_range[1]:
        raise UserError(f"sigma {sigma:g} is outside the range [{trained_range[0]:g}, {trained_range[1]:g}] the "
                        "model was trained on")


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
    if trained.get("model", "dncnn") != config["model"]:
        raise UserError(f"--init {weights}: a {trained.get('model', 'dncnn')} model, but this run trains {config['model']}")
    if depth is not None and depth != trained["depth"]:
        if depth < trained["depth"] or not trained["batch_norm"] or config["model"] != "dncnn":
            raise UserError(f"--init {weights}: --depth {depth} can only deepen a batch-norm model of depth "
                            f"{trained['depth']}, not shrink it")
        rng = xp.random.default_rng(seed + 3)
        clean = pool[rng.choice(len(pool), size=min(len(pool), 256), replace=False)]
        sample = noise_model(config)(as_tensor(clean))
        model = deepen(model, depth, sample)
        print(f"deepened DnCNN-{trained['depth']} to DnCNN-{depth} with identity blocks (the same function in eval)")
        trained = {**trained, "depth": depth}
    model.train()
    architecture = {key: trained[key] for key in ("depth", "width", "batch_norm")}
    return model, {**config, **architecture, "init": str(weights)}


def train(config: Config | None = None, out: str | Path | None = None, *, resume: bool = False, force: bool = False,
          progress: bool = True, **overrides: Any) -> DnCNN:
    """Train DnCNN-S (one sigma) or DnCNN-B (blind) by min E||x - (y - R(y))||^2 over noisy patches y = x + n;
    files go to `out` (none when None). Returns the trained model in eval mode."""
    args = open_run(NAME, Config, config, overrides, out, resume, force)
    out = output_of_this_rank(out)
    manual_seed(args.seed)
    ffdnet = args.model == "ffdnet"
    blind_range = list(FFDNET_BLIND_RANGE if ffdnet else DNCNN_BLIND_RANGE)
    config = {"model": args.model, "channels": 3 if args.color else 1, "depth": args.depth or (15 if ffdnet else 17),
              "width": args.width or 64, "batch_norm": True,
              "residual": args.residual, "sigma": None if args.blind else float(args.sigma),
              "sigma_range": blind_range if args.blind else None, "patch": args.patch, "synthetic": args.synthetic,
              "input_channels": 3 if args.color else 1, "input_size": args.patch,
              "data": str(args.data) if args.data else "bundled photos (train split)", "sampling": args.sampling}
    images = training_images(args.data, args.color)
    smallest = min(min(image.shape[:2]) for image in images)
    if smallest < args.patch:
        raise UserError(f"an image of the training data is {smallest} pixels on its short side, smaller than "
                        f"--patch {args.patch}")
    if not args.blind and args.sigma > blind_range[1]:
        raise UserError(f"--sigma {args.sigma:g}: {args.model} is trained up to sigma {blind_range[1]:g}")
    channels = 3 if args.color else 1
    check_memory(args.patches * channels * args.patch ** 2, f"a pool of {args.patches} patches of {args.patch}x{args.patch}",
                 "lower --patches or --patch")
    rng = xp.random.default_rng(args.seed)
    synthetic = int(round(args.patches * args.synthetic))
    pool = random_patches(images, args.patch, args.patches - synthetic, rng, share=args.sampling)
    if synthetic:
        leaves = dead_leaves_patches(synthetic, args.patch, xp.random.default_rng(args.seed + 4), color=args.color)
        pool = xp.concatenate([pool, leaves]) if len(pool) else leaves
    if args.init is not None:
        model, config = start_from(args.init, config, args.depth, args.width, pool, args.seed)
    else:
        model = build(config)
    val_size = min(64, smallest)
    val_clean = random_patches(images, val_size, 16, xp.random.default_rng(args.seed + 1), augment=False,
                               share=args.sampling)
    val_sigma = 25.0 if args.blind else float(args.sigma)
    val_noisy = GaussianNoise(val_sigma)(val_clean, xp.random.default_rng(args.seed + 2))
    optimizer = Adam(model.parameters(), lr=args.lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.lr / 20)
    loader = DataLoader(TensorDataset(pool), batch_size=args.batch, shuffle=True, drop_last=True, generator=Generator().manual_seed(args.seed))

    noise = noise_model(config)

    def loss_fn(model, batch):
        (clean,) = batch
        noisy, sigmas = noise.sample(clean)
        return F.mse_loss(model(noisy, sigmas) if ffdnet else model(noisy), clean)

    def evaluate(model):
        return {f"psnr_sigma{val_sigma:g}": _batch_psnr(model, val_noisy, val_clean, val_sigma)}

    mode = "blind" if args.blind else f"sigma {args.sigma:g}"
    name = f"{'FFDNet' if ffdnet else 'DnCNN'}-{config['depth']}"
    print(f"training {name} (width {config['width']}, {model.num_parameters():,} parameters, {mode}, "
          f"{'residual' if config['residual'] else 'direct'}) on {args.patches} patches of {args.patch}x{args.patch}")
    warmup = args.warmup if args.warmup is not None else (500 if args.init is not None else 0)
    fit(args, out, NAME, config, model, optimizer, loss_fn, loader, resume=resume, progress=progress,
        evaluate=evaluate, scheduler=scheduler, title=f"denoise: {name}, {mode}", warmup_steps=warmup)
    return model


@no_grad()
def _batch_psnr(model: Any, noisy: Any, clean: Any, sigma: float) -> float:
    batch = as_tensor(noisy)
    estimate = xp.clip((model(batch, sigma) if isinstance(model, FFDNet) else model(batch)).detach().numpy(), 0, 1)
    return float(xp.mean([psnr(e, c) for e, c in zip(estimate, clean)]))


# ----- eval ----------------------------------------------------------------------------------------
def gaussian_filter_best(noisy: Any, clean: Any) -> tuple[Any, float]:
    """Baseline: a Gaussian blur with the width that maximises PSNR on this very image (an oracle choice)."""
    from skimage.filters import gaussian
    best = (noisy, psnr(xp.clip(noisy, 0, 1), clean), 0.0)
    for width in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0):
        smooth = gaussian(noisy, sigma=width, mode="reflect", preserve_range=True,
                          channel_axis=-1 if noisy.ndim == 3 else None)
        score = psnr(xp.clip(smooth, 0, 1), clean)
        if score > best[1]:
            best = (smooth, score, width)
    return best[0], best[2]


def bm3d_denoise(noisy: Any, sigma: float) -> Any | None:
    """BM3D (Dabov et al., 2007) on a gray image, CBM3D (its colour version, Dabov et al., ICIP 2007) on an RGB
    one, through the optional `bm3d` package; None when it is not installed."""
    try:
        import bm3d
    except ImportError:
        return None
    if noisy.ndim == 3:
        return bm3d.bm3d_rgb(noisy, sigma_psd=sigma / 255.0)
    return bm3d.bm3d(noisy, sigma_psd=sigma / 255.0)


def evaluate(model: DnCNN | FFDNet | None = None, sigmas: Sequence[float] = (15, 25, 50), *, self_ensemble: bool = False,
             out: str | Path | None = None, color: bool = False) -> dict:
    """Mean PSNR/SSIM on the held-out photos at each sigma, against the noisy input, the best Gaussian filter
    and BM3D (CBM3D for a colour model, on the photos in colour): {"model": {...}, "baselines": {...}, ...}.
    model=None takes the shipped model for each sigma (color=True: the shipped colour model); FFDNet is told
    each sigma. The comparison picture is written into `out` when given."""
    sigmas = numbers(0, MAX_SIGMA)(sigmas)
    if model is None and color:
        model = load(None, color=True)
    color = model is not None and model_channels(model) == 3
    photos = load_photos("test", gray=not color)
    reference = "cbm3d" if color else "bm3d"
    rows: dict[str, dict] = {"nnci": {}, "noisy": {}, "gaussian filter (best width)": {}, reference: {}}
    have_bm3d = True
    figure_inputs = None
    per_photo: dict[str, dict] = {}
    for sigma in sigmas:
        chosen = model if model is not None else load(None, sigma)
        check_trained_sigma(chosen, sigma)
        fused = fuse(chosen)
        scores: dict[str, list] = {name: [] for name in rows}
        for index, (name, clean) in enumerate(photos.items()):
            rng = xp.random.default_rng(1000 * index + int(sigma))  # the same noise for every method
            noisy = GaussianNoise(sigma)(clean, rng)
            denoise = denoise_self_ensemble if self_ensemble else denoise_array
            results = {"noisy": noisy,
                       "nnci": from_chw(denoise(fused, to_chw(noisy), 256, sigma)),
                       "gaussian filter (best width)": gaussian_filter_best(noisy, clean)[0]}
            bm3d_result = bm3d_denoise(noisy, sigma) if have_bm3d else None
            have_bm3d = bm3d_result is not None
            if have_bm3d:
                results[reference] = bm3d_result
            for method, estimate in results.items():
                estimate = xp.clip(estimate, 0, 1)
                scores[method].append((psnr(estimate, clean), ssim(estimate, clean)))
                per_photo.setdefault(f"sigma{sigma:g}", {}).setdefault(name, {})[method] = round(scores[method][-1][0], 3)
            if figure_inputs is None and sigma == (25.0 if 25.0 in sigmas else sigmas[0]):
                figure_inputs = (name, sigma, clean, {k: xp.clip(v, 0, 1) for k, v in results.items()})
        for method, values in scores.items():
            if values:
                rows[method][f"psnr_sigma{sigma:g}"] = float(xp.mean([v[0] for v in values]))
                rows[method][f"ssim_sigma{sigma:g}"] = float(xp.mean([v[1] for v in values]))
    baselines = {name: values for name, values in rows.items() if name != "nnci" and values}
    result: dict[str, Any] = {"model": rows["nnci"], "baselines": baselines,
                              "test_photos": ", ".join(photos), "psnr_per_photo": per_photo}
    if not have_bm3d:
        result[reference] = (f"absent: install the optional extra (pip install 'nnci[bm3d]') to compare with "
                             f"{reference.upper()}")
    if out is not None and figure_inputs is not None:
        result["picture"] = str(write_comparison(picture_dir(out) / "denoise_comparison.png", *figure_inputs))
    return result


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


# ----- the command line ------------------------------------------------------------------------------
def evaluate_command(args: argparse.Namespace) -> int:
    model = load(args.weights) if args.weights is not None else None
    if model is None and args.blind:
        model = load(None)
    result = evaluate(model, args.sigma, self_ensemble=args.self_ensemble, out=picture_dir(args.out),
                      color=args.color)
    report(result, args.json, "denoise: mean PSNR (dB) and SSIM on the held-out photos")
    return 0


def run_command(args: argparse.Namespace) -> int:
    sources = input_images(args.inputs)
    targets = output_paths(sources, args.out, "_denoised", args.force)
    sigma = None if args.blind else args.sigma
    models: dict = {}  # loaded on first use: the shipped gray model, or the colour one for RGB images

    def model_for(color: bool) -> tuple[Any, str]:
        kind = shipped_kind(sigma, color and args.weights is None)
        if kind not in models:
            models[kind] = load(args.weights, sigma, color=kind == "color")
            if args.sigma is not None:
                check_trained_sigma(models[kind], args.sigma)
        return models[kind], Path(args.weights).name if args.weights is not None else SHIPPED[kind]

    model_for(False)  # a bad --weights or --sigma is reported before any image is read
    for source, target in share_of_work(list(zip(sources, targets)), args.quiet, "denoising"):
        image, info = read_image(source)
        model, name = model_for(info["channels"] == 3)
        start = time.perf_counter()
        level = args.sigma
        if isinstance(model, FFDNet) and level is None:
            level = estimate_sigma(image)
            print(f"{source}: estimated noise sigma {level:.1f} (median absolute deviation of the finest wavelet band)")
            check_trained_sigma(model, min(level, model.task_config["sigma_range"][1]))
        result = apply(model, image, sigma=level, tile=args.tile, self_ensemble=args.self_ensemble)
        seconds = time.perf_counter() - start
        write_image(target, result, bits=info["bits"], alpha=info["alpha"])
        gray_on_rgb = ", the gray model on each of R, G, B" if info["channels"] == 3 and model_channels(model) == 1 else ""
        print(f"{source} -> {target} ({image.shape[1]}x{image.shape[0]}, {info['bits']}-bit, {seconds:.2f} s, "
              f"weights {name}{gray_on_rgb})")
    return 0


def demo(sigma: float = 25.0, seed: int = 0, out: str | Path = "denoise-demo.png") -> dict:
    """Noise the held-out photo camera with sigma, denoise it with the shipped model and write the comparison
    picture to `out`: {"noisy_psnr", "denoised_psnr", "seconds", "weights", "picture"}."""
    from ..data import load_photo
    sigma = number(0, MAX_SIGMA)(sigma)
    clean = load_photo("camera")
    noisy = GaussianNoise(sigma)(clean, xp.random.default_rng(seed))
    model = load(None, sigma)
    check_trained_sigma(model, sigma)
    start = time.perf_counter()
    result = xp.clip(apply(model, noisy, sigma=sigma, tile=None), 0, 1)
    seconds = time.perf_counter() - start
    picture = write_comparison(Path(out), "camera (held-out test photo)", sigma, clean,
                               {"noisy": xp.clip(noisy, 0, 1), "nnci": result})
    return {"noisy_psnr": psnr(xp.clip(noisy, 0, 1), clean), "denoised_psnr": psnr(result, clean), "seconds": seconds,
            "weights": SHIPPED[shipped_kind(sigma)], "picture": str(picture)}


def demo_command(args: argparse.Namespace) -> int:
    shown = demo(args.sigma, args.seed, args.output)
    print(f"camera, 512x512, Gaussian noise sigma {args.sigma:g}: PSNR {shown['noisy_psnr']:.2f} dB noisy -> "
          f"{shown['denoised_psnr']:.2f} dB denoised by {shown['weights']} in {shown['seconds']:.2f} s")
    print(f"picture: {Path(shown['picture']).resolve()}")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    add_train_command(actions, sys.modules[__name__], "train DnCNN-S (--sigma) or DnCNN-B (--blind)")

    parser = actions.add_parser("eval", help="PSNR/SSIM on the held-out photos against noisy, Gaussian filter, BM3D")
    add_eval_arguments(parser, shipped="the shipped models")
    parser.add_argument("--sigma", type=numbers(0, MAX_SIGMA), default=[15.0, 25.0, 50.0],
                        help=f"comma-separated noise levels in [0, {MAX_SIGMA:g}] (default 15,25,50)")
    parser.add_argument("--blind", action="store_true", help="use the blind model at every sigma")
    parser.add_argument("--color", action="store_true",
                        help="the shipped colour model on the photos in colour, against CBM3D")
    parser.add_argument("--self-ensemble", action="store_true",
                        help="average the model over the 8 flips/rotations (8x the time, ~0.15 dB better)")
    parser.set_defaults(run=evaluate_command)

    parser = add_run_command(actions, "denoise your own images (PNG, JPEG, TIFF; 8 or 16 bit; gray, RGB, with alpha)",
                             "the denoised image(s), with the input's bit depth and alpha")
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("--sigma", type=number(0, MAX_SIGMA), help=f"the noise level, if known (0..{MAX_SIGMA:g})")
    noise.add_argument("--blind", action="store_true", help="unknown noise level (the default)")
    parser.add_argument("--tile", type=integer(16, 16384), default=DEFAULT_TILE,
                        help=f"tile size that bounds memory (default {DEFAULT_TILE})")
    parser.add_argument("--self-ensemble", action="store_true",
                        help="average the model over the 8 flips/rotations (8x the time, ~0.15 dB better)")
    parser.set_defaults(run=run_command)

    parser = actions.add_parser("demo", help="denoise a noisy bundled photo with the shipped weights")
    parser.add_argument("--sigma", type=number(0, MAX_SIGMA), default=25.0)
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("-o", "--output", default="denoise-demo.png")
    parser.set_defaults(run=demo_command)
