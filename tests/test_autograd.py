"""The autodiff engine itself: the course's printed examples, graph walking, and torch-free gradient checks."""
import math

import numpy as np
import pytest

import nnci
import nnci.nn as nn
import nnci.nn.functional as F
from parity import numerical_check


def test_course_example_log_squared():
    """y = log(x)^2 at x = 3: y = 1.2069, dy/dx = 2 log(x) / x = 0.7324, by autodiff and by hand."""
    x = nnci.tensor(3.0, requires_grad=True)
    u = nnci.log(x)
    y = u ** 2
    y.backward()
    assert y.item() == pytest.approx(1.2069, abs=1e-4)
    assert x.grad.item() == pytest.approx(0.7324, abs=1e-4)
    # the manual chain rule: dy/du = 2u, du/dx = 1/x
    manual = (2 * math.log(3.0)) * (1 / 3.0)
    assert x.grad.item() == pytest.approx(manual, rel=1e-6)


def test_course_example_max_pool():
    x = nnci.ones(4, 4) + nnci.eye(4)
    y = nn.MaxPool2d(2, 2)(x.reshape(1, 1, 4, 4))
    np.testing.assert_array_equal(y.detach().numpy()[0, 0], [[2, 1], [1, 2]])


KERNEL = [[-0.1799, -0.2866, 0.0131], [-0.3184, -0.2836, 0.1496], [-0.0730, 0.1886, -0.0858]]


def test_course_example_transposed_convolution():
    layer = nn.ConvTranspose2d(1, 1, 3, bias=False)
    with nnci.no_grad():
        layer.weight.copy_(np.array(KERNEL, np.float32).reshape(1, 1, 3, 3))
    onehot = nnci.zeros(1, 1, 3, 3)
    onehot.data[0, 0, 1, 1] = 1
    expected = np.zeros((5, 5))
    expected[1:4, 1:4] = KERNEL
    np.testing.assert_allclose(layer(onehot).detach().numpy()[0, 0], expected, atol=1e-7)
    out = layer(nnci.eye(3).reshape(1, 1, 3, 3)).detach().numpy()[0, 0]
    np.testing.assert_allclose(out, [[-0.1799, -0.2866, 0.0131, 0, 0], [-0.3184, -0.4635, -0.1369, 0.0131, 0],
                                     [-0.0730, -0.1298, -0.5493, -0.1369, 0.0131], [0, -0.0730, -0.1298, -0.3694, 0.1496],
                                     [0, 0, -0.0730, 0.1886, -0.0858]], atol=1e-4)


def test_course_example_upsample():
    y = nn.Upsample(scale_factor=(2.0, 2.0))(nnci.eye(3).reshape(1, 1, 3, 3)).detach().numpy()[0, 0]
    np.testing.assert_array_equal(y, np.kron(np.eye(3), np.ones((2, 2))))


def test_deep_chain_of_ten_thousand_ops_backpropagates():
    x = nnci.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-3)


def test_reused_node_accumulates_gradient():
    x = nnci.tensor([1.0, 2.0], requires_grad=True)
    y = x * x + x  # x used three times
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy() + 1)
    z = x.sum() * 3  # a second backward adds to .grad, as in torch
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy() + 4)


def test_non_scalar_backward_needs_gradient():
    x = nnci.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"implicitly created only for scalar outputs .*shape \(3,\)"):
        y.backward()
    y.backward(gradient=nnci.tensor([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.0, -2.0])
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(gradient=nnci.ones(2))


def test_graph_is_freed_after_backward_unless_retained():
    x = nnci.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp([1.0, 2.0]), rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_no_grad_as_context_and_decorator():
    x = nnci.tensor([1.0], requires_grad=True)
    with nnci.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @nnci.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert (x * 2).requires_grad and nnci.is_grad_enabled()


def test_detach_cuts_the_graph_and_only_leaves_keep_grad():
    x = nnci.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    y = (h * h.detach()).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * h.detach().numpy())
    np.testing.assert_allclose(h.grad.numpy(), h.detach().numpy())
    w = x * 2
    (w.sum()).backward()
    assert w.grad is None  # non-leaf, not retained


