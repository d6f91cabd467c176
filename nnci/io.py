"""Files: atomic writes (a temporary file renamed over the target, so an interrupted write never leaves a
half-written file behind) and images read as float arrays in [0, 1] and written from them."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .backend import xp


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Any) -> None:
    """Call write(file) on a temporary file next to `path`, then rename it over `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes files private; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ----- images --------------------------------------------------------------------------------
class ImageFileError(ValueError):
    """An image file that is missing, unreadable, truncated or not an image."""


def rgb_to_gray(image: Any) -> Any:
    """ITU-R BT.709 luma, as skimage.color.rgb2gray: 0.2125 R + 0.7154 G + 0.0721 B."""
    return image[..., :3] @ xp.array([0.2125, 0.7154, 0.0721], xp.float32)


def read_image(path: str | os.PathLike, gray: bool = False) -> tuple[Any, dict]:
    """An image file as float32 in [0, 1], (H, W) or (H, W, 3) (always (H, W) with gray=True), and
    {'bits': 8 or 16, 'channels': 1 or 3 as stored in the file, 'alpha': the (H, W) alpha in [0, 1] or None}:
    the alpha is handed back apart so that a task can write it out again with its result."""
    import warnings

    import skimage.io

    path = Path(path)
    if not path.is_file():
        raise ImageFileError(f"{path}: no such image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = skimage.io.imread(path)
    except Exception as error:  # imageio/Pillow/tifffile raise many kinds for bad files
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise ImageFileError(f"{path}: cannot read as an image ({type(error).__name__}: {first_line})") from None
    image = xp.asarray(image)
    alpha = None
    if image.ndim == 3 and image.shape[2] in (2, 4):
        image, alpha = image[..., :image.shape[2] - 1], image[..., -1]
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ImageFileError(f"{path}: expected a gray or RGB image, got an array of shape {tuple(image.shape)}")
    if image.dtype == xp.uint16:
        bits, scaled = 16, image.astype(xp.float32) / 65535.0
    elif image.dtype == xp.uint8 or image.dtype == xp.bool_:
        bits, scaled = 8, image.astype(xp.float32) / (1.0 if image.dtype == xp.bool_ else 255.0)
    elif image.dtype.kind == "f":
        bits, scaled = 16, xp.clip(image.astype(xp.float32), 0, 1)
    else:
        raise ImageFileError(f"{path}: unsupported pixel type {image.dtype}")
    if gray and scaled.ndim == 3:
        scaled = rgb_to_gray(scaled)
    if alpha is not None:
        alpha = alpha.astype(xp.float32) / (65535.0 if bits == 16 and alpha.dtype == xp.uint16 else
                                            255.0 if alpha.dtype == xp.uint8 else 1.0)
    return scaled, {"bits": bits, "channels": 1 if image.ndim == 2 else 3, "alpha": alpha}


IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")


def write_image(path: str | os.PathLike, image: Any, bits: int = 8, alpha: Any = None) -> None:
    """Write values in [0, 1] as an 8- or 16-bit image (JPEG is always 8-bit), atomically; `alpha` (H, W)
    is stored as the last channel, and refused by JPEG, which cannot hold it."""
    import warnings

    import skimage.io

    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ImageFileError(f"{path}: unknown image format {path.suffix or '(no extension)'!r}; use one of "
                             f"{', '.join(IMAGE_SUFFIXES)}")
    if path.suffix.lower() in (".jpg", ".jpeg"):
        if alpha is not None:
            raise ImageFileError(f"{path}: JPEG cannot store the input's alpha channel; write PNG or TIFF instead")
        bits = 8
    if alpha is not None:
        if alpha.shape != image.shape[:2]:
            raise ValueError(f"alpha of shape {tuple(alpha.shape)} does not match the image's {tuple(image.shape[:2])}")
        image = xp.concatenate([image.reshape(*image.shape[:2], -1), alpha[..., None]], axis=2)
    scale, dtype = (65535.0, xp.uint16) if bits == 16 else (255.0, xp.uint8)
    data = xp.round(xp.clip(image, 0, 1) * scale).astype(dtype)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            skimage.io.imsave(tmp, data, check_contrast=False)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
