"""nnci synthesize: a variational autoencoder on the bundled digits; samples, interpolations and the ELBO.

The encoder gives q(z|x) = N(mu(x), diag e^logvar(x)), the decoder Bernoulli logits p(x|z); training
maximises the ELBO E_q[log p(x|z)] - beta KL(q(z|x) || N(0, I)), with beta warmed up from 0 to 1.
New digits are decoded from z ~ N(0, I).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from ..backend import Generator, generator, manual_seed, xp
from ..data import DataLoader, TensorDataset
from ..models import VAE
from ..nn import functional as F
from ..optim import Adam
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..train import Trainer
from .classify import digits_split
from ..plotting import pyplot, save_figure
from .common import (WEIGHTS, add_eval_arguments, add_train_command, image_file, load_trained, open_run,
                     output_of_this_rank, picture_dir, refuse_existing, report, save_model)
from .options import (LEARNING_RATE, SEED, Settings, UserError, epochs_option, integer, minutes_option, option)

NAME = "synthesize"
HELP = "variational autoencoder on the bundled digits: samples, latent interpolation, ELBO"
SIZE = 8
MAX_COUNT = 10_000  # samples per call: a grid of 10,000 digits is already 3,200 pixels wide
GRID_SCALE = 4  # each digit of a run grid is drawn 32x32 (nearest neighbour), so it can be seen
DEFAULT_CONFIG = {"in_channels": 1, "image_size": SIZE, "widths": [32, 64], "latent_dim": 8, "beta": 1.0,
                  "input_channels": 1, "input_size": SIZE}


@dataclasses.dataclass
class Config(Settings):
    """Training options of `nnci synthesize train` (and of synthesize.train in Python)."""
    epochs: int = epochs_option(150)
    minutes: float = minutes_option(3)
    checkpoint_every: int = option(50, integer(1, 10_000_000), "steps between checkpoints")
    lr: float = option(2e-3, LEARNING_RATE, "Adam's learning rate")
    kl_warmup: int = option(30, integer(0, 100_000), "epochs over which the KL weight beta rises from 0 to 1")
    latent_dim: int = option(8, integer(1, 512), "dimension of the latent code z")


def build(config: dict) -> VAE:
    return VAE(config["in_channels"], config["image_size"], tuple(config["widths"]), config["latent_dim"],
               beta=config["beta"])


@no_grad()
def elbo(model: VAE, images: Any, samples: int = 10, seed: int = 0) -> dict:
    """Mean per image of E_q[log p(x|z)] - KL(q(z|x) || p(z)), z ~ q drawn `samples` times (seeded)."""
    manual_seed(seed)
    x = as_tensor(images)
    mu, logvar = model.encode(x)
    kl = F.kl_normal(mu, logvar, reduction="none").sum(1).detach().numpy()
    reconstruction = 0.0
    for _ in range(samples):
        logits = model.decode(model.reparameterize(mu, logvar))
        reconstruction = reconstruction + F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(
            (1, 2, 3)).detach().numpy()
    reconstruction = reconstruction / samples
    return {"elbo": float(-(reconstruction + kl).mean()), "reconstruction_nll": float(reconstruction.mean()),
            "kl": float(kl.mean())}


def independent_pixels(train_images: Any, images: Any) -> dict:
    """Baseline: each pixel an independent Bernoulli with its training mean; its exact log-likelihood."""
    p = xp.clip(train_images.mean(0), 1e-4, 1 - 1e-4)
    log_likelihood = (images * xp.log(p) + (1 - images) * xp.log(1 - p)).sum((1, 2, 3))
    return {"elbo": float(log_likelihood.mean()), "reconstruction_nll": float(-log_likelihood.mean()), "kl": 0.0}


# ----- train ---------------------------------------------------------------------------------------
def train(config: Config | None = None, out: str | Path | None = None, *, resume: bool = False, force: bool = False,
          progress: bool = True, **overrides: Any) -> VAE:
    """Train the VAE by max E_q[log p(x|z)] - beta KL(q(z|x) || N(0, I)) over the training digits (beta rising
    from 0 to 1 over kl_warmup epochs); files go to `out` (none when None). Returns the model in eval mode."""
    args = open_run(NAME, Config, config, overrides, out, resume, force)
    out = output_of_this_rank(out)
    manual_seed(args.seed)
    data = digits_split()
    model_config = {**DEFAULT_CONFIG, "latent_dim": args.latent_dim}
    model = build(model_config)
    optimizer = Adam(model.parameters(), lr=args.lr)
    loader = DataLoader(TensorDataset(data["train"][0]), batch_size=64, shuffle=True,
                        generator=Generator().manual_seed(args.seed))
    warmup_steps = args.kl_warmup * len(loader)

    def loss_fn(model, batch):
        # KL warm-up (Bowman et al., 2016): beta rises from 0 to 1, so the decoder learns to use z
        # before the prior pulls q(z|x) onto it; tied to the trainer's step so a resumed run agrees
        (x,) = batch
        logits, mu, logvar = model(x)
        beta = min(1.0, trainer.step / warmup_steps) if warmup_steps else 1.0
        reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        return (reconstruction + beta * F.kl_normal(mu, logvar, reduction="sum")) / x.shape[0]

    def evaluate(model):
        state = generator().bit_generator.state  # the ELBO draws z; keep training's random stream untouched
        result = {"elbo": elbo(model, data["val"][0], samples=1)["elbo"]}
        generator().bit_generator.state = state
        return result

    # the shared Trainer as common.fit runs it; built here because the KL weight reads trainer.step
    trainer = Trainer(model, optimizer, loss_fn, loader, evaluate=evaluate, out_dir=out, epochs=args.epochs,
                      minutes=args.minutes, checkpoint_every=args.checkpoint_every, progress=progress,
                      title="synthesize: VAE on digits (negative ELBO)")
    trainer.fit(resume=resume)
    model.eval()
    model.task_config = model_config
    print(f"test ELBO {elbo(model, data['test'][0])['elbo']:.2f} nats per image")
    if out is not None:
        save_model(model, NAME, model_config, Path(out))
        print(f"model written to {Path(out) / WEIGHTS}")
    return model


# ----- applying a model ----------------------------------------------------------------------------
def load(weights: str | Path | None = None) -> VAE:
    """The VAE of a model.safetensors written by train (no weights are shipped for this task)."""
    return load_trained(weights, NAME, build, "VAE")


@no_grad()
def apply(model: VAE, codes: Any) -> Any:
    """sigmoid(decoder(z)): the 8x8 digit in [0, 1] decoded from each latent code z. One code (latent_dim,)
    gives one image (8, 8); an array (N, latent_dim) gives (N, 8, 8); a list of codes a list of images."""
    single = not isinstance(codes, (list, tuple))
    if not single and not codes:
        return []
    array = xp.asarray(codes if single else list(codes), dtype=xp.float32)
    if array.ndim not in (1, 2) or array.shape[-1] != model.latent_dim or (not single and array.ndim != 2):
        raise UserError(f"expected latent codes of shape ({model.latent_dim},) or (N, {model.latent_dim}), got an "
                        f"array of shape {array.shape}")
    if not xp.isfinite(array).all():
        raise UserError("the latent codes hold NaN or infinite values")
    flat = xp.ascontiguousarray(array.reshape(-1, model.latent_dim))
    images = model.decode(as_tensor(flat)).sigmoid().detach().numpy()[:, 0] if len(flat) \
        else xp.zeros((0, SIZE, SIZE), xp.float32)
    if not single:
        return list(images)
    return images[0] if array.ndim == 1 else images


@no_grad()
def encode(model: VAE, images: Any) -> Any:
    """mu(x), the mean of q(z|x), for digits (8, 8) or (N, 8, 8) in [0, 1]: (latent_dim,) or (N, latent_dim)."""
    array = xp.asarray(images, dtype=xp.float32)
    if array.ndim not in (2, 3) or array.shape[-2:] != (SIZE, SIZE):
        raise UserError(f"expected digits of shape (8, 8) or (N, 8, 8), got an array of shape {array.shape}")
    mu, _ = model.encode(as_tensor(xp.ascontiguousarray(array.reshape(-1, 1, SIZE, SIZE))))
    codes = mu.detach().numpy()
    return codes[0] if array.ndim == 2 else codes


def sample(model: VAE, count: int = 64, seed: int = 0) -> Any:
    """`count` new digits (count, 8, 8) in [0, 1]: apply(model, z) for z ~ N(0, I) drawn with `seed` (the same
    seed gives the same digits)."""
    count = _checked(integer(1, MAX_COUNT), count, "count")
    seed = _checked(SEED, seed, "seed")
    codes = xp.random.default_rng(seed).standard_normal((count, model.latent_dim)).astype(xp.float32)
    return apply(model, codes)


def _checked(check: Any, value: Any, name: str) -> Any:
    try:
        return check(value)
    except ValueError as error:
        raise UserError(f"{name}: {error}") from None


def interpolate(model: VAE, first: Any, last: Any, steps: int = 10) -> Any:
    """The digits decoded along the straight line between the latent means of two digits: (steps, 8, 8)."""
    steps = _checked(integer(2, MAX_COUNT), steps, "steps")
    a, b = encode(model, first), encode(model, last)
    weights = xp.linspace(0, 1, steps, dtype=xp.float32)[:, None]
    return apply(model, (1 - weights) * a + weights * b)


# ----- eval ----------------------------------------------------------------------------------------
def grid_figure(images: Any, columns: int, title: str):
    plt = pyplot()
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.8, rows * 0.8 + 0.4), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image in zip(axes.flat, images):
        axis.imshow(image, cmap="gray", vmin=0, vmax=1)
    fig.suptitle(title, fontsize=9)
    return fig


def evaluate(model: VAE | None = None, *, out: str | Path | None = None) -> dict:
    """Test ELBO (nats per image) against independent Bernoulli pixels: {"model": {"elbo", "reconstruction_nll",
    "kl"}, "baselines": {...}, "reconstruction_nll_floor": ...}; with `out`, samples.png (64 digits, seed 0) and
    interpolation.png go there."""
    if model is None:
        model = load(None)
    data = digits_split()
    test = data["test"][0]
    clipped = xp.clip(test.astype(xp.float64), 1e-12, 1 - 1e-12)
    floor = -(clipped * xp.log(clipped) + (1 - clipped) * xp.log(1 - clipped)).sum((1, 2, 3)).mean()
    result: dict[str, Any] = {"model": elbo(model, test),
                              "baselines": {"independent pixels": independent_pixels(data["train"][0], test)},
                              "reconstruction_nll_floor": round(float(floor), 4)}  # sum of pixel entropies
    if out is not None:
        folder = picture_dir(out)
        save_figure(grid_figure(sample(model, 64, 0), 8, "64 samples from z ~ N(0, I)"), folder / "samples.png")
        strip = interpolate(model, test[0, 0], test[1, 0])
        save_figure(grid_figure(xp.concatenate([test[0], strip, test[1]]), len(strip) + 2,
                                "latent interpolation between two test digits (ends: the inputs)"),
                    folder / "interpolation.png")
        result["picture"] = str(folder / "samples.png")
        result["interpolation_picture"] = str(folder / "interpolation.png")
    return result


# ----- the command line ------------------------------------------------------------------------------
def grid(images: Any, columns: int = 8, scale: int = GRID_SCALE) -> Any:
    """Digits (N, 8, 8) tiled `columns` to a row, each enlarged `scale` times, with 1-pixel gaps of black."""
    rows = -(-len(images) // columns)
    tile = SIZE * scale + 1
    canvas = xp.zeros((rows * tile - 1, columns * tile - 1), xp.float32)
    big = images.repeat(scale, axis=1).repeat(scale, axis=2)
    for index, image in enumerate(big):
        top, left = (index // columns) * tile, (index % columns) * tile
        canvas[top:top + SIZE * scale, left:left + SIZE * scale] = image
    return canvas


def sample_targets(out: Path, count: int, force: bool) -> list[Path]:
    """Where run writes: OUT itself (one grid picture) when it has an image extension, else one PNG per sample
    in the folder OUT (created)."""
    out = Path(out)
    if out.suffix and not out.is_dir():
        targets = [image_file(out, "(or name a folder for one PNG per sample)")]
    else:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(f"-o {out}: cannot create the folder ({error.strerror or error})") from None
        targets = [out / f"sample_{index:05d}.png" for index in range(count)]
    return refuse_existing(targets, force)


def evaluate_command(args: argparse.Namespace) -> int:
    result = evaluate(load(args.weights), out=picture_dir(args.out))
    report(result, args.json, "synthesize: test split of the digits, nats per image")
    return 0


def run_command(args: argparse.Namespace) -> int:
    from ..io import write_image
    from .common import share_of_work
    targets = sample_targets(args.out, args.count, args.force)
    model = load(args.weights)
    images = sample(model, args.count, args.seed)
    if len(targets) == 1 and targets[0] == Path(args.out):
        from .. import distributed
        if distributed.is_main():
            write_image(targets[0], grid(images))
        print(f"{args.count} samples (seed {args.seed}) written as one grid to {targets[0]}")
        return 0
    for target, image in share_of_work(list(zip(targets, images)), args.quiet, "writing"):
        write_image(target, image)
    print(f"{args.count} samples (seed {args.seed}) written to {Path(args.out)}/sample_*.png")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    add_train_command(actions, sys.modules[__name__], "train the VAE on the digits")

    parser = actions.add_parser("eval", help="test ELBO against a baseline, samples and interpolation pictures")
    add_eval_arguments(parser)
    for action in parser._actions:
        if action.dest == "out":
            action.help = "directory for samples.png and interpolation.png (default: the working directory)"
    parser.set_defaults(run=evaluate_command)

    help = "draw new digits from z ~ N(0, I)"
    parser = actions.add_parser("run", help=help, description=help)
    parser.add_argument("-o", "--out", required=True, type=Path, metavar="OUT",
                        help=f"an image file (.png, ...): one grid of the samples, 8 to a row, each digit "
                             f"{SIZE * GRID_SCALE}x{SIZE * GRID_SCALE}; else a folder: one 8x8 PNG per sample")
    parser.add_argument("-n", "--count", type=integer(1, MAX_COUNT), default=64,
                        help=f"how many digits, up to {MAX_COUNT:,} (default 64)")
    parser.add_argument("--seed", type=SEED, default=0, help="seed of the latent codes z (default 0)")
    parser.add_argument("--weights", required=True, type=Path,
                        help="a model.safetensors written by 'nnci synthesize train' (no VAE is shipped)")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run_command)
