"""Single-shot HDR imaging (Metzler et al., "Deep Optics for Single-shot High-dynamic-range Imaging",
CVPR 2020): HDR scenes, a sensor that blurs by the optics' PSF and clips, and the mu-law tone map.

Scene values are linear radiance in units of the sensor's saturation level: 1 saturates a pixel, and
highlights and small light sources reach up to `peak` (64 in the paper's setup).
"""
from __future__ import annotations

from ..backend import xp
from ..ops.fft import fft_conv2d
from ..creation import as_tensor, randn
from ..tensor import Tensor

MU = 5000.0  # mu-law compression used for the loss and the metrics (as in HDR reconstruction work)
SQRT_EPS = 1e-6  # inside the square root of the sqrt-linear loss: keeps its gradient finite at zero radiance


def tone_map(hdr: Tensor | xp.ndarray, peak: float = 64.0, mu: float = MU) -> Tensor | xp.ndarray:
    """T(x) = log(1 + mu x / peak) / log(1 + mu), x clipped to [0, peak]: HDR radiance -> [0, 1]"""
    if isinstance(hdr, Tensor):
        return (hdr.clamp(0.0, peak) * (mu / peak) + 1.0).log() / float(xp.log1p(mu))
    return (xp.log1p(xp.clip(hdr, 0.0, peak) * (mu / peak)) / xp.log1p(mu)).astype(xp.float32)


def inverse_tone_map(mapped: xp.ndarray, peak: float = 64.0, mu: float = MU) -> xp.ndarray:
    """x = peak ((1 + mu)^t - 1) / mu, the inverse of tone_map"""
    return (peak * xp.expm1(xp.clip(mapped, 0.0, 1.0) * xp.log1p(mu)) / mu).astype(xp.float32)


def inverse_tone_map_tensor(mapped: Tensor, peak: float = 64.0, mu: float = MU) -> Tensor:
    """x = peak ((1 + mu)^clip(t, 0, 1) - 1) / mu for a Tensor t, differentiable: the inverse of tone_map"""
    # clipped before the exponential, which overflows (and 0 * inf = NaN in the backward) for large t
    return (mapped.clamp(0.0, 1.0) * float(xp.log1p(mu))).expm1() * (peak / mu)


def sqrt_linear_loss(estimate: Tensor, truth: Tensor | xp.ndarray, peak: float = 64.0) -> Tensor:
    """L = sqrt(mean((sqrt(clip(x, 0, peak) + eps) - sqrt(clip(y, 0, peak) + eps))^2)), eps = 1e-6: the RMSE of
    the square roots of linear HDR x (estimate) and y (truth), the loss of Metzler et al."""
    root = [(as_tensor(x).clamp(0.0, peak) + SQRT_EPS).sqrt() for x in (estimate, truth)]
    difference = root[0] - root[1]
    return (difference * difference).mean().sqrt()


def sqrt_linear_psnr(estimate: xp.ndarray, truth: xp.ndarray, peak: float = 64.0,
                     mask: xp.ndarray | None = None) -> float:
    """10 log10(peak / mean (sqrt(clip(x, 0, peak)) - sqrt(clip(y, 0, peak)))^2) over all pixels or the mask's, in dB"""
    estimate = xp.sqrt(xp.clip(xp.asarray(estimate, xp.float64), 0.0, peak))
    truth = xp.sqrt(xp.clip(xp.asarray(truth, xp.float64), 0.0, peak))
    if estimate.shape != truth.shape:
        raise ValueError(f"sqrt_linear_psnr: shapes {tuple(estimate.shape)} and {tuple(truth.shape)} differ")
    if mask is not None:
        mask = xp.broadcast_to(xp.asarray(mask, bool), truth.shape)
        if not mask.any():
            raise ValueError("sqrt_linear_psnr: the mask selects no pixel")
        estimate, truth = estimate[mask], truth[mask]
    error = float(xp.mean((estimate - truth) ** 2))
    return float("inf") if error == 0 else float(10 * xp.log10(peak / error))


def hdr_scene(srgb: xp.ndarray, rng: xp.random.Generator, peak: float = 64.0, lights: int = 3,
              highlight_fraction: float = 0.03) -> xp.ndarray:
    """(3, H, W) linear HDR scene from an sRGB photo (H, W, 3): linearised by x^2.2, its brightest
    `highlight_fraction` of pixels raised smoothly towards peak x U(0.25, 1), and `lights` small Gaussian
    light sources of radius 0.7-2.5 px and intensity up to `peak` added"""
    linear = xp.clip(srgb, 0.0, 1.0).astype(xp.float64) ** 2.2
    luminance = linear @ xp.array([0.2126, 0.7152, 0.0722])
    threshold = max(xp.quantile(luminance, 1 - highlight_fraction), 0.05)
    excess = xp.clip((luminance - threshold) / max(1 - threshold, 1e-6), 0.0, 1.0)
    boost = 1 + (peak * rng.uniform(0.25, 1.0) - 1) * excess ** 2
    scene = linear * boost[..., None]
    height, width = luminance.shape
    rows, cols = xp.mgrid[:height, :width]
    for _ in range(lights):
        r, c = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(0.7, 2.5)
        colour = rng.uniform(0.6, 1.0, 3)
        blob = xp.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * radius ** 2))
        scene += peak * rng.uniform(0.2, 1.0) * blob[..., None] * colour
    return xp.clip(scene, 0.0, peak).transpose(2, 0, 1).astype(xp.float32)


def sensor(scene: Tensor, psf: Tensor, read_noise: float = 0.0, noise: Tensor | None = None,
           response: str = "linear") -> Tensor:
    """capture = clip(response(psf * scene + read_noise n), 0, 1), n ~ N(0, 1) given or drawn; response
    'linear' or 'gamma' (x^(1/2.2), a simple camera response curve)"""
    scene = as_tensor(scene)
    irradiance = fft_conv2d(scene, psf) if psf.shape != (1, 1) else scene * psf.reshape(())
    if read_noise:
        if noise is None:
            noise = randn(*irradiance.shape, dtype=irradiance.dtype)
        irradiance = irradiance + read_noise * noise
    clipped = irradiance.clamp(0.0, 1.0)
    if response == "gamma":
        return clipped.clamp(1e-6, 1.0) ** (1 / 2.2)
    if response != "linear":
        raise ValueError(f"sensor: response must be 'linear' or 'gamma', got {response!r}")
    return clipped
