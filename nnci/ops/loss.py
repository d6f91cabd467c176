"""Losses with torch.nn.functional's names, signatures, reductions and shape rules, composed from ops (their
gradients come from autograd). Distances and similarities used by losses are here too."""
from __future__ import annotations

import math
import warnings
from typing import Any

from ..autograd.graph import Op
from ..backend import xp
from ..tensor import Tensor, to_array
from . import activation, elementwise as E, pointwise as P
from .reduce import mean, sum


def reduction_from_legacy(size_average: Any, reduce: Any, reduction: str) -> str:
    """torch's deprecated size_average/reduce arguments as a reduction."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _target(input: Tensor, target: Any) -> Tensor:
    return target if isinstance(target, Tensor) else E.as_operand(target, input.dtype)


def _pointwise_pair(name: str, input: Tensor, target: Any) -> tuple[Tensor, Tensor]:
    """input and target broadcast against each other, with torch's warning when their sizes differ."""
    target = _target(input, target)
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({tuple(target.shape)}) that is different to the input size ({tuple(input.shape)}). This "
                      "will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
                      UserWarning, stacklevel=3)
        try:
            xp.broadcast_shapes(tuple(input.shape), tuple(target.shape))
        except ValueError:
            raise RuntimeError(f"{name}: The size of tensor a ({input.shape[-1] if input.ndim else 1}) must match the "
                               f"size of tensor b ({target.shape[-1] if target.ndim else 1}): input shape "
                               f"{tuple(input.shape)}, target shape {tuple(target.shape)}") from None
    return input, target


def mse_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
             weight: Any = None) -> Tensor:
    """mean (input - target)^2"""
    input, target = _pointwise_pair("mse_loss", input, target)
    diff = input - target
    loss = diff * diff if weight is None else diff * diff * weight
    return reduce_loss(loss, reduction_from_legacy(size_average, reduce, reduction))


def l1_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """mean |input - target|"""
    input, target = _pointwise_pair("l1_loss", input, target)
    return reduce_loss(P.abs(input - target), reduction_from_legacy(size_average, reduce, reduction))


def smooth_l1_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)"""
    input, target = _pointwise_pair("smooth_l1_loss", input, target)
    d = P.abs(input - target)
    if beta == 0:
        loss = d
    else:
        loss = E.where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta)
    return reduce_loss(loss, reduction_from_legacy(size_average, reduce, reduction))


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0, weight: Any = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)"""
    input, target = _pointwise_pair("huber_loss", input, target)
    d = P.abs(input - target)
    loss = E.where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta)
    return reduce_loss(loss if weight is None else loss * weight, reduction)


