"""The rest of the tensor and functional API against torch: forward values and every input's gradient, random
shapes and seeds, float32 and float64 (one helper, parity.check)."""
import numpy as np
import pytest
import torch

import nnci
from parity import check, numerical_check

DTYPES = [np.float32, np.float64]


def lib_of(x):
    return nnci if isinstance(x, nnci.Tensor) else torch


def same(fn):
    """One lambda for both libraries: fn(lib, *tensors)."""
    return lambda *t: fn(lib_of(t[0]), *t)


def shape(rng, ndim=None, low=1, high=5):
    ndim = int(rng.integers(1, 4)) if ndim is None else ndim
    return tuple(int(n) for n in rng.integers(low, high + 1, size=ndim))


POINTWISE = {
    "exp2": (lambda L, x: L.exp2(x), None), "expm1": (lambda L, x: L.expm1(x), None),
    "log2": (lambda L, x: L.log2(x), "positive"), "log10": (lambda L, x: L.log10(x), "positive"),
    "log1p": (lambda L, x: L.log1p(x), "positive"), "rsqrt": (lambda L, x: L.rsqrt(x), "positive"),
    "reciprocal": (lambda L, x: L.reciprocal(x), "positive"), "tan": (lambda L, x: L.tan(x), "unit"),
    "asin": (lambda L, x: L.asin(x), "unit"), "acos": (lambda L, x: L.acos(x), "unit"),
    "atan": (lambda L, x: L.atan(x), None), "sinh": (lambda L, x: L.sinh(x), None),
    "cosh": (lambda L, x: L.cosh(x), None), "asinh": (lambda L, x: L.asinh(x), None),
    "acosh": (lambda L, x: L.acosh(x + 1.5), "positive"), "atanh": (lambda L, x: L.atanh(x), "unit"),
    "erf": (lambda L, x: L.erf(x), None), "erfc": (lambda L, x: L.erfc(x), None),
    "erfinv": (lambda L, x: L.erfinv(x), "unit"), "lgamma": (lambda L, x: L.lgamma(x), "positive"),
    "frac": (lambda L, x: L.frac(x * 3), None), "logit": (lambda L, x: L.logit(x, eps=0.05), "probability"),
    "xlogy": (lambda L, x: L.xlogy(x, x + 2), "positive"), "square": (lambda L, x: L.square(x), None),
    "nan_to_num": (lambda L, x: L.nan_to_num(L.log(x)), None), "deg2rad": (lambda L, x: L.deg2rad(x), None),
    "neg": (lambda L, x: -x, None), "abs_method": (lambda L, x: x.abs(), None),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("name", sorted(POINTWISE))
def test_pointwise(name, seed, dtype):
    rng = np.random.default_rng(seed)
    fn, domain = POINTWISE[name]
    x = rng.standard_normal(shape(rng))
    if domain == "positive":
        x = np.abs(x) + 0.2
    elif domain == "unit":
        x = np.clip(x * 0.4, -0.9, 0.9)
    elif domain == "probability":
        x = 1 / (1 + np.exp(-x))
    check(same(fn), same(fn), x.astype(dtype))


BINARY = {
    "remainder": lambda L, a, b: L.remainder(a * 3, b), "fmod": lambda L, a, b: L.fmod(a * 3, b),
    "mod_op": lambda L, a, b: (a * 3) % b, "atan2": lambda L, a, b: L.atan2(a, b),
    "lerp": lambda L, a, b: L.lerp(a, b, 0.3), "lerp_tensor": lambda L, a, b: L.lerp(a, b, L.sigmoid(b)),
    "addcmul": lambda L, a, b: L.addcmul(a, a, b, value=0.5), "addcdiv": lambda L, a, b: L.addcdiv(a, a, b, value=2),
    "hypot": lambda L, a, b: L.hypot(a, b), "clamp_tensor": lambda L, a, b: L.clamp(a, min=b - 0.5, max=b + 0.5),
    "clamp_min_tensor": lambda L, a, b: L.clamp(a, min=b), "maximum": lambda L, a, b: L.maximum(a, b),
    "where_scalar": lambda L, a, b: L.where(a > b, a, 0.5), "pow_tensor": lambda L, a, b: L.pow(a.abs() + 1, b),
    "rpow": lambda L, a, b: 2.0 ** a * b, "rsub": lambda L, a, b: 1 - a + b, "rtruediv": lambda L, a, b: 1 / b + a,
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name, seed, dtype):
    rng = np.random.default_rng(seed)
    s = shape(rng)
    a = rng.standard_normal(s)
    b = np.sign(rng.standard_normal(s[1:])) * (np.abs(rng.standard_normal(s[1:])) + 0.5)
    check(same(BINARY[name]), same(BINARY[name]), a.astype(dtype), b.astype(dtype))


def test_integer_arithmetic_and_floor_division():
    rng = np.random.default_rng(0)
    a, b = rng.integers(-9, 9, (3, 4)), rng.integers(1, 5, (4,))
    for fn in (lambda L, x, y: x // y, lambda L, x, y: x % y, lambda L, x, y: L.div(x, y, rounding_mode="floor"),
               lambda L, x, y: L.div(x, y, rounding_mode="trunc"), lambda L, x, y: x / y, lambda L, x, y: x * y - 3,
               lambda L, x, y: L.floor_divide(x, 2), lambda L, x, y: (x > 0) & (y > 2), lambda L, x, y: x ** 2,
               lambda L, x, y: x.abs(), lambda L, x, y: L.bitwise_xor(x, y), lambda L, x, y: ~(x > y)):
        check(same(fn), same(fn), a, b, grad=False)


REDUCTIONS = {
    "prod": lambda L, x: x.prod(), "prod_dim": lambda L, x: x.prod(-1, keepdim=True),
    "cumsum": lambda L, x: x.cumsum(0), "cumprod": lambda L, x: x.cumprod(-1),
    "logsumexp": lambda L, x: L.logsumexp(x, -1), "logsumexp_all": lambda L, x: L.logsumexp(x, tuple(range(x.ndim))),
    "amax_dims": lambda L, x: x.amax((0, -1)), "amin_keep": lambda L, x: x.amin(-1, keepdim=True),
    "max_dim": lambda L, x: x.max(-1).values * 2 + x.min(0, keepdim=True)[0].sum(),
    "median": lambda L, x: x.median(), "median_dim": lambda L, x: x.median(-1).values,
    "kthvalue": lambda L, x: x.kthvalue(1, 0).values, "topk": lambda L, x: x.topk(1, -1).values,
    "sort": lambda L, x: x.sort(-1, descending=True).values, "std_unbiased": lambda L, x: x.std(0),
    "var_correction": lambda L, x: x.var(-1, correction=0), "norm": lambda L, x: x.norm(),
    "norm_p1_dim": lambda L, x: x.norm(p=1, dim=-1), "norm_inf": lambda L, x: L.linalg.vector_norm(x, float("inf")),
    "norm_p3": lambda L, x: L.linalg.vector_norm(x, 3, dim=0), "nansum": lambda L, x: L.nansum(x),
    "mean_tuple": lambda L, x: x.mean(dim=(0,)), "sum_axis": lambda L, x: x.sum(axis=0),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(name, seed, dtype):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape(rng, high=4)) + 0.1
    if name == "median" or name.startswith("median") or name in ("kthvalue", "topk", "sort"):
        x = x + np.arange(x.size).reshape(x.shape) * 1e-3  # distinct values: the index torch picks is unique
    check(same(REDUCTIONS[name]), same(REDUCTIONS[name]), x.astype(dtype))


def test_products_with_zeros_and_integer_indices():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    for fn in (lambda L, t: t.prod(1), lambda L, t: t.prod(), lambda L, t: t.cumprod(1), lambda L, t: t.cumprod(0)):
        check(same(fn), same(fn), x)
    y = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    for fn in (lambda L, t: t.argmax(1), lambda L, t: t.argmin(), lambda L, t: t.sort(dim=1, stable=True).indices,
               lambda L, t: t.argsort(1, descending=True), lambda L, t: t.topk(2, 1).indices,
               lambda L, t: t.max(1).indices, lambda L, t: L.unique(t), lambda L, t: t.mode(1).values,
               lambda L, t: L.count_nonzero(t, 1), lambda L, t: L.any(t > 2, 1), lambda L, t: L.all(t > 0)):
        check(same(fn), same(fn), y, grad=False)


SHAPE_OPS = {
    "repeat": lambda L, x: x.repeat(2, 1, 3) if x.ndim == 2 else x.repeat(*([2] * x.ndim)),
    "tile": lambda L, x: L.tile(x, (2,)), "repeat_interleave": lambda L, x: L.repeat_interleave(x, 2, dim=0),
    "repeat_interleave_flat": lambda L, x: x.repeat_interleave(3), "roll": lambda L, x: L.roll(x, 1, 0),
    "roll_flat": lambda L, x: L.roll(x, -2), "flip": lambda L, x: L.flip(x, (0,)) * L.flip(x, [-1]),
    "movedim": lambda L, x: L.movedim(x, 0, -1), "narrow": lambda L, x: x.narrow(0, 0, 1),
    "select": lambda L, x: x.select(-1, 0), "unbind": lambda L, x: L.stack(L.unbind(x, 0)[::-1]),
    "split_sizes": lambda L, x: L.cat(L.split(x, [1, x.shape[0] - 1])[::-1]) if x.shape[0] > 1 else x,
    "tensor_split": lambda L, x: L.cat([p * (i + 1) for i, p in enumerate(L.tensor_split(x, 3))]),
    "chunk": lambda L, x: L.cat([p * (i + 1) for i, p in enumerate(x.chunk(2, -1))], -1),
    "hstack": lambda L, x: L.hstack([x, x * 2]), "vstack": lambda L, x: L.vstack([x, x * 2]),
    "stack_last": lambda L, x: L.stack([x, -x], dim=-1), "expand": lambda L, x: x[..., :1].expand(*x.shape) * x,
    "broadcast_to": lambda L, x: L.broadcast_to(x, (2,) + tuple(x.shape)), "T": lambda L, x: x.T * 1,
    "mT": lambda L, x: x.mT if x.ndim >= 2 else x, "unflatten": lambda L, x: x.flatten().unflatten(0, (1, -1)),
    "view": lambda L, x: x.view(-1), "swapaxes": lambda L, x: x.swapaxes(0, -1), "t": lambda L, x: x.t()
    if x.ndim <= 2 else x, "squeeze_dims": lambda L, x: x.unsqueeze(0).unsqueeze(-1).squeeze((0, -1)),
    "atleast_2d": lambda L, x: L.atleast_2d(x), "contiguous_T": lambda L, x: x.T.contiguous(),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops(name, seed, dtype):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape(rng, ndim=2 if name in ("repeat",) else None))
    check(same(SHAPE_OPS[name]), same(SHAPE_OPS[name]), x.astype(dtype))


@pytest.mark.parametrize("seed", range(3))
def test_gather_scatter_and_index_ops(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 5))
    src = rng.standard_normal((3, 4))
    index = rng.integers(0, 4, (3, 4))
    unique_cols = np.stack([rng.permutation(5)[:4] for _ in range(3)])
    picks = np.array([3, 0, 0, 2])
    mask = rng.random((4, 5)) > 0.5
    cases = [
        lambda L, t, s: L.gather(t, 0, L.tensor(index)),
        lambda L, t, s: t.gather(1, L.tensor(unique_cols)),
        lambda L, t, s: t.scatter(1, L.tensor(unique_cols), s),
        lambda L, t, s: t.scatter_add(0, L.tensor(index), s),
        lambda L, t, s: t.index_select(0, L.tensor(picks)),
        lambda L, t, s: t.index_add(0, L.tensor([1, 3, 1]), s[:, :5] if s.shape[1] >= 5 else L.cat([s, s[:, :1]], 1)),
        lambda L, t, s: t.masked_fill(L.tensor(mask), -1.0) * 2,
        lambda L, t, s: t.masked_select(L.tensor(mask)),
        lambda L, t, s: L.take(t, L.tensor([[0, 7], [19, 3]])),
        lambda L, t, s: L.take_along_dim(t, L.tensor(unique_cols[:1]), dim=1),
        lambda L, t, s: t[L.tensor(picks)] * 2 + t[:, L.tensor([4, 4])].sum(),
        lambda L, t, s: t[L.tensor(mask)].sum() + t[1:, ::2].sum() + t[None, ..., -1].sum(),
        lambda L, t, s: L.tril(t, -1) + L.triu(t, 2), lambda L, t, s: L.diag(t) * 2 + L.diag(t, 1).sum(),
        lambda L, t, s: t.diagonal(offset=-1) * 3, lambda L, t, s: L.trace(t[:, :4]) * t[0],
        lambda L, t, s: L.diag(t[0]),
    ]
    for fn in cases:
        check(same(fn), same(fn), x, src)


