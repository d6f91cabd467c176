"""Synthetic shapes with exact masks: a seeded stand-in for labelled segmentation data."""
from __future__ import annotations

from ..backend import xp


def synthetic_shapes(count: int, size: int = 64, seed: int = 0, max_shapes: int = 4) -> tuple[xp.ndarray, xp.ndarray]:
    """count images (count, 1, size, size) of ellipses, rectangles and triangles on a smooth noisy background,
    and their masks (count, 1, size, size) in {0, 1}; the same seed gives the same data."""
    rng = xp.random.default_rng(seed)
    rows, cols = xp.mgrid[0:size, 0:size].astype(xp.float32) / size
    images = xp.empty((count, 1, size, size), xp.float32)
    masks = xp.zeros((count, 1, size, size), xp.float32)
    for i in range(count):
        gx, gy = rng.uniform(-0.2, 0.2, 2)
        background = 0.4 + gx * (cols - 0.5) + gy * (rows - 0.5)
        mask = xp.zeros((size, size), bool)
        for _ in range(rng.integers(1, max_shapes + 1)):
            cy, cx = rng.uniform(0.15, 0.85, 2)
            ry, rx = rng.uniform(0.06, 0.2, 2)
            kind = rng.integers(0, 3)
            if kind == 0:
                shape = ((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2 <= 1
            elif kind == 1:
                shape = (abs(rows - cy) <= ry) & (abs(cols - cx) <= rx)
            else:  # triangle pointing up
                shape = (rows <= cy + ry) & (rows >= cy - ry) & (abs(cols - cx) <= (rows - (cy - ry)) * rx / (2 * ry))
            mask |= shape
        contrast = rng.uniform(0.25, 0.5) * rng.choice([-1, 1])
        image = background + contrast * mask + rng.normal(0, 0.05, (size, size))
        images[i, 0] = xp.clip(image, 0, 1)
        masks[i, 0] = mask
    return images, masks
