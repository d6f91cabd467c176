"""Gradients of gradients (create_graph=True) against torch: every op with a differentiable backward, then the
programs that need them: a physics-informed network's second derivative, a WGAN-GP gradient penalty, a
MAML-style inner step. float64, so a missing second-order term cannot hide in rounding."""
import numpy as np
import pytest
import torch

import nnci

TOL = dict(rtol=1e-8, atol=1e-10)


def second_order(lib, fn, arrays, seed):
    """h = d/dx <v, d<u, f(x)>/dx> for random u, v: the Hessian-vector product through create_graph."""
    rng = np.random.default_rng(seed)
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(lib, *xs)
    u = lib.tensor(rng.standard_normal(tuple(out.shape)))
    grads = lib.autograd.grad((out * u).sum(), xs, create_graph=True)
    vs = [lib.tensor(rng.standard_normal(a.shape)) for a in arrays]
    total = sum((g * v).sum() for g, v in zip(grads, vs))
    second = lib.autograd.grad(total, xs, allow_unused=True)
    return [g.detach().numpy() for g in grads], [None if s is None else s.numpy() for s in second]


def positive(rng, shape):
    return np.abs(rng.standard_normal(shape)) + 0.5


CASES = {
    "mul_div": (lambda L, a, b: a * b / (b * b + 1), [(3, 4), (3, 4)]),
    "pow_sub": (lambda L, a, b: (a - b) ** 3 + a ** 2.5 * 0 + b.abs() ** 1.5, [(5,), (5,)]),
    "tensor_pow": (lambda L, a, b: a ** b, [(4,), (4,)]),
    "exp_log": (lambda L, a: (a.exp() + 1).log() * a.sin(), [(6,)]),
    "trig": (lambda L, a: a.tan() + a.cos() * a.sinh() + a.atan() + a.cosh().sqrt(), [(2, 3)]),
    "tanh_sigmoid": (lambda L, a: a.tanh() * a.sigmoid() + a.rsqrt() + a.reciprocal(), [(3, 3)]),
    "erf_expm1": (lambda L, a: a.erf() + a.expm1() + a.log1p() + L.lgamma(a), [(4,)]),
    "softplus_gelu": (lambda L, a: L.nn.functional.softplus(a, beta=1.5) + L.nn.functional.gelu(a)
                      + L.nn.functional.gelu(a, approximate="tanh") + L.nn.functional.silu(a), [(5,)]),
    "elu_mish_logsigmoid": (lambda L, a: L.nn.functional.elu(a - 1) + L.nn.functional.mish(a)
                            + L.nn.functional.logsigmoid(a - 1) + L.nn.functional.selu(a - 1)
                            + L.nn.functional.celu(a - 1, 0.5) + L.nn.functional.softsign(a), [(6,)]),
    "piecewise": (lambda L, a: L.relu(a - 1) * a + L.nn.functional.leaky_relu(a - 1, 0.1) * a
                  + L.nn.functional.hardtanh(a - 1) * a + L.nn.functional.hardswish(a * 3 - 4) * a, [(8,)]),
    "softmax": (lambda L, a: a.softmax(1) * a + a.log_softmax(0) * a.exp(), [(3, 4)]),
    "logsumexp_norm": (lambda L, a: a.logsumexp(1) * a.norm(dim=1) + a.norm(p=3) + a.norm(p=1, dim=0).sum(),
                       [(3, 4)]),
    "reductions": (lambda L, a: a.sum(0) * a.mean(0) + a.amax(0) * a.prod(0) + a.max(dim=0).values ** 2,
                   [(4, 3)]),
    "var_std": (lambda L, a: a.var(1) * a.std(1) + a.std(), [(3, 5)]),
    "matmul": (lambda L, a, b: (a @ b).tanh() @ b.mT, [(3, 4), (4, 5)]),
    "batched_matmul": (lambda L, a, b: (a @ b) ** 2, [(2, 3, 4), (4, 2)]),
    "linear": (lambda L, x, w, b: L.nn.functional.linear(x, w, b).tanh() ** 2, [(4, 3), (5, 3), (5,)]),
    "shapes": (lambda L, a: (a.reshape(6, 2).t() * a.permute(1, 0).reshape(2, 6)).flip(0).roll(1, 1).repeat(2, 1)
               * 1.5, [(3, 4)]),
    "indexing": (lambda L, a: a[1:, ::2] ** 2 + a[[0, 2]][:, :2] * a[0, :2] + a[a > 0.5].sum() * a[[2, 2]][:, 1:3],
                 [(3, 4)]),
    "cat_stack": (lambda L, a, b: L.cat([a, b], 1) ** 3 + L.stack([a, b], 2).sum(2).repeat(1, 2), [(3, 2), (3, 2)]),
    "where_clamp": (lambda L, a, b: L.where(a > 0.8, a * b, b ** 2) + a.clamp(0.6, 1.2) * b
                    + L.maximum(a, b) * L.minimum(a, b), [(6,), (6,)]),
    "gather_tril": (lambda L, a: a.gather(1, L.tensor([[0, 2], [1, 1], [3, 0]])) ** 2
                    + a[:, :3].tril().sum() * a[0, 0], [(3, 4)]),
    "conv2d": (lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, padding=1).tanh(), [(2, 3, 6, 5), (4, 3, 3, 3), (4,)]),
    "conv2d_strided": (lambda L, x, w: L.nn.functional.conv2d(x, w, stride=2, padding=(1, 2), dilation=(2, 1)) ** 2,
                       [(2, 3, 9, 8), (2, 3, 3, 2)]),
    "conv2d_groups": (lambda L, x, w: L.nn.functional.conv2d(x, w, groups=2, padding="same").sin(),
                      [(1, 4, 5, 5), (6, 2, 3, 3)]),
    "conv_transpose": (lambda L, x, w, b: L.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                                             output_padding=1) ** 2,
                       [(2, 3, 4, 4), (3, 2, 3, 3), (2,)]),
    "pooling": (lambda L, x: L.nn.functional.max_pool2d(x, 2) ** 2 + L.nn.functional.avg_pool2d(x, 2) * 3
                + L.nn.functional.max_pool2d(x, 3, stride=1, padding=1)[..., :2, :2], [(2, 2, 4, 4)]),
    "losses": (lambda L, a, b: L.nn.functional.mse_loss(a.sigmoid(), b.sigmoid())
               + L.nn.functional.binary_cross_entropy(a.sigmoid(), b.sigmoid())
               + L.nn.functional.cross_entropy(a, L.tensor([0, 2, 1])) + L.nn.functional.smooth_l1_loss(a, b),
               [(3, 4), (3, 4)]),
    "layer_norm": (lambda L, x, w, b: L.nn.functional.layer_norm(x, (4,), w, b) ** 2, [(3, 4), (4,), (4,)]),
    "pad_interior": (lambda L, x: L.nn.functional.pad(x, (1, 2, 0, 1)) ** 3, [(2, 3, 3)]),
}


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_match_torch(name, seed):
    fn, shapes = CASES[name]
    rng = np.random.default_rng(seed)
    arrays = [positive(rng, s) if name in ("tensor_pow", "exp_log", "trig", "tanh_sigmoid", "erf_expm1")
              else rng.standard_normal(s) for s in shapes]
    if name in ("exp_log", "trig", "erf_expm1"):
        arrays = [np.clip(a, 0.5, 1.2) for a in arrays]
    first_t, second_t = second_order(torch, fn, arrays, seed)
    first_n, second_n = second_order(nnci, fn, arrays, seed)
    for ours, theirs in zip(first_n, first_t):
        np.testing.assert_allclose(ours, theirs, **TOL, err_msg=f"{name}: first derivative")
    for i, (ours, theirs) in enumerate(zip(second_n, second_t)):
        if theirs is None:
            assert ours is None or not np.any(ours)
            continue
        np.testing.assert_allclose(ours, theirs, **TOL, err_msg=f"{name}: second derivative of input {i}")


