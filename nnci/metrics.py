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
