"""Validation PSNR of denoisers on crops of the TRAINING photos, the set that decides which weights ship.

    python benchmarks/denoise_validation.py --color --weights runs/ffdnet-color/model.safetensors \
        nnci/weights/ffdnet_gray_blind.safetensors

Every weights file is scored on the same crops (64 of 64x64, the same share from each training photo, crop
seed 101, noise seed 102 + sigma) at each sigma, in colour with --color (a gray model then denoises R, G and B
one by one, as `nnci denoise run` does). The held-out photos are never read, so a choice made on these numbers
leaves the test set clean.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's nnci, run from anywhere

from nnci.data import load_photos, random_patches  # noqa: E402
from nnci.metrics import psnr  # noqa: E402
from nnci.physics import GaussianNoise  # noqa: E402
from nnci.tasks import denoise  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="+", required=True, help="weights files to score")
    parser.add_argument("--color", action="store_true", help="crops in colour (default gray)")
    parser.add_argument("--sigma", default="15,25,50", help="comma-separated noise levels (0..255 scale)")
    parser.add_argument("--crops", type=int, default=64)
    args = parser.parse_args()
    photos = list(load_photos("train", gray=not args.color).values())
    clean = random_patches(photos, 64, args.crops, np.random.default_rng(101), augment=False, share="equal")
    models = {path: denoise.load(path) for path in args.weights}
    for sigma in (float(s) for s in args.sigma.split(",")):
        noisy = GaussianNoise(sigma)(clean, np.random.default_rng(102 + int(sigma)))
        cells = []
        for path, model in models.items():
            images = [n[0] if n.shape[0] == 1 else n.transpose(1, 2, 0) for n in noisy]
            estimates = denoise.apply(model, images, sigma=sigma, tile=None)
            scores = [psnr(np.clip(e, 0, 1), c[0] if c.shape[0] == 1 else c.transpose(1, 2, 0))
                      for e, c in zip(estimates, clean)]
            cells.append(f"{Path(path).name} {np.mean(scores):.3f} dB")
        print(f"sigma {sigma:g}: " + ", ".join(cells), flush=True)


if __name__ == "__main__":
    main()
