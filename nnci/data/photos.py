"""Natural photographs that ship inside scikit-image's wheel (never the ones it downloads).

A fixed split: TEST_PHOTOS are never used for training by any nnci task.
"""
from __future__ import annotations

from pathlib import Path

from ..backend import xp
from ..io import rgb_to_gray

PHOTOS = {
    "astronaut": "astronaut.png", "brick": "brick.png", "camera": "camera.png", "chelsea": "chelsea.png",
    "coffee": "coffee.png", "coins": "coins.png", "grass": "grass.png", "gravel": "gravel.png",
    "hubble_deep_field": "hubble_deep_field.jpg", "ihc": "ihc.png", "moon": "moon.png",
    "motorcycle_left": "motorcycle_left.png", "motorcycle_right": "motorcycle_right.png", "retina": "retina.jpg",
    "rocket": "rocket.jpg",
}
TEST_PHOTOS = ("camera", "coins", "moon", "chelsea")
TRAIN_PHOTOS = tuple(name for name in PHOTOS if name not in TEST_PHOTOS)


def load_photo(name: str, gray: bool = True) -> xp.ndarray:
    """One bundled photo as float32 in [0, 1]: (H, W) when gray, else (H, W, 3)."""
    import skimage.data
    import skimage.io

    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; bundled photos: {', '.join(sorted(PHOTOS))}")
    image = skimage.io.imread(Path(skimage.data.__file__).parent / PHOTOS[name])
    image = image.astype(xp.float32) / (65535.0 if image.dtype == xp.uint16 else 255.0)
    if image.ndim == 2:
        return image if gray else xp.repeat(image[..., None], 3, axis=2)
    return rgb_to_gray(image) if gray else xp.ascontiguousarray(image[..., :3])


def load_photos(split: str = "train", gray: bool = True) -> dict[str, xp.ndarray]:
    """The photos of the fixed 'train' or 'test' split, by name."""
    names = {"train": TRAIN_PHOTOS, "test": TEST_PHOTOS, "all": tuple(PHOTOS)}.get(split)
    if names is None:
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return {name: load_photo(name, gray) for name in names}
