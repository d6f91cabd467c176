"""Compiled kernels against their NumPy reference twins and against torch, on random shapes and odd sizes.

float32 Winograd tolerance: the transforms are exact in real arithmetic, but B^T d B scales values by up to ~100
and A^T M A sums 36 products, so rounding adds a relative error (max |error| / max |torch|) of about 1e-5 at 64
channels (measured 5e-6 to 1.2e-5 over shapes up to 512x512); the tests allow 5e-5, and a wrong tap or a
misplaced tile gives errors of order 1.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import nnci
from nnci import kernels
from nnci.kernels import winograd as wg
from nnci.ops import conv as C

WINOGRAD_TOLERANCE = 5e-5
compiled_only = pytest.mark.skipif(not kernels.compiled, reason="NNCI_KERNELS=reference: no compiled kernels")


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def random_case(seed: int):
    rng = np.random.default_rng(seed)
    n, c, k = int(rng.integers(1, 4)), int(rng.integers(1, 9)), int(rng.integers(1, 9))
    h, w = int(rng.integers(3, 23)), int(rng.integers(3, 23))
    top, bottom, left, right = (int(p) for p in rng.integers(0, 3, size=4))
    if h + top + bottom < 3 or w + left + right < 3:
        top = bottom = left = right = 1
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    weight = rng.standard_normal((k, c, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(k).astype(np.float32)
    return rng, x, weight, bias, (top, bottom, left, right)


def torch_conv(x, weight, bias, pads, g=None):
    top, bottom, left, right = pads
    xt = torch.nn.functional.pad(torch.from_numpy(x), (left, right, top, bottom)).requires_grad_()
    wt = torch.from_numpy(weight).requires_grad_()
    y = torch.nn.functional.conv2d(xt, wt, torch.from_numpy(bias))
    if g is None:
        return y.detach().numpy()
    y.backward(torch.from_numpy(g))
    dx = xt.grad[:, :, top:top + x.shape[2], left:left + x.shape[3]]
    return y.detach().numpy(), dx.numpy(), wt.grad.numpy()


@pytest.mark.parametrize("seed", range(16))
def test_winograd_reference_matches_torch(seed):
    """The readable twin (einsum over all tiles) computes the convolution and its weight gradient."""
    rng, x, weight, bias, pads = random_case(seed)
    out_hw = (x.shape[2] + pads[0] + pads[1] - 2, x.shape[3] + pads[2] + pads[3] - 2)
    g = rng.standard_normal((x.shape[0], weight.shape[0]) + out_hw).astype(np.float32)
    y_t, _, dw_t = torch_conv(x, weight, bias, pads, g)
    y = wg.correlate3x3_reference(x, weight, (pads[0], pads[2]), out_hw, bias)
    assert y.shape == y_t.shape
    assert relative_error(y, y_t) < WINOGRAD_TOLERANCE
    assert relative_error(wg.weight_grad3x3_reference(g, x, (pads[0], pads[2])), dw_t) < WINOGRAD_TOLERANCE


@compiled_only
@pytest.mark.parametrize("seed", range(16))
def test_winograd_compiled_matches_reference_and_torch(seed):
    """The blocked compiled pipeline gives the twin's result, for odd sizes and every pad 0..2."""
    rng, x, weight, bias, pads = random_case(100 + seed)
    out_hw = (x.shape[2] + pads[0] + pads[1] - 2, x.shape[3] + pads[2] + pads[3] - 2)
    g = rng.standard_normal((x.shape[0], weight.shape[0]) + out_hw).astype(np.float32)
    y_t, _, dw_t = torch_conv(x, weight, bias, pads, g)
    y = wg.correlate3x3_fast(x, weight, (pads[0], pads[2]), out_hw, bias)
    y_ref = wg.correlate3x3_reference(x, weight, (pads[0], pads[2]), out_hw, bias)
    assert relative_error(y, y_ref) < WINOGRAD_TOLERANCE
    assert relative_error(y, y_t) < WINOGRAD_TOLERANCE
    dw = wg.weight_grad3x3_fast(g, x, (pads[0], pads[2]))
    assert relative_error(dw, wg.weight_grad3x3_reference(g, x, (pads[0], pads[2]))) < WINOGRAD_TOLERANCE
    assert relative_error(dw, dw_t) < WINOGRAD_TOLERANCE


