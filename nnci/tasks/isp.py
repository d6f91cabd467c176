"""nnci isp: a learned image signal processor for low light ("Learning to See in the Dark", Chen et al. 2018).

Training data is simulated: bundled sRGB photos are unprocessed into 14-bit RGGB raw (Brooks et al. 2019),
exposed 1/ratio as long with shot and read noise, then packed and amplified by the ratio as SID does.
The network maps that packed raw straight to sRGB (L1 loss); the baseline is the classical pipeline
(bilinear demosaicing, white balance, colour matrix, gamma, tone curve) on the same raw.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from ..backend import Generator, generator, manual_seed, xp
from ..data import DataLoader, TensorDataset, load_photos, random_patches
from ..metrics import psnr, ssim
from ..models import SIDNet
from ..nn import functional as F
from ..physics import RawCamera, capture, classical_isp, normalise, pack, unprocess
from ..optim import Adam
from ..optim.lr_scheduler import CosineAnnealingLR
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..plotting import pyplot, save_figure
from .common import (add_eval_arguments, add_run_command, add_train_command, check_memory, fit, input_images,
                     load_model, open_run, output_of_this_rank, output_paths, picture_dir, report, share_of_work,
                     weights_or_shipped)
from .options import (LEARNING_RATE, SEED, Settings, UserError, epochs_option, integer, minutes_option, number, option)

NAME = "isp"
HELP = "learned camera pipeline for low light (SID U-Net on simulated raw) against the classical ISP"
EVAL_RATIOS = (100, 250, 300)
RAW_SUFFIXES = (".dng", ".arw", ".nef", ".cr2", ".cr3", ".raf", ".orf", ".rw2", ".pef", ".srw")
CAMERA = RawCamera()
SHIPPED = "isp_sid.safetensors"
RATIO = number(1, 1e4)


@dataclasses.dataclass
class Config(Settings):
    """Training options of `nnci isp train` (and of isp.train in Python)."""
    epochs: int = epochs_option(30)
    minutes: float = minutes_option(20)
    depth: int = option(3, integer(1, 8), "U-Net levels")
    width: int = option(32, integer(1, 1024), "U-Net base width")
    patch: int = option(64, integer(8, 1024), "training patch size in sensor pixels (a multiple of 2^depth)")
    count: int = option(2048, integer(1, 1_000_000), "training patches")
    batch: int = option(16, integer(1, 4096), "patches per step")
    lr: float = option(1e-3, LEARNING_RATE, "Adam's learning rate")


def build(config: dict) -> SIDNet:
    # export's input: the packed raw, 4 planes at half the patch (weights from before these keys: patch 64)
    config.setdefault("input_channels", 4)
    config.setdefault("input_size", config.get("patch", 64) // 2)
    return SIDNet(depth=config["depth"], base_width=config["width"])


def low_light(raw: xp.ndarray, ratios: xp.ndarray, rng: xp.random.Generator) -> xp.ndarray:
    """Noisy 1/ratio exposures of raw mosaics (N, H, W), amplified back: (N, 1, H, W) in [0, 1]."""
    ratios = xp.asarray(ratios, xp.float64).reshape(-1, 1, 1)
    return normalise(capture(raw, ratios, rng, CAMERA), ratios, CAMERA)[:, None]


@no_grad()
def process(model: SIDNet, linear_mosaic: xp.ndarray, batch: int = 16) -> xp.ndarray:
    """(N, 1, H, W) normalised, amplified raw (sides multiples of 2^depth) -> (N, 3, H, W) sRGB in [0, 1]."""
    packed = pack(linear_mosaic[:, 0])
    return xp.concatenate([model(as_tensor(packed[i:i + batch])).clamp(0, 1).detach().numpy()
                           for i in range(0, len(packed), batch)])


@no_grad()
def apply_classical(linear_mosaic: xp.ndarray) -> xp.ndarray:
    """(N, 1, H, W) normalised, amplified raw (even sides) -> (N, 3, H, W) sRGB by the classical pipeline."""
    return classical_isp(as_tensor(linear_mosaic), CAMERA).clamp(0, 1).detach().numpy()


def _multiple(model: SIDNet) -> int:
    """What the sides of a mosaic must be multiples of: 2 for the packing, 2^(depth-1) for the U-Net's pools."""
    return 2 ** model.unet.depth


