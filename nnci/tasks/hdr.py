"""nnci hdr: deep optics for single-shot HDR (Metzler et al., CVPR 2020).

A lens whose PSF is learned together with a U-Net: the PSF spreads a little of each highlight's energy
into a pattern around it, which stays below saturation where the highlight itself clips, and the network
reads the highlight's value back from it. Trained end to end through the sensor model (FFT convolution
with the PSF, read noise, clipping) with an L1 loss on mu-law tone-mapped values (or, --loss sqrt-linear, the
RMSE of the square roots of linear HDR values, the paper's loss). The baseline is the
same U-Net trained with an ideal lens (delta PSF) for the same budget. The network adds a residual to the
tone-mapped capture, so it starts from the capture and learns what clipping took away.

`train --out DIR` writes the optics model into DIR and, after it, the ideal-lens baseline into
DIR/ideal-lens/, with the same settings (DIR/settings.json, the one record of the run; the baseline's own
config.json says optics "ideal"). `--resume` continues whichever of the two was interrupted.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path
from typing import Any

from .. import nn
from ..backend import Generator, manual_seed, xp
from ..data import DataLoader, TensorDataset, load_photos, random_patches
from ..metrics import psnr
from ..models import UNet
from ..nn import functional as F
from ..physics import (DiffractivePSF, FixedPSF, HeightMapDOE, IdealLens, LearnablePSF, hdr_scene, inverse_tone_map,
                       inverse_tone_map_tensor, sensor, sqrt_linear_loss, sqrt_linear_psnr, tone_map)
from ..optim import Adam
from ..optim.lr_scheduler import LambdaLR
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..tensor import Tensor
from ..train import CHECKPOINT
from ..plotting import pyplot, save_figure
from .common import (WEIGHTS, add_eval_arguments, add_run_command, add_train_command, check_memory, fit, input_images,
                     load_model, open_run, output_of_this_rank, output_paths, picture_dir, report, share_of_work,
                     shipped_weights, weights_or_shipped)
from .options import (LEARNING_RATE, SEED, BadValue, Settings, UserError, choice, epochs_option, integer,
                      minutes_option, number, option, resolve)

NAME = "hdr"
HELP = "deep optics for single-shot HDR: a learned PSF and a U-Net, trained end to end, against an ideal lens"
OPTICS = ("learned", "diffractive", "ideal", "fixed", "doe")
LOSSES = ("tone-mapped", "sqrt-linear")
BASELINE_DIR = "ideal-lens"
SHIPPED = {"learned": "hdr_doe.safetensors", "ideal": "hdr_ideal_lens.safetensors"}


def _spread_energy(value: Any) -> float:
    """A number in [0, 1): the share of the energy a fixed PSF moves off its centre pixel."""
    value = number(0, 1)(value)
    if value == 1:
        raise BadValue("expected a number in [0, 1), got 1 (a PSF with nothing on its centre pixel)")
    return value


@dataclasses.dataclass
class Config(Settings):
    """Training options of `nnci hdr train` (and of hdr.train in Python)."""
    epochs: int = epochs_option(30)
    minutes: float = minutes_option(15)
    optics: str = option("learned", choice(*OPTICS),
                         "learned: free PSF (softmax); diffractive: phase plate at one wavelength; doe: height map "
                         "seen at R, G and B wavelengths (a PSF per colour); ideal: delta PSF; fixed: "
                         "(1 - spread) delta + spread x (--spread-shape), never trained")
    baseline: bool = option(True, help="skip training the ideal-lens baseline (into DIR/ideal-lens) after the optics",
                            cli="--no-baseline")
    psf_size: int = option(23, integer(1, 255), "PSF side in pixels")
    psf_init: str = option("streaks", choice(*LearnablePSF.INITS),
                           "starting shape of the learned PSF around its centre, which holds 0.9 of the energy")
    spread: float = option(0.03, _spread_energy, "with --optics fixed: the share of the energy off the centre pixel, "
                           "in [0, 1)")
    spread_shape: str = option("gaussian", choice(*FixedPSF.SHAPES),
                               "with --optics fixed: where that energy goes: a wide Gaussian (sigma = PSF side / 6) "
                               "or even streaks along the rows, columns and diagonals through the centre")
    speckle: float = option(0.05, number(0, 1), "with --optics doe: standard deviation of the starting heights "
                            "(micrometres; 0: a flat plate)")
    smoothness: float = option(0.0, number(0, 1e6), "with --optics doe: weight in the loss of the manufacturability "
                               "penalty, the mean squared height gradient over the aperture (um^2)")
    loss: str = option("tone-mapped", choice(*LOSSES),
                       "tone-mapped: L1 on mu-law values; sqrt-linear: RMSE of the square roots of linear HDR "
                       "(Metzler et al.'s loss)")
    width: int = option(16, integer(1, 1024), "U-Net base width")
    patch: int = option(64, integer(8, 1024), "side of the training scenes")
    count: int = option(1024, integer(1, 1_000_000), "training scenes")
    batch: int = option(16, integer(1, 4096), "scenes per step")
    peak: float = option(64.0, number(1, 1e6), "brightest scene value, in saturation units")
    read_noise: float = option(0.01, number(0, 1), "sensor read noise (standard deviation, saturation = 1)")
    lr: float = option(2e-3, LEARNING_RATE, "Adam's learning rate of the U-Net")
    optics_lr: float = option(2e-3, LEARNING_RATE, "learning rate of the PSF parameters")
    optics_warmup: int | None = option(None, integer(0, 10_000_000),
                                       "epochs with the optics frozen at their initial PSF while the U-Net learns to "
                                       "read it (none: half the epochs)")


class DeepOpticsHDR(nn.Module):
    """scene -> sensor(optics PSF) -> clipped capture -> U-Net -> tone-mapped HDR estimate"""

    def __init__(self, optics: str = "learned", psf_size: int = 23, depth: int = 3, base_width: int = 16,
                 read_noise: float = 0.01, peak: float = 64.0, psf_init: str = "streaks", spread: float = 0.03,
                 spread_shape: str = "gaussian", speckle: float = 0.05) -> None:
        super().__init__()
        if optics not in OPTICS:
            raise ValueError(f"DeepOpticsHDR: optics must be one of {OPTICS}, got {optics!r}")
        if optics == "learned":
            self.optics = LearnablePSF(psf_size, init=psf_init)
        elif optics == "fixed":
            self.optics = FixedPSF(psf_size, spread, spread_shape)
        elif optics == "doe":
            self.optics = HeightMapDOE(psf_size, speckle)
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
    # export's input: a capture (N, 3, H, W); weights from before these keys were trained on patches of 64
    config.setdefault("input_channels", 3)
    config.setdefault("input_size", config.get("patch", 64))
    return DeepOpticsHDR(config["optics"], config["psf_size"], config["depth"], config["width"], config["read_noise"],
                         config["peak"], config.get("psf_init", "halo"), config.get("spread", 0.0),
                         config.get("spread_shape", "gaussian"), config.get("speckle", 0.05))


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


def _attach_baseline(model: DeepOpticsHDR, baseline: DeepOpticsHDR | None) -> DeepOpticsHDR:
    """model.baseline: the ideal-lens model it is compared with (kept out of the model's parameters and weights)."""
    object.__setattr__(model, "baseline", baseline)
    return model


# ----- train ---------------------------------------------------------------------------------------
def train_one(args: Config, out: Path | None, optics: str, resume: bool, progress: bool) -> DeepOpticsHDR:
    manual_seed(args.seed)
    config = {"optics": optics, "psf_size": args.psf_size, "depth": 3, "width": args.width,
              "read_noise": args.read_noise, "peak": args.peak, "patch": args.patch, "psf_init": args.psf_init,
              "spread": args.spread, "spread_shape": args.spread_shape, "speckle": args.speckle,
              "smoothness": args.smoothness, "optics_lr": args.optics_lr,
              "optics_warmup": args.epochs // 2 if args.optics_warmup is None else args.optics_warmup,
              "input_channels": 3, "input_size": args.patch}
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
    loader = DataLoader(TensorDataset(train_scenes), batch_size=args.batch, shuffle=True,
                        generator=Generator().manual_seed(args.seed))

    def loss_fn(model, batch):
        (scene,) = batch
        estimate = model(model.capture(scene))
        if args.loss == "sqrt-linear":
            loss = sqrt_linear_loss(inverse_tone_map_tensor(estimate, args.peak), scene, args.peak)
        else:
            loss = F.l1_loss(estimate, tone_map(scene, args.peak))
        if args.smoothness and hasattr(model.optics, "penalty"):
            loss = loss + args.smoothness * model.optics.penalty()
        return loss

    def evaluate(model):
        result = scores(model, val_scenes)
        return {key: result[key] for key in ("tm_psnr", "sqrt_psnr")}

    described = f"{optics} optics" + (f" (spread {args.spread:g}, {args.spread_shape})" if optics == "fixed" else "")
    print(f"training {described} + U-Net ({model.num_parameters():,} parameters) on {args.count} HDR scenes "
          f"of {args.patch}x{args.patch}, peak {args.peak:g}x saturation")
    fit(args, out, NAME, config, model, optimizer, loss_fn, loader, resume=resume, progress=progress,
        evaluate=evaluate, scheduler=scheduler, title=f"hdr: {optics} optics")
    return model


def train(config: Config | None = None, out: str | Path | None = None, *, resume: bool = False, force: bool = False,
          progress: bool = True, **overrides: Any) -> DeepOpticsHDR:
    """Train optics PSF and U-Net R end to end by min E|T(capture) + R(capture) - T(scene)|_1 (loss "tone-mapped";
    "sqrt-linear": min E RMSE(sqrt T^-1(T(capture) + R(capture)), sqrt scene)), capture = clip(PSF * scene + noise),
    T the mu-law tone map; then (baseline=True) the same U-Net behind an ideal lens,
    into out/ideal-lens. Files go to `out` (none when None). Returns the optics model in eval mode, with the
    ideal-lens model as its `baseline` attribute (None when not trained)."""
    baseline_dir = Path(out) / BASELINE_DIR if out is not None else None
    if baseline_dir is not None and not resume and not force:
        for name in (WEIGHTS, CHECKPOINT):
            if (baseline_dir / name).exists():
                raise UserError(f"{baseline_dir / name} already exists (the ideal-lens baseline of an earlier run); "
                                "use --force to start over or --resume to continue")
    planned = resolve(Config, config, overrides) if not resume else None
    if planned is not None and planned.smoothness and planned.optics != "doe":  # checked before any file is written
        raise UserError(f"--smoothness {planned.smoothness:g}: the manufacturability penalty is of a height map, "
                        f"--optics doe (got --optics {planned.optics})")
    args = open_run(NAME, Config, config, overrides, out, resume, force)
    out = output_of_this_rank(out)
    baseline_dir = out / BASELINE_DIR if out is not None else None
    check_memory(2 * args.count * 3 * args.patch ** 2, f"{args.count} HDR scenes of {args.patch}x{args.patch}",
                 "lower --count or --patch")
    model = train_one(args, Path(out) if out is not None else None, args.optics, resume, progress)
    baseline = None
    if args.optics != "ideal" and args.baseline:
        if baseline_dir is not None and not resume:  # a new run: nothing of an older baseline may be resumed later
            for name in (CHECKPOINT, WEIGHTS):
                (baseline_dir / name).unlink(missing_ok=True)
        baseline = train_one(args, baseline_dir, "ideal", resume, progress)
    return _attach_baseline(model, baseline)


# ----- applying a model ----------------------------------------------------------------------------
@no_grad()
def reconstruct(model: DeepOpticsHDR, scene: xp.ndarray, seed: int = 0) -> tuple[xp.ndarray, xp.ndarray]:
    """(capture, tone-mapped estimate) for scenes (N, 3, H, W), with a fixed read-noise draw."""
    captures = model.capture(as_tensor(scene), xp.random.default_rng(seed)).detach().numpy()
    return captures, xp.concatenate([model(as_tensor(c[None])).clamp(0, 1).detach().numpy() for c in captures])


def _reconstruct_one(model: DeepOpticsHDR, scene: xp.ndarray, seed: int) -> tuple[xp.ndarray, xp.ndarray]:
    """(capture, tone-mapped estimate), each (H, W, 3), of one linear HDR scene (H, W, 3): reflect-padded at the
    bottom and right to the U-Net's multiple, cropped back."""
    height, width = scene.shape[:2]
    smallest = model.task_config["psf_size"] if hasattr(model, "task_config") else model.optics().shape[-1]
    if min(height, width) < smallest:
        raise UserError(f"a scene of {width}x{height} is too small for this model (at least {smallest}x{smallest}, "
                        "its PSF's size)")
    check_memory(height * width * 8 * model.decoder.head.in_channels, f"reconstructing a {width}x{height} scene",
                 "use a smaller image")
    multiple = 2 ** (model.decoder.depth - 1)
    pads = ((0, 0), (0, -height % multiple), (0, -width % multiple))
    padded = xp.pad(scene.transpose(2, 0, 1), pads, mode="reflect")
    captures, estimate = reconstruct(model, padded[None].astype(xp.float32), seed)
    return (captures[0, :, :height, :width].transpose(1, 2, 0), estimate[0, :, :height, :width].transpose(1, 2, 0))


def apply(model: DeepOpticsHDR, scenes: Any, *, seed: int = 0) -> Any:
    """The linear HDR reconstruction T^-1(T(capture) + R(capture)), (H, W, 3), of each linear HDR scene (H, W, 3)
    in saturation units (1 saturates the sensor; one array or a list of them): the single clipped capture through
    the model's optics, with read noise seeded by `seed`, read back by its U-Net."""
    try:
        seed = SEED(seed)
    except ValueError as error:
        raise UserError(f"seed: {error}") from None
    single = not isinstance(scenes, (list, tuple))
    results = []
    for scene in ([scenes] if single else scenes):
        scene = xp.asarray(scene, dtype=xp.float32)
        if scene.ndim != 3 or scene.shape[2] != 3:
            raise UserError(f"expected a linear HDR scene (H, W, 3), got an array of shape {scene.shape}")
        if not xp.isfinite(scene).all():
            raise UserError("the scene holds NaN or infinite values")
        results.append(inverse_tone_map(_reconstruct_one(model, scene, seed)[1], model.peak))
    return results[0] if single else results


def scores(model: DeepOpticsHDR, scene: xp.ndarray, estimate: xp.ndarray | None = None) -> dict:
    """PSNR over all pixels and over the saturated ones (scene above 1 in any channel), of tone-mapped values
    (tm_psnr, peak 1) and of the square roots of linear HDR values (sqrt_psnr, peak sqrt(peak), the domain of
    Metzler et al.'s loss)."""
    if estimate is None:
        estimate = reconstruct(model, scene)[1]
    truth = tone_map(scene, model.peak)
    saturated = xp.broadcast_to((scene > 1).any(1, keepdims=True), scene.shape)
    linear = inverse_tone_map(estimate, model.peak)
    result = {"tm_psnr": psnr(estimate, truth), "sqrt_psnr": sqrt_linear_psnr(linear, scene, model.peak)}
    if saturated.any():
        result["tm_psnr_saturated"] = psnr(estimate[saturated], truth[saturated])
        result["sqrt_psnr_saturated"] = sqrt_linear_psnr(linear, scene, model.peak, saturated)
        result["saturated_fraction"] = float(saturated[:, 0].mean())
    return result


def load(weights: str | Path | None = None) -> DeepOpticsHDR:
    """A trained model: the weights file, or when None the shipped learned-optics model. Its `baseline` is the
    ideal-lens model beside it (DIR/ideal-lens/, or the shipped one), None when there is none."""
    path = weights_or_shipped(weights, SHIPPED["learned"])
    model, config = load_model(path, NAME, build)
    beside = shipped_weights(SHIPPED["ideal"]) if weights is None else path.parent / BASELINE_DIR / WEIGHTS
    baseline = load_model(beside, NAME, build)[0] if config["optics"] != "ideal" and beside.exists() else None
    return _attach_baseline(model, baseline)


# ----- eval ----------------------------------------------------------------------------------------
def evaluate(model: DeepOpticsHDR | None = None, *, ideal: DeepOpticsHDR | None = None,
             out: str | Path | None = None) -> dict:
    """Tone-mapped and sqrt-linear PSNR on the held-out photos as HDR scenes, over all pixels and the saturated ones
    (see scores), against the
    ideal lens + U-Net (`ideal`, else model.baseline) and the clipped capture: {"model", "baselines", "optics",
    "data"}. model=None takes the shipped models; the picture is written into `out` when given."""
    if model is None:
        model = load()
    config = model.task_config
    ideal = ideal if ideal is not None else getattr(model, "baseline", None)
    names, scene = held_out_scenes(config["peak"])
    captures, estimate = reconstruct(model, scene)
    result: dict = {"model": scores(model, scene, estimate), "baselines": {}, "optics": config["optics"]}
    shown = {f"{config['optics']} optics": (model.optics().detach().numpy(), captures, estimate, _height_map(model))}
    if config["optics"] != "ideal" and ideal is not None:
        ideal_captures, ideal_estimate = reconstruct(ideal, scene)
        result["baselines"]["ideal lens + U-Net"] = scores(ideal, scene, ideal_estimate)
        shown["ideal lens"] = (ideal.optics().detach().numpy(), ideal_captures, ideal_estimate, None)
    elif config["optics"] != "ideal":
        result["note"] = (f"no ideal-lens model ({BASELINE_DIR}/ beside the weights): train without --no-baseline, "
                          "or pass --ideal")
    clipped = xp.clip(scene, 0, 1)
    result["baselines"]["clipped capture, ideal lens, no network"] = {
        k: v for k, v in scores(model, scene, tone_map(clipped, config["peak"])).items() if k != "saturated_fraction"}
    result["data"] = f"held-out photos {', '.join(names)} as HDR scenes, 256x256, peak {config['peak']:g}"
    if out is not None:
        result["picture"] = str(write_pictures(picture_dir(out) / "hdr.png", shown, scene, config["peak"]))
    return result


def _height_map(model: DeepOpticsHDR) -> xp.ndarray | None:
    """The optics' height map in micrometres, NaN outside the aperture; None for optics without one."""
    optics = model.optics
    if not hasattr(optics, "height"):
        return None
    return xp.where(optics.aperture.numpy() > 0, optics.height.detach().numpy(), xp.nan)


def write_pictures(path: Path, shown: dict, scene: xp.ndarray, peak: float, index: int = 3) -> Path:
    """Per optics: its height map (for a DOE), the PSF (log10, with its colour bar; a PSF per colour shown as
    RGB), the capture and the reconstruction; and the ground truth. The saturated regions (scene > 1 in any
    channel) are outlined in cyan on every image."""
    plt = pyplot()
    with_height = any(height is not None for *_, height in shown.values())
    first = 1 if with_height else 0
    fig, axes = plt.subplots(len(shown), 4 + first, figsize=(12.6 + 3.2 * first, 3.1 * len(shown)), squeeze=False)
    truth = tone_map(scene[index], peak).transpose(1, 2, 0)
    saturated = (scene[index] > 1.0).any(axis=0).astype(xp.float32)
    for row, (label, (psf, captures, estimate, height)) in enumerate(shown.items()):
        if height is not None:
            drawn = axes[row, 0].imshow(height, cmap="viridis")
            fig.colorbar(drawn, ax=axes[row, 0], fraction=0.046, pad=0.04, label="height (um)")
            axes[row, 0].set_title(f"{label}: height map", fontsize=8)
        log_psf = xp.log10(psf + 1e-6)
        if psf.ndim == 3:  # one PSF per colour: R, G and B as the channels of one picture
            axes[row, first].imshow(xp.clip((log_psf + 4) / 4, 0, 1).transpose(1, 2, 0))
            drawn = plt.cm.ScalarMappable(plt.Normalize(-4, 0), cmap="gray")
            bar_label, side = "log10 of the energy share, per colour", psf.shape[1:]
        else:
            drawn = axes[row, first].imshow(log_psf, cmap="magma", vmin=-4, vmax=0)
            bar_label, side = "log10 of the energy share", psf.shape
        fig.colorbar(drawn, ax=axes[row, first], fraction=0.046, pad=0.04, label=bar_label)
        axes[row, first].set_title(f"{label}: PSF, {side[0]}x{side[1]} px", fontsize=8)
        images = ((xp.clip(captures[index], 0, 1).transpose(1, 2, 0), "single clipped capture"),
                  (estimate[index].transpose(1, 2, 0),
                   f"reconstruction (mu-law)  {psnr(estimate[index].transpose(1, 2, 0), truth):.2f} dB"),
                  (truth, "ground truth HDR (mu-law)"))
        for ax, (image, title) in zip(axes[row, first + 1:], images):
            ax.imshow(image)
            if saturated.any():
                ax.contour(saturated, levels=[0.5], colors="cyan", linewidths=0.6)
            ax.set_title(title, fontsize=8)
        for ax in axes[row]:
            ax.axis("off")
    fig.text(0.5, 0.005, f"cyan: the saturated regions ({saturated.mean():.1%} of the pixels)", ha="center", fontsize=8)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    save_figure(fig, path)
    return path


# ----- the command line ------------------------------------------------------------------------------
def _read_scene(source: Path, peak: float, lights: int, seed: int) -> tuple[xp.ndarray, Any]:
    """A linear HDR scene (H, W, 3) and the alpha to keep: a .npy array as it is, an image made HDR as in training."""
    from ..io import read_image
    if source.suffix.lower() == ".npy":
        try:
            scene = xp.load(source, allow_pickle=False).astype(xp.float32)
        except (OSError, ValueError) as error:
            raise UserError(f"{source}: not a readable .npy array ({error})") from None
        if scene.ndim != 3 or 3 not in (scene.shape[0], scene.shape[2]):
            raise UserError(f"{source}: expected a linear HDR image (3, H, W) or (H, W, 3), got shape "
                            f"{tuple(scene.shape)}")
        if not xp.isfinite(scene).all():
            raise UserError(f"{source}: holds NaN or infinite values")
        return (scene if scene.shape[2] == 3 else scene.transpose(1, 2, 0)), None
    image, info = read_image(source)
    image = xp.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
    return hdr_scene(image, xp.random.default_rng(seed), peak, lights=lights).transpose(1, 2, 0), info["alpha"]


def run_command(args: argparse.Namespace) -> int:
    from ..io import atomic_write, write_image
    sources = input_images(args.inputs, (".npy",), "images or .npy scenes")
    targets = output_paths(sources, args.out, "_hdr", args.force)
    extras = [[target.with_suffix(".npy")] + ([target.with_name(f"{target.stem}_capture{target.suffix}")]
                                              if args.capture else []) for target in targets]
    existing = [path for paths in extras for path in paths if path.exists()]
    if existing and not args.force:
        raise UserError(f"{existing[0]} already exists; use --force to overwrite")
    model = load(args.weights)
    for source, target, (linear, capture_path) in share_of_work(
            [(s, t, (e[0], e[1] if len(e) > 1 else None)) for s, t, e in zip(sources, targets, extras)],
            args.quiet, "reconstructing"):
        scene, alpha = _read_scene(source, model.peak, args.lights, args.seed)
        capture, estimate = _reconstruct_one(model, scene, args.seed)
        bits = 16 if target.suffix.lower() in (".tif", ".tiff") else 8  # PNG's writer stores no 16-bit RGB
        write_image(target, estimate, bits=bits, alpha=alpha)
        hdr = inverse_tone_map(estimate, model.peak)
        atomic_write(linear, lambda handle: xp.save(handle, hdr, allow_pickle=False))
        if capture_path is not None:
            write_image(capture_path, capture, bits=bits, alpha=alpha)
        result = scores(model, scene.transpose(2, 0, 1)[None], estimate.transpose(2, 0, 1)[None])
        print(f"{source}: tone-mapped PSNR {result['tm_psnr']:.2f} dB"
              + (f", saturated pixels {result['tm_psnr_saturated']:.2f} dB" if "tm_psnr_saturated" in result else "")
              + f"; reconstruction (mu-law) -> {target}, linear HDR (H, W, 3) -> {linear}"
              + (f", capture -> {capture_path}" if capture_path is not None else ""))
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    model = load(args.weights)
    ideal = load_model(args.ideal, NAME, build)[0] if args.ideal is not None else None
    result = evaluate(model, ideal=ideal, out=picture_dir(args.out))
    report(result, args.json, "hdr: PSNR (dB) of tone-mapped values (tm_psnr) and of square roots of linear HDR "
                              "(sqrt_psnr), all pixels and saturated pixels")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    add_train_command(actions, sys.modules[__name__],
                      "train optics + U-Net end to end (and the ideal-lens baseline, into DIR/ideal-lens)")
    parser = actions.add_parser("eval", help="tone-mapped PSNR, whole image and saturated regions, against the "
                                             "ideal lens")
    add_eval_arguments(parser, shipped="the shipped learned-optics model")
    parser.add_argument("--ideal", type=Path, help="the ideal-lens model (default: ideal-lens/ beside --weights)")
    parser.set_defaults(run=evaluate_command)
    parser = add_run_command(actions, "simulate single clipped captures of scenes through the model's optics and "
                                      "reconstruct their HDR (images are made HDR as in training; .npy arrays are "
                                      "linear HDR, 1 = saturation)",
                             "the tone-mapped (mu-law) reconstruction(s) (16-bit as TIFF), with the linear HDR beside each "
                             "as <name>.npy (H, W, 3)")
    parser.add_argument("--lights", type=integer(0, 1000), default=6, help="light sources added to an ordinary image")
    parser.add_argument("--seed", type=SEED, default=0, help="seed of the added lights and of the read noise")
    parser.add_argument("--capture", action="store_true",
                        help="also write the simulated clipped capture beside each output (<name>_capture)")
    parser.set_defaults(run=run_command)
