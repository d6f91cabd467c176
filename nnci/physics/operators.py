"""Forward models y = noise(A x) as objects apart from the networks that invert them.

A `Physics` has `A` (the noiseless forward model) and a noise model; a `LinearPhysics` also has
`A_adjoint`, the transpose that gradient-based reconstructions need, with <A x, y> = <x, A^T y> checked by
`dot_product_test`. Operators act on (N, C, H, W) Tensors with engine ops, so they are differentiable.
"""
from __future__ import annotations

from typing import Any, Callable

from ..backend import xp
from ..creation import as_tensor
from ..ops.conv import conv2d
from ..tensor import Tensor


class Physics:
    """y = noise(A(x)); A is the identity here, and noise is None (noiseless) or a noise model."""

    def __init__(self, noise: Callable | None = None) -> None:
        self.noise = noise

    def A(self, x: Tensor) -> Tensor:
        return x

    def forward(self, x: Tensor, rng: xp.random.Generator | None = None) -> Tensor:
        """A(x) with the noise model's draw added."""
        y = self.A(x)
        return self.noise(y, rng) if self.noise is not None else y

    __call__ = forward


class LinearPhysics(Physics):
    """A physics whose A is linear, with its adjoint A^T."""

    def A_adjoint(self, y: Tensor) -> Tensor:
        return y


class Denoising(LinearPhysics):
    """A = I: the measurement is the image plus noise (y = x + n for Gaussian noise)."""


class Blur(LinearPhysics):
    """A x = psf * x, a 2-D convolution of every channel with an odd-sized PSF and zeros outside the image
    (output the size of the input); A^T y is the correlation with the same PSF, i.e. the convolution
    with the PSF turned by 180 degrees."""

    def __init__(self, psf: Any, noise: Callable | None = None) -> None:
        super().__init__(noise)
        psf = xp.asarray(psf.detach().numpy() if isinstance(psf, Tensor) else psf, dtype=xp.float64)
        if psf.ndim != 2 or psf.shape[0] % 2 == 0 or psf.shape[1] % 2 == 0:
            raise ValueError(f"Blur: expected an odd-sized 2-D PSF, got shape {tuple(psf.shape)}")
        self.psf = psf

    def _correlate(self, x: Tensor, kernel: xp.ndarray) -> Tensor:
        x = as_tensor(x)
        if x.ndim != 4:
            raise ValueError(f"Blur: expected an (N, C, H, W) batch, got shape {tuple(x.shape)}")
        channels = x.shape[1]
        weight = as_tensor(xp.ascontiguousarray(xp.broadcast_to(kernel, (channels, 1) + kernel.shape)).astype(x.dtype))
        return conv2d(x, weight, padding=(kernel.shape[0] // 2, kernel.shape[1] // 2), groups=channels)

    def A(self, x: Tensor) -> Tensor:
        return self._correlate(x, self.psf[::-1, ::-1])  # conv2d correlates: flipping the PSF makes it a convolution

    def A_adjoint(self, y: Tensor) -> Tensor:
        return self._correlate(y, self.psf)


class BayerMosaic(LinearPhysics):
    """A: (N, 3, H, W) RGB -> (N, 1, H, W) RGGB mosaic, each pixel keeping the colour its filter passes;
    A^T puts each sample back in its colour plane with zeros elsewhere."""

    @staticmethod
    def masks(height: int, width: int) -> xp.ndarray:
        """(3, H, W) 0/1 masks of the R, G and B sites of an RGGB pattern."""
        masks = xp.zeros((3, height, width), dtype=xp.float32)
        masks[0, 0::2, 0::2] = 1
        masks[1, 0::2, 1::2] = masks[1, 1::2, 0::2] = 1
        masks[2, 1::2, 1::2] = 1
        return masks

    def A(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"BayerMosaic: expected an (N, 3, H, W) RGB batch, got shape {tuple(x.shape)}")
        return (x * as_tensor(self.masks(*x.shape[2:]).astype(x.dtype))).sum(1, keepdim=True)

    def A_adjoint(self, y: Tensor) -> Tensor:
        y = as_tensor(y)
        if y.ndim != 4 or y.shape[1] != 1:
            raise ValueError(f"BayerMosaic: expected an (N, 1, H, W) mosaic, got shape {tuple(y.shape)}")
        return y * as_tensor(self.masks(*y.shape[2:]).astype(y.dtype))[None]


def dot_product_test(physics: LinearPhysics, x_shape: tuple, seed: int = 0) -> float:
    """|<A x, y> - <x, A^T y>| / (|<A x, y>| + tiny) for random x and y in float64: ~1e-15 for a true adjoint."""
    rng = xp.random.default_rng(seed)
    x = as_tensor(rng.standard_normal(x_shape))
    ax = physics.A(x).numpy()
    y = rng.standard_normal(ax.shape)
    aty = physics.A_adjoint(as_tensor(y)).numpy()
    left, right = float((ax * y).sum()), float((x.numpy() * aty).sum())
    return abs(left - right) / (abs(left) + 1e-300)