@pytest.mark.parametrize("equation", ["ij,jk->ik", "bij,bjk->bik", "i,i->", "ij->ji", "ii->i", "ij->", "i,j->ij",
                                      "...ij,...jk->...ik", "bi,bj->bij", "ij,ij->i", "ijk->kj", "ii", "ij,jk"])
def test_einsum(equation):
    rng = np.random.default_rng(len(equation))
    sizes = {"i": 3, "j": 4, "k": 2, "b": 2}
    lhs = equation.split("->")[0]
    arrays = []
    for term in lhs.split(","):
        dims = [sizes[c] for c in term.replace("...", "")]
        if "..." in term:
            dims = [2] + dims
        if term in ("ii", "ii->i"):
            dims = [3, 3]
        arrays.append(rng.standard_normal(dims))
    check(lambda *t: nnci.einsum(equation, *t), lambda *t: torch.einsum(equation, *t), *arrays)


@pytest.mark.parametrize("seed", range(3))
def test_linear_algebra(seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((3, 2))
    v = rng.standard_normal(3)
    check(lambda x: nnci.linalg.inv(x), lambda x: torch.linalg.inv(x), a)
    check(lambda x: nnci.linalg.det(x), lambda x: torch.linalg.det(x), a)
    check(lambda x, y: nnci.linalg.solve(x, y), lambda x, y: torch.linalg.solve(x, y), a, b)
    check(lambda x, y: nnci.linalg.solve(x, y), lambda x, y: torch.linalg.solve(x, y), a, v)
    check(same(lambda L, x, y: L.cdist(x, y)), same(lambda L, x, y: L.cdist(x, y)), b.T.copy(), rng.standard_normal((4, 3)))
    check(same(lambda L, x, y: L.cross(x, y, dim=0)), same(lambda L, x, y: L.cross(x, y, dim=0)), b, b[::-1].copy())
    check(same(lambda L, x, y: L.outer(x, y)), same(lambda L, x, y: L.outer(x, y)), v, v[::-1].copy())
    check(same(lambda L, x, y: L.kron(x, y)), same(lambda L, x, y: L.kron(x, y)), b, a[:2, :2].copy())
    check(same(lambda L, x, y: L.mv(x, y) + L.dot(y, y) + L.addmm(y[:3, None] * 1, x, x[:, :1], beta=0.5, alpha=2).sum()),
          same(lambda L, x, y: L.mv(x, y) + L.dot(y, y) + L.addmm(y[:3, None] * 1, x, x[:, :1], beta=0.5, alpha=2).sum()),
          a, v)
    check(same(lambda L, x: L.linalg.matrix_norm(x) + L.linalg.matrix_norm(x, 1) + L.linalg.norm(x, float("inf"))),
          same(lambda L, x: L.linalg.matrix_norm(x) + L.linalg.matrix_norm(x, 1) + L.linalg.norm(x, float("inf"))), a)


ACTIVATIONS = {
    "gelu": lambda F, x: F.gelu(x), "gelu_tanh": lambda F, x: F.gelu(x, approximate="tanh"),
    "silu": lambda F, x: F.silu(x), "mish": lambda F, x: F.mish(x), "selu": lambda F, x: F.selu(x),
    "celu": lambda F, x: F.celu(x, 0.7), "hardtanh": lambda F, x: F.hardtanh(x, -0.5, 0.8),
    "relu6": lambda F, x: F.relu6(x * 4), "hardsigmoid": lambda F, x: F.hardsigmoid(x * 4),
    "hardswish": lambda F, x: F.hardswish(x * 4), "logsigmoid": lambda F, x: F.logsigmoid(x),
    "softsign": lambda F, x: F.softsign(x), "tanhshrink": lambda F, x: F.tanhshrink(x),
    "threshold": lambda F, x: F.threshold(x, 0.1, -2.0), "softshrink": lambda F, x: F.softshrink(x, 0.3),
    "hardshrink": lambda F, x: F.hardshrink(x, 0.3), "softmin": lambda F, x: F.softmin(x, dim=-1),
    "glu": lambda F, x: F.glu(torch_cat(x), -1), "softplus_beta": lambda F, x: F.softplus(x, beta=3, threshold=2),
    "elu_alpha": lambda F, x: F.elu(x, 0.5), "leaky": lambda F, x: F.leaky_relu(x, 0.2),
}


def torch_cat(x):
    return (nnci if isinstance(x, nnci.Tensor) else torch).cat([x, x * 0.5], -1)


FLOAT32_CONSTANTS = {"celu", "hardsigmoid"}  # torch's float64 kernels for these use float32 constants (1/6, alpha)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations(name, seed, dtype):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape(rng)) * 2
    x = x + 0.013  # away from kinks
    fn = ACTIVATIONS[name]
    tolerance = dict(rtol=1e-7, atol=1e-8) if name in FLOAT32_CONSTANTS and dtype == np.float64 else {}
    check(lambda t: fn(nnci.nn.functional, t), lambda t: fn(torch.nn.functional, t), x.astype(dtype), **tolerance)


def test_prelu_with_one_and_per_channel_weights():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4))
    for w in (np.array([0.25]), np.array([0.1, -0.2, 0.3])):
        check(lambda t, a: nnci.nn.functional.prelu(t, a), lambda t, a: torch.nn.functional.prelu(t, a), x, w)


