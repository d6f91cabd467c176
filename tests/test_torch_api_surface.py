"""The rest of the everyday torch surface that programs touch: amp, jit, checkpointing, tensorboard-style logs,
nn.modules paths, autograd.functional, save/load to file objects, and the small behaviours (names, reprs,
warnings) a PyTorch user sees. Each against torch where torch answers."""
import io
import json
import warnings

import numpy as np
import pytest
import torch

import nnci


def test_autocast_and_jit_leave_results_unchanged():
    x = nnci.randn(3, 4)
    layer = nnci.nn.Linear(4, 2)
    expected = layer(x)
    with nnci.autocast("cpu", dtype=nnci.float16):
        inside = layer(x)
    with nnci.cuda.amp.autocast():
        inside_cuda = layer(x)
    assert nnci.equal(inside, expected) and nnci.equal(inside_cuda, expected)
    assert nnci.jit.script(layer) is layer and nnci.jit.trace(layer, x) is layer
    assert nnci.compile(layer) is layer
    with pytest.raises(NotImplementedError, match="TorchScript"):
        nnci.jit.save(layer, "model.pt")


def test_cuda_grad_scaler_disables_itself_with_a_warning_as_torch_does_without_cuda():
    with pytest.warns(UserWarning, match="not available"):
        scaler = nnci.cuda.amp.GradScaler()
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0
    loss = nnci.tensor(2.0, requires_grad=True)
    assert scaler.scale(loss) is loss
    assert scaler.state_dict() == {}


def test_checkpoint_gives_the_same_values_and_gradients():
    from nnci.utils.checkpoint import checkpoint, checkpoint_sequential
    block = nnci.nn.Sequential(nnci.nn.Linear(3, 3), nnci.nn.Tanh(), nnci.nn.Linear(3, 1))
    x = nnci.randn(4, 3, requires_grad=True)
    block(x).sum().backward()
    direct = x.grad.clone()
    x.grad = None
    checkpoint(block, x, use_reentrant=False).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), direct.numpy())
    assert nnci.equal(checkpoint_sequential(block, 2, x), block(x))


def test_summary_writer_appends_json_records(tmp_path):
    from nnci.utils.tensorboard import SummaryWriter
    with SummaryWriter(tmp_path / "run") as writer:
        writer.add_scalar("loss", nnci.tensor(0.5), 1)
        writer.add_scalars("lr", {"a": 0.1, "b": 0.2}, 2)
        writer.add_histogram("w", nnci.arange(4.0), 3)
    records = [json.loads(line) for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["tag"], r.get("value")) for r in records[:3]] == [
        ("scalar", "loss", 0.5), ("scalar", "lr/a", 0.1), ("scalar", "lr/b", 0.2)]
    assert records[3]["max"] == 3.0 and records[3]["count"] == 4


def test_nn_modules_paths_name_the_same_classes_as_nnci_nn():
    from nnci.nn.modules.batchnorm import _BatchNorm
    from nnci.nn.modules.loss import _Loss
    from nnci.nn.modules.module import Module
    assert issubclass(nnci.nn.MSELoss, _Loss) and issubclass(nnci.nn.BatchNorm2d, _BatchNorm)
    assert Module is nnci.nn.Module and nnci.nn.modules.Conv2d is nnci.nn.Conv2d


def test_accelerator_and_precision_queries():
    assert not nnci.accelerator.is_available() and nnci.accelerator.current_accelerator() is None
    nnci.set_float32_matmul_precision("high")
    assert nnci.get_float32_matmul_precision() == "high"
    nnci.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError, match="Invalid precision"):
        nnci.set_float32_matmul_precision("fast")


def test_save_and_load_through_file_objects():
    buffer = io.BytesIO()
    state = {"model": nnci.nn.Linear(2, 3).state_dict(), "step": 7, "name": "run"}
    nnci.save(state, buffer)
    buffer.seek(0)
    loaded = nnci.load(buffer)
    assert loaded["step"] == 7 and loaded["name"] == "run"
    np.testing.assert_array_equal(loaded["model"]["weight"].numpy(), state["model"]["weight"].numpy())