@pytest.mark.parametrize("shape", [(2, 64, 64, 41, 37), (1, 16, 24, 130, 67)])
def test_winograd_tolerance_at_depth(shape):
    """64 channels and images of several blocks (more tile rows than one block holds): the stated tolerance."""
    n, c, k, h, w = shape
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    weight = (rng.standard_normal((k, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    bias = rng.standard_normal(k).astype(np.float32)
    g = rng.standard_normal((n, k, h, w)).astype(np.float32)
    y_t, _, dw_t = torch_conv(x, weight, bias, (1, 1, 1, 1), g)
    assert relative_error(wg.correlate3x3(x, weight, (1, 1), (h, w), bias), y_t) < WINOGRAD_TOLERANCE
    assert relative_error(wg.weight_grad3x3(g, x, (1, 1)), dw_t) < WINOGRAD_TOLERANCE


@compiled_only
@pytest.mark.parametrize("seed", range(10))
def test_conv2d_takes_winograd_and_matches_torch(seed, monkeypatch):
    """nnci.nn.functional.conv2d on a float32 3x3 stride-1 layer runs Winograd forward and backward (the grid
    path disabled to prove it), and y, dx, dW, db match torch within the stated tolerance."""
    def unused(*args, **kwargs):
        raise AssertionError("the grid path ran")
    monkeypatch.setattr(C, "grid_correlate", unused)
    monkeypatch.setattr(C, "grid_weight_grad", unused)
    monkeypatch.setattr(C, "WINOGRAD_MIN_CHANNELS", 1)  # small layers too, to test the op's plumbing
    monkeypatch.setattr(C, "WINOGRAD_MIN_TILES", 1)
    monkeypatch.setattr(C, "WINOGRAD_IN_TRAINING", True)
    rng, x, weight, bias, pads = random_case(200 + seed)
    padding = (pads[0], pads[2])
    pads = (pads[0], pads[0], pads[2], pads[2])
    out_hw = (x.shape[2] + 2 * pads[0] - 2, x.shape[3] + 2 * pads[2] - 2)
    if min(out_hw) < 1:
        return
    g = rng.standard_normal((x.shape[0], weight.shape[0]) + out_hw).astype(np.float32)
    y_t, dx_t, dw_t = torch_conv(x, weight, bias, pads, g)
    xn, wn, bn = (nnci.tensor(a, requires_grad=True) for a in (x, weight, bias))
    y = nnci.nn.functional.conv2d(xn, wn, bn, padding=padding)
    y.backward(nnci.tensor(g))
    assert relative_error(y.detach().numpy(), y_t) < WINOGRAD_TOLERANCE
    assert relative_error(xn.grad.numpy(), dx_t) < WINOGRAD_TOLERANCE
    assert relative_error(wn.grad.numpy(), dw_t) < WINOGRAD_TOLERANCE
    assert relative_error(bn.grad.numpy(), g.sum(axis=(0, 2, 3))) < 1e-5


def test_float64_keeps_the_exact_path():
    """float64 convolutions never take Winograd: they match torch to float64 rounding."""
    rng = np.random.default_rng(7)
    x, weight = rng.standard_normal((2, 5, 11, 9)), rng.standard_normal((4, 5, 3, 3))
    y = nnci.nn.functional.conv2d(nnci.tensor(x), nnci.tensor(weight), padding=1).numpy()
    y_t = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(weight), padding=1).numpy()
    assert relative_error(y, y_t) < 1e-13


def test_winograd_applies_only_where_it_is_exact_enough_and_pays():
    x32, w32 = np.zeros((2, 32, 64, 64), np.float32), np.zeros((32, 32, 3, 3), np.float32)
    applies = C._winograd_applies
    assert applies(x32, w32, (1, 1), (1, 1, 1, 1), (1, 1), 1) == kernels.compiled
    assert not applies(x32.astype(np.float64), w32.astype(np.float64), (1, 1), (1, 1, 1, 1), (1, 1), 1)
    assert not applies(x32, w32, (2, 2), (1, 1, 1, 1), (1, 1), 1)
    assert not applies(x32, w32, (1, 1), (1, 1, 1, 1), (2, 2), 1)
    assert not applies(x32, w32, (1, 1), (3, 3, 3, 3), (1, 1), 1)
    assert not applies(x32, np.zeros((32, 32, 5, 5), np.float32), (1, 1), (2, 2, 2, 2), (1, 1), 1)
    assert not applies(x32[:, :1], np.zeros((32, 1, 3, 3), np.float32), (1, 1), (1, 1, 1, 1), (1, 1), 1)
    assert not applies(x32[:1, :, :16, :16], w32, (1, 1), (1, 1, 1, 1), (1, 1), 1)  # 16 tiles: too few
    assert applies(x32, w32, (1, 1), (1, 1, 1, 1), (1, 1), 1, training=True) == (kernels.compiled
                                                                                  and C.WINOGRAD_IN_TRAINING)


@compiled_only
def test_inference_takes_winograd(monkeypatch):
    """Under no_grad a 64-channel 3x3 layer runs Winograd (the grid path disabled to prove it) and matches torch."""
    def unused(*args, **kwargs):
        raise AssertionError("the grid path ran")
    monkeypatch.setattr(C, "grid_correlate", unused)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 64, 90, 77)).astype(np.float32)  # 874 tiles
    weight = (rng.standard_normal((48, 64, 3, 3)) / 24).astype(np.float32)
    bias = rng.standard_normal(48).astype(np.float32)
    with nnci.no_grad():
        y = nnci.nn.functional.conv2d(nnci.tensor(x), nnci.tensor(weight), nnci.tensor(bias), padding=1).numpy()
    assert relative_error(y, torch_conv(x, weight, bias, (1, 1, 1, 1))) < WINOGRAD_TOLERANCE