def test_constructors_dtypes_and_seed():
    assert nnci.tensor([1.0, 2.0]).dtype == np.float32
    assert nnci.tensor([1, 2]).dtype == np.int64
    assert nnci.tensor(np.zeros(2)).dtype == np.float64  # an explicit float64 array stays float64
    assert nnci.arange(5).dtype == np.int64 and nnci.arange(0.0, 1.0, 0.25).shape == (4,)
    assert nnci.zeros(2, 3).shape == (2, 3) and nnci.ones((4,)).dtype == np.float32
    nnci.manual_seed(5)
    a = nnci.randn(3, 4)
    nnci.manual_seed(5)
    np.testing.assert_array_equal(a.detach().numpy(), nnci.randn(3, 4).detach().numpy())
    assert a.dtype == np.float32
    with pytest.raises(RuntimeError, match="floating point"):
        nnci.tensor([1, 2], requires_grad=True)


def test_float32_stays_float32_through_scalars_and_numpy_scalars():
    x = nnci.randn(3, requires_grad=True)
    y = (x * 2.5 + np.float64(1.5)) / 3 - np.float32(1) + 2 ** x
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_mixing_float64_data_into_a_float32_model_is_a_clear_error():
    """Documented choice: layers do not silently cast; they name both dtypes (elementwise ops promote, as torch)."""
    with pytest.raises(RuntimeError, match="must have the same dtype, but got nnci.float64 and nnci.float32"):
        nn.Linear(3, 2)(nnci.tensor(np.zeros((1, 3))))
    with pytest.raises(RuntimeError, match="float64 does not match weight dtype nnci.float32"):
        nn.Conv2d(1, 1, 3)(nnci.tensor(np.zeros((1, 1, 5, 5))))
    assert (nnci.ones(2) + nnci.tensor(np.ones(2))).dtype == np.float64


GRADCHECK = {
    "conv2d": (lambda x, w: F.conv2d(x, w, stride=2, padding=1), [(2, 3, 6, 5), (4, 3, 3, 3)]),
    "conv_transpose2d": (lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
                         [(2, 3, 4, 3), (3, 2, 3, 3)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1), [(2, 2, 7, 6)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2, ceil_mode=True), [(1, 2, 5, 5)]),
    "bilinear": (lambda x: F.interpolate(x, size=(7, 9), mode="bilinear"), [(1, 2, 4, 5)]),
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(4, 3, 2, 2), (3,), (3,)]),
    "softmax_ce": (lambda x: F.cross_entropy(x, np.array([0, 2, 1]), label_smoothing=0.1), [(3, 4)]),
    "reflect_pad": (lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), [(1, 2, 4, 4)]),
    "matmul_broadcast": (lambda a, b: a @ b, [(2, 3, 4), (4, 5)]),
    "var_softplus": (lambda x: F.softplus(x, beta=2).var(1), [(3, 5)]),
    "elu_sigmoid": (lambda x: F.elu(x).sigmoid() * x.tanh(), [(4, 4)]),
    "index": (lambda x: x[[0, 2, 0], 1:] * 2, [(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradients_against_finite_differences(name):
    fn, shapes = GRADCHECK[name]
    rng = np.random.default_rng(len(name))
    arrays = [rng.standard_normal(s) for s in shapes]
    numerical_check(fn, *arrays, seed=len(name))


def test_finite_difference_check_catches_a_wrong_gradient():
    from nnci.autograd.graph import Op

    class BadSquare(Op):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, g):
            return (g * 2.01 * self.x,)  # off by half a percent

    with pytest.raises(AssertionError, match="finite differences"):
        numerical_check(lambda x: BadSquare.apply(x), np.random.default_rng(0).standard_normal(5))


def test_integer_tensors_promote_like_torch():
    import torch
    for ours, theirs in ((nnci.tensor([1, 2]) * 1.5, torch.tensor([1, 2]) * 1.5),
                         (nnci.tensor([1, 2]) + nnci.tensor([0.5, 0.5]), torch.tensor([1, 2]) + torch.tensor([0.5, 0.5])),
                         (2.5 + nnci.tensor([True, False]), 2.5 + torch.tensor([True, False]))):
        assert str(ours.dtype).replace("nnci.", "") == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy())