LOSSES = {
    "smooth_l1": lambda F, x, y: F.smooth_l1_loss(x, y, beta=0.5), "smooth_l1_beta0": lambda F, x, y:
    F.smooth_l1_loss(x, y, beta=0.0), "huber": lambda F, x, y: F.huber_loss(x, y, delta=0.7),
    "huber_sum": lambda F, x, y: F.huber_loss(x, y, reduction="sum"),
    "bce": lambda F, x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid()),
    "bce_weight": lambda F, x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid(), weight=y.detach().abs(),
                                                         reduction="sum"),
    "bce_logits_pos": lambda F, x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid(),
                                                                         pos_weight=y.detach().abs() + 1),
    "kl_batchmean": lambda F, x, y: F.kl_div(F.log_softmax(x, -1), F.softmax(y, -1), reduction="batchmean"),
    "kl_log_target": lambda F, x, y: F.kl_div(F.log_softmax(x, -1), F.log_softmax(y, -1), reduction="sum",
                                              log_target=True),
    "kl_none": lambda F, x, y: F.kl_div(F.log_softmax(x, -1), F.softmax(y, -1), reduction="none"),
    "ce_probabilities": lambda F, x, y: F.cross_entropy(x, F.softmax(y, -1)),
    "ce_probabilities_smooth": lambda F, x, y: F.cross_entropy(x, F.softmax(y, -1), label_smoothing=0.2),
    "poisson": lambda F, x, y: F.poisson_nll_loss(x, y.abs()), "poisson_full": lambda F, x, y:
    F.poisson_nll_loss(x.abs() + 0.1, y.abs() * 3, log_input=False, full=True),
    "gaussian": lambda F, x, y: F.gaussian_nll_loss(x, y, y.abs() + 0.1),
    "cosine_embedding": lambda F, x, y: F.cosine_embedding_loss(x, y, sign_of(x), margin=0.2),
    "margin_ranking": lambda F, x, y: F.margin_ranking_loss(x[:, 0], y[:, 0], sign_of(x), margin=0.1),
    "hinge_embedding": lambda F, x, y: F.hinge_embedding_loss(x, sign_of_full(y)),
    "soft_margin": lambda F, x, y: F.soft_margin_loss(x, sign_of_full(y)),
    "multilabel_soft_margin": lambda F, x, y: F.multilabel_soft_margin_loss(x, (y > 0).to(x.dtype)),
    "triplet": lambda F, x, y: F.triplet_margin_loss(x, y, x * 0.5 + 0.3, swap=True),
    "cosine_similarity": lambda F, x, y: F.cosine_similarity(x, y, dim=-1),
    "pairwise_distance": lambda F, x, y: F.pairwise_distance(x, y, p=1.5),
    "normalize": lambda F, x, y: F.normalize(x, dim=0) + F.normalize(y, p=1),
    "mse_broadcast": lambda F, x, y: F.mse_loss(x, y[:1]),
}


