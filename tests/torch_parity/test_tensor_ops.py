"""Every Tensor op against torch: forward values and input gradients, random shapes, both float dtypes."""
import numpy as np
import pytest
import torch

import nnci
from parity import check

DTYPES = [np.float32, np.float64]
SEEDS = range(3)


def random_shape(rng, ndim=None):
    ndim = rng.integers(1, 5) if ndim is None else ndim
    return tuple(int(n) for n in rng.integers(1, 6, size=ndim))


def broadcast_partner(rng, shape):
    """A shape that broadcasts against `shape`: some dims set to 1, some leading dims dropped."""
    drop = rng.integers(0, len(shape))
    return tuple(1 if rng.random() < 0.4 else n for n in shape[drop:])


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "maximum": lambda a, b: (nnci if isinstance(a, nnci.Tensor) else torch).maximum(a, b),
    "minimum": lambda a, b: (nnci if isinstance(a, nnci.Tensor) else torch).minimum(a, b),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_broadcasting(op, seed, dtype):
    rng = np.random.default_rng(seed)
    shape = random_shape(rng)
    a = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(broadcast_partner(rng, shape)).astype(dtype)
    if op == "div":
        b = np.sign(b) * (np.abs(b) + 0.5)
    if seed == 2:
        a, b = b, a  # the broadcast operand on the left too
    check(BINARY[op], BINARY[op], a, b)


def test_maximum_ties_split_gradient():
    a = np.array([1.0, 2.0, 3.0])
    check(lambda x, y: nnci.maximum(x, y), torch.maximum, a, a.copy())
    check(lambda x, y: nnci.minimum(x, y), torch.minimum, a, np.array([1.0, 0.0, 5.0]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scalar_first", [False, True])
def test_python_scalars_keep_dtype(dtype, scalar_first):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 4)).astype(dtype) + 3
    for fn in (lambda x: 2.5 + x, lambda x: 2.5 - x, lambda x: 2.5 * x, lambda x: 2.5 / x, lambda x: x - 1.5,
               lambda x: x / 4.0, lambda x: -x):
        check(fn, fn, a)


UNARY = {
    "exp": (lambda x: x.exp(), lambda x: x.exp(), None),
    "log": (lambda x: x.log(), lambda x: x.log(), "positive"),
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), "positive"),
    "sin": (lambda x: x.sin(), lambda x: x.sin(), None),
    "cos": (lambda x: x.cos(), lambda x: x.cos(), None),
    "tanh": (lambda x: x.tanh(), lambda x: x.tanh(), None),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid(), "wide"),
    "abs": (lambda x: x.abs(), lambda x: x.abs(), None),
    "square": (lambda x: x ** 2, lambda x: x ** 2, None),
    "cube": (lambda x: x ** 3, lambda x: x ** 3, None),
    "pow_frac": (lambda x: x ** 1.5, lambda x: x ** 1.5, "positive"),
    "pow_neg": (lambda x: x ** -2, lambda x: x ** -2, "positive"),
    "rpow": (lambda x: 2.0 ** x, lambda x: 2.0 ** x, None),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), None),
    "clamp_min": (lambda x: x.clamp(min=0.1), lambda x: x.clamp(min=0.1), None),
    "relu": (lambda x: x.relu(), lambda x: x.relu(), None),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(op, seed, dtype):
    rng = np.random.default_rng(seed)
    ours, theirs, domain = UNARY[op]
    x = rng.standard_normal(random_shape(rng))
    if domain == "positive":
        x = np.abs(x) + 0.1
    elif domain == "wide":
        x = x * 30
    check(ours, theirs, x.astype(dtype))


def test_pow_tensor_exponent():
    rng = np.random.default_rng(0)
    a = np.abs(rng.standard_normal((3, 4))) + 0.2
    b = rng.standard_normal((4,))
    check(lambda x, y: x ** y, lambda x, y: x ** y, a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_where(dtype):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3, 4)).astype(dtype), rng.standard_normal((3, 1)).astype(dtype)
    cond = rng.random((2, 3, 4)) > 0.5
    check(lambda x, y: nnci.where(nnci.tensor(cond), x, y), lambda x, y: torch.where(torch.tensor(cond), x, y), a, b)