def _pad_to(image: xp.ndarray, multiple: int) -> xp.ndarray:
    """(H, W, ...) reflect-padded at the bottom and right to sides that are multiples of `multiple` (reflection
    keeps a Bayer mosaic's pattern: the mirrored pixel is two rows or columns away, the same colour)."""
    pads = [(0, -size % multiple) for size in image.shape[:2]] + [(0, 0)] * (image.ndim - 2)
    return xp.pad(image, pads, mode="reflect") if any(after for _, after in pads) else image


def _sid(model: SIDNet, mosaic_image: xp.ndarray) -> xp.ndarray:
    """A normalised, amplified RGGB mosaic (H, W) -> sRGB (H, W, 3): padded for the network, cropped back."""
    height, width = mosaic_image.shape
    if min(height, width) < 2:
        raise UserError(f"a raw mosaic of {width}x{height} is too small: at least 2x2 (one RGGB cell) is needed")
    check_memory(height * width * 2 * getattr(model, "task_config", {}).get("width", 32),
                 f"processing a {width}x{height} raw", "process a smaller image")
    padded = _pad_to(mosaic_image, _multiple(model))
    return process(model, padded[None, None], batch=1)[0][:, :height, :width].transpose(1, 2, 0)


def simulate(srgb: xp.ndarray, ratio: float, rng: xp.random.Generator) -> xp.ndarray:
    """sRGB (H, W, 3) -> the normalised, amplified raw mosaic (H', W') of a simulated 1/ratio exposure, its sides
    padded (reflect) to even ones."""
    return low_light(unprocess(_pad_to(srgb, 2))[None], xp.array([ratio]), rng)[0, 0]


def apply(model: SIDNet, inputs: Any, ratio: float = 100.0, *, seed: int = 0) -> Any:
    """sRGB (H, W, 3) in [0, 1], the size of its input, for each input (one array or a list of them):
    a 2-D array (H, W) is a raw RGGB mosaic (red at the top left), linear in [0, 1] (black level removed,
    divided by white - black) at its short exposure, amplified here by `ratio` and clipped at 1, as SID does;
    an (H, W, 3) sRGB image is first made into one: unprocessed and captured at 1/ratio of the exposure with
    shot and read noise (seeded by `seed`), the simulation the network was trained on."""
    ratio, seed = _checked(RATIO, ratio, "ratio"), _checked(SEED, seed, "seed")
    single = not isinstance(inputs, (list, tuple))
    rng = xp.random.default_rng(seed)
    results = []
    for item in ([inputs] if single else inputs):
        item = xp.asarray(item, dtype=xp.float32)
        if not xp.isfinite(item).all():
            raise UserError("the input holds NaN or infinite values")
        if item.ndim == 2:
            mosaic_image = xp.minimum(xp.clip(item, 0, 1) * ratio, 1.0)
        elif item.ndim == 3 and item.shape[2] == 3:
            mosaic_image = simulate(xp.clip(item, 0, 1), ratio, rng)
        else:
            raise UserError(f"expected a raw mosaic (H, W) or an sRGB image (H, W, 3), got an array of shape "
                            f"{item.shape}")
        results.append(_sid(model, mosaic_image)[:item.shape[0], :item.shape[1]])
    return results[0] if single else results


def _checked(check: Any, value: Any, name: str) -> Any:
    try:
        return check(value)
    except ValueError as error:
        raise UserError(f"{name}: {error}") from None