def sign_of(x):
    lib = nnci if isinstance(x, nnci.Tensor) else torch
    return lib.where(x[:, 0] > 0, 1.0, -1.0).to(x.dtype)


def sign_of_full(x):
    lib = nnci if isinstance(x, nnci.Tensor) else torch
    return lib.where(x > 0, 1.0, -1.0).to(x.dtype)


@pytest.mark.filterwarnings("ignore:Using a target size")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses(name, seed, dtype):
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    x, y = rng.standard_normal((n, c)), rng.standard_normal((n, c))
    fn = LOSSES[name]
    check(lambda a, b: fn(nnci.nn.functional, a, b), lambda a, b: fn(torch.nn.functional, a, b), x.astype(dtype),
          y.astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(3))
def test_normalisations(seed, dtype):
    rng = np.random.default_rng(seed)
    n, c, h, w = int(rng.integers(1, 4)), 4, int(rng.integers(2, 5)), int(rng.integers(3, 6))  # w = 2: a layer norm
    # of two values has a gradient that is 0 up to rounding, where float32 parity means nothing
    x = rng.standard_normal((n, c, h, w)) * 2 + 1
    weight, bias = rng.standard_normal(c), rng.standard_normal(c)
    wl, bl = rng.standard_normal((h, w)), rng.standard_normal((h, w))
    for fn in (lambda F, t, a, b: F.group_norm(t, 2, a, b), lambda F, t, a, b: F.group_norm(t, 4),
               lambda F, t, a, b: F.instance_norm(t, weight=a, bias=b),
               lambda F, t, a, b: F.layer_norm(t, (t.shape[-1],)),
               lambda F, t, a, b: F.local_response_norm(t, 3)):
        check(lambda t, a, b: fn(nnci.nn.functional, t, a, b), lambda t, a, b: fn(torch.nn.functional, t, a, b),
              x.astype(dtype), weight.astype(dtype), bias.astype(dtype))
    check(lambda t, a, b: nnci.nn.functional.layer_norm(t, (h, w), a, b),
          lambda t, a, b: torch.nn.functional.layer_norm(t, (h, w), a, b), x.astype(dtype), wl.astype(dtype),
          bl.astype(dtype))


