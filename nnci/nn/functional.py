"""The functional API, with torch.nn.functional's names and signatures."""
from __future__ import annotations

from typing import Any

from ..backend import generator, xp
from ..ops.activation import elu, leaky_relu, log_softmax, relu, softmax, softplus
from ..ops.conv import conv2d, conv_transpose2d
from ..ops.elementwise import clamp, sigmoid, tanh, where
from ..ops.linalg import matmul
from ..ops.norm import BatchNorm
from ..ops.pool import avg_pool2d, max_pool2d
from ..ops.resample import interpolate
from ..ops.shape import flatten, pad as _pad
from ..tensor import Function, Tensor, as_tensor

__all__ = [
    "linear", "relu", "sigmoid", "tanh", "softplus", "leaky_relu", "elu", "softmax", "log_softmax",
    "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "interpolate", "batch_norm", "dropout",
    "pixel_shuffle", "pad", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
    "binary_cross_entropy_with_logits", "kl_normal", "clamp", "where", "flatten",
]


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b"""
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input shape {x.shape} does not fit weight shape {weight.shape} "
                         f"(expected last dim {weight.shape[1]}, got {x.shape[-1]})")
    if x.dtype != weight.dtype:
        raise TypeError(f"linear: input dtype {x.dtype} does not match weight dtype {weight.dtype}; "
                        "cast one of them (e.g. x.float())")
    y = matmul(x, weight.T, op="linear")
    return y + bias if bias is not None else y


def adaptive_avg_pool2d(x: Tensor, output_size: Any) -> Tensor:
    """y[n,c,i,j] = mean of x over the bin [floor(i H / h), ceil((i + 1) H / h)) x (same for columns)"""
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    h, w = x.shape[2:]
    out_h, out_w = out_h or h, out_w or w
    if h % out_h == 0 and w % out_w == 0:  # equal bins: one pooling op
        return avg_pool2d(x, (h // out_h, w // out_w))
    from ..ops.shape import stack
    rows = []
    for i in range(out_h):
        r0, r1 = (i * h) // out_h, -(-((i + 1) * h) // out_h)
        cols = [x[:, :, r0:r1, (j * w) // out_w:-(-((j + 1) * w) // out_w)].mean((2, 3)) for j in range(out_w)]
        rows.append(stack(cols, -1))
    return stack(rows, -2)


def pad(x: Tensor, pad: Any, mode: str = "constant", value: float = 0.0) -> Tensor:
    """x padded by torch's `pad` tuple (last dim first); modes constant, reflect, replicate, circular"""
    return _pad(x, pad, mode, value)