@pytest.mark.parametrize("seed", range(3))
def test_autograd_functional_matches_torch(seed):
    rng = np.random.default_rng(seed)
    a, b, v = rng.standard_normal(3), rng.standard_normal((2, 3)), rng.standard_normal(2)

    def f(lib):
        return lambda x, m: lib.tanh(m @ x) * x.sum()

    ours = nnci.autograd.functional
    theirs = torch.autograd.functional
    args_n, args_t = (nnci.tensor(a), nnci.tensor(b)), (torch.tensor(a), torch.tensor(b))
    for got, expected in zip(ours.jacobian(f(nnci), args_n), theirs.jacobian(f(torch), args_t)):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)
    _, got = ours.vjp(f(nnci), args_n, nnci.tensor(v))
    _, expected = theirs.vjp(f(torch), args_t, torch.tensor(v))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-12)
    directions = (rng.standard_normal(3), rng.standard_normal((2, 3)))
    _, got = ours.jvp(f(nnci), args_n, tuple(nnci.tensor(d) for d in directions))
    _, expected = theirs.jvp(f(torch), args_t, tuple(torch.tensor(d) for d in directions))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)
    cubic = lambda L: (lambda x, m: (m @ x).sin().sum() * x.prod())  # noqa: E731
    for got_row, expected_row in zip(ours.hessian(cubic(nnci), args_n), theirs.hessian(cubic(torch), args_t)):
        for got, expected in zip(got_row, expected_row):
            np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)
    _, got = ours.hvp(cubic(nnci), args_n, (nnci.tensor(directions[0]), nnci.tensor(directions[1])))
    _, expected = theirs.hvp(cubic(torch), args_t, (torch.tensor(directions[0]), torch.tensor(directions[1])))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_renorm_and_solve_triangular_match_torch(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 3, 2))
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((2, 3, 2))
    out = []
    for lib in (torch, nnci):
        xt, at, bt = (lib.tensor(v, requires_grad=True) for v in (x, a, b))
        y = xt.renorm(2, 1, 1.5)
        for upper, left in ((False, True), (True, True), (False, False)):
            rhs = bt if left else bt.mT
            y2 = lib.linalg.solve_triangular(at, rhs, upper=upper, left=left)
            (y2 * lib.tensor(np.linspace(-1, 1, y2.numel()).reshape(tuple(y2.shape)))).sum().backward()
        (y * lib.tensor(np.linspace(0, 1, y.numel()).reshape(tuple(y.shape)))).sum().backward()
        out.append([y.detach().numpy(), xt.grad.numpy(), at.grad.numpy(), bt.grad.numpy()])
    for ours, theirs in zip(out[1], out[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_out_arguments_and_the_legacy_new_constructor_as_torch():
    for lib in (torch, nnci):
        target = lib.empty(3, 3)
        assert lib.matmul(lib.ones(3, 2), lib.ones(2, 3), out=target) is target
        assert float(target.sum()) == 18.0
        lib.cat([lib.ones(1, 3), lib.zeros(2, 3)], out=target)
        assert float(target.sum()) == 3.0
        lib.stack([lib.ones(3), lib.ones(3), lib.zeros(3)], out=target)
        assert float(target.sum()) == 6.0
        x = lib.ones(2, dtype=lib.float64)
        assert tuple(x.new(2, 3).shape) == (2, 3) and x.new([1, 2]).dtype == lib.float64
        assert tuple(x.new().shape) == (0,)


def test_grad_fn_classes_are_named_as_torch_names_them():
    x = nnci.randn(3, 4, requires_grad=True)
    names = {"relu": nnci.relu(x), "view": x.view(12), "mm": x @ x.T, "mean": x.mean(), "pow": x ** 2,
             "index": x[[0, 1]], "conv": nnci.nn.functional.conv2d(x.reshape(1, 1, 3, 4), nnci.ones(1, 1, 2, 2))}
    expected = {"relu": "ReluBackward0", "view": "ViewBackward0", "mm": "MmBackward0", "mean": "MeanBackward0",
                "pow": "PowBackward0", "index": "IndexBackward0", "conv": "ConvolutionBackward0"}
    assert {k: type(v.grad_fn).__name__ for k, v in names.items()} == expected

    class Double(nnci.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    assert type(Double.apply(x).grad_fn).__name__ == "DoubleBackward"


def test_module_list_and_load_state_dict_print_as_torch():
    for lib in (torch, nnci):
        layers = lib.nn.ModuleList([lib.nn.Linear(2, 2) for _ in range(3)] + [lib.nn.ReLU()])
        assert repr(layers) == ("ModuleList(\n  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n"
                                "  (3): ReLU()\n)")
        assert repr(lib.nn.Linear(2, 2).load_state_dict(lib.nn.Linear(2, 2).state_dict())) == \
            "<All keys matched successfully>"
        missing = lib.nn.Linear(2, 2).load_state_dict({"weight": lib.zeros(2, 2)}, strict=False)
        assert repr(missing) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=[])"


def test_warnings_as_torch_gives_them():
    y = nnci.randn(2, requires_grad=True) * 2
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert y.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inf and NaN as in torch, without NumPy's RuntimeWarning
        x = nnci.tensor([0.0, -1.0, 1.0], requires_grad=True)
        logs, reciprocals = nnci.log(x), 1 / x
        (logs + reciprocals).sum().backward()  # -inf + inf: NaN, in the value and the gradient
        assert logs[0].item() == -np.inf and reciprocals[0].item() == np.inf and np.isnan(logs[1].item())
        assert np.isnan(x.grad[0].item())
        assert nnci.sigmoid(nnci.tensor([-100.0])).item() == 0.0


def test_post_accumulate_grad_hooks_run_after_the_gradient_is_stored():
    w = nnci.ones(3, requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.clone()))
    (w * 2).sum().backward()
    assert len(seen) == 1 and seen[0].tolist() == [2.0, 2.0, 2.0]
    handle.remove()
    (w * 2).sum().backward()
    assert len(seen) == 1
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)


