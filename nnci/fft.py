"""Fourier transforms, like torch.fft, on complex values carried as (..., 2) real/imaginary pairs."""
from .ops.fft import abs_squared, complex_exp, complex_mul, fft2, fft_conv2d, ifft2, irfft2, rfft2

__all__ = ["fft2", "ifft2", "rfft2", "irfft2", "complex_mul", "complex_exp", "abs_squared", "fft_conv2d"]