@pytest.mark.parametrize("seed", range(4))
def test_pooling_1d_and_adaptive_max(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, int(rng.integers(6, 12)))) + np.arange(3)[None, :, None] * 1e-3
    k, s = int(rng.integers(2, 4)), int(rng.integers(1, 3))
    for fn in (lambda F, t: F.max_pool1d(t, k, s, padding=k // 2), lambda F, t: F.avg_pool1d(t, k, s, ceil_mode=True),
               lambda F, t: F.adaptive_avg_pool1d(t, 4), lambda F, t: F.adaptive_max_pool1d(t, 3),
               lambda F, t: F.adaptive_max_pool2d(t.reshape(2, 3, 1, -1).expand(2, 3, 3, -1) * 1, (2, 3))):
        check(lambda t: fn(nnci.nn.functional, t), lambda t: fn(torch.nn.functional, t), x)
    images = rng.standard_normal((2, 2, 7, 6))
    out, indices = nnci.nn.functional.max_pool2d(nnci.tensor(images), 3, 2, 1, return_indices=True)
    expected, expected_indices = torch.nn.functional.max_pool2d(torch.tensor(images), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())


MODES = [("bicubic", (7, 9), None), ("bicubic", (3, 2), None), ("nearest-exact", (7, 3), None), ("area", (3, 2), None),
         ("bilinear", (6, 11), None), ("bicubic", (7, 9), True), ("bicubic", (3, 2), True), ("bilinear", (6, 11), True)]


@pytest.mark.parametrize("mode,size,align", MODES)
def test_interpolate_modes(mode, size, align):
    rng = np.random.default_rng(len(mode))
    x = rng.standard_normal((1, 2, 5, 4))
    check(lambda t: nnci.nn.functional.interpolate(t, size=size, mode=mode, align_corners=align),
          lambda t: torch.nn.functional.interpolate(t, size=size, mode=mode, align_corners=align), x)


def test_interpolate_scale_factors_and_1d():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 5))
    for kwargs in (dict(scale_factor=2.5, mode="linear"), dict(size=8, mode="nearest"),
                   dict(scale_factor=1.7, mode="linear", align_corners=True), dict(size=3, mode="area")):
        check(lambda t: nnci.nn.functional.interpolate(t, **kwargs), lambda t: torch.nn.functional.interpolate(t, **kwargs), x)
    y = rng.standard_normal((1, 1, 4, 6))
    for kwargs in (dict(scale_factor=(1.5, 0.5), mode="bicubic"), dict(scale_factor=2.2, mode="bilinear"),
                   dict(scale_factor=3, mode="nearest-exact")):
        check(lambda t: nnci.nn.functional.interpolate(t, **kwargs), lambda t: torch.nn.functional.interpolate(t, **kwargs), y)