def pinn_residual(lib, seed=0):
    """u(x, t) an MLP; the heat-equation residual u_t - 0.1 u_xx and its gradient for the parameters."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(s) * 0.5 for s in ((16, 2), (16,), (16, 16), (16,), (1, 16), (1,))]
    params = [lib.tensor(w, requires_grad=True) for w in weights]
    xt = lib.tensor(rng.uniform(-1, 1, (32, 2)), requires_grad=True)
    h = lib.tanh(lib.nn.functional.linear(xt, params[0], params[1]))
    h = lib.tanh(lib.nn.functional.linear(h, params[2], params[3]))
    u = lib.nn.functional.linear(h, params[4], params[5])
    du = lib.autograd.grad(u, xt, lib.ones_like(u), create_graph=True)[0]
    u_x, u_t = du[:, 0:1], du[:, 1:2]
    u_xx = lib.autograd.grad(u_x, xt, lib.ones_like(u_x), create_graph=True)[0][:, 0:1]
    loss = ((u_t - 0.1 * u_xx) ** 2).mean()
    loss.backward()
    return float(loss), [None if p.grad is None else p.grad.numpy() for p in params]


def test_physics_informed_residual_and_its_parameter_gradient_match_torch():
    loss_t, grads_t = pinn_residual(torch)
    loss_n, grads_n = pinn_residual(nnci)
    assert loss_n == pytest.approx(loss_t, rel=1e-10)
    assert [g is None for g in grads_n] == [g is None for g in grads_t]  # the last bias does not reach u_x
    for ours, theirs in zip(grads_n, grads_t):
        if theirs is not None:
            np.testing.assert_allclose(ours, theirs, **TOL)


def gradient_penalty(lib, seed=0):
    """WGAN-GP: (||d critic(x_hat) / d x_hat||_2 - 1)^2 with a conv critic, and its parameter gradients."""
    rng = np.random.default_rng(seed)
    lib.manual_seed(0)
    critic = lib.nn.Sequential(lib.nn.Conv2d(1, 4, 3, stride=2, padding=1), lib.nn.LeakyReLU(0.2),
                               lib.nn.Conv2d(4, 8, 3, stride=2, padding=1), lib.nn.LeakyReLU(0.2),
                               lib.nn.Flatten(), lib.nn.Linear(8 * 2 * 2, 1)).double()
    with lib.no_grad():
        for p in critic.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)) * 0.3))
    x_hat = lib.tensor(rng.standard_normal((3, 1, 8, 8)), requires_grad=True)
    scores = critic(x_hat)
    grads = lib.autograd.grad(scores, x_hat, grad_outputs=lib.ones_like(scores), create_graph=True,
                              retain_graph=True)[0]
    penalty = ((grads.reshape(3, -1).norm(2, dim=1) - 1) ** 2).mean()
    penalty.backward()
    return float(penalty), [None if p.grad is None else p.grad.numpy() for p in critic.parameters()]


def test_wgan_gradient_penalty_matches_torch():
    penalty_t, grads_t = gradient_penalty(torch)
    penalty_n, grads_n = gradient_penalty(nnci)
    assert penalty_n == pytest.approx(penalty_t, rel=1e-10)
    assert [g is None for g in grads_n] == [g is None for g in grads_t]
    for ours, theirs in zip(grads_n, grads_t):
        if theirs is not None:
            np.testing.assert_allclose(ours, theirs, **TOL)


def maml_step(lib):
    """One inner SGD step with create_graph, then the outer loss's gradient through it."""
    rng = np.random.default_rng(3)
    w = lib.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    x, y = lib.tensor(rng.standard_normal((5, 3))), lib.tensor(rng.standard_normal((5, 2)))
    inner = ((x @ w - y) ** 2).mean()
    (grad_w,) = lib.autograd.grad(inner, w, create_graph=True)
    adapted = w - 0.1 * grad_w
    outer = (((x * 2) @ adapted - y) ** 2).mean()
    outer.backward()
    return w.grad.numpy()


