"""Quality measures on NumPy arrays."""
from __future__ import annotations

from typing import Any

from .backend import xp


def accuracy(predicted: Any, target: Any) -> float:
    """fraction of predicted == target"""
    predicted, target = xp.asarray(predicted), xp.asarray(target)
    if predicted.shape != target.shape:
        raise ValueError(f"accuracy: predicted shape {predicted.shape} and target shape {target.shape} differ")
    return float((predicted == target).mean())


def confusion_matrix(predicted: Any, target: Any, classes: int) -> xp.ndarray:
    """C[t, p] = how many of class t were predicted as p"""
    matrix = xp.zeros((classes, classes), xp.int64)
    xp.add.at(matrix, (xp.asarray(target), xp.asarray(predicted)), 1)
    return matrix


def psnr(estimate: Any, reference: Any, data_range: float = 1.0) -> float:
    """10 log10(range^2 / mean (x - y)^2), in dB"""
    estimate, reference = xp.asarray(estimate, xp.float64), xp.asarray(reference, xp.float64)
    if estimate.shape != reference.shape:
        raise ValueError(f"psnr: shapes {estimate.shape} and {reference.shape} differ")
    mse = float(((estimate - reference) ** 2).mean())
    return float("inf") if mse == 0 else float(10 * xp.log10(data_range ** 2 / mse))


def _uniform_filter(image: xp.ndarray, size: int) -> xp.ndarray:
    """Mean over size x size windows, the border handled by mirror reflection (as scipy's 'reflect')."""
    pad = size // 2
    padded = xp.pad(image, pad, mode="symmetric")
    csum = padded.cumsum(0).cumsum(1)
    csum = xp.pad(csum, ((1, 0), (1, 0)))
    total = csum[size:, size:] - csum[:-size, size:] - csum[size:, :-size] + csum[:-size, :-size]
    return total / (size * size)


def ssim(estimate: Any, reference: Any, data_range: float = 1.0, win_size: int = 7) -> float:
    """Mean structural similarity (Wang et al., 2004) with scikit-image's defaults: 7x7 uniform windows,
    K1 = 0.01, K2 = 0.03, sample covariances, the mean taken away from the borders; channels last are averaged."""
    estimate, reference = xp.asarray(estimate, xp.float64), xp.asarray(reference, xp.float64)
    if estimate.shape != reference.shape:
        raise ValueError(f"ssim: shapes {estimate.shape} and {reference.shape} differ")
    if estimate.ndim == 3:
        return float(xp.mean([ssim(estimate[..., c], reference[..., c], data_range, win_size)
                              for c in range(estimate.shape[2])]))
    n = win_size * win_size
    correction = n / (n - 1)
    mean_x, mean_y = _uniform_filter(estimate, win_size), _uniform_filter(reference, win_size)
    var_x = correction * (_uniform_filter(estimate * estimate, win_size) - mean_x * mean_x)
    var_y = correction * (_uniform_filter(reference * reference, win_size) - mean_y * mean_y)
    cov = correction * (_uniform_filter(estimate * reference, win_size) - mean_x * mean_y)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    index = ((2 * mean_x * mean_y + c1) * (2 * cov + c2)) / ((mean_x ** 2 + mean_y ** 2 + c1) * (var_x + var_y + c2))
    crop = (win_size - 1) // 2
    return float(index[crop:-crop, crop:-crop].mean())
