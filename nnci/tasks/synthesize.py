"""nnci synthesize: a variational autoencoder on the bundled digits; samples, interpolations and the ELBO."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..backend import Generator, generator, manual_seed, xp
from ..data import DataLoader, TensorDataset
from ..models import VAE
from ..nn import functional as F
from ..optim import Adam
from ..autograd.grad_mode import no_grad
from ..creation import as_tensor
from ..tensor import Tensor
from ..train import Trainer
from .classify import digits_split
from .common import (LEARNING_RATE, SEED, add_eval_arguments, add_train_arguments, integer, load_model, picture_dir,
                     prepare_out_dir, pyplot, report, save_figure, save_model)

NAME = "synthesize"
HELP = "variational autoencoder on the bundled digits: samples, latent interpolation, ELBO"
DEFAULT_CONFIG = {"in_channels": 1, "image_size": 8, "widths": [32, 64], "latent_dim": 8, "beta": 1.0}


def build(config: dict) -> VAE:
    return VAE(config["in_channels"], config["image_size"], tuple(config["widths"]), config["latent_dim"],
               beta=config["beta"])


@no_grad()
def elbo(model: VAE, images: xp.ndarray, samples: int = 10, seed: int = 0) -> dict:
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


def independent_pixels(train_images: xp.ndarray, images: xp.ndarray) -> dict:
    """Baseline: each pixel an independent Bernoulli with its training mean; its exact log-likelihood."""
    p = xp.clip(train_images.mean(0), 1e-4, 1 - 1e-4)
    log_likelihood = (images * xp.log(p) + (1 - images) * xp.log(1 - p)).sum((1, 2, 3))
    return {"elbo": float(log_likelihood.mean()), "reconstruction_nll": float(-log_likelihood.mean()), "kl": 0.0}


def train(args: argparse.Namespace) -> int:
    out = prepare_out_dir(args)
    manual_seed(args.seed)
    data = digits_split()
    model = build(DEFAULT_CONFIG)
    optimizer = Adam(model.parameters(), lr=args.lr)
    loader = DataLoader(TensorDataset(data["train"][0]), batch_size=64, shuffle=True, generator=Generator().manual_seed(args.seed))

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

    trainer = Trainer(model, optimizer, loss_fn, loader, evaluate=evaluate, out_dir=out, epochs=args.epochs,
                      minutes=args.minutes, checkpoint_every=50, progress=not args.quiet,
                      title="synthesize: VAE on digits (negative ELBO)")
    trainer.fit(resume=args.resume)
    save_model(model, NAME, DEFAULT_CONFIG, out)
    print(f"test ELBO {elbo(model, data['test'][0])['elbo']:.2f} nats per image; "
          f"model written to {out / 'model.safetensors'}")
    return 0


def grid_figure(images: xp.ndarray, columns: int, title: str):
    plt = pyplot()
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.8, rows * 0.8 + 0.4), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image in zip(axes.flat, images):
        axis.imshow(image[0], cmap="gray", vmin=0, vmax=1)
    fig.suptitle(title, fontsize=9)
    return fig


@no_grad()
def write_samples(model: VAE, path: Path, count: int, seed: int) -> None:
    manual_seed(seed)
    save_figure(grid_figure(model.sample(count).detach().numpy(), 8, f"{count} samples from z ~ N(0, I)"), path)


@no_grad()
def write_interpolation(model: VAE, first: xp.ndarray, last: xp.ndarray, path: Path, steps: int = 10) -> None:
    """Decode the straight line between two images' latent means."""
    mu, _ = model.encode(as_tensor(xp.stack([first, last])))
    weights = xp.linspace(0, 1, steps, dtype=xp.float32)[:, None]
    z = as_tensor((1 - weights) * mu.detach().numpy()[0] + weights * mu.detach().numpy()[1])
    strip = model.decode(z).sigmoid().detach().numpy()
    save_figure(grid_figure(xp.concatenate([first[None], strip, last[None]]), steps + 2,
                            "latent interpolation between two test digits (ends: the inputs)"), path)


def evaluate(args: argparse.Namespace) -> int:
    model, _ = load_model(args.weights, NAME, build)
    data = digits_split()
    test = data["test"][0]
    out = picture_dir(args)
    write_samples(model, out / "samples.png", 64, seed=0)
    write_interpolation(model, test[0], test[1], out / "interpolation.png")
    clipped = xp.clip(test.astype(xp.float64), 1e-12, 1 - 1e-12)
    floor = -(clipped * xp.log(clipped) + (1 - clipped) * xp.log(1 - clipped)).sum((1, 2, 3)).mean()
    result = {"model": elbo(model, test), "baselines": {"independent pixels": independent_pixels(data["train"][0], test)},
              "reconstruction_nll_floor": round(float(floor), 4),  # sum of pixel entropies: no model goes below
              "pictures": f"{out / 'samples.png'}, {out / 'interpolation.png'}"}
    report(result, args.json, "synthesize: test split of the digits, nats per image")
    return 0


def run(args: argparse.Namespace) -> int:
    model, _ = load_model(args.weights, NAME, build)
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_samples(model, path, args.count, args.seed)
    print(f"{args.count} samples written to {path}")
    return 0


def add_arguments(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser("train", help="train the VAE on the digits")
    add_train_arguments(parser, epochs=150, minutes=3)
    parser.add_argument("--lr", type=LEARNING_RATE, default=2e-3)
    parser.add_argument("--kl-warmup", type=integer(0, 100_000), default=30,
                        help="epochs over which the KL weight rises to 1")
    parser.set_defaults(run=train)
    parser = actions.add_parser("eval", help="test ELBO against a baseline, samples and interpolation pictures")
    add_eval_arguments(parser)
    parser.set_defaults(run=evaluate)
    parser = actions.add_parser("run", help="draw new digits")
    parser.add_argument("--weights", required=True, type=Path)
    parser.add_argument("-n", "--count", type=integer(1, 100_000), default=64)
    parser.add_argument("-o", "--output", default="samples.png")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.set_defaults(run=run)