def test_maml_outer_gradient_matches_torch():
    np.testing.assert_allclose(maml_step(nnci), maml_step(torch), **TOL)


def test_backward_with_create_graph_accumulates_differentiable_grads():
    for lib in (torch, nnci):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        (x ** 3).sum().backward(create_graph=True)
        assert x.grad.requires_grad
        first = x.grad.detach().clone()
        (second,) = lib.autograd.grad(x.grad.sum(), x)
        np.testing.assert_allclose(first.numpy(), [3.0, 12.0])
        np.testing.assert_allclose(second.numpy(), [6.0, 12.0])


def test_custom_function_backward_is_differentiable_and_once_differentiable_refuses():
    class Cube(nnci.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    x = nnci.tensor([2.0], dtype=nnci.float64, requires_grad=True)
    (g,) = nnci.autograd.grad(Cube.apply(x), x, create_graph=True)
    (h,) = nnci.autograd.grad(g, x)
    assert g.item() == 12.0 and h.item() == 12.0

    class Once(nnci.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        @nnci.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    (g,) = nnci.autograd.grad(Once.apply(x), x, create_graph=True)
    assert g.item() == 4.0
    with pytest.raises(RuntimeError, match="once_differentiable"):
        nnci.autograd.grad(g, x)


def test_ops_without_a_differentiable_backward_say_so():
    x = nnci.randn(2, 3, 4, 4, requires_grad=True)
    out = nnci.nn.functional.batch_norm(x, None, None, training=True)
    with pytest.raises(NotImplementedError, match="create_graph=True: nnci has no differentiable backward for "
                                                  "BatchNormBackward0"):
        nnci.autograd.grad(out.sum(), x, create_graph=True)
