"""nnci isp: a learned image signal processor for low light ("Learning to See in the Dark", Chen et al. 2018).

Training data is simulated: bundled sRGB photos are unprocessed into 14-bit RGGB raw (Brooks et al. 2019),
exposed 1/ratio as long with shot and read noise, then packed and amplified by the ratio as SID does.
The network maps that packed raw straight to sRGB (L1 loss); the baseline is the classical pipeline
(bilinear demosaicing, white balance, colour matrix, gamma, tone curve) on the same raw.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..backend import Generator, generator, manual_seed, xp
from ..data import DataLoader, TensorDataset, load_photos, random_patches
from ..metrics import psnr, ssim
from ..models import SIDNet
from ..nn import functional as F
from ..optics import RawCamera, capture, classical_isp, normalise, pack, unprocess
from ..optim import Adam
from ..optim.lr_scheduler import CosineAnnealingLR
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..tensor import Tensor
from .common import (LEARNING_RATE, SEED, add_eval_arguments, add_train_arguments, integer, load_model, number,
                     picture_dir, prepare_out_dir, pyplot, report, save_figure, train_and_save, UserError,
                     weights_or_shipped)

NAME = "isp"
HELP = "learned camera pipeline for low light (SID U-Net on simulated raw) against the classical ISP"
EVAL_RATIOS = (100, 250, 300)
RAW_SUFFIXES = (".dng", ".arw", ".nef", ".cr2", ".cr3", ".raf", ".orf", ".rw2", ".pef", ".srw")
CAMERA = RawCamera()
SHIPPED = "isp_sid.safetensors"


def build(config: dict) -> SIDNet:
    return SIDNet(depth=config["depth"], base_width=config["width"])


def low_light(raw: xp.ndarray, ratios: xp.ndarray, rng: xp.random.Generator) -> xp.ndarray:
    """Noisy 1/ratio exposures of raw mosaics (N, H, W), amplified back: (N, 1, H, W) in [0, 1]."""
    ratios = xp.asarray(ratios, xp.float64).reshape(-1, 1, 1)
    return normalise(capture(raw, ratios, rng, CAMERA), ratios, CAMERA)[:, None]


@no_grad()
def apply(model: SIDNet, linear_mosaic: xp.ndarray, batch: int = 16) -> xp.ndarray:
    """(N, 1, H, W) normalised raw -> (N, 3, H, W) sRGB in [0, 1]."""
    packed = pack(linear_mosaic[:, 0])
    return xp.concatenate([model(as_tensor(packed[i:i + batch])).clamp(0, 1).detach().numpy()
                           for i in range(0, len(packed), batch)])


@no_grad()
def apply_classical(linear_mosaic: xp.ndarray) -> xp.ndarray:
    return classical_isp(as_tensor(linear_mosaic), CAMERA).clamp(0, 1).detach().numpy()


def crop_to_multiple(image: xp.ndarray, multiple: int) -> xp.ndarray:
    """The top-left part of an (H, W, ...) image whose sides are multiples of `multiple` (the U-Net's need)."""
    return image[:image.shape[0] // multiple * multiple, :image.shape[1] // multiple * multiple]


def held_out_scenes(multiple: int) -> dict[str, xp.ndarray]:
    """The held-out photos as sRGB (H, W, 3), cropped to a multiple of `multiple` pixels."""
    return {name: crop_to_multiple(image, multiple) for name, image in load_photos("test", gray=False).items()}


def train(args: argparse.Namespace) -> int:
    out = prepare_out_dir(args)
    manual_seed(args.seed)
    config = {"depth": args.depth, "width": args.width, "patch": args.patch, "ratio_range": [50.0, 350.0],
              "data": "bundled photos (train split), unprocessed to raw"}
    if args.patch % (2 ** args.depth):
        raise UserError(f"--patch {args.patch} must be a multiple of {2 ** args.depth} for a depth-{args.depth} "
                        "U-Net on half-resolution packed raw")
    rng = xp.random.default_rng(args.seed)
    srgb = random_patches(list(load_photos("train", gray=False).values()), args.patch, args.count, rng)
    raw = unprocess(srgb.transpose(0, 2, 3, 1))
    model = build(config)
    optimizer = Adam(model.parameters(), lr=args.lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.lr / 20)
    loader = DataLoader(TensorDataset(srgb, raw), batch_size=args.batch, shuffle=True, generator=Generator().manual_seed(args.seed))
    low, high = config["ratio_range"]

    def loss_fn(model, batch):
        target, clean_raw = batch
        ratios = xp.exp(generator().uniform(xp.log(low), xp.log(high), len(target)))
        packed = pack(low_light(clean_raw.detach().numpy(), ratios, generator())[:, 0])
        return F.l1_loss(model(as_tensor(packed)), target)

    # validation: other patches of the training photos (the test photos stay unseen), one fixed noise draw
    val_srgb = random_patches(list(load_photos("train", gray=False).values()), args.patch, 64,
                              xp.random.default_rng(args.seed + 1))
    val_mosaics = low_light(unprocess(val_srgb.transpose(0, 2, 3, 1)), xp.full(64, 100.0), xp.random.default_rng(1))

    def evaluate(model):
        return {"psnr_ratio100": psnr(apply(model, val_mosaics), val_srgb)}

    print(f"training the SID U-Net ({model.num_parameters():,} parameters) on {args.count} simulated low-light raw "
          f"patches of {args.patch}x{args.patch}, ratios {low:g}-{high:g}")
    train_and_save(args, out, NAME, config, model, optimizer, loss_fn, loader, evaluate=evaluate, scheduler=scheduler,
                   title="isp: SID U-Net, simulated raw")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    args.weights = weights_or_shipped(args.weights, SHIPPED)
    model, config = load_model(args.weights, NAME, build)
    scenes = held_out_scenes(2 ** (config["depth"] + 1))
    learned: dict = {}
    classical: dict = {}
    shown = {}
    for ratio in EVAL_RATIOS:
        scores = {"learned": [], "classical": []}
        for index, (name, srgb) in enumerate(scenes.items()):
            rng = xp.random.default_rng(1000 * ratio + index)  # the same noisy raw for both pipelines
            mosaic_image = low_light(unprocess(srgb)[None], xp.array([ratio]), rng)
            target = srgb.transpose(2, 0, 1)
            outputs = {"learned": apply(model, mosaic_image)[0], "classical": apply_classical(mosaic_image)[0]}
            for kind, image in outputs.items():
                scores[kind].append((psnr(image, target), ssim(image.transpose(1, 2, 0), srgb)))
            if ratio == EVAL_RATIOS[0]:
                shown[name] = (outputs["classical"], outputs["learned"], target)
        for kind, into in (("learned", learned), ("classical", classical)):
            values = xp.array(scores[kind])
            into[f"psnr_x{ratio}"], into[f"ssim_x{ratio}"] = float(values[:, 0].mean()), float(values[:, 1].mean())
    result = {"model": learned, "baselines": {"classical pipeline": classical},
              "data": f"held-out photos {', '.join(scenes)}, simulated {CAMERA.full_well:g} e- full well, "
                      f"{CAMERA.read_noise:g} e- read noise"}
    result["picture"] = str(write_grid(picture_dir(args) / "isp.png", shown, EVAL_RATIOS[0]))
    report(result, args.json, "isp: held-out photos, PSNR (dB) and SSIM by amplification ratio")
    return 0


def write_grid(path: Path, shown: dict, ratio: int) -> Path:
    plt = pyplot()
    fig, axes = plt.subplots(len(shown), 3, figsize=(9, 3 * len(shown)), squeeze=False)
    for row, (name, images) in enumerate(shown.items()):
        target = images[2]
        for col, (title, image) in enumerate(zip(("classical pipeline", "learned (nnci)", "reference"), images)):
            axes[row, col].imshow(xp.clip(image.transpose(1, 2, 0), 0, 1))
            label = title if col == 2 else f"{title}  {psnr(image, target):.2f} dB"
            axes[row, col].set_title(f"{name}: {label}" if col == 0 else label, fontsize=8)
            axes[row, col].axis("off")
    fig.suptitle(f"low light, exposure 1/{ratio}: raw -> sRGB", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    return path


def read_camera_raw(path: Path, ratio: float, multiple: int) -> xp.ndarray:
    """A camera raw file through rawpy (optional extra 'raw'): (1, 1, H, W) RGGB mosaic, normalised and amplified."""
    try:
        import rawpy
    except ImportError:
        raise UserError(f"{path}: reading camera raw files needs rawpy; install it with pip install 'nnci[raw]' "
                        "(or pass an ordinary image to simulate a low-light raw capture)") from None
    try:
        with rawpy.imread(str(path)) as raw_file:
            mosaic_image = raw_file.raw_image_visible.astype(xp.float32)
            pattern, colours = raw_file.raw_pattern, raw_file.color_desc.decode()
            black = float(xp.mean(raw_file.black_level_per_channel))
            white = float(raw_file.white_level)
    except (rawpy.LibRawError, OSError) as error:
        raise UserError(f"{path}: not a readable camera raw file ({error})") from None
    if pattern is None or pattern.shape != (2, 2):
        raise UserError(f"{path}: not a 2x2 Bayer sensor; only Bayer raw files are supported")
    red = [(r, c) for r in range(2) for c in range(2) if colours[pattern[r, c]] == "R"]
    top, left = red[0]  # shift the mosaic so that it starts on red: RGGB, as the network was trained
    mosaic_image = mosaic_image[top:, left:]
    mosaic_image = crop_to_multiple(mosaic_image, multiple)
    camera = RawCamera(black_level=black, white_level=white)
    return normalise(mosaic_image, ratio, camera)[None, None]


def run(args: argparse.Namespace) -> int:
    from ..io import read_image, write_image
    model, config = load_model(weights_or_shipped(args.weights, SHIPPED), NAME, build)
    source = Path(args.input)
    if args.output.exists() and not args.force:
        raise UserError(f"{args.output} already exists; use --force to overwrite it")
    if not args.output.parent.is_dir():
        raise UserError(f"output directory {args.output.parent} does not exist")
    multiple = 2 ** (config["depth"] + 1)
    if source.suffix.lower() in RAW_SUFFIXES:
        mosaic_image = read_camera_raw(source, args.ratio, multiple)
        write_image(args.output, apply(model, mosaic_image)[0].transpose(1, 2, 0))
        print(f"{source}: raw x{args.ratio:g} -> {args.output}")
        return 0
    srgb, info = read_image(source)
    if srgb.ndim == 2:
        srgb = xp.repeat(srgb[..., None], 3, axis=2)
    srgb = crop_to_multiple(srgb, multiple)
    if min(srgb.shape[:2]) < multiple:
        raise UserError(f"{source}: too small ({info}), at least {multiple}x{multiple} pixels are needed")
    mosaic_image = low_light(unprocess(srgb)[None], xp.array([args.ratio]), xp.random.default_rng(args.seed))
    learned, classical = apply(model, mosaic_image)[0], apply_classical(mosaic_image)[0]
    write_image(args.output, learned.transpose(1, 2, 0))
    baseline_path = args.output.with_name(f"{args.output.stem}_classical{args.output.suffix}")
    write_image(baseline_path, classical.transpose(1, 2, 0))
    target = srgb.transpose(2, 0, 1)
    print(f"{source}: simulated a 1/{args.ratio:g} exposure; learned ISP {psnr(learned, target):.2f} dB -> "
          f"{args.output}, classical pipeline {psnr(classical, target):.2f} dB -> {baseline_path}")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser("train", help="train the SID U-Net on simulated low-light raw")
    add_train_arguments(parser, epochs=30, minutes=20)
    parser.add_argument("--depth", type=integer(1, 8), default=3, help="U-Net levels")
    parser.add_argument("--width", type=integer(1, 1024), default=32, help="U-Net base width")
    parser.add_argument("--patch", type=integer(8, 1024), default=64, help="training patch size in sensor pixels")
    parser.add_argument("--count", type=integer(1, 1_000_000), default=2048, help="training patches")
    parser.add_argument("--batch", type=integer(1, 4096), default=16)
    parser.add_argument("--lr", type=LEARNING_RATE, default=1e-3)
    parser.set_defaults(run=train)
    parser = actions.add_parser("eval", help="PSNR/SSIM at ratios 100, 250, 300 against the classical pipeline")
    add_eval_arguments(parser, shipped="the shipped model")
    parser.set_defaults(run=evaluate)
    parser = actions.add_parser("run", help="process a camera raw file (rawpy) or simulate one from an image")
    parser.add_argument("input", type=Path, help="a Bayer raw file (.dng, .arw, ...) or an ordinary image")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the sRGB result (PNG, JPEG, TIFF)")
    parser.add_argument("--weights", type=Path, help="a model from 'nnci isp train' (default: the shipped one)")
    parser.add_argument("--ratio", type=number(1, 1e4), default=100.0,
                        help="amplification ratio (exposure shortened by it)")
    parser.add_argument("--seed", type=SEED, default=0, help="noise seed of the simulated capture")
    parser.add_argument("--force", action="store_true", help="overwrite the output")
    parser.set_defaults(run=run)
