"""The functional API, with torch.nn.functional's names and signatures."""
from __future__ import annotations

import math
from typing import Any

from ..autograd.graph import Op
from ..backend import generator as numpy_generator, xp
from ..ops.activation import (celu, elu, gelu, glu, hardshrink, hardsigmoid, hardswish, hardtanh, leaky_relu,
                              log_softmax, logsigmoid, mish, prelu, relu, relu6, selu, silu, softmax, softmin,
                              softplus, softshrink, softsign, tanhshrink, threshold)
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ..ops.elementwise import clamp, where
from ..ops.linalg import matmul
from ..ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cosine_embedding_loss,
                        cosine_similarity, cross_entropy, gaussian_nll_loss, hinge_embedding_loss, huber_loss,
                        kl_div, kl_normal, l1_loss, margin_ranking_loss, mse_loss, multilabel_soft_margin_loss,
                        nll_loss, normalize, pairwise_distance, poisson_nll_loss, smooth_l1_loss, soft_margin_loss,
                        triplet_margin_loss)
from ..ops.norm import batch_norm, group_norm, instance_norm, layer_norm, local_response_norm
from ..ops.pointwise import sigmoid, tanh
from ..ops.pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d, adaptive_max_pool2d, avg_pool1d,
                        avg_pool2d, max_pool1d, max_pool2d)
from ..ops.resample import interpolate
from ..ops.shape import flatten, pad
from ..tensor import Tensor, to_array

__all__ = [
    "linear", "bilinear", "relu", "relu6", "sigmoid", "tanh", "softplus", "leaky_relu", "prelu", "elu", "selu", "celu",
    "gelu", "silu", "mish", "hardtanh", "hardsigmoid", "hardswish", "logsigmoid", "softsign", "tanhshrink",
    "threshold", "softshrink", "hardshrink", "glu", "softmax", "softmin", "log_softmax", "conv1d", "conv2d",
    "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "interpolate",
    "upsample", "batch_norm", "layer_norm", "group_norm", "instance_norm", "local_response_norm", "dropout",
    "dropout1d", "dropout2d", "alpha_dropout", "embedding", "one_hot", "pixel_shuffle", "pixel_unshuffle", "pad",
    "normalize", "cosine_similarity", "pairwise_distance", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
    "smooth_l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
    "poisson_nll_loss", "gaussian_nll_loss", "cosine_embedding_loss", "margin_ranking_loss", "hinge_embedding_loss",
    "soft_margin_loss", "multilabel_soft_margin_loss", "triplet_margin_loss", "kl_normal", "clamp", "where",
    "flatten", "scaled_dot_product_attention",
]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b"""
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        rows = 1
        for n in input.shape[:-1]:
            rows *= n
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1] if input.ndim else 1} "
                           f"and {weight.shape[-1]}x{weight.shape[0]})")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {input.dtype} and {weight.dtype} "
                           "(cast the input, e.g. x.float())")
    y = matmul(input, weight.t() if weight.ndim == 2 else weight, op="linear")
    return y + bias if bias is not None else y


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T W_k x2 + b_k"""
    from ..ops.linalg import einsum
    y = einsum("...i,kij,...j->...k", input1, weight, input2)
    return y + bias if bias is not None else y


class _Mask(Op):
    """y = x m;  dx = g m"""
    saved_inputs = ()

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, g):
        return (g * self.mask,)


def _dropout_mask(shape: tuple, p: float, dtype: Any) -> Any:
    keep = numpy_generator().random(shape) >= p
    scale = 0.0 if p == 1 else 1.0 / (1 - p)
    return (keep * scale).astype(dtype)