def test_kernel_mode_is_reported():
    assert kernels.MODE in kernels.MODES
    assert kernels.compiled == (kernels.MODE != "reference" and kernels.numba is not None)


def test_set_num_threads_sets_blas_and_the_kernels():
    from threadpoolctl import threadpool_info
    before = nnci.get_num_threads()
    try:
        nnci.set_num_threads(1)
        assert nnci.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
        if kernels.compiled:
            assert kernels.numba.get_num_threads() == 1
    finally:
        nnci.set_num_threads(before)
    with pytest.raises(ValueError, match="positive integer"):
        nnci.set_num_threads(0)


OPENBLAS_TIMEOUT_PROBE = """
import ctypes, os
import nnci
from threadpoolctl import threadpool_info
pools = [p for p in threadpool_info() if p["internal_api"] == "openblas"]
read = getattr(ctypes.CDLL(pools[0]["filepath"]), "openblas_thread_timeout", None) if pools else None
print(os.environ["OPENBLAS_THREAD_TIMEOUT"], read() if read else "unknown")
"""


@pytest.mark.parametrize("given", [None, "25"])
def test_import_sets_openblas_thread_timeout_before_numpy_loads_it(given):
    """`import nnci` in a fresh process sets OPENBLAS_THREAD_TIMEOUT=18 unless it is set, early enough that
    OpenBLAS reads it (where the library tells what it read)."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if given:
        env["OPENBLAS_THREAD_TIMEOUT"] = given
    out = subprocess.run([sys.executable, "-c", OPENBLAS_TIMEOUT_PROBE], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    expected = given or "18"
    assert out[0] == expected
    assert out[1] in (expected, "unknown")


def test_cli_threads_option_is_checked(capsys):
    from nnci.cli import main
    with pytest.raises(SystemExit) as exit_info:
        main(["--threads", "0", "demo"])
    assert exit_info.value.code == 2
    assert "--threads" in capsys.readouterr().err


@compiled_only
def test_fused_chain_runs_winograd_layer_by_layer(monkeypatch):
    """nnci.inference.fuse's chain of same-padding convolutions takes Winograd for its wide layers (the grid chain
    disabled to prove it) and gives the unfused model's output."""
    import nnci.inference as inference

    def unused(*args, **kwargs):
        raise AssertionError("the grid chain ran")
    nnci.manual_seed(0)
    nn = nnci.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                          nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                          nn.Conv2d(32, 1, 3, padding=1))
    with nnci.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.copy_(nnci.randn(32) * 0.1)
                module.running_var.copy_(nnci.rand(32) + 0.5)
    model.eval()
    x = nnci.randn(2, 1, 64, 64)
    with nnci.no_grad():
        expected = model(x).numpy()
        fused = inference.fuse(model)
        monkeypatch.setattr(inference, "grid_chain", unused)
        got = fused(x).numpy()
    assert any("grid layout" in line for line in fused.fusions)
    assert relative_error(got, expected) < WINOGRAD_TOLERANCE