class BinaryCrossEntropy(Op):
    """y = -w [t max(log p, -100) + (1 - t) max(log(1 - p), -100)];
    dp = g w (p - t) / max(p (1 - p), 1e-12), dt = g w (log(1 - p) - log p) (torch's formulas)"""

    def forward(self, p, t, *weight):
        self.p, self.t, self.weight = p, t, weight[0] if weight else None
        with xp.errstate(divide="ignore"):
            log_p, log_q = xp.maximum(xp.log(p), -100), xp.maximum(xp.log1p(-p), -100)
        loss = -(t * log_p + (1 - t) * log_q)
        return loss * self.weight if self.weight is not None else loss

    def backward(self, g):
        p, t = self.p, self.t
        scale = g if self.weight is None else g * self.weight
        dp = scale * (p - t) / xp.maximum(p * (1 - p), 1e-12) if self.needs_input_grad[0] else None
        dt = None
        if self.needs_input_grad[1]:
            with xp.errstate(divide="ignore"):
                dt = scale * (xp.maximum(xp.log1p(-p), -100) - xp.maximum(xp.log(p), -100))
        dw = None
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            with xp.errstate(divide="ignore"):
                dw = -g * (t * xp.maximum(xp.log(p), -100) + (1 - t) * xp.maximum(xp.log1p(-p), -100))
        return (dp, dt) + ((dw,) if self.weight is not None else ())

    def vjp(self, g):
        from .elementwise import clamp
        p, t = self.input_tensor(0, self.p), self.input_tensor(1, self.t)
        weight = self.input_tensor(2, self.weight) if self.weight is not None else None
        scale = g if weight is None else g * weight
        dp = scale * (p - t) / clamp(p * (1 - p), min=1e-12) if self.needs_input_grad[0] else None
        log_p, log_q = clamp(p.log(), min=-100), clamp((-p).log1p(), min=-100)
        dt = scale * (log_q - log_p) if self.needs_input_grad[1] else None
        grads = (dp, dt)
        if weight is not None:
            grads += (-g * (t * log_p + (1 - t) * log_q) if self.needs_input_grad[2] else None,)
        return grads


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None, size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """-[t log p + (1 - t) log(1 - p)] on probabilities p (each log clamped at -100, as torch)"""
    target = _target(input, target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) is "
                         "deprecated. Please ensure they have the same size.")
    if input.numel() and (float(input._array.min()) < 0 or float(input._array.max()) > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    inputs = (input, target) if weight is None else (input, target, E.as_operand(weight, input.dtype).expand(input.shape))
    loss = BinaryCrossEntropy.apply(*inputs)
    return reduce_loss(loss, reduction_from_legacy(size_average, reduce, reduction))


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """-[p t log s(x) + (1 - t) log(1 - s(x))], computed stably from the logits x"""
    target = _target(input, target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({tuple(target.shape)}) must be the same as input size ({tuple(input.shape)})")
    exact = float("inf")  # no linear cut-off: softplus's threshold would cost e^-20 of accuracy
    log_sig = -activation.softplus(-input, threshold=exact)       # log s(x)
    log_one_minus = -activation.softplus(input, threshold=exact)  # log(1 - s(x))
    positive = target * log_sig
    if pos_weight is not None:
        positive = positive * pos_weight
    loss = -(positive + (1 - target) * log_one_minus)
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction_from_legacy(size_average, reduce, reduction))


def nll_loss(input: Tensor, target: Any, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
             reduce: Any = None, reduction: str = "mean") -> Tensor:
    """-w[y] log p[y] from log-probabilities, averaged with the class weights of the counted targets"""
    return _class_loss(input, target, weight, ignore_index, reduction_from_legacy(size_average, reduce, reduction), 0.0,
                       "nll_loss")


def cross_entropy(input: Tensor, target: Any, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
                  reduce: Any = None, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """-sum_c q_c log softmax(x)_c, q the (smoothed) one-hot target, or the given class probabilities"""
    reduction = reduction_from_legacy(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.ndim == 0:
        raise RuntimeError("cross_entropy: expected logits of shape (C,) or (N, C, ...), got a 0-dim tensor")
    target_array = to_array(target)
    if target_array.dtype.kind == "f":  # class probabilities, same shape as the input
        return _soft_cross_entropy(input, _target(input, target), weight, reduction, label_smoothing)
    return _class_loss(activation.log_softmax(input, 1 if input.ndim > 1 else 0), target, weight, ignore_index,
                       reduction, label_smoothing, "cross_entropy")


def _soft_cross_entropy(input: Tensor, target: Tensor, weight: Any, reduction: str, smoothing: float) -> Tensor:
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"cross_entropy: class probabilities need the input's shape {tuple(input.shape)}, got "
                           f"{tuple(target.shape)}")
    axis = 1 if input.ndim > 1 else 0
    classes = input.shape[axis]
    if smoothing:
        target = target * (1 - smoothing) + smoothing / classes
    log_probs = activation.log_softmax(input, axis)
    terms = log_probs * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[axis] = classes
        terms = terms * _target(input, weight).reshape(shape)
    loss = -sum(terms, axis)
    if reduction == "mean":
        return sum(loss) / (loss.numel() if input.ndim > 1 else 1)
    return reduce_loss(loss, reduction)


def _class_loss(log_probs: Tensor, target: Any, weight: Any, ignore_index: int, reduction: str, smoothing: float,
                name: str) -> Tensor:
    target = to_array(target)
    if target.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected target of class indices (an integer tensor), got dtype {target.dtype}")
    unbatched = log_probs.ndim == 1
    if unbatched:
        log_probs, target = log_probs.unsqueeze(0), target.reshape(1)
    classes = log_probs.shape[1]
    expected = (log_probs.shape[0],) + tuple(log_probs.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(f"{name}: Expected input batch_size ({log_probs.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.ndim else 1}); input shape {tuple(log_probs.shape)}, target "
                         f"shape {tuple(target.shape)} (target should be {expected})")
    valid = target != ignore_index
    bad = target[valid]
    if bad.size and (bad.min() < 0 or bad.max() >= classes):
        raise IndexError(f"{name}: Target {int(bad.max() if bad.max() >= classes else bad.min())} is out of bounds "
                         f"(the input has {classes} classes)")
    dims = (0,) + tuple(range(2, log_probs.ndim)) + (1,)  # classes last, then flattened rows
    rows = log_probs.permute(dims).reshape(-1, classes)
    flat_target = xp.where(valid, target, 0).reshape(-1)
    flat_valid = valid.reshape(-1)
    dtype = log_probs._array.dtype
    class_weight = xp.ones(classes, dtype) if weight is None else to_array(weight).astype(dtype)
    row_weight = class_weight[flat_target] * flat_valid
    picked = rows[xp.arange(rows.shape[0]), flat_target]
    loss = -(picked * Tensor._wrap(row_weight))
    if smoothing:
        smooth = -(rows * Tensor._wrap(class_weight)).sum(1) * Tensor._wrap(flat_valid.astype(dtype)) / classes
        loss = loss * (1 - smoothing) + smooth * smoothing
    if reduction == "mean":
        total = float(row_weight.sum())
        if total == 0:  # every target ignored: NaN, as torch, with a zero gradient
            return sum(loss) * 0.0 + float("nan")
        return sum(loss) / total
    if reduction == "none":
        return loss.reshape(()) if unbatched else loss.reshape(target.shape)
    return reduce_loss(loss, reduction)


def kl_div(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """sum t (log t - x), input x given as log-probabilities ('batchmean' divides by the batch size)"""
    reduction = reduction_from_legacy(size_average, reduce, reduction)
    target = _target(input, target)
    if log_target:
        loss = P.exp(target) * (target - input)
    else:
        loss = P.xlogy(target, target) - target * input
    if reduction == "batchmean":
        return sum(loss) / (input.shape[0] if input.ndim else 1)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition.",
                      UserWarning, stacklevel=2)
    return reduce_loss(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Any, log_input: bool = True, full: bool = False, size_average: Any = None,
                     eps: float = 1e-8, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """e^x - t x (log_input), or x - t log(x + eps); full adds Stirling's t log t - t + log(2 pi t) / 2"""
    target = _target(input, target)
    loss = P.exp(input) - target * input if log_input else input - target * P.log(input + eps)
    if full:
        stirling = target * P.log(target) - target + 0.5 * P.log(target * (2 * math.pi))
        loss = loss + E.where(target > 1, stirling, 0.0)
    return reduce_loss(loss, reduction_from_legacy(size_average, reduce, reduction))


def gaussian_nll_loss(input: Tensor, target: Any, var: Any, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """(log max(var, eps) + (x - t)^2 / max(var, eps)) / 2 (+ log(2 pi) / 2 when full)"""
    target = _target(input, target)
    var = _target(input, var)
    clamped = E.clamp(var, min=eps)
    loss = 0.5 * (P.log(clamped) + (input - target) ** 2 / clamped)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim"""
    from .linalg import vector_norm
    return vector_norm(x1 - x2 + eps, p, -1, keepdim)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum x1 x2 / (max(||x1||, eps) max(||x2||, eps)) along dim"""
    from .linalg import vector_norm
    n1 = E.clamp(vector_norm(x1, 2, dim, True), min=eps)
    n2 = E.clamp(vector_norm(x2, 2, dim, True), min=eps)
    return sum((x1 / n1) * (x2 / n2), dim)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Tensor:
    """input / max(||input||_p, eps) along dim"""
    from .linalg import vector_norm
    return input / E.clamp(vector_norm(input, p, dim, True), min=eps)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Any, margin: float = 0.0, size_average: Any = None,
                          reduce: Any = None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) for target 1, max(0, cos(x1, x2) - margin) for target -1"""
    cos = cosine_similarity(input1, input2, dim=-1, eps=1e-8)
    target = _target(cos, target)
    loss = E.where(target == 1, 1 - cos, E.clamp(cos - margin, min=0))
    return reduce_loss(loss, reduction_from_legacy(size_average, reduce, reduction))


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Any, margin: float = 0.0, size_average: Any = None,
                        reduce: Any = None, reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin)"""
    target = _target(input1, target)
    return reduce_loss(E.clamp(-target * (input1 - input2) + margin, min=0),
                       reduction_from_legacy(size_average, reduce, reduction))


def hinge_embedding_loss(input: Tensor, target: Any, margin: float = 1.0, size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1"""
    target = _target(input, target)
    loss = E.where(target == 1, input, 0.0) + E.where(target == -1, E.clamp(margin - input, min=0), 0.0)
    return reduce_loss(loss, reduction_from_legacy(size_average, reduce, reduction))


def soft_margin_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + e^(-y x))"""
    target = _target(input, target)
    return reduce_loss(activation.softplus(-target * input, threshold=float("inf")),
                       reduction_from_legacy(size_average, reduce, reduction))


def multilabel_soft_margin_loss(input: Tensor, target: Any, weight: Any = None, size_average: Any = None,
                                reduce: Any = None, reduction: str = "mean") -> Tensor:
    """-mean_c [y log s(x) + (1 - y) log s(-x)] per sample"""
    target = _target(input, target)
    terms = target * activation.logsigmoid(input) + (1 - target) * activation.logsigmoid(-input)
    if weight is not None:
        terms = terms * weight
    loss = -mean(terms, -1)
    return reduce_loss(loss, reduction_from_legacy(size_average, reduce, reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0), d the p-norm distance (swap: d(a, n) is the smaller of d(a, n), d(p, n))"""
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = E.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return reduce_loss(E.clamp(d_pos - d_neg + margin, min=0), reduction_from_legacy(size_average, reduce, reduction))


def kl_normal(mu: Tensor, logvar: Tensor, reduction: str = "sum") -> Tensor:
    """KL(N(mu, e^logvar) || N(0, 1)) = -1/2 sum (1 + logvar - mu^2 - e^logvar), the VAE's prior term"""
    if tuple(mu.shape) != tuple(logvar.shape):
        raise ValueError(f"kl_normal: mu shape {tuple(mu.shape)} and logvar shape {tuple(logvar.shape)} differ")
    terms = (1 + logvar - mu * mu - P.exp(logvar)) * -0.5
    if reduction == "batchmean":
        return sum(terms) / mu.shape[0]
    return reduce_loss(terms, reduction)
