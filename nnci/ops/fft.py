"""2-D discrete Fourier transforms on the last two axes, and FFT convolution built from them.

A complex array is carried as a real tensor with a trailing axis of 2 (real, imaginary), the layout of
torch.view_as_real, so every other op of the engine works on it unchanged. For y = s F x with F the DFT
matrix and s the norm's scale, a real loss L has dL/dx = s conj(F) dL/dy (gradients of complex values as
dL/dre + i dL/dim): the adjoint of a transform is the opposite transform with the norm that scales the
same way, which is what each backward below computes.
"""
from __future__ import annotations

from typing import Sequence

from ..backend import xp
from ..autograd.graph import Op
from ..tensor import Tensor
from .shape import pad, stack

NORMS = ("backward", "ortho", "forward")
_ADJOINT_NORM = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _check_norm(norm: str) -> str:
    if norm not in NORMS:
        raise ValueError(f"fft: norm must be one of {', '.join(NORMS)}, got {norm!r}")
    return norm


def _to_complex(pairs: xp.ndarray) -> xp.ndarray:
    return pairs[..., 0] + 1j * pairs[..., 1]


def _to_pairs(values: xp.ndarray, dtype: xp.dtype) -> xp.ndarray:
    return xp.stack([values.real, values.imag], axis=-1).astype(dtype, copy=False)


def _check_pairs(x: Tensor, name: str) -> None:
    if x.ndim < 3 or x.shape[-1] != 2:
        raise ValueError(f"{name}: expected a complex tensor as (..., H, W, 2) real/imaginary pairs, got shape "
                         f"{tuple(x.shape)}")


class FFT2(Op):
    """y = s F x over the last two axes;  dx = s conj(F) g  (the inverse transform with the adjoint norm)"""
    saved_inputs = ()
    def forward(self, x, norm, inverse):
        self.norm, self.inverse = norm, inverse
        transform = xp.fft.ifft2 if inverse else xp.fft.fft2
        return _to_pairs(transform(_to_complex(x), norm=norm), x.dtype)

    def backward(self, g):
        adjoint = xp.fft.fft2 if self.inverse else xp.fft.ifft2
        return (_to_pairs(adjoint(_to_complex(g), norm=_ADJOINT_NORM[self.norm]), g.dtype),)


class RFFT2(Op):
    """y = first W//2+1 columns of s F x for real x;  dx = Re(s conj(F) [g; 0])"""
    saved_inputs = ()
    def forward(self, x, norm):
        self.norm, self.width = norm, x.shape[-1]
        return _to_pairs(xp.fft.rfft2(x, norm=norm), x.dtype)

    def backward(self, g):
        full = xp.zeros(g.shape[:-2] + (self.width,), dtype=xp.result_type(g.dtype, xp.complex64))
        full[..., :g.shape[-2]] = _to_complex(g)
        return (xp.fft.ifft2(full, norm=_ADJOINT_NORM[self.norm]).real.astype(g.dtype, copy=False),)


class IRFFT2(Op):
    """y = real signal of Hermitian half-spectrum x;  dx = rfft2(g) with the columns that stand for two
    conjugate frequencies counted twice"""
    saved_inputs = ()
    def forward(self, x, size, norm):
        self.norm, self.size = norm, size
        return xp.fft.irfft2(_to_complex(x), s=size, norm=norm).astype(x.dtype, copy=False)

    def backward(self, g):
        spectrum = xp.fft.rfft2(g, norm=_ADJOINT_NORM[self.norm])
        width = self.size[1]
        spectrum[..., 1:width - width // 2] *= 2  # column k and column W-k of the full spectrum are one input
        return (_to_pairs(spectrum, g.dtype),)


def fft2(x: Tensor, norm: str = "backward") -> Tensor:
    """y[k, l] = sum_mn x[m, n] e^(-2 pi i (km/H + ln/W)) on (..., H, W, 2) real/imaginary pairs"""
    _check_pairs(x, "fft2")
    return FFT2.apply(x, norm=_check_norm(norm), inverse=False)


def ifft2(x: Tensor, norm: str = "backward") -> Tensor:
    """y[m, n] = 1/(HW) sum_kl x[k, l] e^(2 pi i (km/H + ln/W)) on (..., H, W, 2) real/imaginary pairs"""
    _check_pairs(x, "ifft2")
    return FFT2.apply(x, norm=_check_norm(norm), inverse=True)


def rfft2(x: Tensor, norm: str = "backward") -> Tensor:
    """fft2 of a real (..., H, W) tensor, keeping the W//2+1 non-redundant columns: (..., H, W//2+1, 2)"""
    if x.ndim < 2:
        raise ValueError(f"rfft2: expected at least 2 dimensions, got shape {tuple(x.shape)}")
    return RFFT2.apply(x, norm=_check_norm(norm))


def irfft2(x: Tensor, size: Sequence[int] | None = None, norm: str = "backward") -> Tensor:
    """The real (..., H, W) signal whose rfft2 is x; size=(H, W) (default W = 2 (columns - 1))"""
    _check_pairs(x, "irfft2")
    if size is None:
        size = (x.shape[-3], 2 * (x.shape[-2] - 1))
    size = (int(size[0]), int(size[1]))
    if size[1] // 2 + 1 != x.shape[-2] or size[0] != x.shape[-3]:
        raise ValueError(f"irfft2: a half-spectrum of shape {x.shape[:-1]} does not give a signal of size {size}")
    return IRFFT2.apply(x, size=size, norm=_check_norm(norm))


def complex_mul(a: Tensor, b: Tensor) -> Tensor:
    """(ar + i ai)(br + i bi) = (ar br - ai bi) + i (ar bi + ai br) on real/imaginary pairs"""
    ar, ai, br, bi = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    return stack([ar * br - ai * bi, ar * bi + ai * br], -1)


def complex_exp(phase: Tensor, amplitude: Tensor | float = 1.0) -> Tensor:
    """a e^(i phase) = (a cos phase, a sin phase) as real/imaginary pairs"""
    return stack([amplitude * phase.cos(), amplitude * phase.sin()], -1)


def abs_squared(z: Tensor) -> Tensor:
    """|z|^2 = re^2 + im^2"""
    return (z * z).sum(-1)


def fft_conv2d(x: Tensor, kernel: Tensor) -> Tensor:
    """y = x * k (true convolution, zero outside x, output the size of x, kernel centred at (kh//2, kw//2)),
    computed as irfft2(rfft2(x) rfft2(k)); kernel (kh, kw) or broadcastable (..., kh, kw)"""
    if x.ndim < 2 or kernel.ndim < 2:
        raise ValueError(f"fft_conv2d: image {tuple(x.shape)} and kernel {tuple(kernel.shape)} need at least 2 dimensions")
    height, width = x.shape[-2:]
    kh, kw = kernel.shape[-2:]
    size = (height + kh - 1, width + kw - 1)  # room for the full linear convolution: no wrap-around
    padded_x = pad(x, (0, kw - 1, 0, kh - 1))
    padded_k = pad(kernel, (0, width - 1, 0, height - 1))
    full = irfft2(complex_mul(rfft2(padded_x), rfft2(padded_k)), size=size)
    return full[..., kh // 2:kh // 2 + height, kw // 2:kw // 2 + width]


__all__ = ["fft2", "ifft2", "rfft2", "irfft2", "complex_mul", "complex_exp", "abs_squared", "fft_conv2d"]
