"""A camera's raw side: unprocessing sRGB into raw (Brooks et al., "Unprocessing Images for Learned Raw
Denoising", CVPR 2019), a low-light capture, SID's packing (Chen et al., "Learning to See in the Dark",
CVPR 2018), and the classical pipeline that turns raw back into sRGB.

Unprocessing and the capture make training data, so they work on NumPy arrays; the classical pipeline
is made of engine ops (conv2d, matmul, pow), so it is differentiable and runs on batches.
Conventions: images are float32 in [0, 1]; a mosaic is RGGB (R at even rows and even columns).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..backend import xp
from ..ops.conv import conv2d
from ..ops.shape import pad
from ..creation import as_tensor
from ..tensor import Tensor
from .operators import BayerMosaic

# sRGB primaries to CIE XYZ (D65), IEC 61966-2-1.
RGB_TO_XYZ = xp.array([[0.4124564, 0.3575761, 0.1804375],
                       [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]])
# XYZ to camera RGB of a Canon EOS 5D Mark II (dcraw's adobe_coeff table, one of the matrices Brooks et al. sample).
XYZ_TO_CAMERA = xp.array([[0.4716, 0.0603, -0.0830],
                          [-0.7798, 1.5474, 0.2480],
                          [-0.1496, 0.1937, 0.6651]])


def _rgb_to_camera() -> xp.ndarray:
    """rgb2cam = xyz2cam rgb2xyz with rows normalised to sum 1, so white stays white before white balance."""
    matrix = XYZ_TO_CAMERA @ RGB_TO_XYZ
    return matrix / matrix.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class RawCamera:
    """The sensor and the colour processing of one simulated camera (14-bit, Sony-like black level as in SID)."""
    black_level: float = 512.0
    white_level: float = 16383.0
    red_gain: float = 2.15  # white balance, the middle of Brooks et al.'s ranges [1.9, 2.4] and [1.5, 1.9]
    blue_gain: float = 1.7
    brightness_gain: float = 1.25  # 1 / 0.8, Brooks et al.'s mean rgb_gain
    full_well: float = 10000.0  # electrons at the white level
    read_noise: float = 2.0  # electrons, Gaussian
    rgb_to_camera: xp.ndarray = field(default_factory=_rgb_to_camera, compare=False)

    @property
    def gains(self) -> xp.ndarray:
        """Per-channel gains of white balance times brightness, applied by the ISP (camera RGB order)."""
        return self.brightness_gain * xp.array([self.red_gain, 1.0, self.blue_gain])

    @property
    def camera_to_rgb(self) -> xp.ndarray:
        return xp.linalg.inv(self.rgb_to_camera)


def inverse_tone_curve(y: xp.ndarray) -> xp.ndarray:
    """x = 1/2 - sin(asin(1 - 2y) / 3), the inverse of the smoothstep 3x^2 - 2x^3"""
    return 0.5 - xp.sin(xp.arcsin(1.0 - 2.0 * xp.clip(y, 0.0, 1.0)) / 3.0)


def mosaic(rgb: xp.ndarray) -> xp.ndarray:
    """(..., H, W, 3) -> (..., H, W) RGGB Bayer mosaic: each pixel keeps the one colour its filter passes"""
    out = rgb[..., 1].copy()
    out[..., 0::2, 0::2] = rgb[..., 0::2, 0::2, 0]
    out[..., 1::2, 1::2] = rgb[..., 1::2, 1::2, 2]
    return out


def unprocess(srgb: xp.ndarray, camera: RawCamera = RawCamera()) -> xp.ndarray:
    """sRGB (..., H, W, 3) -> linear raw mosaic (..., H, W) in [0, 1], odd sizes cropped to even: inverse tone
    curve, inverse gamma (x^2.2), inverse colour correction, inverse white balance and brightness, Bayer sampling"""
    height, width = srgb.shape[-3] // 2 * 2, srgb.shape[-2] // 2 * 2
    linear = xp.maximum(inverse_tone_curve(srgb[..., :height, :width, :]), 1e-8) ** 2.2
    camera_rgb = linear @ camera.rgb_to_camera.T / camera.gains
    return mosaic(xp.clip(camera_rgb, 0.0, 1.0)).astype(xp.float32)


def capture(raw: xp.ndarray, ratio: float, rng: xp.random.Generator, camera: RawCamera = RawCamera(),
            noise: bool = True) -> xp.ndarray:
    """The 14-bit raw DN of a 1/ratio exposure: Poisson(raw full_well / ratio) electrons + N(0, read_noise^2),
    scaled to [black, white] and quantised"""
    electrons = raw.astype(xp.float64) * camera.full_well / ratio
    if noise:
        electrons = rng.poisson(electrons) + rng.normal(0.0, camera.read_noise, raw.shape)
    dn = camera.black_level + electrons * (camera.white_level - camera.black_level) / camera.full_well
    return xp.clip(xp.round(dn), 0, camera.white_level).astype(xp.float32)


def normalise(dn: xp.ndarray, ratio: float, camera: RawCamera = RawCamera()) -> xp.ndarray:
    """min(max(dn - black, 0) / (white - black) x ratio, 1): black level removed and the exposure amplified"""
    scale = ratio / (camera.white_level - camera.black_level)
    return xp.minimum(xp.maximum(dn - camera.black_level, 0.0) * scale, 1.0).astype(xp.float32)


def pack(mosaic_image: xp.ndarray) -> xp.ndarray:
    """(..., H, W) RGGB mosaic -> (..., 4, H/2, W/2) planes R, G1, G2, B, as SID feeds its network"""
    planes = [mosaic_image[..., 0::2, 0::2], mosaic_image[..., 0::2, 1::2], mosaic_image[..., 1::2, 0::2],
              mosaic_image[..., 1::2, 1::2]]
    return xp.stack(planes, axis=-3)


# Bilinear interpolation of the sparse colour planes: green from its 4 neighbours, red and blue from 2 or 4.
_GREEN_KERNEL = xp.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]]) / 4.0
_RED_BLUE_KERNEL = xp.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4.0


def demosaic_bilinear(mosaic_image: Tensor) -> Tensor:
    """(N, 1, H, W) RGGB mosaic -> (N, 3, H, W): each missing colour is the mean of its nearest samples.
    Reflect padding keeps the Bayer pattern at the borders (pixel -1 mirrors pixel 1, the same colour)."""
    mosaic_image = as_tensor(mosaic_image)
    if mosaic_image.ndim != 4 or mosaic_image.shape[1] != 1 or mosaic_image.shape[2] % 2 or mosaic_image.shape[3] % 2:
        raise ValueError(f"demosaic_bilinear: expected an (N, 1, H, W) mosaic with even H and W, got "
                         f"{tuple(mosaic_image.shape)}")
    dtype = mosaic_image.dtype
    sparse = mosaic_image * as_tensor(BayerMosaic.masks(*mosaic_image.shape[2:]).astype(dtype))
    kernels = xp.stack([_RED_BLUE_KERNEL, _GREEN_KERNEL, _RED_BLUE_KERNEL])[:, None].astype(dtype)
    return conv2d(pad(sparse, (1, 1, 1, 1), mode="reflect"), as_tensor(kernels), groups=3)


def classical_isp(linear_mosaic: Tensor, camera: RawCamera = RawCamera()) -> Tensor:
    """normalised raw mosaic (N, 1, H, W) -> sRGB (N, 3, H, W): bilinear demosaicing, white balance and
    brightness gains, colour correction (cam2rgb), clipping, gamma x^(1/2.2), smoothstep tone curve"""
    rgb = demosaic_bilinear(linear_mosaic)
    dtype = rgb.dtype
    balanced = rgb * as_tensor(camera.gains.reshape(1, 3, 1, 1).astype(dtype))
    corrected = (as_tensor(camera.camera_to_rgb.astype(dtype)) @ balanced.reshape(len(rgb), 3, -1)).reshape(rgb.shape)
    gamma = corrected.clamp(1e-8, 1.0) ** (1 / 2.2)
    return gamma * gamma * (3.0 - 2.0 * gamma)
