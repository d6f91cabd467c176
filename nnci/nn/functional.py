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
from ..ops.linalg import _matmul, matmul
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
    "flatten", "scaled_dot_product_attention", "relu_", "elu_", "leaky_relu_", "hardtanh_", "selu_", "celu_",
    "threshold_", "rrelu", "rrelu_", "gumbel_softmax", "rms_norm", "multi_margin_loss", "multilabel_margin_loss",
    "pdist", "unfold", "fold", "max_unpool2d", "lp_pool1d", "lp_pool2d", "affine_grid", "grid_sample",
    "channel_shuffle",
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
    y = _matmul(input, weight.t() if weight.ndim == 2 else weight, "linear")
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


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g k, ...) -> (N, k g, ...): channel i j of g groups of k goes to position j g + i"""
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    return input.reshape((n, groups, c // groups, *rest)).transpose(1, 2).reshape((n, c, *rest))


native_channel_shuffle = channel_shuffle


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """the deprecated name of interpolate"""
    return interpolate(input, size, scale_factor, mode, align_corners)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q K^T / sqrt(d) + mask) V (a boolean mask keeps where True; is_causal masks the future)"""
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    d = query.shape[-1]
    scores = matmul(query, key.transpose(-2, -1)) * (scale if scale is not None else 1 / math.sqrt(d))
    length, source = query.shape[-2], key.shape[-2]
    allowed = None
    if is_causal:
        allowed = Tensor._wrap(xp.tril(xp.ones((length, source), bool)))
    elif attn_mask is not None and attn_mask._array.dtype == xp.bool_:
        allowed = attn_mask
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    elif attn_mask is not None:
        scores = scores + attn_mask
    weights = softmax(scores, -1)
    if allowed is not None and not allowed._array.any(-1).all():  # a row with nothing allowed attends to nothing
        weights = weights.masked_fill(~Tensor._wrap(xp.broadcast_to(allowed._array.any(-1, keepdims=True),
                                                                    weights.shape)), 0.0)
    if dropout_p:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value)


# ----- in-place activation spellings, random activations, RMS norm -------------------------------------
def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


def threshold_(input: Tensor, threshold_value: float, value: float) -> Tensor:
    return threshold(input, threshold_value, value, inplace=True)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """x if x >= 0 else a x, a ~ U(lower, upper) per element in training, (lower + upper) / 2 in eval"""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slopes = numpy_generator().uniform(lower, upper, input._array.shape).astype(input._array.dtype)
    mask = xp.where(input._array >= 0, xp.ones((), input._array.dtype), slopes)
    return _apply_mask(input, mask, inplace)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """softmax((logits + g) / tau), g ~ Gumbel(0, 1); hard: one-hot of the argmax with the soft gradient"""
    gumbels = Tensor._wrap(-xp.log(numpy_generator().exponential(1.0, logits._array.shape)).astype(logits._array.dtype))
    soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return soft
    index = soft._array.argmax(axis=dim)
    hard_values = xp.zeros(soft._array.shape, soft._array.dtype)
    xp.put_along_axis(hard_values, xp.expand_dims(index, dim), 1, axis=dim)
    return Tensor._wrap(hard_values) - soft.detach() + soft


