"""Torch-style spellings of the public API, loss modules, and property-based broadcasting checks."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import nnci
import nnci.nn as nn
from parity import check


@settings(max_examples=40, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       op=st.sampled_from(["add", "sub", "mul", "div", "maximum"]), seed=st.integers(0, 2**16))
def test_broadcasting_binary_ops_property(shapes, op, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) + 3.0 for s in shapes.input_shapes)  # + 3 keeps div away from 0
    ours = {"add": lambda x, y: x.add(y), "sub": lambda x, y: x.sub(y), "mul": lambda x, y: x.mul(y),
            "div": lambda x, y: x.div(y), "maximum": lambda x, y: nnci.maximum(x, y)}[op]
    theirs = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "maximum": torch.maximum}[op]
    check(ours, theirs, np.asarray(a), np.asarray(b))


def test_top_level_functions():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3, 4)) + 3, rng.standard_normal((4,)) + 3
    check(lambda x, y: nnci.add(x, y) * nnci.sub(x, y) / nnci.div(x, y) + nnci.mul(x, 2) + nnci.pow(x, 2)
          + nnci.pow(x, y) + nnci.neg(y) + nnci.square(x) + nnci.clip(x, 2.5, 3.5),
          lambda x, y: torch.add(x, y) * torch.sub(x, y) / torch.div(x, y) + torch.mul(x, 2) + torch.pow(x, 2)
          + torch.pow(x, y) + torch.neg(y) + torch.square(x) + torch.clip(x, 2.5, 3.5), a, b)


def test_torch_spellings():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    check(lambda x, y: nnci.mm(x, y).t().neg(), lambda x, y: torch.mm(x, y).t().neg(), a, b)
    check(lambda x: nnci.relu(x) + nnci.softmax(x, dim=1) + nnci.log_softmax(x, dim=0),
          lambda x: torch.relu(x) + torch.softmax(x, dim=1) + torch.log_softmax(x, dim=0), a)
    check(lambda x: x.sum(dim=1, keepdim=True) * x.mean(dim=(0, 1)) - x.var(dim=0, unbiased=False).sum(),
          lambda x: x.sum(dim=1, keepdim=True) * x.mean(dim=(0, 1)) - x.var(dim=0, unbiased=False).sum(), a)
    x = nnci.tensor(a)
    assert x.size(0) == 3 and x.size() == (3, 4) and x.dim() == 2 and x.numel() == 12
    values, indices = nnci.max(x, dim=1)
    expected = torch.max(torch.tensor(a), dim=1)
    np.testing.assert_allclose(values.detach().numpy(), expected.values.detach().numpy())
    np.testing.assert_array_equal(indices.detach().numpy(), expected.indices.detach().numpy())


LOSSES = [
    (lambda lib: lib.MSELoss(), "real"), (lambda lib: lib.L1Loss(reduction="sum"), "real"),
    (lambda lib: lib.CrossEntropyLoss(label_smoothing=0.05), "class"), (lambda lib: lib.NLLLoss(), "class"),
    (lambda lib: lib.BCEWithLogitsLoss(), "binary"),
]


@pytest.mark.parametrize("case", range(len(LOSSES)))
def test_loss_modules_match_torch(case):
    make, kind = LOSSES[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal((6, 4))
    target = {"real": rng.standard_normal((6, 4)), "class": rng.integers(0, 4, 6),
              "binary": (rng.random((6, 4)) > 0.5).astype(np.float64)}[kind]
    ours, theirs = make(nn), make(torch.nn)
    if isinstance(theirs, torch.nn.NLLLoss):
        check(lambda t: ours(t.log_softmax(1), target), lambda t: theirs(t.log_softmax(1), torch.tensor(target)), x)
    else:
        check(lambda t: ours(t, target), lambda t: theirs(t, torch.tensor(target)), x)


def test_softmax_modules_and_kl_module():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5))
    check(lambda t: nn.Softmax(dim=1)(t) + nn.LogSoftmax(dim=0)(t),
          lambda t: torch.nn.Softmax(dim=1)(t) + torch.nn.LogSoftmax(dim=0)(t), x)
    mu, logvar = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    check(lambda m, v: nn.KLNormalLoss()(m, v),
          lambda m, v: (-0.5 * (1 + v - m ** 2 - v.exp())).sum(), mu, logvar)