def _check_probability(p: float) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _apply_mask(input: Tensor, mask: Any, inplace: bool) -> Tensor:
    if inplace:
        from ..autograd.graph import apply_inplace
        return apply_inplace(_Mask, input, name="dropout_", mask=mask)
    return _Mask.apply(input, mask=mask)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """y = x m / (1 - p), m ~ Bernoulli(1 - p) elementwise, when training; y = x otherwise"""
    _check_probability(p)
    if not training or p == 0:
        return input
    return _apply_mask(input, _dropout_mask(input._array.shape, p, input._array.dtype), inplace)


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool, spatial: int, name: str) -> Tensor:
    _check_probability(p)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{name}: Expected {spatial + 1}D or {spatial + 2}D input, but received a {input.ndim}D "
                           "input")
    if not training or p == 0:
        return input
    channels = input._array.shape[:input.ndim - spatial]
    mask = _dropout_mask(channels + (1,) * spatial, p, input._array.dtype)
    return _apply_mask(input, mask, inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """whole channels of (N, C, L) zeroed with probability p, the rest scaled by 1 / (1 - p)"""
    return _channel_dropout(input, p, training, inplace, 1, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """whole channels of (N, C, H, W) zeroed with probability p, the rest scaled by 1 / (1 - p)"""
    return _channel_dropout(input, p, training, inplace, 2, "dropout2d")


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """SELU's dropout: dropped values set to -1.7581 and an affine map that keeps mean 0 and variance 1"""
    _check_probability(p)
    if not training or p == 0:
        return input
    alpha = -1.7580993408473766
    keep = (numpy_generator().random(input._array.shape) >= p).astype(input._array.dtype)
    a = (1 - p + alpha * alpha * p * (1 - p)) ** -0.5
    b = -a * alpha * p
    return (input * Tensor._wrap(keep * a)) + Tensor._wrap((1 - keep) * alpha * a + b)


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """rows of weight picked by the integer indices in input (no gradient to the padding_idx row)"""
    indices = to_array(input)
    if indices.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, "
                           f"Int; but got {indices.dtype} instead (while checking arguments for embedding)")
    if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
        raise IndexError(f"index out of range in self: indices must lie in [0, {weight.shape[0]}), got "
                         f"[{indices.min()}, {indices.max()}]")
    if max_norm is not None:
        from ..autograd.grad_mode import no_grad
        with no_grad():  # torch renormalises the looked-up rows in place
            rows = xp.unique(indices)
            norms = (xp.abs(weight._array[rows]) ** norm_type).sum(axis=1) ** (1 / norm_type)
            scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(weight._array.dtype)
            weight._array[rows] *= scale[:, None]
            weight._bump_version()
    out = _Embedding.apply(weight, indices=indices, padding_idx=padding_idx)
    return out


class _Embedding(Op):
    """y = W[indices];  dW = g added back at the picked rows (none for padding_idx)"""
    saved_inputs = ()

    def forward(self, weight, indices, padding_idx):
        self.indices, self.padding_idx, self.shape = indices, padding_idx, weight.shape
        return weight[indices]

    def backward(self, g):
        dw = xp.zeros(self.shape, g.dtype)
        xp.add.at(dw, self.indices.reshape(-1), g.reshape(-1, self.shape[1]))
        if self.padding_idx is not None:
            dw[self.padding_idx] = 0
        return (dw,)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """(..., ) class indices -> (..., num_classes) int64 one-hot rows"""
    indices = to_array(tensor)
    if indices.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(indices.max()) + 1 if indices.size else 0
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes." if indices.size and indices.max() >=
                           num_classes else "Class values must be non-negative.")
    out = xp.zeros(indices.shape + (num_classes,), xp.int64)
    xp.put_along_axis(out, indices[..., None].astype(xp.int64), 1, axis=-1)
    return Tensor._wrap(out)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(N, C r^2, H, W) -> (N, C, H r, W r): channel blocks become r x r pixel blocks"""
    *lead, c, h, w = input.shape
    r = upscale_factor
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    out_c = c // (r * r)
    lead = tuple(lead)
    k = len(lead)
    order = tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2)
    return input.reshape(lead + (out_c, r, r, h, w)).permute(order).reshape(lead + (out_c, h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(N, C, H r, W r) -> (N, C r^2, H, W): the inverse of pixel_shuffle"""
    *lead, c, h, w = input.shape
    r = downscale_factor
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, got "
                           f"{h}x{w} and factor {r}")
    lead = tuple(lead)
    k = len(lead)
    order = tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3)
    return input.reshape(lead + (c, h // r, r, w // r, r)).permute(order).reshape(lead + (c * r * r, h // r, w // r))


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """the deprecated name of interpolate"""
    return interpolate(input, size, scale_factor, mode, align_corners)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q K^T / sqrt(d) + mask) V (a boolean mask keeps where True; is_causal masks the future)"""
    from ..creation import ones
    d = query.shape[-1]
    scores = matmul(query, key.transpose(-2, -1)) * (scale if scale is not None else 1 / math.sqrt(d))
    length, source = query.shape[-2], key.shape[-2]
    if is_causal:
        allowed = ones(length, source, dtype="bool").tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    if attn_mask is not None:
        if attn_mask._array.dtype == xp.bool_:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value)