# ----- batch norm's passes ------------------------------------------------------------------------------
def batch_norm_case(seed: int, dtype):
    """(N, C, L) data with per-channel offsets up to 100 standard deviations: the statistics must not cancel."""
    rng = np.random.default_rng(seed)
    n, c, length = int(rng.integers(1, 5)), int(rng.integers(1, 9)), int(rng.integers(1, 300))
    if n * length < 2:
        length = 2
    offsets = rng.uniform(-100, 100, size=(1, c, 1)) * (seed % 2)
    x = (rng.standard_normal((n, c, length)) + offsets).astype(dtype)
    g = rng.standard_normal((n, c, length)).astype(dtype)
    return rng, x, g


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(8))
def test_batch_norm_passes_match_their_twins_and_float64(seed, dtype):
    """Each compiled pass and its NumPy twin against the formula in float64, within the rounding of dtype: of the
    sums (relative 2e-5 in float32) and of the mean rounded to dtype, about which the passes centre x."""
    from nnci.kernels import batch_norm as bn
    rng, x, g = batch_norm_case(seed, dtype)
    tolerance = 2e-5 if dtype == np.float32 else 1e-12
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    mean64, var64 = x64.mean(axis=(0, 2)), x64.var(axis=(0, 2))
    centered = x64 - mean64[:, None]
    a, b, k, j = (rng.standard_normal(x.shape[1]).astype(dtype).astype(np.float64) for _ in range(4))
    mean_error = np.abs(mean64).max()  # times tolerance: how far the mean rounded to dtype moves the centre
    expected = {  # name: (value, the scale its error is measured against)
        "mean": (mean64, np.abs(x64).max()),
        "var": (var64, var64.max()),
        "affine": (centered * a[:, None] + b[:, None], mean_error * np.abs(a).max() + np.abs(centered).max()
                   * np.abs(a).max() + np.abs(b).max()),
        "sum_g": (g64.sum(axis=(0, 2)), np.abs(g64).sum(axis=(0, 2)).max()),
        "sum_gx": ((g64 * centered).sum(axis=(0, 2)), np.abs(g64).sum(axis=(0, 2)).max() * mean_error
                   + np.abs(g64 * centered).sum(axis=(0, 2)).max()),
        "input_grad": (g64 * a[:, None] + centered * k[:, None] + j[:, None],
                       np.abs(g64).max() * np.abs(a).max() + (mean_error + np.abs(centered).max())
                       * np.abs(k).max() + np.abs(j).max())}
    for twin in ("reference", "fast") if kernels.compiled else ("reference",):
        mean, var = getattr(bn, f"statistics_{twin}")(x)
        mean_x = np.asarray(mean, dtype)
        sum_g, sum_gx = getattr(bn, f"sums_{twin}")(g, x, mean_x)
        got = {"mean": mean, "var": var, "affine": getattr(bn, f"affine_{twin}")(x, mean_x, a, b),
               "sum_g": sum_g, "sum_gx": sum_gx,
               "input_grad": getattr(bn, f"input_grad_{twin}")(g, x, mean_x, a, k, j)}
        assert got["affine"].dtype == got["input_grad"].dtype == dtype
        for name, value in got.items():
            want, scale = expected[name]
            error = np.abs(np.asarray(value, np.float64) - want).max()
            assert error <= tolerance * scale, (twin, name, error, scale)


@pytest.mark.parametrize("seed", range(6))
def test_batch_norm_layer_matches_torch_with_offsets(seed):
    """BatchNorm2d in training (forward, input and parameter gradients, running statistics) as torch's, on data
    whose channels sit far from zero."""
    rng = np.random.default_rng(100 + seed)
    n, c, h, w = int(rng.integers(2, 5)), int(rng.integers(1, 7)), int(rng.integers(1, 20)), int(rng.integers(1, 20))
    x = (rng.standard_normal((n, c, h, w)) * rng.uniform(0.1, 3) + rng.uniform(-20, 20, (1, c, 1, 1)))
    x = x.astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    layers = {}
    for lib in (nnci, torch):
        layer = lib.nn.BatchNorm2d(c)
        with lib.no_grad():
            layer.weight.copy_(lib.from_numpy(rng.standard_normal(c).astype(np.float32) if lib is nnci
                                              else layers[nnci][0].weight.detach().numpy().copy()))
        xt = lib.from_numpy(x.copy()).requires_grad_()
        y = layer(xt)
        y.backward(lib.from_numpy(g.copy()))
        layers[lib] = (layer, y.detach().numpy(), xt.grad.numpy())
    (ln, yn, dxn), (lt, yt, dxt) = layers[nnci], layers[torch]
    assert relative_error(yn, yt) < 1e-5
    assert relative_error(dxn, dxt) < 1e-4
    assert relative_error(ln.weight.grad.numpy(), lt.weight.grad.numpy()) < 1e-4
    assert relative_error(ln.bias.grad.numpy(), lt.bias.grad.numpy()) < 1e-5
    assert relative_error(ln.running_mean.numpy(), lt.running_mean.numpy()) < 1e-6
    assert relative_error(ln.running_var.numpy(), lt.running_var.numpy()) < 1e-5


