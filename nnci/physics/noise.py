"""Noise models on images in [0, 1]; sigmas are given on the 0..255 scale, as in the denoising literature."""
from __future__ import annotations

from typing import Any

from ..backend import xp


def gaussian_noise(clean: xp.ndarray, sigma: Any, rng: xp.random.Generator) -> tuple[xp.ndarray, xp.ndarray]:
    """y = x + n, n ~ N(0, (sigma/255)^2); sigma a number or a (low, high) range drawn per image (blind).

    Returns (noisy, sigma per image on the 0..255 scale).
    """
    count = clean.shape[0]
    if isinstance(sigma, (tuple, list)):
        sigmas = rng.uniform(sigma[0], sigma[1], count)
    else:
        sigmas = xp.full(count, float(sigma))
    if xp.any(sigmas < 0):
        raise ValueError(f"noise sigma must be >= 0, got {sigma}")
    scale = (sigmas / 255.0).reshape((count,) + (1,) * (clean.ndim - 1))
    noise = rng.standard_normal(clean.shape) * scale
    return (clean + noise).astype(xp.float32), sigmas.astype(xp.float32)


def poisson_gaussian_noise(clean: xp.ndarray, peak: float, read_sigma: float,
                           rng: xp.random.Generator) -> xp.ndarray:
    """y = Poisson(peak x) / peak + N(0, (read_sigma/255)^2): shot noise at `peak` photons for white, plus read noise."""
    if peak <= 0:
        raise ValueError(f"peak must be > 0, got {peak}")
    shot = rng.poisson(xp.clip(clean, 0, None) * peak) / peak
    return (shot + rng.standard_normal(clean.shape) * (read_sigma / 255.0)).astype(xp.float32)