@pytest.mark.parametrize("seed", range(4))
def test_conv1d_and_conv_transpose1d(seed):
    rng = np.random.default_rng(seed)
    cin, cout, k = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    stride, padding, dilation = int(rng.integers(1, 3)), int(rng.integers(0, 2)), int(rng.integers(1, 3))
    x = rng.standard_normal((2, cin, int(rng.integers(7, 12))))
    w, b = rng.standard_normal((cout, cin, k)), rng.standard_normal(cout)
    check(lambda t, a, c: nnci.nn.functional.conv1d(t, a, c, stride, padding, dilation),
          lambda t, a, c: torch.nn.functional.conv1d(t, a, c, stride, padding, dilation), x, w, b)
    wt = rng.standard_normal((cin, cout, k))
    check(lambda t, a, c: nnci.nn.functional.conv_transpose1d(t, a, c, stride, padding, 0, 1, dilation),
          lambda t, a, c: torch.nn.functional.conv_transpose1d(t, a, c, stride, padding, 0, 1, dilation), x, wt, b)
    check(lambda t, a: nnci.nn.functional.conv1d(t, a, padding="same"),
          lambda t, a: torch.nn.functional.conv1d(t, a, padding="same"), x, w)


def test_embedding_one_hot_pixel_shuffle_and_attention():
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((6, 3))
    indices = np.array([[0, 5, 5], [2, 0, 1]])
    check(lambda w: nnci.nn.functional.embedding(nnci.tensor(indices), w, padding_idx=5),
          lambda w: torch.nn.functional.embedding(torch.tensor(indices), w, padding_idx=5), weight)
    np.testing.assert_array_equal(nnci.nn.functional.one_hot(nnci.tensor(indices), 7).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(indices), 7).numpy())
    x = rng.standard_normal((8, 3, 2))
    check(lambda t: nnci.nn.functional.pixel_shuffle(t, 2), lambda t: torch.nn.functional.pixel_shuffle(t, 2), x)
    check(lambda t: nnci.nn.functional.pixel_unshuffle(t, 2), lambda t: torch.nn.functional.pixel_unshuffle(t, 2),
          rng.standard_normal((2, 4, 6)))
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))
    mask = rng.random((3, 5)) > 0.3
    mask[:, 0] = True
    for kwargs in (dict(), dict(is_causal=True), dict(attn_mask=mask), dict(scale=0.3)):
        check(lambda a, b, c: nnci.nn.functional.scaled_dot_product_attention(
            a, b, c, **{k: (nnci.tensor(m) if k == "attn_mask" else m) for k, m in kwargs.items()}),
            lambda a, b, c: torch.nn.functional.scaled_dot_product_attention(
                a, b, c, **{k: (torch.tensor(m) if k == "attn_mask" else m) for k, m in kwargs.items()}), q, k,
            v)


