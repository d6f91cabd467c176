"""A generated, seeded visual-inspection dataset: textured surfaces with defects and exact pixel masks.

Like one category of MVTec AD: the training split holds only defect-free surfaces; validation and
test splits mix good and defective ones. Defects are scratches, spots, cracks and missing pattern;
the mask marks exactly the pixels a defect changed.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..backend import xp

CATEGORIES = ("weave", "checker", "noise", "brick", "grass", "gravel")
DEFECTS = ("scratch", "spot", "crack", "missing")
_SPLIT_OFFSET = {"train": 0, "val": 1, "test": 2, "labelled": 3}  # labelled: defects with masks, for supervised training


@lru_cache(maxsize=None)
def _photo(name: str) -> xp.ndarray:
    from .photos import load_photo
    return load_photo(name)


def _surface(category: str, size: int, rng: xp.random.Generator) -> xp.ndarray:
    rows, cols = xp.mgrid[0:size, 0:size].astype(xp.float32)
    if category == "weave":  # a woven grid with a random phase and a slight tilt
        period = rng.uniform(7.5, 8.5)
        tilt = rng.uniform(-0.05, 0.05)
        u, v = cols + tilt * rows + rng.uniform(0, period), rows - tilt * cols + rng.uniform(0, period)
        surface = 0.5 + 0.2 * xp.sin(2 * xp.pi * u / period) * xp.sin(2 * xp.pi * v / period)
    elif category == "checker":
        period = 8
        shift = rng.integers(0, period, 2)
        surface = 0.35 + 0.3 * ((((rows + shift[0]) // period) + ((cols + shift[1]) // period)) % 2)
    elif category == "noise":  # smooth random texture: a few random low-frequency waves
        surface = xp.full((size, size), 0.5, xp.float32)
        for _ in range(6):
            fy, fx = rng.uniform(-0.25, 0.25, 2)
            surface += 0.06 * xp.cos(2 * xp.pi * (fy * rows + fx * cols) + rng.uniform(0, 2 * xp.pi))
    elif category in ("brick", "grass", "gravel"):
        photo = _photo(category)
        top, left = rng.integers(0, photo.shape[0] - size), rng.integers(0, photo.shape[1] - size)
        surface = photo[top:top + size, left:left + size].copy()
    else:
        raise ValueError(f"unknown category {category!r}; choose one of {', '.join(CATEGORIES)}")
    surface = surface + rng.normal(0, 0.02, (size, size))
    return xp.clip(surface, 0, 1).astype(xp.float32)


def _stroke(points: xp.ndarray, size: int, width: int) -> xp.ndarray:
    """Pixels within `width` of a polyline given by points (K, 2) in (row, col)."""
    mask = xp.zeros((size, size), bool)
    for (r0, c0), (r1, c1) in zip(points[:-1], points[1:]):
        steps = int(max(abs(r1 - r0), abs(c1 - c0)) * 2) + 2
        for t in xp.linspace(0, 1, steps):
            r, c = r0 + t * (r1 - r0), c0 + t * (c1 - c0)
            r_lo, c_lo = int(round(r)) - width // 2, int(round(c)) - width // 2
            mask[max(r_lo, 0):max(r_lo + width, 0), max(c_lo, 0):max(c_lo + width, 0)] = True
    return mask


def _defect(image: xp.ndarray, kind: str, rng: xp.random.Generator) -> tuple[xp.ndarray, xp.ndarray]:
    size = image.shape[0]
    rows, cols = xp.mgrid[0:size, 0:size]
    centre = rng.uniform(0.2 * size, 0.8 * size, 2)
    contrast = rng.uniform(0.3, 0.5) * rng.choice([-1.0, 1.0])
    if kind == "scratch":
        angle, length = rng.uniform(0, xp.pi), rng.uniform(0.25, 0.5) * size
        offset = xp.array([xp.sin(angle), xp.cos(angle)]) * length / 2
        mask = _stroke(xp.stack([centre - offset, centre + offset]), size, int(rng.integers(1, 3)))
    elif kind == "spot":
        radius = rng.uniform(2.5, 5.5)
        mask = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2
    elif kind == "crack":  # a random walk that keeps roughly one heading
        heading, points = rng.uniform(0, 2 * xp.pi), [centre]
        for _ in range(int(rng.integers(8, 16))):
            heading += rng.normal(0, 0.6)
            points.append(points[-1] + 2.0 * xp.array([xp.sin(heading), xp.cos(heading)]))
        mask = _stroke(xp.clip(xp.array(points), 0, size - 1), size, 1)
        contrast = -abs(contrast)  # cracks are dark
    elif kind == "missing":  # a patch of the pattern wiped to the surface's mean
        half = rng.integers(4, 8, 2)
        mask = (abs(rows - centre[0]) <= half[0]) & (abs(cols - centre[1]) <= half[1])
        out = image.copy()
        out[mask] = image.mean()
        return out, mask
    else:
        raise ValueError(f"unknown defect {kind!r}")
    out = xp.clip(image + contrast * mask, 0, 1).astype(xp.float32)
    return out, mask & (out != image)


def inspection_dataset(split: str, count: int, size: int = 64, category: str = "weave", seed: int = 0,
                       defect_fraction: float = 0.5) -> tuple[xp.ndarray, xp.ndarray, xp.ndarray]:
    """(images (N, 1, S, S), masks (N, 1, S, S) in {0, 1}, labels (N,) with 1 = defective) for a split.

    The train split is always defect-free; each split has its own random stream, so no surface repeats.
    """
    if split not in _SPLIT_OFFSET:
        raise ValueError(f"split must be 'train', 'val', 'test' or 'labelled', got {split!r}")
    rng = xp.random.default_rng([seed, _SPLIT_OFFSET[split], CATEGORIES.index(category) if category in CATEGORIES
                                 else 99])
    fraction = 0.0 if split == "train" else defect_fraction
    images = xp.empty((count, 1, size, size), xp.float32)
    masks = xp.zeros((count, 1, size, size), xp.float32)
    labels = xp.zeros(count, xp.int64)
    for i in range(count):
        image = _surface(category, size, rng)
        if rng.random() < fraction:
            image, mask = _defect(image, DEFECTS[int(rng.integers(0, len(DEFECTS)))], rng)
            masks[i, 0], labels[i] = mask, int(mask.any())
        images[i, 0] = image
    return images, masks, labels


def inspection_sample(category: str = "weave", size: int = 64, seed: int = 0,
                      defect: str | None = None) -> tuple[xp.ndarray, xp.ndarray]:
    """One surface (S, S) and its defect mask (S, S) in {0, 1}: `defect` one of DEFECTS, or None for a good
    surface; a stream of its own per seed (never one of the splits' surfaces)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; categories: {', '.join(CATEGORIES)}")
    if defect is not None and defect not in DEFECTS:
        raise ValueError(f"unknown defect {defect!r}; defects: {', '.join(DEFECTS)}")
    rng = xp.random.default_rng([seed, len(_SPLIT_OFFSET), CATEGORIES.index(category)])
    image = _surface(category, size, rng)
    if defect is None:
        return image.astype(xp.float32), xp.zeros((size, size), xp.float32)
    image, mask = _defect(image, defect, rng)
    return image.astype(xp.float32), mask.astype(xp.float32)


def load_inspection_folder(folder: str | Path, size: int) -> dict:
    """The user's own images in the layout good/ (training), test/good/, test/defect/, optional masks/
    (same file names as test/defect/). Returns {'train': images, 'test': (images, masks or None, labels)}."""
    from skimage.transform import resize

    from ..io import read_image

    folder = Path(folder)
    expected = "expected DIR/good/ (training images), DIR/test/good/, DIR/test/defect/ and optionally DIR/masks/"
    for sub in ("good", "test/good", "test/defect"):
        if not (folder / sub).is_dir():
            raise ValueError(f"{folder}: missing {sub}/; {expected}")

    def images_in(sub: str) -> tuple[list[Path], xp.ndarray]:
        files = sorted(p for p in (folder / sub).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif",
                                                                                  ".tiff", ".bmp"))
        if not files:
            raise ValueError(f"{folder / sub}: no images in it; {expected}")
        arrays = []
        for path in files:
            image, _ = read_image(path, gray=True)
            arrays.append(resize(image, (size, size), anti_aliasing=True).astype(xp.float32)[None])
        return files, xp.stack(arrays)

    _, train = images_in("good")
    _, good = images_in("test/good")
    defect_files, defect = images_in("test/defect")
    masks = None
    if (folder / "masks").is_dir():
        mask_list = []
        for path in defect_files:
            candidates = [p for p in (folder / "masks").iterdir() if p.stem == path.stem]
            if not candidates:
                raise ValueError(f"{folder / 'masks'}: no mask for {path.name} (masks share the defect image's name)")
            mask, _ = read_image(candidates[0])
            mask = mask if mask.ndim == 2 else mask.max(-1)
            mask_list.append((resize(mask, (size, size), order=0) > 0.5).astype(xp.float32)[None])
        masks = xp.concatenate([xp.zeros_like(good), xp.stack(mask_list)])
    labels = xp.concatenate([xp.zeros(len(good), xp.int64), xp.ones(len(defect), xp.int64)])
    return {"train": train, "test": (xp.concatenate([good, defect]), masks, labels)}
