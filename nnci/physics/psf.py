"""Point spread functions as modules: an ideal lens, a freely learnable PSF and diffractive optical elements.

Each forward() returns a (size, size) PSF, or (3, size, size) for optics that differ per colour, that is
nonnegative and sums to one (per colour) by construction, so no projection step is needed during training:
the parametrisation itself keeps the optics physical.
"""
from __future__ import annotations

from ..backend import generator, xp
from ..nn.module import Module, Parameter
from ..ops.activation import softmax
from ..ops.fft import abs_squared, complex_exp, fft2
from ..ops.shape import pad, stack
from ..creation import as_tensor
from ..tensor import Tensor


def _check_size(size: int, owner: str) -> int:
    if size < 1 or size % 2 == 0:
        raise ValueError(f"{owner}: the PSF size must be odd and positive (so it has a centre pixel), got {size}")
    return size


def centring_modulation(grid: int) -> xp.ndarray:
    """(-1)^(m+n) on a grid x grid pupil: multiplying by it moves the spectrum's origin to the grid centre (an
    fftshift by modulation, exact for even grids)."""
    return (1 - 2 * (xp.add.outer(xp.arange(grid), xp.arange(grid)) % 2)).astype(xp.float32)


class IdealLens(Module):
    """PSF = delta at the centre: every point of the scene lands on one pixel"""

    def __init__(self, size: int = 1) -> None:
        super().__init__()
        self.size = _check_size(size, "IdealLens")

    def forward(self) -> Tensor:
        psf = xp.zeros((self.size, self.size), dtype=xp.float32)
        psf[self.size // 2, self.size // 2] = 1.0
        return as_tensor(psf)

    def extra_repr(self) -> str:
        return f"size={self.size}"


class FixedPSF(Module):
    """PSF = (1 - spread) delta + spread S, never trained: S a wide Gaussian (sigma = size / 6, so the window holds
    +-3 sigma) or even streaks along the horizontal, vertical and diagonal lines, either without the centre pixel
    and summing to one, so the centre holds exactly 1 - spread of the energy"""

    SHAPES = ("gaussian", "streaks")

    def __init__(self, size: int = 23, spread: float = 0.1, shape: str = "gaussian") -> None:
        super().__init__()
        self.size = _check_size(size, "FixedPSF")
        if not 0 <= spread < 1:
            raise ValueError(f"FixedPSF: the spread energy must be in [0, 1), got {spread}")
        if shape not in self.SHAPES:
            raise ValueError(f"FixedPSF: shape must be one of {self.SHAPES}, got {shape!r}")
        self.spread, self.shape = float(spread), shape
        middle = size // 2
        rows, cols = xp.mgrid[:size, :size] - middle
        if shape == "gaussian":
            part = xp.exp(-(rows ** 2 + cols ** 2) / (2 * (size / 6) ** 2))
        else:
            part = ((rows == 0) | (cols == 0) | (rows == cols) | (rows == -cols)).astype(xp.float64)
        part[middle, middle] = 0.0
        # a 1 x 1 window has no room to spread: the delta it is
        psf = spread * part / part.sum() if part.sum() > 0 else xp.zeros((size, size))
        psf[middle, middle] = 1.0 - spread if part.sum() > 0 else 1.0
        # a buffer, not a Parameter: the optimiser never sees it, and it is saved with the weights
        self.register_buffer("psf", as_tensor(psf.astype(xp.float32)))

    def forward(self) -> Tensor:
        return self.psf

    def extra_repr(self) -> str:
        return f"size={self.size}, spread={self.spread:g}, shape={self.shape!r}"


class LearnablePSF(Module):
    """PSF = softmax(logits) over all size^2 pixels: nonnegative, sums to one, any shape reachable.

    Starts as a near-ideal lens: `centre` of the energy on the centre pixel and the rest spread evenly
    over the other pixels (init 'halo') or over the horizontal, vertical and diagonal lines through the
    centre (init 'streaks', the star-like shape of the learned PSFs in Metzler et al.); a small random
    perturbation lets training break the symmetry."""

    INITS = ("halo", "streaks")

    def __init__(self, size: int = 23, centre: float = 0.9, jitter: float = 0.01, init: str = "halo") -> None:
        super().__init__()
        self.size = _check_size(size, "LearnablePSF")
        if not 0 < centre < 1:
            raise ValueError(f"LearnablePSF: centre energy must be in (0, 1), got {centre}")
        if init not in self.INITS:
            raise ValueError(f"LearnablePSF: init must be one of {self.INITS}, got {init!r}")
        self.init = init
        middle = size // 2
        rows, cols = xp.mgrid[:size, :size] - middle
        support = xp.ones((size, size), bool)
        if init == "streaks":
            support = (rows == 0) | (cols == 0) | (rows == cols) | (rows == -cols)
        support[middle, middle] = False
        psf = xp.where(support, (1 - centre) / max(support.sum(), 1), 0.0)
        psf[middle, middle] = centre if support.any() else 1.0
        logits = xp.log(xp.maximum(psf, 0.01 * psf[support].min(initial=1.0))) + generator().normal(0.0, jitter, psf.shape)
        self.logits = Parameter(logits.astype(xp.float32))

    def forward(self) -> Tensor:
        return softmax(self.logits.reshape(-1), 0).reshape(self.size, self.size)

    def extra_repr(self) -> str:
        return f"size={self.size}, init={self.init!r}"


class DiffractivePSF(Module):
    """A thin phase plate in the pupil: PSF = |FFT(aperture e^(i phase))|^2 / sum, the centre size x size crop.

    The pupil is sampled on a grid twice the PSF size with a circular aperture of radius grid/4, so the
    zero-phase plate gives the diffraction-limited (Airy) PSF of an ideal lens. The phase is in radians;
    a height map h gives phase 2 pi (n - 1) h / wavelength."""

    def __init__(self, size: int = 23, jitter: float = 0.0) -> None:
        super().__init__()
        self.size = _check_size(size, "DiffractivePSF")
        grid = 2 * (size + 1)
        rows, cols = xp.mgrid[:grid, :grid] - (grid - 1) / 2
        self.register_buffer("aperture", as_tensor((rows ** 2 + cols ** 2 <= (grid / 4) ** 2).astype(xp.float32)))
        self.register_buffer("shift", as_tensor(centring_modulation(grid)))
        self.phase = Parameter(generator().normal(0.0, jitter, (grid, grid)).astype(xp.float32))

    def forward(self) -> Tensor:
        field = complex_exp(self.phase, self.aperture * self.shift)
        intensity = abs_squared(fft2(field))
        start = (self.phase.shape[0] - self.size) // 2 + 1
        crop = intensity[start:start + self.size, start:start + self.size]
        return crop / crop.sum()

    def extra_repr(self) -> str:
        return f"size={self.size}, pupil grid={self.phase.shape[0]}"


class HeightMapDOE(Module):
    """A diffractive optical element seen at three wavelengths (R, G, B): a height map h (micrometres) over a
    circular aperture. At wavelength l the plate delays the light by phase 2 pi (n(l) - 1) h / l, and the PSF is
    the Fraunhofer pattern |FFT(aperture e^(i phase))|^2 (Goodman, Introduction to Fourier Optics, ch. 4).

    Sampling: the pupil is zero-padded to a grid in proportion to l (the nearest even size), so one sensor pixel
    spans the same angle at every wavelength and longer waves spread wider. Each sensor pixel integrates
    `oversample` x `oversample` samples of the pattern, and the aperture spans half the green grid, so a flat
    plate gives an Airy disc whose first dark ring is 2.44 / oversample pixels from the centre in green (times
    l / 0.55 um for red and blue). Each colour's
    PSF is the centre size x size crop, normalised: forward() is (3, size, size).
    n(l) is fused silica's, Cauchy's A + B / l^2 with A = 1.4580, B = 0.00354 um^2.
    The start is a speckle: heights drawn N(0, speckle) um, which scatter a little light over the whole window;
    from a flat plate, even (point-symmetric) height changes would move the PSF only at second order."""

    WAVELENGTHS = (0.640, 0.550, 0.460)  # micrometres: R, G, B
    CAUCHY = (1.4580, 0.00354)

    def __init__(self, size: int = 23, speckle: float = 0.05, oversample: int = 3) -> None:
        super().__init__()
        self.size = _check_size(size, "HeightMapDOE")
        if oversample < 1 or oversample % 2 == 0:
            raise ValueError(f"HeightMapDOE: oversample must be odd and positive (a pixel centred on a sample), "
                             f"got {oversample}")
        if speckle < 0:
            raise ValueError(f"HeightMapDOE: speckle (the starting heights' standard deviation) must be >= 0, "
                             f"got {speckle}")
        self.speckle, self.oversample = float(speckle), oversample
        pupil = 2 * oversample * (size + 1)  # samples across the green grid
        rows, cols = xp.mgrid[:pupil, :pupil] - (pupil - 1) / 2
        self.register_buffer("aperture", as_tensor((rows ** 2 + cols ** 2 <= (pupil / 4) ** 2).astype(xp.float32)))
        reference = self.WAVELENGTHS[1]
        self.grids = tuple(2 * max(int(round(pupil * wavelength / reference / 2)), (pupil // 4) + 1)
                           for wavelength in self.WAVELENGTHS)
        self.height = Parameter(generator().normal(0.0, speckle, (pupil, pupil)).astype(xp.float32))
        self._modulations = tuple(as_tensor(centring_modulation(grid)[..., None]) for grid in self.grids)

    def refractive_index(self, wavelength: float) -> float:
        """n(l) = A + B / l^2 (fused silica, l in micrometres)"""
        return self.CAUCHY[0] + self.CAUCHY[1] / wavelength ** 2

    def forward(self) -> Tensor:
        """(3, size, size): per wavelength, |FFT(pad(aperture e^(i 2 pi (n - 1) h / l)))|^2, binned, normalised"""
        pupil, fine = self.height.shape[0], self.size * self.oversample
        psfs = []
        for wavelength, grid, modulation in zip(self.WAVELENGTHS, self.grids, self._modulations):
            phase = self.height * (2 * xp.pi * (self.refractive_index(wavelength) - 1) / wavelength)
            field = complex_exp(phase, self.aperture)
            if grid >= pupil:  # zero-pad around the pupil; the pair axis (last) is left as it is
                before = (grid - pupil) // 2
                field = pad(field, (0, 0, before, grid - pupil - before, before, grid - pupil - before))
            else:  # a smaller grid drops only zeros: the aperture spans half the green grid
                start = (pupil - grid) // 2
                field = field[start:start + grid, start:start + grid]
            intensity = abs_squared(fft2(field * modulation))
            start = grid // 2 - fine // 2
            crop = intensity[start:start + fine, start:start + fine]
            pixels = crop.reshape(self.size, self.oversample, self.size, self.oversample).sum(3).sum(1)
            psfs.append(pixels / pixels.sum())
        return stack(psfs, 0)

    def penalty(self) -> Tensor:
        """Manufacturability: sum over neighbouring pairs i~j inside the aperture of (h_i - h_j)^2, divided by the
        samples inside (um^2): the mean squared height gradient, small for a plate lithography can make."""
        inside = self.aperture
        rows = (self.height[1:, :] - self.height[:-1, :]) * inside[1:, :] * inside[:-1, :]
        cols = (self.height[:, 1:] - self.height[:, :-1]) * inside[:, 1:] * inside[:, :-1]
        return ((rows * rows).sum() + (cols * cols).sum()) / inside.sum()

    def extra_repr(self) -> str:
        return (f"size={self.size}, wavelengths={self.WAVELENGTHS} um, pupil grid={self.height.shape[0]}, "
                f"oversample={self.oversample}, speckle={self.speckle:g} um")
