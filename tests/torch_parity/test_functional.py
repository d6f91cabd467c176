"""nnci.nn.functional against torch.nn.functional on random shapes, strides, paddings and dtypes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nnci
import nnci.nn.functional as F
from parity import check

DTYPES = [np.float32, np.float64]
SEEDS = range(6)


def conv_case(rng, transposed=False):
    """A random valid conv configuration: channels, kernel, stride, padding, dilation, groups, sizes."""
    groups = int(rng.choice([1, 1, 2]))
    cin, cout = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
    kh, kw = (int(k) for k in rng.integers(1, 4, 2))
    stride = tuple(int(s) for s in rng.integers(1, 3, 2))
    dilation = tuple(int(d) for d in rng.integers(1, 3, 2))
    padding = (int(rng.integers(0, kh)), int(rng.integers(0, kw)))
    n = int(rng.integers(1, 3))
    h, w = (int(v) for v in rng.integers(5, 10, 2))
    return dict(groups=groups, cin=cin, cout=cout, kernel=(kh, kw), stride=stride, dilation=dilation,
                padding=padding, n=n, h=h, w=w)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(12))
def test_conv2d(seed, dtype):
    rng = np.random.default_rng(seed)
    c = conv_case(rng)
    x = rng.standard_normal((c["n"], c["cin"], c["h"], c["w"])).astype(dtype)
    w = rng.standard_normal((c["cout"], c["cin"] // c["groups"]) + c["kernel"]).astype(dtype)
    b = rng.standard_normal(c["cout"]).astype(dtype)
    kw = dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"], groups=c["groups"])
    check(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), x, w, b)
    check(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), x, w)  # no bias


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4])
def test_conv2d_string_padding(padding, kernel):
    rng = np.random.default_rng(kernel)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, kernel, kernel))
    dilation = 2 if kernel == 3 else 1
    check(lambda *t: F.conv2d(*t, padding=padding, dilation=dilation),
          lambda *t: TF.conv2d(*t, padding=padding, dilation=dilation), x, w)


def test_conv2d_1x1_and_single_channel_batch_one():
    rng = np.random.default_rng(1)
    check(F.conv2d, TF.conv2d, rng.standard_normal((1, 5, 4, 3)), rng.standard_normal((2, 5, 1, 1)))
    check(F.conv2d, TF.conv2d, rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((1, 1, 3, 3)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(12))
def test_conv_transpose2d(seed, dtype):
    rng = np.random.default_rng(100 + seed)
    c = conv_case(rng)
    out_pad = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(c["stride"], c["dilation"]))
    padding = tuple(min(p, d * (k - 1)) for p, d, k in zip(c["padding"], c["dilation"], c["kernel"]))
    x = rng.standard_normal((c["n"], c["cin"], c["h"] - 2, c["w"] - 2)).astype(dtype)
    w = rng.standard_normal((c["cin"], c["cout"] // c["groups"]) + c["kernel"]).astype(dtype)
    b = rng.standard_normal(c["cout"]).astype(dtype)
    kw = dict(stride=c["stride"], padding=padding, output_padding=out_pad, dilation=c["dilation"],
              groups=c["groups"])
    check(lambda *t: F.conv_transpose2d(*t, **kw), lambda *t: TF.conv_transpose2d(*t, **kw), x, w, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_max_pool2d(seed, dtype):
    rng = np.random.default_rng(200 + seed)
    k = int(rng.integers(1, 4))
    kw = dict(kernel_size=k, stride=int(rng.integers(1, 4)), padding=int(rng.integers(0, k // 2 + 1)),
              dilation=int(rng.integers(1, 3)), ceil_mode=bool(seed % 2))
    x = rng.standard_normal((int(rng.integers(1, 3)), 2) + tuple(int(v) for v in rng.integers(6, 11, 2)))
    check(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), x.astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_avg_pool2d(seed, dtype):
    rng = np.random.default_rng(300 + seed)
    k = int(rng.integers(1, 4))
    kw = dict(kernel_size=(k, k + 1), stride=int(rng.integers(1, 4)), padding=int(rng.integers(0, k // 2 + 1)),
              ceil_mode=bool(seed % 2), count_include_pad=bool(seed % 3))
    x = rng.standard_normal((2, 3) + tuple(int(v) for v in rng.integers(6, 11, 2)))
    check(lambda t: F.avg_pool2d(t, **kw), lambda t: TF.avg_pool2d(t, **kw), x.astype(dtype))


INTERPOLATIONS = [
    dict(scale_factor=2, mode="nearest"), dict(scale_factor=3, mode="nearest"), dict(size=(7, 5), mode="nearest"),
    dict(size=(3, 4), mode="nearest"), dict(scale_factor=1.5, mode="nearest"),
    dict(scale_factor=2, mode="bilinear", align_corners=False), dict(scale_factor=2, mode="bilinear", align_corners=True),
    dict(size=(9, 4), mode="bilinear", align_corners=False), dict(size=(9, 4), mode="bilinear", align_corners=True),
    dict(scale_factor=(0.5, 1.5), mode="bilinear", align_corners=False), dict(size=(1, 1), mode="bilinear", align_corners=True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(INTERPOLATIONS)))
def test_interpolate(case, dtype):
    rng = np.random.default_rng(case)
    kw = INTERPOLATIONS[case]
    x = rng.standard_normal((2, 3, 6, 5)).astype(dtype)
    check(lambda t: F.interpolate(t, **kw), lambda t: TF.interpolate(t, **kw), x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ndim", [2, 3, 4])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(ndim, training, dtype):
    rng = np.random.default_rng(ndim * 2 + training)
    shape = (4, 3, 5, 6)[:ndim]
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    w, b = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    mean, var = rng.standard_normal(3).astype(dtype), (rng.random(3) + 0.5).astype(dtype)
    rm_ours, rv_ours = nnci_tensor(mean), nnci_tensor(var)
    rm_torch, rv_torch = torch.tensor(mean), torch.tensor(var)
    check(lambda t, ww, bb: F.batch_norm(t, rm_ours, rv_ours, ww, bb, training=training, momentum=0.3),
          lambda t, ww, bb: TF.batch_norm(t, rm_torch, rv_torch, ww, bb, training=training, momentum=0.3), x, w, b)
    tol = dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rm_ours.detach().numpy(), rm_torch.detach().numpy(), **tol)
    np.testing.assert_allclose(rv_ours.detach().numpy(), rv_torch.detach().numpy(), **tol)


def nnci_tensor(a):
    import nnci
    return nnci.tensor(a)


ACTIVATIONS = {
    "relu": (F.relu, TF.relu),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "softplus": (F.softplus, TF.softplus),
    "softplus_beta": (lambda t: F.softplus(t, beta=2.5, threshold=5), lambda t: TF.softplus(t, beta=2.5, threshold=5)),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), lambda t: TF.leaky_relu(t, 0.2)),
    "elu": (lambda t: F.elu(t, 0.7), lambda t: TF.elu(t, 0.7)),
    "softmax0": (lambda t: F.softmax(t, 0), lambda t: TF.softmax(t, 0)),
    "softmax-1": (lambda t: F.softmax(t, -1), lambda t: TF.softmax(t, -1)),
    "log_softmax": (lambda t: F.log_softmax(t, 1), lambda t: TF.log_softmax(t, 1)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations(name, dtype):
    rng = np.random.default_rng(len(name))
    x = (rng.standard_normal((3, 4, 5)) * 4).astype(dtype)
    check(*ACTIVATIONS[name], x)


def test_softmax_large_logits_stay_finite():
    x = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    check(lambda t: F.log_softmax(t, 1), lambda t: TF.log_softmax(t, 1), x)
    check(lambda t: F.softmax(t, 1), lambda t: TF.softmax(t, 1), x)


@pytest.mark.parametrize("factor", [1, 2, 3])
def test_pixel_shuffle_and_unshuffle(factor):
    rng = np.random.default_rng(factor)
    x = rng.standard_normal((2, 2 * factor * factor, 3, 4))
    check(lambda t: F.pixel_shuffle(t, factor), lambda t: TF.pixel_shuffle(t, factor), x)
    y = rng.standard_normal((2, 3, 2 * factor, 3 * factor))
    check(lambda t: F.pixel_unshuffle(t, factor), lambda t: TF.pixel_unshuffle(t, factor), y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(reduction, dtype):
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((3, 4, 5)).astype(dtype), rng.standard_normal((3, 4, 5)).astype(dtype)
    check(lambda x, y: F.mse_loss(x, y, reduction=reduction), lambda x, y: TF.mse_loss(x, y, reduction=reduction), a, b)
    check(lambda x, y: F.l1_loss(x, y, reduction=reduction), lambda x, y: TF.l1_loss(x, y, reduction=reduction), a, b)
    target = (rng.random((3, 4, 5)) > 0.5).astype(dtype)
    pos = (rng.random(5) + 0.5).astype(dtype)
    check(lambda x: F.binary_cross_entropy_with_logits(x * 10, target, reduction=reduction, pos_weight=pos),
          lambda x: TF.binary_cross_entropy_with_logits(x * 10, torch.tensor(target), reduction=reduction,
                                                        pos_weight=torch.tensor(pos)), a)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(8))
def test_cross_entropy(seed, dtype):
    rng = np.random.default_rng(400 + seed)
    classes = int(rng.integers(2, 6))
    spatial = () if seed % 2 else (3, 2)
    logits = (rng.standard_normal((4, classes) + spatial) * 3).astype(dtype)
    target = rng.integers(0, classes, (4,) + spatial)
    if seed % 4 == 3:
        target.flat[0] = -100  # ignored
    kw = dict(reduction=["mean", "sum", "none"][seed % 3], label_smoothing=[0.0, 0.1][seed // 4 % 2])
    weight = (rng.random(classes) + 0.5).astype(dtype) if seed % 3 == 1 else None
    check(lambda x: F.cross_entropy(x, target, weight=weight, **kw),
          lambda x: TF.cross_entropy(x, torch.tensor(target), weight=None if weight is None else torch.tensor(weight),
                                     **kw), logits)
    check(lambda x: F.nll_loss(F.log_softmax(x, 1), target, reduction=kw["reduction"]),
          lambda x: TF.nll_loss(TF.log_softmax(x, 1), torch.tensor(target), reduction=kw["reduction"]), logits)


def test_kl_normal_matches_closed_form_in_torch():
    rng = np.random.default_rng(9)
    mu, logvar = rng.standard_normal((4, 8)), rng.standard_normal((4, 8)) * 0.5

    def torch_kl(m, lv):
        q = torch.distributions.Normal(m, torch.exp(0.5 * lv))
        p = torch.distributions.Normal(torch.zeros_like(m), torch.ones_like(m))
        return torch.distributions.kl_divergence(q, p).sum()

    check(lambda m, lv: F.kl_normal(m, lv), torch_kl, mu, logvar)


def test_dropout_scales_kept_values_and_passes_in_eval():
    import nnci
    nnci.manual_seed(0)
    x = nnci.ones(1000, 100, requires_grad=True)
    y = F.dropout(x, 0.3, training=True)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7, rtol=1e-6)
    assert F.dropout(x, 0.3, training=False) is x


@pytest.mark.parametrize("seed", range(10))
def test_stride1_grid_path_matches_im2col_path_and_torch(seed):
    """The grid kernels (stride 1) against the im2col kernels at array level, and the ops against torch."""
    from nnci.kernels import conv_grid as G
    from nnci.ops import conv as C
    rng = np.random.default_rng(500 + seed)
    groups = int(rng.choice([1, 2]))
    cin, cout = groups * int(rng.integers(1, 5)), groups * int(rng.integers(1, 5))
    k = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    n, h, w = int(rng.integers(1, 4)), int(rng.integers(9, 14)), int(rng.integers(9, 14))
    x = rng.standard_normal((n, cin // groups, h, w))
    weight = rng.standard_normal((cout, cin // groups) + k)
    y_im2col, cols = C.conv_forward(x, weight, (1, 1), dilation)
    xf, grid_hw = G.pad_to_grid(x, (0, 0, 0, 0))
    y_grid = G.from_grid(G.grid_correlate(xf, weight, grid_hw, dilation), n, grid_hw, y_im2col.shape[2:])
    np.testing.assert_allclose(y_grid, y_im2col, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y_im2col.shape)
    span = G.grid_span(n * h * w, k, dilation, w)
    gq, gq_hw = G.pad_to_grid(g, C.adjoint_pads((0, 0, 0, 0), k, dilation))
    dx_grid = G.from_grid(G.grid_correlate(gq, C.flipped_transpose(weight), gq_hw, dilation), n, gq_hw, (h, w))
    np.testing.assert_allclose(dx_grid, C.conv_input_grad(g, weight, grid_hw, (1, 1), dilation), rtol=1e-12, atol=1e-12)
    gf = G.grad_to_grid(g, grid_hw, span)
    np.testing.assert_allclose(G.grid_weight_grad(gf, xf, k, grid_hw, dilation),
                               C.conv_weight_grad(g, cols, weight.shape), rtol=1e-12, atol=1e-12)
    xs = rng.standard_normal((n, cin, h, w))
    ws = rng.standard_normal((cout, cin // groups) + k)
    pad = (int(rng.integers(0, k[0] + 1)), int(rng.integers(0, k[1] + 1)))
    kw = dict(padding=pad, dilation=dilation, groups=groups)
    check(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), xs, ws, rng.standard_normal(cout))
    pad_t = tuple(min(p, d * (kk - 1)) for p, d, kk in zip(pad, dilation, k))
    wt = rng.standard_normal((cin, cout // groups) + k)
    kw_t = dict(padding=pad_t, dilation=dilation, groups=groups)
    check(lambda *t: F.conv_transpose2d(*t, **kw_t), lambda *t: TF.conv_transpose2d(*t, **kw_t), xs, wt)


@pytest.mark.parametrize("seed", range(12))
def test_weight_grad_from_the_adjoints_column_blocks_matches_torch(seed, monkeypatch):
    """Same-size stride-1 convolutions take dW from the input gradient's column blocks of g (Conv2d.backward), and
    stride-1 transposed convolutions from dx's (ConvTranspose2d.backward): with grid_weight_grad disabled, dx and
    dW still match torch, for kernels up to 5, dilations and groups."""
    from nnci.ops import conv as C

    def unused(*args, **kwargs):
        raise AssertionError("the weight gradient built its own column blocks")
    monkeypatch.setattr(C, "grid_weight_grad", unused)
    rng = np.random.default_rng(1100 + seed)
    groups = int(rng.choice([1, 2]))
    cin, cout = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
    k = (int(rng.choice([1, 3, 5])), int(rng.choice([1, 3, 5])))
    dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pad = tuple(d * (kk - 1) // 2 for d, kk in zip(dilation, k))
    x = rng.standard_normal((int(rng.integers(1, 4)), cin, int(rng.integers(5, 12)), int(rng.integers(5, 12))))
    kw = dict(padding=pad, dilation=dilation, groups=groups)
    check(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), x,
          rng.standard_normal((cout, cin // groups) + k), rng.standard_normal(cout))
    check(lambda *t: F.conv_transpose2d(*t, **kw), lambda *t: TF.conv_transpose2d(*t, **kw), x,
          rng.standard_normal((cin, cout // groups) + k), rng.standard_normal(cout))


@pytest.mark.parametrize("seed", range(24))
def test_stride1_grid_shares_pads_between_neighbours(seed):
    """pad_to_grid's stride-1 layout: every padded pixel of every image at column n Hq Wq + r Wq + c, the gap
    between rows (images) narrower than both pads together when the kernel's reach allows it, and every valid
    output inside its own row of the period and inside the span, so no output aliases another."""
    from nnci.kernels import conv_grid as G
    from nnci.ops import conv as C
    rng = np.random.default_rng(900 + seed)
    n, c, h, w = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(3, 9)), int(rng.integers(3, 9))
    kernel, dilation = tuple(int(k) for k in rng.integers(1, 5, 2)), tuple(int(d) for d in rng.integers(1, 3, 2))
    reach = C.kernel_reach(kernel, dilation)
    pads = tuple(int(p) for p in rng.integers(0, 4, 4))  # below, at and beyond the reach, asymmetric
    x = rng.standard_normal((n, c, h, w))
    grid, (hq, wq) = G.pad_to_grid(x, pads, reach=reach)
    padded = np.pad(x, ((0, 0), (0, 0), pads[:2], pads[2:]))
    hp, wp = padded.shape[2:]
    rows, cols = np.meshgrid(np.arange(hp), np.arange(wp), indexing="ij")
    for image in range(n):
        np.testing.assert_array_equal(grid[:, image * hq * wq + rows * wq + cols], padded[image])
    ho, wo = hp - reach[0], wp - reach[1]
    assert ho <= hq and wo <= wq, "outputs of one row (image) would land in the next"
    span = G.grid_span(grid.shape[1], kernel, dilation, wq)
    assert (n - 1) * hq * wq + (ho - 1) * wq + wo <= span
    assert (hq, wq) == (h + max(pads[0], pads[1], pads[0] + pads[1] - reach[0]),
                        w + max(pads[2], pads[3], pads[2] + pads[3] - reach[1]))


@pytest.mark.parametrize("seed", range(16))
def test_strided_conv_on_the_phase_grid_matches_torch(seed):
    """Strided convolutions run on the phases of the input (ops/conv.py): forward, input and weight gradients
    against torch, for strides up to 3, kernels up to 5, dilations, asymmetric padding, odd sizes, and strides
    larger than the kernel (phases that no kernel offset reads)."""
    rng = np.random.default_rng(700 + seed)
    cin, cout, n = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 3))
    k = (int(rng.integers(2, 6)), int(rng.integers(1, 6)))  # an unpadded 1x1 is subsampled, then pointwise
    stride = (int(rng.integers(2, 4)), int(rng.integers(1, 4)))[::1 if seed % 2 else -1]
    dilation = (1, 1) if seed % 3 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pad = (int(rng.integers(0, k[0] + 1)), int(rng.integers(0, k[1] + 1)))
    h, w = int(rng.integers(9, 16)), int(rng.integers(9, 16))
    x, weight = rng.standard_normal((n, cin, h, w)), rng.standard_normal((cout, cin) + k)
    kw = dict(stride=stride, padding=pad, dilation=dilation)
    y = F.conv2d(nnci.tensor(x, requires_grad=True), nnci.tensor(weight, requires_grad=True), **kw)
    assert y.grad_fn.grid_hw == tuple(-(-(s + 2 * p) // st) for s, p, st in zip((h, w), pad, stride)), "not on the phases"
    check(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), x, weight, rng.standard_normal(cout))


@pytest.mark.parametrize("size", [1, 2, (3, 2), (5, 4), (2, None)])
def test_adaptive_avg_pool2d(size):
    x = np.random.default_rng(3).standard_normal((2, 3, 7, 6))
    check(lambda t: F.adaptive_avg_pool2d(t, size), lambda t: TF.adaptive_avg_pool2d(t, size), x)


@pytest.mark.parametrize("kernel,stride", [(2, 2), (3, 2), (3, 1)])
def test_max_pool2d_ties_route_the_gradient_like_torch(kernel, stride):
    x = np.random.default_rng(kernel + stride).integers(0, 3, (2, 2, 9, 8)).astype(np.float64)  # many ties
    check(lambda t: F.max_pool2d(t, kernel, stride), lambda t: TF.max_pool2d(t, kernel, stride), x)


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 2, 9, 7), (3, 1, 2, 3)])
def test_max_pool2d_2x2_fast_path_equals_the_general_path(shape, monkeypatch):
    from nnci.ops.pool import MaxPool2d
    x = np.random.default_rng(sum(shape)).integers(-2, 3, shape).astype(np.float32)  # ties everywhere
    upstream = np.random.default_rng(1).standard_normal((shape[0], shape[1], shape[2] // 2, shape[3] // 2))
    results = []
    for fast in (True, False):
        monkeypatch.setattr(MaxPool2d, "fast_2x2", fast)
        t = nnci.tensor(x, requires_grad=True)
        y = F.max_pool2d(t, 2)
        assert y.grad_fn.pairwise == fast
        (y * nnci.tensor(upstream.astype(np.float32))).sum().backward()
        results.append((y.detach().numpy(), t.grad.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", [(2, 2), (2, 3), (1, 1), (3, 3)])
def test_conv_transpose2d_non_overlapping_blocks(kernel, dtype):
    """kernel == stride takes the one-GEMM path."""
    rng = np.random.default_rng(kernel[0] * 10 + kernel[1])
    x, w, b = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((3, 4) + kernel), rng.standard_normal(4)
    check(lambda *t: F.conv_transpose2d(*t, stride=kernel), lambda *t: TF.conv_transpose2d(*t, stride=kernel),
          x.astype(dtype), w.astype(dtype), b.astype(dtype))


@pytest.mark.parametrize("factor", [2, 3, (2, 3)])
def test_nearest_integer_upsampling(factor):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    check(lambda t: F.interpolate(t, scale_factor=factor), lambda t: TF.interpolate(t, scale_factor=factor), x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(4))
def test_pointwise_conv_as_batched_matmul(seed, dtype):
    """1x1, stride 1, no padding takes the batched-GEMM path; dilation does not matter for a 1x1 kernel."""
    rng = np.random.default_rng(seed)
    n, cin, cout, h, w = (int(v) for v in rng.integers(1, 7, 5))
    x, weight, b = (rng.standard_normal(shape).astype(dtype) for shape in ((n, cin, h, w), (cout, cin, 1, 1), (cout,)))
    kw = dict(dilation=int(rng.integers(1, 3)))
    check(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), x, weight, b)
    padded = dict(padding=1)  # the grid path, for comparison on the same data
    check(lambda *t: F.conv2d(*t, **padded), lambda *t: TF.conv2d(*t, **padded), x, weight)


@pytest.mark.parametrize("stride", [2, 3, (2, 1)])
def test_strided_1x1_conv(stride):
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 4, 7, 8)), rng.standard_normal((3, 4, 1, 1)), rng.standard_normal(3)
    check(lambda *t: F.conv2d(*t, stride=stride), lambda *t: TF.conv2d(*t, stride=stride), x, w, b)
