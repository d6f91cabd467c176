"""Quality measures on NumPy arrays."""
from __future__ import annotations

from typing import Any

from .backend import xp


def accuracy(predicted: Any, target: Any) -> float:
    """fraction of predicted == target"""
    predicted, target = xp.asarray(predicted), xp.asarray(target)
    if predicted.shape != target.shape:
        raise ValueError(f"accuracy: predicted shape {tuple(predicted.shape)} and target shape {tuple(target.shape)} differ")
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
        raise ValueError(f"psnr: shapes {tuple(estimate.shape)} and {tuple(reference.shape)} differ")
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


def ssim_map(estimate: Any, reference: Any, data_range: float = 1.0, win_size: int = 7) -> xp.ndarray:
    """Local structural similarity of two 2-D images (Wang et al., 2004) over win_size x win_size uniform
    windows with sample covariances, K1 = 0.01, K2 = 0.03 (scikit-image's defaults)."""
    estimate, reference = xp.asarray(estimate, xp.float64), xp.asarray(reference, xp.float64)
    n = win_size * win_size
    correction = n / (n - 1)
    mean_x, mean_y = _uniform_filter(estimate, win_size), _uniform_filter(reference, win_size)
    var_x = correction * (_uniform_filter(estimate * estimate, win_size) - mean_x * mean_x)
    var_y = correction * (_uniform_filter(reference * reference, win_size) - mean_y * mean_y)
    cov = correction * (_uniform_filter(estimate * reference, win_size) - mean_x * mean_y)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    return ((2 * mean_x * mean_y + c1) * (2 * cov + c2)) / ((mean_x ** 2 + mean_y ** 2 + c1) * (var_x + var_y + c2))


def ssim(estimate: Any, reference: Any, data_range: float = 1.0, win_size: int = 7) -> float:
    """Mean structural similarity with scikit-image's defaults, the mean taken away from the borders;
    for (H, W, C) images the channels' values are averaged."""
    estimate, reference = xp.asarray(estimate, xp.float64), xp.asarray(reference, xp.float64)
    if estimate.shape != reference.shape:
        raise ValueError(f"ssim: shapes {tuple(estimate.shape)} and {tuple(reference.shape)} differ")
    if estimate.ndim == 3:
        return float(xp.mean([ssim(estimate[..., c], reference[..., c], data_range, win_size)
                              for c in range(estimate.shape[2])]))
    crop = (win_size - 1) // 2
    return float(ssim_map(estimate, reference, data_range, win_size)[crop:-crop, crop:-crop].mean())


def gaussian_blur(image: Any, sigma: float) -> xp.ndarray:
    """A 2-D image convolved with a normalised Gaussian of std sigma (mirror-reflected borders)."""
    radius = max(1, int(round(3 * sigma)))
    taps = xp.exp(-0.5 * (xp.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = xp.pad(xp.asarray(image, xp.float64), radius, mode="symmetric")
    rows = sum(t * padded[i:i + padded.shape[0] - 2 * radius] for i, t in enumerate(taps))
    return sum(t * rows[:, i:i + rows.shape[1] - 2 * radius] for i, t in enumerate(taps))


def roc_auc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a random negative
    (ties count half), by the rank-sum (Mann-Whitney U) formula."""
    scores, labels = xp.asarray(scores, xp.float64).ravel(), xp.asarray(labels).ravel().astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("roc_auc needs both positive and negative labels")
    order = xp.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = xp.empty(len(scores), xp.float64)
    # average ranks over runs of equal scores
    boundaries = xp.flatnonzero(xp.diff(sorted_scores)) + 1
    starts = xp.concatenate([[0], boundaries])
    ends = xp.concatenate([boundaries, [len(scores)]])
    run_rank = (starts + ends + 1) / 2.0
    ranks[order] = xp.repeat(run_rank, ends - starts)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def dice(predicted: Any, target: Any) -> float:
    """2 |P and T| / (|P| + |T|) for binary masks (1 when both are empty)"""
    predicted, target = xp.asarray(predicted).astype(bool), xp.asarray(target).astype(bool)
    total = predicted.sum() + target.sum()
    return 1.0 if total == 0 else float(2 * (predicted & target).sum() / total)


def iou(predicted: Any, target: Any) -> float:
    """|P and T| / |P or T| for binary masks (1 when both are empty)"""
    predicted, target = xp.asarray(predicted).astype(bool), xp.asarray(target).astype(bool)
    union = (predicted | target).sum()
    return 1.0 if union == 0 else float((predicted & target).sum() / union)
