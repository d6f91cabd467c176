"""nnci hdr: deep optics for single-shot HDR (Metzler et al., CVPR 2020).

A lens whose PSF is learned together with a U-Net: the PSF spreads a little of each highlight's energy
into a pattern around it, which stays below saturation where the highlight itself clips, and the network
reads the highlight's value back from it. Trained end to end through the sensor model (FFT convolution
with the PSF, read noise, clipping) with an L1 loss on mu-law tone-mapped values. The baseline is the
same U-Net trained with an ideal lens (delta PSF) for the same budget. The network adds a residual to the
tone-mapped capture, so it starts from the capture and learns what clipping took away.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from .. import nn
from ..backend import Generator, manual_seed, xp
from ..data import DataLoader, TensorDataset, load_photos, random_patches
from ..metrics import psnr
from ..models import UNet
from ..nn import functional as F
from ..optics import DiffractivePSF, IdealLens, LearnablePSF, hdr_scene, inverse_tone_map, sensor, tone_map
from ..optim import Adam
from ..optim.lr_scheduler import LambdaLR
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..tensor import Tensor
from .common import (LEARNING_RATE, SEED, WEIGHTS, add_eval_arguments, add_train_arguments, integer, load_model, number,
                     picture_dir, prepare_out_dir, pyplot, report, save_figure, shipped_weights, train_and_save,
                     UserError, weights_or_shipped)

NAME = "hdr"
HELP = "deep optics for single-shot HDR: a learned PSF and a U-Net, trained end to end, against an ideal lens"
OPTICS = ("learned", "diffractive", "ideal")
BASELINE_DIR = "ideal-lens"
SHIPPED = {"learned": "hdr_learned_psf.safetensors", "ideal": "hdr_ideal_lens.safetensors"}


class DeepOpticsHDR(nn.Module):
    """scene -> sensor(optics PSF) -> clipped capture -> U-Net -> tone-mapped HDR estimate"""

    def __init__(self, optics: str = "learned", psf_size: int = 23, depth: int = 3, base_width: int = 16,
                 read_noise: float = 0.01, peak: float = 64.0, psf_init: str = "streaks") -> None:
        super().__init__()
        if optics not in OPTICS:
            raise ValueError(f"DeepOpticsHDR: optics must be one of {OPTICS}, got {optics!r}")
        if optics == "learned":
            self.optics = LearnablePSF(psf_size, init=psf_init)
        else:
            self.optics = DiffractivePSF(psf_size) if optics == "diffractive" else IdealLens(psf_size)
        self.decoder = UNet(3, 3, depth=depth, base_width=base_width)
        self.read_noise, self.peak = read_noise, peak

    def capture(self, scene: Tensor, rng: xp.random.Generator | None = None) -> Tensor:
        """The single clipped exposure of the scene through the optics; read noise from rng (default nnci's)."""
        noise = None if rng is None else as_tensor(rng.standard_normal(scene.shape).astype(xp.float32))
        return sensor(scene, self.optics(), read_noise=self.read_noise, noise=noise)

    def forward(self, capture: Tensor) -> Tensor:
        """The tone-mapped HDR estimate T(scene) = T(capture) + U-Net(capture): the network learns only what
        the capture lacks (residual learning), mostly the clipped highlights."""
        return tone_map(capture, self.peak) + self.decoder(capture)


def build(config: dict) -> DeepOpticsHDR:
    return DeepOpticsHDR(config["optics"], config["psf_size"], config["depth"], config["width"], config["read_noise"],
                         config["peak"], config.get("psf_init", "halo"))


def scenes(images: list, size: int, count: int, seed: int, peak: float) -> xp.ndarray:
    """count HDR scenes (count, 3, size, size): random crops of the photos with raised highlights and lights."""
    rng = xp.random.default_rng(seed)
    crops = random_patches(images, size, count, rng)
    return xp.stack([hdr_scene(crop.transpose(1, 2, 0), rng, peak) for crop in crops])


def held_out_scenes(peak: float, seed: int = 2024) -> tuple[list, xp.ndarray]:
    """The held-out photos as HDR scenes, centre crops of 256 x 256 (a fixed draw of highlights and lights)."""
    rng = xp.random.default_rng(seed)
    names, result = [], []
    for name, image in load_photos("test", gray=False).items():
        top, left = (image.shape[0] - 256) // 2, (image.shape[1] - 256) // 2
        result.append(hdr_scene(image[top:top + 256, left:left + 256], rng, peak, lights=8))
        names.append(name)
    return names, xp.stack(result)


def train_one(args: argparse.Namespace, out: Path, optics: str) -> None:
    manual_seed(args.seed)
    config = {"optics": optics, "psf_size": args.psf_size, "depth": 3, "width": args.width,
              "read_noise": args.read_noise, "peak": args.peak, "patch": args.patch, "psf_init": args.psf_init,
              "optics_lr": args.optics_lr, "optics_warmup": args.epochs // 2 if args.optics_warmup is None
              else args.optics_warmup}
    images = list(load_photos("train", gray=False).values())
    train_scenes = scenes(images, args.patch, args.count, args.seed, args.peak)
    val_scenes = scenes(images, args.patch, 64, args.seed + 1, args.peak)
    model = build(config)
    groups = [{"params": list(model.decoder.parameters()), "lr": args.lr}]
    optics_parameters = list(model.optics.parameters())
    if optics_parameters:
        groups.append({"params": optics_parameters, "lr": args.optics_lr})
    optimizer = Adam(groups, lr=args.lr)

    def cosine(epoch: int) -> float:  # from 1 down to 1/20 over the epochs
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(epoch, args.epochs) / args.epochs))

    warmup = config["optics_warmup"]

    def optics_schedule(epoch: int) -> float:  # frozen while the decoder learns to read the PSF's pattern
        return 0.0 if epoch < warmup else cosine(epoch)
    scheduler = LambdaLR(optimizer, [cosine, optics_schedule][:len(groups)])
    loader = DataLoader(TensorDataset(train_scenes), batch_size=args.batch, shuffle=True, generator=Generator().manual_seed(args.seed))

    def loss_fn(model, batch):
        (scene,) = batch
        return F.l1_loss(model(model.capture(scene)), tone_map(scene, args.peak))

    def evaluate(model):
        return {"tm_psnr": scores(model, val_scenes)["tm_psnr"]}

    print(f"training {optics} optics + U-Net ({model.num_parameters():,} parameters) on {args.count} HDR scenes "
          f"of {args.patch}x{args.patch}, peak {args.peak:g}x saturation")
    train_and_save(args, out, NAME, config, model, optimizer, loss_fn, loader, evaluate=evaluate, scheduler=scheduler,
                   title=f"hdr: {optics} optics")


