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
    """10 log10(range^2 / mean (x - y)^2), in dB (scikit-image's peak_signal_noise_ratio; inf when equal)"""
    from skimage.metrics import peak_signal_noise_ratio
    estimate, reference = xp.asarray(estimate, xp.float64), xp.asarray(reference, xp.float64)
    if estimate.shape != reference.shape:
        raise ValueError(f"psnr: shapes {tuple(estimate.shape)} and {tuple(reference.shape)} differ")
    if not xp.any(estimate != reference):
        return float("inf")
    return float(peak_signal_noise_ratio(reference, estimate, data_range=data_range))


def ssim_map(estimate: Any, reference: Any, data_range: float = 1.0, win_size: int = 7) -> xp.ndarray:
    """Local structural similarity of two 2-D images (Wang et al., 2004) over win_size x win_size uniform
    windows with sample covariances, K1 = 0.01, K2 = 0.03 (scikit-image's structural_similarity, full map)."""
    from skimage.metrics import structural_similarity
    estimate, reference = xp.asarray(estimate, xp.float64), xp.asarray(reference, xp.float64)
    return structural_similarity(estimate, reference, data_range=data_range, win_size=win_size, full=True)[1]


def ssim(estimate: Any, reference: Any, data_range: float = 1.0, win_size: int = 7) -> float:
    """Mean structural similarity with scikit-image's defaults, the mean taken away from the borders;
    for (H, W, C) images the channels' values are averaged."""
    from skimage.metrics import structural_similarity
    estimate, reference = xp.asarray(estimate, xp.float64), xp.asarray(reference, xp.float64)
    if estimate.shape != reference.shape:
        raise ValueError(f"ssim: shapes {tuple(estimate.shape)} and {tuple(reference.shape)} differ")
    return float(structural_similarity(estimate, reference, data_range=data_range, win_size=win_size,
                                       channel_axis=2 if estimate.ndim == 3 else None))


def gaussian_blur(image: Any, sigma: float) -> xp.ndarray:
    """A 2-D image convolved with a normalised Gaussian of std sigma, cut at 3 sigma, mirror-reflected borders
    (scipy.ndimage.gaussian_filter)."""
    from scipy.ndimage import gaussian_filter
    return gaussian_filter(xp.asarray(image, xp.float64), sigma, mode="reflect", truncate=3.0)


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
