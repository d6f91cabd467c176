"""Section 5 of the course, the applications: denoising a photo with the shipped blind FFDNet, and the anomaly map of
the shipped autoencoder on a generated surface."""
from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import time
from collections import OrderedDict
from typing import Any

from ...backend import xp
from ...data import DEFECTS, load_photo
from ...io import IMAGE_SUFFIXES, ImageFileError, read_image
from ...metrics import psnr
from ...tasks import anomaly as anomaly_task
from ...tasks import denoise as denoise_task
from ...tasks.options import UserError
from ..controls import Choice, Page, Slider, Upload
from ..views import images, note, readout, readouts

SECTION = "Applications"
MAX_UPLOAD_BYTES = 40 * 2 ** 20
MAX_SIDE = 1024  # an uploaded image larger than this is downscaled before it is kept
PHOTOS = ("camera", "coins", "moon", "chelsea", "astronaut", "brick", "grass")
_uploads: OrderedDict[str, tuple] = OrderedDict()  # token -> (gray image, note); the last few only


def store_upload(data: bytes, filename: str = "upload") -> dict:
    """Keep an uploaded image (gray, downscaled to at most MAX_SIDE) under a token; a file that is not an image,
    or too large, is a UserError that names it."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserError(f"{filename}: {len(data) / 2 ** 20:.1f} MB; at most {MAX_UPLOAD_BYTES // 2 ** 20} MB")
    suffix = os.path.splitext(filename)[1].lower()
    suffix = suffix if suffix in IMAGE_SUFFIXES else ".png"  # the readers choose by suffix, then read the content
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "upload" + suffix)
        with open(path, "wb") as handle:
            handle.write(data)
        try:
            image, _ = read_image(path, gray=True)
        except ImageFileError:
            raise UserError(f"{filename}: not an image nnci can read (PNG, JPEG, TIFF or BMP, gray or colour)") from None
    message = f"{filename}: {image.shape[1]} x {image.shape[0]} pixels"
    if max(image.shape) > MAX_SIDE:
        from skimage.transform import resize
        scale = MAX_SIDE / max(image.shape)
        shape = (max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale)))
        image = resize(image, shape, anti_aliasing=True).astype(xp.float32)
        message += f", downscaled to {shape[1]} x {shape[0]} (at most {MAX_SIDE} on a side)"
    token = hashlib.sha256(data).hexdigest()[:16]
    _uploads[token] = (image, message)
    while len(_uploads) > 8:
        _uploads.popitem(last=False)
    return {"token": token, "note": message}


def uploaded(token: str) -> tuple:
    """(image, note) of a kept upload; UserError once it has been dropped."""
    if token not in _uploads:
        raise UserError("the uploaded image is no longer kept by this server: upload it again")
    return _uploads[token]


def centre_crop(image: xp.ndarray, size: int) -> xp.ndarray:
    """The central size x size part (all of a side shorter than size)."""
    top, left = max(0, (image.shape[0] - size) // 2), max(0, (image.shape[1] - size) // 2)
    return image[top:top + size, left:left + size]


@functools.lru_cache(maxsize=1)
def denoiser() -> Any:
    """The shipped blind denoiser (one model for every noise level), loaded once."""
    return denoise_task.load(sigma=None)


def noisy_version(clean: xp.ndarray, sigma: float, seed: int) -> xp.ndarray:
    """y = x + (sigma / 255) n, n ~ N(0, 1) from numpy's default_rng(seed), float32, not clipped."""
    noise = xp.random.default_rng(seed).standard_normal(clean.shape).astype(xp.float32)
    return (clean + xp.float32(sigma / 255) * noise).astype(xp.float32)


def denoise(v: dict) -> dict:
    """The shipped blind denoiser on a photo (a centre crop of `size`) or the upload, noised with sigma."""
    notes = []
    if v["photo"] == "upload":
        if not v["upload"]:
            return {"panels": [note("choose an image file to upload")]}
        clean, message = uploaded(v["upload"])
        notes.append(note(message, "upload_note"))
    else:
        clean = load_photo(v["photo"])
    clean = centre_crop(clean, v["size"])
    noisy = noisy_version(clean, v["sigma"], v["seed"])
    started = time.perf_counter()
    estimate = denoise_task.apply(denoiser(), noisy, sigma=v["sigma"])
    seconds = time.perf_counter() - started
    return {"panels": [
        *notes,
        images(("clean", "clean", clean), ("noisy", f"noisy, \u03c3 = {v['sigma']:g}", noisy),
               ("denoised", "denoised by the shipped FFDNet", estimate)),
        readouts(readout("psnr_noisy", "PSNR of the noisy image", psnr(xp.clip(noisy, 0, 1), clean), "dB"),
                 readout("psnr_denoised", "PSNR of the denoised image", psnr(xp.clip(estimate, 0, 1), clean), "dB"),
                 readout("seconds", "seconds to denoise", seconds, "s"))]}


@functools.lru_cache(maxsize=1)
def anomaly_model() -> Any:
    """The shipped weave autoencoder, loaded once."""
    return anomaly_task.load()


def anomaly(v: dict) -> dict:
    """The shipped autoencoder's reconstruction of a generated weave surface and the map |x - D(E(x))| (L2) or
    1 - SSIM, scored by its maximum against the threshold chosen at training."""
    from ...data import inspection_sample
    defect = None if v["defect"] == "none" else v["defect"]
    image, mask = inspection_sample("weave", 64, v["seed"], defect)
    model = anomaly_model()
    result = anomaly_task.apply(model, image, map=v["map"])
    reconstruction = anomaly_task.reconstruct(model, image[None, None])[0, 0]
    return {"panels": [
        images(("surface", "generated surface", image), ("reconstruction", "reconstruction D(E(x))", reconstruction),
               ("map", f"{v['map'].upper()} anomaly map over the surface",
                anomaly_task.heat_overlay(image, result.map, result.threshold)),
               ("mask", "where the defect is", mask)),
        readouts(readout("score", "score (max of the map)", result.score),
                 readout("threshold", "threshold (chosen on validation)", result.threshold),
                 readout("anomalous", "anomalous (1) or good (0)", int(result.anomalous)))]}


PAGES = [
    Page("denoise", "Denoising", SECTION,
         "Gaussian noise of standard deviation \u03c3 (on the 0..255 scale) added to a photo, removed by nnci's shipped "
         "blind FFDNet, which takes \u03c3 as its noise map. Photos camera, coins, moon and chelsea were never seen in "
         "training.",
         (Choice("photo", "photo", tuple((name, name) for name in PHOTOS) + (("upload", "your upload"),), "camera"),
          Upload("upload", "upload an image", "", max_length=64),
          Slider("sigma", "noise \u03c3", 0, 75, 1, 25, integer=True),
          Choice("size", "crop", (("128", "128 x 128"), ("256", "256 x 256"), ("512", "512 x 512")), "256"),
          Slider("seed", "noise seed", 0, 99, 1, 0, integer=True)),
         lambda v: denoise({**v, "size": int(v["size"])}), upload=True),
    Page("anomaly", "Anomaly detection", SECTION,
         "An autoencoder trained only on good surfaces reconstructs them well and defects badly: the reconstruction "
         "error is the anomaly map, its maximum the score.",
         (Choice("defect", "defect", (("none", "none"),) + tuple((name, name) for name in DEFECTS), "scratch"),
          Choice("map", "map", (("l2", "L2"), ("ssim", "1 - SSIM")), "l2"),
          Slider("seed", "surface seed", 0, 999, 1, 0, integer=True)),
         anomaly),
]
