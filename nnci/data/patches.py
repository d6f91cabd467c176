"""Random patches with the 8 flips/rotations of the square (data augmentation for image-to-image training)."""
from __future__ import annotations

from typing import Sequence

from ..backend import xp


def dihedral(patch: xp.ndarray, k: int) -> xp.ndarray:
    """The k-th (0..7) of the 8 symmetries of a square on the last two axes: k % 4 quarter turns, flipped if k >= 4."""
    out = xp.rot90(patch, k % 4, axes=(-2, -1))
    return out[..., ::-1] if k >= 4 else out


def inverse_dihedral(patch: xp.ndarray, k: int) -> xp.ndarray:
    """The symmetry that undoes dihedral(., k): unflip, then turn back."""
    out = patch[..., ::-1] if k >= 4 else patch
    return xp.rot90(out, -(k % 4), axes=(-2, -1))


def random_patches(images: Sequence[xp.ndarray], size: int, count: int, rng: xp.random.Generator,
                   augment: bool = True, share: str = "area") -> xp.ndarray:
    """count patches (count, C, size, size) from random images (H, W) or (H, W, C), at random places.

    share="area": an image's chance is its pixel count; "equal": every image has the same chance.
    """
    if share not in ("area", "equal"):
        raise ValueError(f"share must be 'area' or 'equal', got {share!r}")
    if not images:
        raise ValueError("random_patches needs at least one image")
    for image in images:
        if min(image.shape[:2]) < size:
            raise ValueError(f"an image of shape {tuple(image.shape)} is smaller than the patch size {size}")
    areas = xp.array([im.shape[0] * im.shape[1] if share == "area" else 1 for im in images], xp.float64)
    which = rng.choice(len(images), size=count, p=areas / areas.sum())
    first = images[0]
    channels = 1 if first.ndim == 2 else first.shape[2]
    out = xp.empty((count, channels, size, size), xp.float32)
    for i, index in enumerate(which):
        image = images[index]
        top = rng.integers(0, image.shape[0] - size + 1)
        left = rng.integers(0, image.shape[1] - size + 1)
        patch = image[top:top + size, left:left + size]
        patch = patch[None] if patch.ndim == 2 else patch.transpose(2, 0, 1)
        out[i] = dihedral(patch, int(rng.integers(0, 8))) if augment else patch
    return out