# ----- Adam's update ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_adam_update_and_its_twin_match_torch_over_steps(seed, dtype):
    """The one-pass update and the NumPy twin against torch.optim.Adam over ten steps of random gradients, on a
    random shape: the parameters and both moments, within dtype's rounding."""
    from nnci.kernels import adam
    rng = np.random.default_rng(300 + seed)
    shape = tuple(int(s) for s in rng.integers(1, 12, size=int(rng.integers(1, 4))))
    lr, beta1, beta2, eps = float(rng.uniform(1e-3, 1e-1)), float(rng.uniform(0.5, 0.95)), 0.999, 1e-8
    start = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) * 10 ** rng.uniform(-3, 1) for _ in range(10)]
    reference = torch.from_numpy(start.copy()).requires_grad_()
    optimizer = torch.optim.Adam([reference], lr=lr, betas=(beta1, beta2), eps=eps)
    for grad in grads:
        reference.grad = torch.from_numpy(grad.copy())
        optimizer.step()
    state = optimizer.state[reference]
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for twin in ("reference", "fast") if kernels.compiled else ("reference",):
        param, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
        for t, grad in enumerate(grads, 1):
            getattr(adam, f"adam_update_{twin}")(param, grad, m, v, beta1, beta2, lr / (1 - beta1 ** t),
                                                 (1 - beta2 ** t) ** 0.5, eps)
        assert param.dtype == dtype
        assert relative_error(param, reference.detach().numpy()) < tolerance, twin
        assert relative_error(m, state["exp_avg"].numpy()) < tolerance, twin
        assert relative_error(v, state["exp_avg_sq"].numpy()) < tolerance, twin


def test_adam_takes_the_twin_for_views_and_mixed_dtypes():
    """A strided gradient or a float16 parameter is not one flat buffer: the dispatch sends it to the twin."""
    from nnci.kernels import adam
    p = np.zeros((4, 6), np.float32)
    assert adam._applies(p, np.ones((4, 6), np.float32), p.copy(), p.copy()) == True  # noqa: E712
    assert not adam._applies(p, np.ones((6, 4), np.float32).T, p.copy(), p.copy())
    assert not adam._applies(p.astype(np.float16), np.ones((4, 6), np.float16), p.copy(), p.copy())


KERNEL_BLAS_PROBE = """
import numpy as np
import nnci
from threadpoolctl import threadpool_info
from nnci import kernels
from nnci.kernels import winograd
nnci.set_num_threads(1)
x = np.ones((2, 32, 24, 24), np.float32)
winograd.correlate3x3(x, np.ones((32, 32, 3, 3), np.float32), (1, 1), (24, 24))
after_set = sorted(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")
nnci.set_num_threads(2)
with kernels.single_threaded_blas():
    inside = sorted(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")
print(len(after_set), max(after_set), max(inside))
"""


@compiled_only
def test_thread_limits_reach_the_blas_that_kernels_call():
    """Numba's np.dot calls SciPy's BLAS, a second library loaded on the first kernel call: set_num_threads(1)
    before that call, and the kernels' single-threaded context, must hold for it too (else each kernel thread
    runs a multi-threaded GEMM, and the threads outnumber the cores)."""
    out = subprocess.run([sys.executable, "-c", KERNEL_BLAS_PROBE], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")})
    libraries, after_set, inside = (int(v) for v in out.stdout.split())
    assert libraries >= 1 and after_set == 1 and inside == 1, out.stdout
