"""nnci.fft against torch.fft, forward and backward, on random sizes (odd and even), norms and dtypes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nnci
import nnci.fft as fft
from parity import check, numerical_check

DTYPES = [np.float32, np.float64]
NORMS = ["backward", "ortho", "forward"]


def as_complex(pairs):
    return torch.view_as_complex(pairs.contiguous())


def random_shape(rng, complex_pairs=True):
    shape = (int(rng.integers(1, 3)), int(rng.integers(2, 9)), int(rng.integers(2, 9)))
    return shape + (2,) if complex_pairs else shape


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("seed", range(4))
def test_fft2_and_ifft2(seed, norm, dtype):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(random_shape(rng)).astype(dtype)
    check(lambda t: fft.fft2(t, norm=norm), lambda t: torch.view_as_real(torch.fft.fft2(as_complex(t), norm=norm)), x)
    check(lambda t: fft.ifft2(t, norm=norm), lambda t: torch.view_as_real(torch.fft.ifft2(as_complex(t), norm=norm)),
          x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("seed", range(4))
def test_rfft2(seed, norm, dtype):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(random_shape(rng, complex_pairs=False)).astype(dtype)
    check(lambda t: fft.rfft2(t, norm=norm), lambda t: torch.view_as_real(torch.fft.rfft2(t, norm=norm)), x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("seed", range(4))
def test_irfft2(seed, norm, dtype):
    rng = np.random.default_rng(seed)
    n, h, w = random_shape(rng, complex_pairs=False)  # w odd or even: the doubled columns differ
    x = rng.standard_normal((n, h, w // 2 + 1, 2)).astype(dtype)
    check(lambda t: fft.irfft2(t, size=(h, w), norm=norm),
          lambda t: torch.fft.irfft2(as_complex(t), s=(h, w), norm=norm), x)


def test_rfft2_irfft2_round_trip_and_finite_differences():
    x = np.random.default_rng(0).standard_normal((2, 5, 6))
    back = fft.irfft2(fft.rfft2(nnci.tensor(x)), size=(5, 6)).detach().numpy()
    np.testing.assert_allclose(back, x, atol=1e-12)
    numerical_check(lambda t: fft.abs_squared(fft.fft2(fft.complex_exp(t, 0.5))), x[0])
    numerical_check(lambda t: fft.irfft2(fft.rfft2(t) * 1.5 + 0.25, size=(5, 6)), x)


@pytest.mark.parametrize("seed", range(6))
def test_fft_conv2d_is_true_convolution(seed):
    rng = np.random.default_rng(seed)
    n, c, h, w = 2, int(rng.integers(1, 4)), int(rng.integers(4, 12)), int(rng.integers(4, 12))
    kh, kw = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    x = rng.standard_normal((n, c, h, w))
    kernel = rng.standard_normal((c, kh, kw))

    def torch_conv(image, k):  # true convolution = correlation with the flipped kernel, 'same' for odd or even k
        flipped = torch.flip(k, (-2, -1))[:, None]
        padded = TF.pad(image, ((kw - 1) - kw // 2, kw // 2, (kh - 1) - kh // 2, kh // 2))
        return TF.conv2d(padded, flipped, groups=c)

    check(fft.fft_conv2d, torch_conv, x, kernel)

    def torch_fft_conv(image, k):  # the same product of spectra, computed by torch.fft
        size = (h + kh - 1, w + kw - 1)
        spectrum = torch.fft.rfft2(image, s=size) * torch.fft.rfft2(k, s=size)
        return torch.fft.irfft2(spectrum, s=size)[..., kh // 2:kh // 2 + h, kw // 2:kw // 2 + w]

    check(fft.fft_conv2d, torch_fft_conv, x, kernel)


def test_fft_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        fft.fft2(nnci.zeros(3, 4))
    with pytest.raises(ValueError, match="norm"):
        fft.rfft2(nnci.zeros(3, 4), norm="unitary")
    with pytest.raises(ValueError, match="size"):
        fft.irfft2(nnci.zeros(4, 3, 2), size=(4, 7))
