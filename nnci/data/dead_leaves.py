"""Procedural "dead leaves" images: an endless source of edges, occlusions and textures at every scale.

Discs with radii drawn from p(r) ~ r^-3 on [r_min, r_max] fall on the image one after another, each
hiding what lies under it, until the image is covered; the law makes the result statistically
scale-invariant, like natural images (Lee, Mumford, Huang, "Occlusion models for natural images", IJCV
2001). Achddou, Gousseau, Ladjal ("Synthetic images as a regularity prior for image restoration neural
networks", SSVM 2021) trained denoisers on such images with textured leaves and came close to training
on natural photos. Here a leaf is flat or carries a sinusoidal grating, and some images are blurred a
little, as out-of-focus regions of photos are.
"""
from __future__ import annotations

from ..backend import xp


def _radius(rng: xp.random.Generator, r_min: float, r_max: float) -> float:
    """A draw from p(r) ~ r^-3 on [r_min, r_max], by inverting its distribution function."""
    u = rng.random()
    return float((r_min ** -2 - u * (r_min ** -2 - r_max ** -2)) ** -0.5)


def _colour(rng: xp.random.Generator, color: bool) -> xp.ndarray:
    """A leaf's colour: a uniform gray level, and for colour images a moderate tint around it (saturated
    colours everywhere would be unlike photos)."""
    level = rng.random()
    if not color:
        return xp.full(1, level, xp.float32)
    return xp.clip(level + rng.normal(0, 0.15, 3), 0, 1).astype(xp.float32)


def dead_leaves(size: int, rng: xp.random.Generator, color: bool = False, r_min: float = 2.0,
                r_max: float | None = None, texture: float = 0.5, coverage: float = 0.995,
                max_leaves: int = 20_000) -> xp.ndarray:
    """One (size, size) image in [0, 1] (or (size, size, 3) with color); `texture` is the share of leaves
    that carry a grating. Leaves fall until `coverage` of the image is hidden; the last gaps keep the colour
    of a leaf lying under all the others."""
    r_max = r_max or size / 2
    channels = 3 if color else 1
    image = xp.broadcast_to(_colour(rng, color), (size, size, channels)).copy()
    covered = xp.zeros((size, size), bool)
    remaining = int(size * size * coverage)
    rows, cols = xp.mgrid[:size, :size]
    for _ in range(max_leaves):
        if remaining <= 0:
            break
        radius = _radius(rng, r_min, r_max)
        cy, cx = rng.uniform(-radius, size + radius, 2)
        top, bottom = max(int(cy - radius), 0), min(int(cy + radius) + 1, size)
        left, right = max(int(cx - radius), 0), min(int(cx + radius) + 1, size)
        if top >= bottom or left >= right:
            continue
        r, c = rows[top:bottom, left:right], cols[top:bottom, left:right]
        inside = ((r - cy) ** 2 + (c - cx) ** 2 <= radius ** 2) & ~covered[top:bottom, left:right]
        count = int(inside.sum())
        if count == 0:
            continue
        base = _colour(rng, color)
        if rng.random() < texture:  # a grating of random period, direction and contrast across the leaf
            period, angle = rng.uniform(2.0, max(3.0, 2 * radius)), rng.uniform(0, xp.pi)
            phase = (r[inside] * xp.sin(angle) + c[inside] * xp.cos(angle)) * (2 * xp.pi / period)
            wave = (rng.uniform(0.05, 0.4) * xp.sin(phase + rng.uniform(0, 2 * xp.pi))).astype(xp.float32)
            values = xp.clip(base[None, :] + wave[:, None], 0, 1)
        else:
            values = xp.broadcast_to(base, (count, channels))
        window = image[top:bottom, left:right]
        window[inside] = values
        covered[top:bottom, left:right] |= inside
        remaining -= count
    if rng.random() < 0.3:  # a little defocus in some images
        from scipy.ndimage import gaussian_filter
        image = gaussian_filter(image, sigma=(rng.uniform(0.3, 1.5),) * 2 + (0,), mode="reflect")
    return image if color else image[..., 0]


def dead_leaves_patches(count: int, size: int, rng: xp.random.Generator, color: bool = False) -> xp.ndarray:
    """(count, C, size, size) float32 patches, each its own dead-leaves image."""
    patches = [dead_leaves(size, rng, color) for _ in range(count)]
    stacked = xp.stack(patches).astype(xp.float32)
    return stacked[:, None] if not color else stacked.transpose(0, 3, 1, 2).copy()