def train(args: argparse.Namespace) -> int:
    out = prepare_out_dir(args)
    train_one(args, out, args.optics)
    if args.optics != "ideal" and not args.no_baseline:
        args.out = out / BASELINE_DIR
        train_one(args, prepare_out_dir(args), "ideal")
    return 0


@no_grad()
def reconstruct(model: DeepOpticsHDR, scene: xp.ndarray, seed: int = 0) -> tuple[xp.ndarray, xp.ndarray]:
    """(capture, tone-mapped estimate) for scenes (N, 3, H, W), with a fixed read-noise draw."""
    captures = model.capture(as_tensor(scene), xp.random.default_rng(seed)).detach().numpy()
    return captures, xp.concatenate([model(as_tensor(c[None])).clamp(0, 1).detach().numpy() for c in captures])


def scores(model: DeepOpticsHDR, scene: xp.ndarray, estimate: xp.ndarray | None = None) -> dict:
    """Tone-mapped PSNR over all pixels and over the saturated ones (scene above 1 in any channel)."""
    if estimate is None:
        estimate = reconstruct(model, scene)[1]
    truth = tone_map(scene, model.peak)
    saturated = xp.broadcast_to((scene > 1).any(1, keepdims=True), scene.shape)
    result = {"tm_psnr": psnr(estimate, truth)}
    if saturated.any():
        result["tm_psnr_saturated"] = psnr(estimate[saturated], truth[saturated])
        result["saturated_fraction"] = float(saturated[:, 0].mean())
    return result