REDUCTIONS = {
    "sum_all": (lambda x: x.sum(), lambda x: x.sum()),
    "sum_dim": (lambda x: x.sum(-1), lambda x: x.sum(-1)),
    "sum_keep": (lambda x: x.sum(0, keepdim=True), lambda x: x.sum(0, keepdim=True)),
    "sum_dims": (lambda x: x.sum((0, -1)), lambda x: x.sum((0, -1))),
    "mean_all": (lambda x: x.mean(), lambda x: x.mean()),
    "mean_dim": (lambda x: x.mean(0), lambda x: x.mean(0)),
    "mean_keep": (lambda x: x.mean(-1, keepdim=True), lambda x: x.mean(-1, keepdim=True)),
    "var_all": (lambda x: x.var(), lambda x: x.var()),
    "var_biased": (lambda x: x.var(0, unbiased=False), lambda x: x.var(0, unbiased=False)),
    "var_keep": (lambda x: x.var(-1, keepdim=True), lambda x: x.var(-1, keepdim=True)),
    "std": (lambda x: x.std(0), lambda x: x.std(0)),
    "max_all": (lambda x: x.max(), lambda x: x.max()),
    "min_all": (lambda x: x.min(), lambda x: x.min()),
    "max_dim": (lambda x: tuple(x.max(0)), lambda x: tuple(torch.max(x, 0))),
    "min_dim_keep": (lambda x: tuple(x.min(-1, keepdim=True)), lambda x: tuple(torch.min(x, -1, keepdim=True))),
    "amax": (lambda x: x.amax((0, -1)), lambda x: x.amax((0, -1))),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_reductions(op, seed, dtype):
    rng = np.random.default_rng(seed)
    shape = random_shape(rng, rng.integers(2, 5))
    shape = (shape[0] + 1,) + shape[1:-1] + (shape[-1] + 1,)  # var needs >1 element
    ours, theirs = REDUCTIONS[op]
    check(ours, theirs, rng.standard_normal(shape).astype(dtype))


def test_max_gradient_with_ties_matches_torch():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    check(lambda t: t.max(), lambda t: t.max(), x)
    check(lambda t: t.amax(1), lambda t: t.amax(1), x)
    check(lambda t: t.max(1)[0], lambda t: t.max(1)[0], x)


SHAPE_OPS = {
    "reshape": (lambda x: x.reshape(-1, 2), lambda x: x.reshape(-1, 2)),
    "view": (lambda x: x.view(2, 3, -1), lambda x: x.view(2, 3, -1)),
    "permute": (lambda x: x.permute(2, 0, 3, 1), lambda x: x.permute(2, 0, 3, 1)),
    "transpose": (lambda x: x.transpose(1, 3), lambda x: x.transpose(1, 3)),
    "T2d": (lambda x: x.reshape(6, -1).T, lambda x: x.reshape(6, -1).T),
    "flatten": (lambda x: x.flatten(1), lambda x: x.flatten(1)),
    "flatten_mid": (lambda x: x.flatten(1, 2), lambda x: x.flatten(1, 2)),
    "squeeze": (lambda x: x.reshape(2, 1, 3, 1, -1).squeeze(), lambda x: x.reshape(2, 1, 3, 1, -1).squeeze()),
    "squeeze_dim": (lambda x: x.reshape(2, 1, 3, -1).squeeze(1), lambda x: x.reshape(2, 1, 3, -1).squeeze(1)),
    "unsqueeze": (lambda x: x.unsqueeze(2), lambda x: x.unsqueeze(2)),
    "unsqueeze_neg": (lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1)),
    "expand": (lambda x: x[:, :1].expand(2, 4, 3, 4), lambda x: x[:, :1].expand(2, 4, 3, 4)),
    "expand_new": (lambda x: x.expand(5, -1, -1, -1, -1), lambda x: x.expand(5, -1, -1, -1, -1)),
    "slice": (lambda x: x[1:, ::2, -2:], lambda x: x[1:, ::2, -2:]),
    "int_index": (lambda x: x[0, 1], lambda x: x[0, 1]),
    "ellipsis_none": (lambda x: x[..., None, 1], lambda x: x[..., None, 1]),
    "int_array": (lambda x: x[[1, 0, 1]], lambda x: x[[1, 0, 1]]),
    "two_arrays": (lambda x: x[[0, 1, 1], :, [2, 0, 2]], lambda x: x[[0, 1, 1], :, [2, 0, 2]]),
    "bool_mask": (lambda x: x[x > 0], lambda x: x[x > 0]),
    "split": (lambda x: x.split(1, 1), lambda x: x.split(1, 1)),
    "split_sizes": (lambda x: x.split([1, 2], 2), lambda x: x.split([1, 2], 2)),
    "chunk": (lambda x: x.chunk(2, 3), lambda x: x.chunk(2, 3)),
    "flip": (lambda x: x.flip((1, 3)), lambda x: x.flip((1, 3))),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(SHAPE_OPS))
def test_shape_ops(op, dtype):
    rng = np.random.default_rng(len(op))
    ours, theirs = SHAPE_OPS[op]
    check(ours, theirs, rng.standard_normal((2, 3, 3, 4)).astype(dtype))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cat_and_stack(dim, dtype):
    rng = np.random.default_rng(dim + 5)
    a, b = rng.standard_normal((2, 3, 4)).astype(dtype), rng.standard_normal((2, 3, 4)).astype(dtype)
    c_shape = list(a.shape)
    c_shape[dim] = 5
    c = rng.standard_normal(c_shape).astype(dtype)
    check(lambda *t: nnci.cat(t, dim), lambda *t: torch.cat(t, dim), a, c, b)
    check(lambda *t: nnci.stack(t, dim), lambda *t: torch.stack(t, dim), a, b)


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                                    ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (2, 4, 6))])
@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul(shapes, dtype):
    rng = np.random.default_rng(len(shapes[0]) * 7 + len(shapes[1]))
    a, b = (rng.standard_normal(s).astype(dtype) for s in shapes)
    check(lambda x, y: x @ y, lambda x, y: x @ y, a, b)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_pad(mode, seed, dtype):
    rng = np.random.default_rng(seed)
    h, w = (int(n) for n in rng.integers(3, 7, 2))
    x = rng.standard_normal((2, 3, h, w)).astype(dtype)
    pads = tuple(int(p) for p in rng.integers(0, 3, 4))
    kwargs = {"value": 0.5} if mode == "constant" else {}
    check(lambda t: nnci.nn.functional.pad(t, pads, mode=mode, **kwargs),
          lambda t: torch.nn.functional.pad(t, pads, mode=mode, **kwargs), x)