def rms_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the last dims, times weight (eps: the dtype's machine epsilon by default)"""
    from ..ops.reduce import mean
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    eps = float(xp.finfo(input._array.dtype).eps) if eps is None else eps
    y = input * (mean(input * input, dims, keepdim=True) + eps) ** -0.5
    return y * weight if weight is not None else y


def multi_margin_loss(input: Tensor, target: Any, p: int = 1, margin: float = 1.0, weight: Any = None,
                      size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """sum_{i != y} max(0, margin - x[y] + x[i])^p / C (times weight[y])"""
    from ..ops.loss import reduce_loss, reduction_from_legacy
    labels = to_array(target).astype(xp.int64)
    n, c = input.shape if input.ndim == 2 else (1, input.shape[0])
    x = input if input.ndim == 2 else input.unsqueeze(0)
    picked = x[xp.arange(n), labels.reshape(-1)].unsqueeze(1)
    terms = clamp(margin - picked + x, min=0) ** p
    others = Tensor._wrap((xp.arange(c)[None, :] != labels.reshape(-1, 1)).astype(x._array.dtype))
    if weight is not None:
        others = others * Tensor._wrap(to_array(weight)[labels.reshape(-1)][:, None].astype(x._array.dtype))
    loss = (terms * others).sum(1) / c
    return reduce_loss(loss if input.ndim == 2 else loss.reshape(()), reduction_from_legacy(size_average, reduce, reduction))


def multilabel_margin_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,
                           reduction: str = "mean") -> Tensor:
    """sum over target classes j and other classes i of max(0, 1 - (x[j] - x[i])) / C (targets end at the first -1)"""
    from ..ops.loss import reduce_loss, reduction_from_legacy
    labels = to_array(target).astype(xp.int64)
    x = input if input.ndim == 2 else input.unsqueeze(0)
    labels = labels if labels.ndim == 2 else labels[None]
    n, c = x.shape
    losses = []
    for row in range(n):
        chosen = []
        for value in labels[row]:
            if value < 0:
                break
            chosen.append(int(value))
        is_target = xp.zeros(c, bool)
        is_target[chosen] = True
        total = x[row].sum() * 0.0
        for j in chosen:
            hinge = clamp(1 - (x[row, j] - x[row]), min=0)
            total = total + (hinge * Tensor._wrap((~is_target).astype(x._array.dtype))).sum()
        losses.append(total / c)
    from ..ops.shape import stack
    loss = stack(losses)
    return reduce_loss(loss if input.ndim == 2 else loss.reshape(()), reduction_from_legacy(size_average, reduce, reduction))


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """the p-norm distances between every pair of rows i < j, in row-major order"""
    from ..ops.linalg import vector_norm
    n = input.shape[0]
    rows, cols = xp.triu_indices(n, 1)
    return vector_norm(input[rows] - input[cols], p, -1)


# ----- sliding windows: unfold (im2col), fold (col2im), unpooling, power-average pooling ------------------
class _Unfold(Op):
    """y[n, (c, i, j), l] = x_padded[n, c, h s + i d, w s + j d] for window l = (h, w);  dx = g added back (fold)"""
    saved_inputs = ()

    def forward(self, x, kernel, dilation, padding, stride):
        self.args, self.shape = (kernel, dilation, padding, stride), x.shape
        return _windows(x, kernel, dilation, padding, stride)

    def backward(self, g):
        kernel, dilation, padding, stride = self.args
        return (_fold(g, self.shape[2:], kernel, dilation, padding, stride),)


class _Fold(Op):
    """y = the windows of x added into an image (the adjoint of unfold);  dx = unfold(g)"""
    saved_inputs = ()

    def forward(self, x, output_size, kernel, dilation, padding, stride):
        self.args = (kernel, dilation, padding, stride)
        return _fold(x, output_size, kernel, dilation, padding, stride)

    def backward(self, g):
        return (_windows(g, *self.args),)


def _windows(x: Any, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple) -> Any:
    from ..backend import sliding_window_view
    n, c = x.shape[:2]
    padded = xp.pad(x, ((0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    win = sliding_window_view(padded, span, axis=(2, 3))[:, :, ::stride[0], ::stride[1], ::dilation[0], ::dilation[1]]
    ho, wo = win.shape[2:4]
    return xp.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(n, c * kernel[0] * kernel[1], ho * wo)


def _fold(cols: Any, output_size: tuple, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple) -> Any:
    n = cols.shape[0]
    kh, kw = kernel
    c = cols.shape[1] // (kh * kw)
    h, w = output_size
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if ho * wo != cols.shape[2]:
        raise RuntimeError(f"fold: expected {ho * wo} blocks for output_size {tuple(output_size)}, got {cols.shape[2]}")
    blocks = cols.reshape(n, c, kh, kw, ho, wo)
    out = xp.zeros((n, c, h + 2 * padding[0], w + 2 * padding[1]), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            r, q = i * dilation[0], j * dilation[1]
            out[:, :, r:r + stride[0] * (ho - 1) + 1:stride[0], q:q + stride[1] * (wo - 1) + 1:stride[1]] += \
                blocks[:, :, i, j]
    return out[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]


def _pair2(v: Any) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (int(v), int(v))


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """(N, C, H, W) -> (N, C kh kw, L): every sliding window as a column (im2col)"""
    x = input if input.ndim == 4 else input.unsqueeze(0)
    out = _Unfold.apply(x, kernel=_pair2(kernel_size), dilation=_pair2(dilation), padding=_pair2(padding),
                        stride=_pair2(stride))
    return out if input.ndim == 4 else out.squeeze(0)


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """(N, C kh kw, L) -> (N, C, H, W): the columns added back into an image (col2im, the adjoint of unfold)"""
    x = input if input.ndim == 3 else input.unsqueeze(0)
    out = _Fold.apply(x, output_size=_pair2(output_size), kernel=_pair2(kernel_size), dilation=_pair2(dilation),
                      padding=_pair2(padding), stride=_pair2(stride))
    return out if input.ndim == 3 else out.squeeze(0)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """the inverse of max_pool2d: each value placed at its index (row * W + column), zeros elsewhere"""
    kernel = _pair2(kernel_size)
    step = kernel if stride is None else _pair2(stride)
    pads = _pair2(padding)
    n, c, h, w = input.shape
    if output_size is None:
        output_size = ((h - 1) * step[0] - 2 * pads[0] + kernel[0], (w - 1) * step[1] - 2 * pads[1] + kernel[1])
    oh, ow = tuple(output_size)[-2:]
    flat = Tensor._wrap(xp.zeros((n, c, oh * ow), input._array.dtype))
    from ..ops.shape import scatter
    return scatter(flat, 2, indices.reshape(n, c, -1), input.reshape(n, c, -1)).reshape(n, c, oh, ow)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    """(sum over each window of x^p)^(1/p)"""
    kh, kw = _pair2(kernel_size)
    pooled = avg_pool2d(input ** norm_type, (kh, kw), stride, 0, ceil_mode)
    return (pooled.sign() * relu(pooled.abs())).mul(kh * kw) ** (1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    """(sum over each window of x^p)^(1/p) along the last dim"""
    pooled = avg_pool1d(input ** norm_type, kernel_size, stride, 0, ceil_mode)
    return (pooled.sign() * relu(pooled.abs())).mul(kernel_size) ** (1.0 / norm_type)


# ----- sampling grids -------------------------------------------------------------------------------------
def affine_grid(theta: Tensor, size: Any, align_corners: bool | None = None) -> Tensor:
    """the (N, H, W, 2) sampling grid of the affine maps theta (N, 2, 3), in [-1, 1] coordinates"""
    n, _, h, w = tuple(size)
    corners = bool(align_corners)

    def axis(count: int) -> Any:
        values = xp.linspace(-1, 1, count) if count > 1 else xp.zeros(1)
        return values if corners else values * (count - 1) / count
    xs, ys = axis(w), axis(h)
    base = xp.stack([xp.broadcast_to(xs[None, :], (h, w)), xp.broadcast_to(ys[:, None], (h, w)), xp.ones((h, w))], -1)
    grid = Tensor._wrap(base.reshape(1, h * w, 3).astype(theta._array.dtype))
    return matmul(grid, theta.transpose(1, 2)).reshape(n, h, w, 2)


class _GridSample(Op):
    """y[n, c, i, j] = x[n, c] sampled at grid[n, i, j] (bilinear or nearest, zero or border padding);
    dx = g scattered with the same weights, dgrid = g times the weights' derivatives"""

    def forward(self, x, grid, mode, padding_mode, align_corners):
        self.x, self.grid, self.args = x, grid, (mode, padding_mode, align_corners)
        n, c, h, w = x.shape
        gx, gy = grid[..., 0], grid[..., 1]
        if align_corners:
            px, py = (gx + 1) / 2 * (w - 1), (gy + 1) / 2 * (h - 1)
            self.scale = ((w - 1) / 2, (h - 1) / 2)
        else:
            px, py = ((gx + 1) * w - 1) / 2, ((gy + 1) * h - 1) / 2
            self.scale = (w / 2, h / 2)
        if padding_mode == "border":
            px, py = xp.clip(px, 0, w - 1), xp.clip(py, 0, h - 1)
        self.px, self.py = px, py
        if mode == "nearest":
            return self._gather(x, xp.rint(py).astype(int), xp.rint(px).astype(int))
        x0, y0 = xp.floor(px).astype(int), xp.floor(py).astype(int)
        fx, fy = (px - x0).astype(x.dtype), (py - y0).astype(x.dtype)
        self.corners = (x0, y0, fx, fy)
        out = 0
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                out = out + self._gather(x, y0 + dy, x0 + dx) * (wy * wx)[:, None]
        return out

    @staticmethod
    def _inside(rows: Any, cols: Any, h: int, w: int) -> Any:
        return (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)

    def _gather(self, x: Any, rows: Any, cols: Any) -> Any:
        n, c, h, w = x.shape
        inside = self._inside(rows, cols, h, w)
        r, q = xp.clip(rows, 0, h - 1), xp.clip(cols, 0, w - 1)
        batch = xp.arange(n)[:, None, None]
        values = x[batch, :, r, q]  # (N, Ho, Wo, C)
        return xp.moveaxis(values * inside[..., None], -1, 1)

    def backward(self, g):
        mode, padding_mode, _ = self.args
        x = self.x
        n, c, h, w = x.shape
        dx = xp.zeros_like(x)
        batch = xp.arange(n)[:, None, None]
        if mode == "nearest":
            rows, cols = xp.rint(self.py).astype(int), xp.rint(self.px).astype(int)
            inside = self._inside(rows, cols, h, w)
            xp.add.at(dx, (batch, slice(None), xp.clip(rows, 0, h - 1), xp.clip(cols, 0, w - 1)),
                      xp.moveaxis(g, 1, -1) * inside[..., None])
            return dx, xp.zeros_like(self.grid)
        x0, y0, fx, fy = self.corners
        dpx = xp.zeros(fx.shape, x.dtype)
        dpy = xp.zeros(fy.shape, x.dtype)
        moved = xp.moveaxis(g, 1, -1)  # (N, Ho, Wo, C)
        for dy, wy, sy in ((0, 1 - fy, -1), (1, fy, 1)):
            for dxo, wx, sx in ((0, 1 - fx, -1), (1, fx, 1)):
                rows, cols = y0 + dy, x0 + dxo
                inside = self._inside(rows, cols, h, w)
                r, q = xp.clip(rows, 0, h - 1), xp.clip(cols, 0, w - 1)
                xp.add.at(dx, (batch, slice(None), r, q), moved * (wy * wx * inside)[..., None])
                value = (xp.moveaxis(x[batch, :, r, q], -1, -1) * moved).sum(-1) * inside
                dpx += value * wy * sx
                dpy += value * wx * sy
        if padding_mode == "border":
            dpx = dpx * ((self.px > 0) & (self.px < w - 1))
            dpy = dpy * ((self.py > 0) & (self.py < h - 1))
        dgrid = xp.stack([dpx * self.scale[0], dpy * self.scale[1]], -1)
        return dx, dgrid


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """input (N, C, H, W) sampled at grid (N, Ho, Wo, 2) of x, y in [-1, 1]: bilinear or nearest; zeros or border"""
    if mode not in ("bilinear", "nearest"):
        raise NotImplementedError(f"grid_sample: mode {mode!r} is not supported by nnci (bilinear, nearest)")
    if padding_mode not in ("zeros", "border"):
        raise NotImplementedError(f"grid_sample: padding_mode {padding_mode!r} is not supported by nnci (zeros, border)")
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sample: expected input (N, C, H, W) and grid (N, H, W, 2), got {tuple(input.shape)} "
                           f"and {tuple(grid.shape)}")
    return _GridSample.apply(input, grid, mode=mode, padding_mode=padding_mode, align_corners=bool(align_corners))