def batch_norm(x: Tensor, running_mean: Any, running_var: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) w + b; batch statistics when training (updating the running ones)"""
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...), got {x.shape}")
    if training and x.numel() // x.shape[1] <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input {x.shape}")
    affine = () if weight is None else (weight, bias)
    stats: dict = {}
    if training:
        y = BatchNorm.apply(x, *affine, mean=None, var=None, eps=eps, stats=stats)
        if running_mean is not None:  # running averages use the unbiased variance, as torch
            count = stats["count"]
            running_mean.data[...] = (1 - momentum) * running_mean.data + momentum * stats["mean"]
            running_var.data[...] = (1 - momentum) * running_var.data + momentum * stats["var"] * (count / (count - 1))
        return y
    return BatchNorm.apply(x, *affine, mean=running_mean.data, var=running_var.data, eps=eps, stats=stats)


class _Mask(Function):
    """y = x m;  dx = g m"""
    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, g):
        return (g * self.mask,)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """y = x m / (1 - p), m ~ Bernoulli(1 - p), when training; y = x otherwise"""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    keep = generator().random(x.shape) >= p
    scale = 0.0 if p == 1 else 1.0 / (1 - p)
    return _Mask.apply(x, mask=(keep * scale).astype(x.dtype))


def pixel_shuffle(x: Tensor, upscale_factor: int) -> Tensor:
    """(N, C r^2, H, W) -> (N, C, H r, W r): channel blocks become r x r pixel blocks"""
    n, c, h, w = x.shape
    r = upscale_factor
    if c % (r * r):
        raise ValueError(f"pixel_shuffle: channels {c} of input {x.shape} are not divisible by {r}^2")
    out_c = c // (r * r)
    return x.reshape(n, out_c, r, r, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, out_c, h * r, w * r)


def pixel_unshuffle(x: Tensor, downscale_factor: int) -> Tensor:
    """(N, C, H r, W r) -> (N, C r^2, H, W): the inverse of pixel_shuffle"""
    n, c, h, w = x.shape
    r = downscale_factor
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle: spatial size of {x.shape} is not divisible by {r}")
    return x.reshape(n, c, h // r, r, w // r, r).permute(0, 1, 3, 5, 2, 4).reshape(n, c * r * r, h // r, w // r)


# ----- losses --------------------------------------------------------------------------------
def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(name: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(f"{name}: input shape {input.shape} and target shape {target.shape} differ")


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """mean (x - y)^2"""
    target = as_tensor(target, like=input)
    _check_same_shape("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """mean |x - y|"""
    target = as_tensor(target, like=input)
    _check_same_shape("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """-[p y log s(x) + (1 - y) log(1 - s(x))], computed stably from the logits x"""
    target = as_tensor(target, like=input)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    exact = float("inf")  # no linear cut-off: softplus's threshold would cost e^-20 of accuracy
    log_sig = -softplus(-input, threshold=exact)        # log s(x)
    log_one_minus = -softplus(input, threshold=exact)   # log(1 - s(x))
    positive = target * log_sig
    if pos_weight is not None:
        positive = positive * as_tensor(pos_weight, like=input)
    loss = -(positive + (1 - target) * log_one_minus)
    if weight is not None:
        loss = loss * as_tensor(weight, like=input)
    return _reduce(loss, reduction)


def nll_loss(log_probs: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """-w[y] log p[y], averaged with the class weights of the counted targets"""
    return _class_loss(log_probs, target, weight, ignore_index, reduction, 0.0, "nll_loss")


def cross_entropy(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """-sum_c q_c log softmax(x)_c with q = (1 - eps) onehot(y) + eps / C; x are logits (N, C, ...)"""
    if input.ndim < 2:
        raise ValueError(f"cross_entropy: expected logits of shape (N, C, ...), got {input.shape}")
    return _class_loss(log_softmax(input, 1), target, weight, ignore_index, reduction, label_smoothing,
                       "cross_entropy")


def _class_loss(log_probs: Tensor, target: Any, weight: Any, ignore_index: int, reduction: str,
                smoothing: float, name: str) -> Tensor:
    target = as_tensor(target).data
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold class indices (integers), got dtype {target.dtype}")
    classes = log_probs.shape[1]
    if target.shape != (log_probs.shape[0],) + log_probs.shape[2:]:
        raise ValueError(f"{name}: input shape {log_probs.shape} and target shape {target.shape} do not match "
                         f"(target should be {(log_probs.shape[0],) + log_probs.shape[2:]})")
    valid = target != ignore_index
    if xp.any((target[valid] < 0) | (target[valid] >= classes)):
        raise ValueError(f"{name}: target holds class indices outside [0, {classes})")
    # move classes last and flatten: rows (N*...,) x classes
    dims = (0,) + tuple(range(2, log_probs.ndim)) + (1,)
    rows = log_probs.permute(dims).reshape(-1, classes)
    flat_target = xp.where(valid, target, 0).reshape(-1)
    flat_valid = valid.reshape(-1)
    class_weight = xp.ones(classes, log_probs.dtype) if weight is None else as_tensor(weight).data.astype(log_probs.dtype)
    row_weight = class_weight[flat_target] * flat_valid
    picked = rows[xp.arange(rows.shape[0]), flat_target]
    loss = -(picked * Tensor(row_weight))
    if smoothing:
        smooth = -(rows * Tensor(class_weight)).sum(1) * Tensor(flat_valid.astype(log_probs.dtype)) / classes
        loss = loss * (1 - smoothing) + smooth * smoothing
    if reduction == "mean":
        return loss.sum() / float(row_weight.sum())
    if reduction == "none":
        return loss.reshape(target.shape)
    return _reduce(loss, reduction)


def kl_normal(mu: Tensor, logvar: Tensor, reduction: str = "sum") -> Tensor:
    """KL(N(mu, e^logvar) || N(0, 1)) = -1/2 sum (1 + logvar - mu^2 - e^logvar), the VAE's prior term"""
    _check_same_shape("kl_normal", mu, logvar)
    terms = (1 + logvar - mu * mu - logvar.exp()) * -0.5
    if reduction == "batchmean":
        return terms.sum() / mu.shape[0]
    return _reduce(terms, reduction)