def evaluate(args: argparse.Namespace) -> int:
    shipped = args.weights is None
    args.weights = weights_or_shipped(args.weights, SHIPPED["learned"])
    model, config = load_model(args.weights, NAME, build)
    names, scene = held_out_scenes(config["peak"])
    captures, estimate = reconstruct(model, scene)
    result: dict = {"model": scores(model, scene, estimate), "baselines": {}, "optics": config["optics"]}
    beside = shipped_weights(SHIPPED["ideal"]) if shipped else Path(args.weights).parent / BASELINE_DIR / WEIGHTS
    ideal_path = args.ideal or beside
    shown = {f"{config['optics']} optics": (model.optics().detach().numpy(), captures, estimate)}
    if config["optics"] != "ideal" and ideal_path.exists():
        ideal, _ = load_model(ideal_path, NAME, build)
        ideal_captures, ideal_estimate = reconstruct(ideal, scene)
        result["baselines"]["ideal lens + U-Net"] = scores(ideal, scene, ideal_estimate)
        shown["ideal lens"] = (ideal.optics().detach().numpy(), ideal_captures, ideal_estimate)
    elif config["optics"] != "ideal":
        result["note"] = f"no ideal-lens model at {ideal_path} (train without --no-baseline, or pass --ideal)"
    clipped = xp.clip(scene, 0, 1)
    result["baselines"]["clipped capture, ideal lens, no network"] = {
        k: v for k, v in scores(model, scene, tone_map(clipped, config["peak"])).items() if k != "saturated_fraction"}
    result["data"] = f"held-out photos {', '.join(names)} as HDR scenes, 256x256, peak {config['peak']:g}"
    result["picture"] = str(write_pictures(picture_dir(args) / "hdr.png", shown, scene, config["peak"]))
    report(result, args.json, "hdr: tone-mapped PSNR (dB), all pixels and saturated pixels")
    return 0


def write_pictures(path: Path, shown: dict, scene: xp.ndarray, peak: float, index: int = 3) -> Path:
    """Per optics: the PSF (log scale), the capture and the reconstruction; and the ground truth."""
    plt = pyplot()
    fig, axes = plt.subplots(len(shown), 4, figsize=(12, 3.1 * len(shown)), squeeze=False)
    truth = tone_map(scene[index], peak).transpose(1, 2, 0)
    for row, (label, (psf, captures, estimate)) in enumerate(shown.items()):
        axes[row, 0].imshow(xp.log10(psf + 1e-6), cmap="magma", vmin=-4, vmax=0)
        axes[row, 0].set_title(f"{label}: PSF (log10)", fontsize=8)
        axes[row, 1].imshow(xp.clip(captures[index], 0, 1).transpose(1, 2, 0))
        axes[row, 1].set_title("single clipped capture", fontsize=8)
        axes[row, 2].imshow(estimate[index].transpose(1, 2, 0))
        axes[row, 2].set_title(f"reconstruction (mu-law)  {psnr(estimate[index].transpose(1, 2, 0), truth):.2f} dB",
                               fontsize=8)
        axes[row, 3].imshow(truth)
        axes[row, 3].set_title("ground truth HDR (mu-law)", fontsize=8)
        for ax in axes[row]:
            ax.axis("off")
    fig.tight_layout()
    save_figure(fig, path)
    return path