GRADCHECK = {
    "gelu_erf": (lambda x: nnci.nn.functional.gelu(x) * x, [(3, 4)]),
    "layer_norm": (lambda x, w: nnci.nn.functional.layer_norm(x, (4,), w), [(3, 4), (4,)]),
    "group_norm": (lambda x: nnci.nn.functional.group_norm(x, 2), [(2, 4, 3)]),
    "cumprod": (lambda x: x.cumprod(1), [(3, 4)]),
    "prod_dim": (lambda x: x.prod(0), [(3, 4)]),
    "logsumexp": (lambda x: nnci.logsumexp(x, 1), [(3, 5)]),
    "einsum": (lambda a, b: nnci.einsum("bij,bjk->bik", a, b), [(2, 3, 4), (2, 4, 2)]),
    "inv_det": (lambda a: nnci.linalg.inv(a + 3 * nnci.eye(3, dtype=nnci.float64)) * nnci.linalg.det(a), [(3, 3)]),
    "bicubic": (lambda x: nnci.nn.functional.interpolate(x, scale_factor=1.5, mode="bicubic"), [(1, 1, 4, 4)]),
    "lstm_cell": (lambda x: lstm_cell(x), [(2, 3)]),
    "gather_scatter": (lambda x: x.gather(1, nnci.tensor([[0, 2], [1, 1]])).scatter_add(0, nnci.tensor([[1, 0]]),
                                                                                        x[:1, :2]), [(2, 3)]),
}


def lstm_cell(x):
    nnci.manual_seed(0)
    cell = nnci.nn.LSTMCell(3, 2).double()
    h, c = cell(x)
    return h * c


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_float64_gradients_against_finite_differences(name):
    fn, shapes = GRADCHECK[name]
    rng = np.random.default_rng(len(name))
    numerical_check(fn, *[rng.standard_normal(s) for s in shapes], seed=len(name))