def test_default_convert_turns_tuples_into_lists_as_torch():
    from torch.utils.data import default_convert as torch_convert

    from nnci.utils.data import default_convert
    sample = (np.ones(2), 3)
    assert type(default_convert(sample)) is type(torch_convert(sample)) is list


@pytest.mark.parametrize("name", ["ndtr", "ndtri", "log_ndtr", "entr", "erfcx", "i0", "i0e", "i1", "i1e", "expit",
                                  "gammaln", "psi", "erfinv", "logit", "sinc", "digamma"])
def test_special_functions_and_their_gradients_match_torch(name):
    x = np.linspace(0.05, 0.95 if name in ("ndtri", "erfinv", "logit") else 3.0, 9)
    results = []
    for lib in (torch, nnci):
        t = lib.tensor(x, requires_grad=True)
        y = getattr(lib.special, name)(t)
        y.sum().backward()
        results.append((y.detach().numpy(), t.grad.numpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-7, atol=1e-12)


def test_special_functions_with_arguments_match_torch():
    x = np.linspace(0.1, 3, 7)
    results = []
    for lib in (torch, nnci):
        t = lib.tensor(x, requires_grad=True)
        y = lib.special.polygamma(2, t) + lib.special.multigammaln(t + 2, 3) + lib.special.xlog1py(t, t)
        y.sum().backward()
        bessel = [getattr(lib.special, f"bessel_{k}")(lib.tensor(x)).numpy() for k in ("j0", "j1", "y0", "y1")]
        results.append([y.detach().numpy(), t.grad.numpy()] + bessel)
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_linear_algebra_extras_match_torch():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((2, 3, 3)) * 0.5
    spd = a[0] @ a[0].T + np.eye(3)
    results = []
    for lib in (torch, nnci):
        t = lib.tensor(a, requires_grad=True)
        exp = lib.linalg.matrix_exp(t)
        (exp * lib.tensor(np.arange(18.0).reshape(2, 3, 3))).sum().backward()
        factor = lib.linalg.cholesky(lib.tensor(spd))
        results.append([exp.detach().numpy(), t.grad.numpy(), lib.linalg.cond(lib.tensor(a[0])).numpy(),
                        lib.cholesky_solve(lib.tensor(a[1]), factor).numpy(),
                        lib.cholesky_solve(lib.tensor(a[1]), factor.mT, upper=True).numpy(),
                        lib.vander(lib.tensor([1.0, 2.0, 3.0]), N=4).numpy(),
                        lib.gcd(lib.tensor([12, 18, 0]), lib.tensor([8, 27, 5])).numpy(),
                        lib.lcm(lib.tensor([4, 6]), lib.tensor([6, 4])).numpy(),
                        lib.histogram(lib.tensor([1.0, 2.0, 2.0, 3.5]), bins=3).hist.numpy(),
                        lib.histogram(lib.tensor([1.0, 2.0, 2.0, 3.5]), bins=3).bin_edges.numpy()])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_weight_norm_reparameterises_as_torch():
    results = []
    for lib in (torch, nnci):
        layer = lib.nn.Conv2d(2, 3, 3).double()
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(np.linspace(-1, 1, 54).reshape(3, 2, 3, 3)))
            layer.bias.copy_(lib.tensor([0.1, -0.2, 0.3]))
        layer = lib.nn.utils.weight_norm(layer, dim=0)
        names = sorted(n for n, _ in layer.named_parameters())
        layer(lib.ones(1, 2, 4, 4, dtype=lib.float64)).square().sum().backward()
        grads = [layer.weight_g.grad.numpy().copy(), layer.weight_v.grad.numpy().copy()]
        lib.nn.utils.remove_weight_norm(layer)
        results.append((names, grads, sorted(n for n, _ in layer.named_parameters())))
    assert results[1][0] == results[0][0] and results[1][2] == results[0][2]
    for ours, theirs in zip(results[1][1], results[0][1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_reassigning_a_child_or_a_parameter_keeps_its_place_as_in_torch():
    import torch
    for L in (nnci, torch):
        model = L.nn.Sequential(L.nn.Linear(2, 3), L.nn.ReLU(), L.nn.Linear(3, 1))
        setattr(model, "1", L.nn.Tanh())
        layer = L.nn.Linear(2, 2)
        layer.weight = L.nn.Parameter(L.zeros(2, 2))
        assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear"]
        assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