def crop_to_multiple(image: xp.ndarray, multiple: int) -> xp.ndarray:
    """The top-left part of an (H, W, ...) image whose sides are multiples of `multiple`."""
    return image[:image.shape[0] // multiple * multiple, :image.shape[1] // multiple * multiple]


def held_out_scenes(multiple: int) -> dict[str, xp.ndarray]:
    """The held-out photos as sRGB (H, W, 3), cropped to a multiple of `multiple` pixels."""
    return {name: crop_to_multiple(image, multiple) for name, image in load_photos("test", gray=False).items()}


def load(weights: str | Path | None = None) -> SIDNet:
    """A trained SID U-Net: the weights file, or when None the shipped model."""
    return load_model(weights_or_shipped(weights, SHIPPED), NAME, build)[0]


# ----- train ---------------------------------------------------------------------------------------
def train(config: Config | None = None, out: str | Path | None = None, *, resume: bool = False, force: bool = False,
          progress: bool = True, **overrides: Any) -> SIDNet:
    """Train the SID U-Net f by min E|f(pack(ratio * raw_short)) - srgb|_1 over simulated low-light captures,
    ratio log-uniform in [50, 350]; files go to `out` (none when None). Returns the model in eval mode."""
    args = open_run(NAME, Config, config, overrides, out, resume, force)
    out = output_of_this_rank(out)
    if args.patch % (2 ** args.depth):
        raise UserError(f"--patch {args.patch} must be a multiple of {2 ** args.depth} for a depth-{args.depth} "
                        "U-Net on half-resolution packed raw")
    check_memory(args.count * 4 * args.patch ** 2, f"{args.count} patches of {args.patch}x{args.patch}",
                 "lower --count or --patch")
    manual_seed(args.seed)
    config = {"depth": args.depth, "width": args.width, "patch": args.patch, "ratio_range": [50.0, 350.0],
              "input_channels": 4, "input_size": args.patch // 2,
              "data": "bundled photos (train split), unprocessed to raw"}
    rng = xp.random.default_rng(args.seed)
    srgb = random_patches(list(load_photos("train", gray=False).values()), args.patch, args.count, rng)
    raw = unprocess(srgb.transpose(0, 2, 3, 1))
    model = build(config)
    optimizer = Adam(model.parameters(), lr=args.lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.lr / 20)
    loader = DataLoader(TensorDataset(srgb, raw), batch_size=args.batch, shuffle=True,
                        generator=Generator().manual_seed(args.seed))
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
        return {"psnr_ratio100": psnr(process(model, val_mosaics), val_srgb)}

    print(f"training the SID U-Net ({model.num_parameters():,} parameters) on {args.count} simulated low-light raw "
          f"patches of {args.patch}x{args.patch}, ratios {low:g}-{high:g}")
    fit(args, out, NAME, config, model, optimizer, loss_fn, loader, resume=resume, progress=progress,
        evaluate=evaluate, scheduler=scheduler, title="isp: SID U-Net, simulated raw")
    return model


# ----- eval ----------------------------------------------------------------------------------------
def evaluate(model: SIDNet | None = None, *, out: str | Path | None = None) -> dict:
    """Mean PSNR/SSIM on the held-out photos at ratios 100, 250 and 300, learned against the classical pipeline
    on the same simulated raw: {"model": {...}, "baselines": {"classical pipeline": {...}}, "data": ...}.
    model=None takes the shipped model; the comparison picture is written into `out` when given."""
    if model is None:
        model = load()
    scenes = held_out_scenes(2 * _multiple(model))
    learned: dict = {}
    classical: dict = {}
    shown = {}
    for ratio in EVAL_RATIOS:
        scores: dict = {"learned": [], "classical": []}
        for index, (name, srgb) in enumerate(scenes.items()):
            rng = xp.random.default_rng(1000 * ratio + index)  # the same noisy raw for both pipelines
            mosaic_image = low_light(unprocess(srgb)[None], xp.array([ratio]), rng)
            target = srgb.transpose(2, 0, 1)
            outputs = {"learned": process(model, mosaic_image)[0], "classical": apply_classical(mosaic_image)[0]}
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
    if out is not None:
        result["picture"] = str(write_grid(picture_dir(out) / "isp.png", shown, EVAL_RATIOS[0]))
    return result


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


# ----- run -----------------------------------------------------------------------------------------
def read_camera_raw(path: Path) -> tuple[xp.ndarray, int, int]:
    """A camera raw file through rawpy (optional extra 'raw'): its RGGB mosaic, linear in [0, 1] (black level
    off, divided by white - black), and (top, left): the rows and columns mirrored in at the top and left so
    that the mosaic starts on red, as the network was trained (crop them off the result)."""
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
    if pattern is None or pattern.shape != (2, 2) or min(mosaic_image.shape) < 2:
        raise UserError(f"{path}: not a 2x2 Bayer sensor; only Bayer raw files are supported")
    red = [(r, c) for r in range(2) for c in range(2) if colours[pattern[r, c]] == "R"]
    if not red:
        raise UserError(f"{path}: its colour filters ({colours}) have no red; only RGB Bayer raw files are supported")
    top, left = red[0]
    mosaic_image = xp.pad(mosaic_image, ((top, 0), (left, 0)), mode="reflect")  # mirrored rows keep the pattern
    return normalise(mosaic_image, 1.0, RawCamera(black_level=black, white_level=white)), top, left


def _bits(target: Path, bits: int) -> int:
    """16-bit RGB only where the writer can store it (TIFF; PNG's writer cannot), else 8."""
    return bits if target.suffix.lower() in (".tif", ".tiff") else 8


def run_command(args: argparse.Namespace) -> int:
    from ..io import read_image, write_image
    sources = input_images(args.inputs, RAW_SUFFIXES, "images or camera raw files")
    targets = output_paths(sources, args.out, "_isp", args.force)
    baselines = [target.with_name(f"{target.stem}_classical{target.suffix}") for target in targets]
    if args.classical and not args.force:
        existing = [path for path in baselines if path.exists()]
        if existing:
            raise UserError(f"{existing[0]} already exists; use --force to overwrite")
    model = load(args.weights)
    for source, target, baseline in share_of_work(list(zip(sources, targets, baselines)), args.quiet, "processing"):
        if source.suffix.lower() in RAW_SUFFIXES:
            mosaic_image, top, left = read_camera_raw(source)
            height, width = mosaic_image.shape[0] - top, mosaic_image.shape[1] - left
            amplified = xp.minimum(mosaic_image * args.ratio, 1.0)
            write_image(target, _sid(model, amplified)[top:, left:], bits=_bits(target, 16))
            if args.classical:
                padded = _pad_to(amplified, 2)
                image = apply_classical(padded[None, None])[0].transpose(1, 2, 0)
                write_image(baseline, image[top:top + height, left:left + width], bits=_bits(baseline, 16))
            print(f"{source}: raw {width}x{height} amplified x{args.ratio:g} -> {target}"
                  + (f", classical pipeline -> {baseline}" if args.classical else ""))
            continue
        srgb, info = read_image(source)
        if srgb.ndim == 2:
            srgb = xp.repeat(srgb[..., None], 3, axis=2)
        height, width = srgb.shape[:2]
        mosaic_image = simulate(srgb, args.ratio, xp.random.default_rng(args.seed))
        learned = _sid(model, mosaic_image)[:height, :width]
        bits = _bits(target, info["bits"])
        if bits < info["bits"]:
            print(f"{source}: a 16-bit input, written as 8-bit {target.suffix} (name a .tif output to keep 16 bits)")
        write_image(target, learned, bits=bits, alpha=info["alpha"])
        shown = f"{source}: simulated a 1/{args.ratio:g} exposure; learned ISP {psnr(learned, srgb):.2f} dB -> {target}"
        if args.classical:
            classical = apply_classical(mosaic_image[None, None])[0].transpose(1, 2, 0)[:height, :width]
            write_image(baseline, classical, bits=bits, alpha=info["alpha"])
            shown += f", classical pipeline {psnr(classical, srgb):.2f} dB -> {baseline}"
        print(shown)
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    result = evaluate(load(args.weights), out=picture_dir(args.out))
    report(result, args.json, "isp: held-out photos, PSNR (dB) and SSIM by amplification ratio")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    add_train_command(actions, sys.modules[__name__], "train the SID U-Net on simulated low-light raw")
    parser = actions.add_parser("eval", help="PSNR/SSIM at ratios 100, 250, 300 against the classical pipeline")
    add_eval_arguments(parser, shipped="the shipped model")
    parser.set_defaults(run=evaluate_command)
    parser = add_run_command(actions, "process camera raw files (Bayer .dng, .arw, ...; needs rawpy) or simulate a "
                                      "dark capture of ordinary images, and brighten them",
                             "the sRGB result(s), the size of each input (an image's bit depth and alpha kept)")
    parser.add_argument("--ratio", type=RATIO, default=100.0,
                        help="amplification ratio: the exposure was (or is simulated) that many times too short "
                             "(default 100)")
    parser.add_argument("--seed", type=SEED, default=0, help="noise seed of a simulated capture")
    parser.add_argument("--classical", action="store_true",
                        help="also write the classical pipeline's result beside each output (<name>_classical)")
    parser.set_defaults(run=run_command)