def run(args: argparse.Namespace) -> int:
    from ..io import atomic_write, read_image, write_image
    model, config = load_model(weights_or_shipped(args.weights, SHIPPED["learned"]), NAME, build)
    source = Path(args.input)
    if source.suffix.lower() == ".npy":
        try:
            scene = xp.load(source, allow_pickle=False).astype(xp.float32)
        except (OSError, ValueError) as error:
            raise UserError(f"{source}: not a readable .npy array ({error})") from None
        if scene.ndim != 3 or 3 not in (scene.shape[0], scene.shape[2]):
            raise UserError(f"{source}: expected a linear HDR image (3, H, W) or (H, W, 3), got shape {tuple(scene.shape)}")
        scene = scene if scene.shape[0] == 3 else scene.transpose(2, 0, 1)
    else:
        image, _ = read_image(source)
        image = xp.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
        scene = hdr_scene(image, xp.random.default_rng(args.seed), config["peak"], lights=args.lights)
    multiple = 2 ** (config["depth"] - 1)
    smallest = max(multiple, config["psf_size"])
    if min(scene.shape[1:]) < smallest:
        raise UserError(f"{source}: {scene.shape[2]}x{scene.shape[1]} is too small for this model (at least "
                        f"{smallest}x{smallest})")
    scene = scene[:, :scene.shape[1] // multiple * multiple, :scene.shape[2] // multiple * multiple]
    args.out.mkdir(parents=True, exist_ok=True)
    captures, estimate = reconstruct(model, scene[None], args.seed)
    write_image(args.out / "capture.png", captures[0].transpose(1, 2, 0))
    write_image(args.out / "reconstruction_tonemapped.png", estimate[0].transpose(1, 2, 0))
    write_image(args.out / "truth_tonemapped.png", tone_map(scene, config["peak"]).transpose(1, 2, 0))
    hdr = inverse_tone_map(estimate[0], config["peak"])
    atomic_write(args.out / "reconstruction.npy", lambda handle: xp.save(handle, hdr, allow_pickle=False))
    result = scores(model, scene[None], estimate)
    print(f"{source}: tone-mapped PSNR {result['tm_psnr']:.2f} dB"
          + (f", saturated pixels {result['tm_psnr_saturated']:.2f} dB" if "tm_psnr_saturated" in result else "")
          + f"; capture, reconstruction (PNG, and linear HDR as .npy) in {args.out}")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser("train", help="train optics + U-Net end to end (and the ideal-lens baseline)")
    add_train_arguments(parser, epochs=30, minutes=15)
    parser.add_argument("--optics", choices=OPTICS, default="learned",
                        help="learned: free PSF (softmax); diffractive: phase plate; ideal: delta PSF")
    parser.add_argument("--no-baseline", action="store_true", help="skip training the ideal-lens baseline after")
    parser.add_argument("--psf-size", type=integer(1, 255), default=23)
    parser.add_argument("--psf-init", choices=LearnablePSF.INITS, default="streaks",
                        help="starting shape of the learned PSF around its 90%% centre")
    parser.add_argument("--width", type=integer(1, 1024), default=16, help="U-Net base width")
    parser.add_argument("--patch", type=integer(8, 1024), default=64)
    parser.add_argument("--count", type=integer(1, 1_000_000), default=1024, help="training scenes")
    parser.add_argument("--batch", type=integer(1, 4096), default=16)
    parser.add_argument("--peak", type=number(1, 1e6), default=64.0, help="brightest scene value, in saturation units")
    parser.add_argument("--read-noise", type=number(0, 1), default=0.01)
    parser.add_argument("--lr", type=LEARNING_RATE, default=2e-3)
    parser.add_argument("--optics-lr", type=LEARNING_RATE, default=2e-3, help="learning rate of the PSF parameters")
    parser.add_argument("--optics-warmup", type=integer(0, 10_000_000),
                        help="epochs with the optics frozen at their initial PSF while the U-Net learns to read it "
                             "(default: half the epochs)")
    parser.set_defaults(run=train)
    parser = actions.add_parser("eval", help="tone-mapped PSNR, whole image and saturated regions, against the "
                                             "ideal lens")
    add_eval_arguments(parser, shipped="the shipped learned-optics model")
    parser.add_argument("--ideal", type=Path, help="the ideal-lens model (default: ideal-lens/ beside --weights)")
    parser.set_defaults(run=evaluate)
    parser = actions.add_parser("run", help="simulate a capture of a scene through the learned optics and "
                                            "reconstruct it")
    parser.add_argument("input", type=Path, help="an image (made HDR as in training) or a linear HDR .npy")
    parser.add_argument("--weights", type=Path, help="a model from 'nnci hdr train' (default: the shipped one)")
    parser.add_argument("--out", type=Path, default=Path("hdr-out"))
    parser.add_argument("--lights", type=integer(0, 1000), default=6, help="light sources added to an ordinary image")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.set_defaults(run=run)
