"""The engine contract: the everyday PyTorch idioms mean the same thing on nnci (comparisons, in-place ops and
their autograd rules, views, .data, namespaces, devices, unbatched inputs, seeding, checkpoints, hooks)."""
import copy
import math

import numpy as np
import pytest
import torch

import nnci
import nnci.nn as nn
import nnci.nn.functional as F


def both(fn):
    """fn(lib) for torch and for nnci, as numpy results."""
    def run(lib):
        out = fn(lib)
        items = out if isinstance(out, (tuple, list)) else [out]
        return [np.asarray(o.detach().numpy() if hasattr(o, "detach") else o) for o in items]
    return run(torch), run(nnci)


def assert_both(fn, rtol=1e-6, atol=1e-7):
    theirs, ours = both(fn)
    assert len(theirs) == len(ours)
    for t, o in zip(theirs, ours):
        assert t.shape == o.shape and t.dtype == o.dtype, (t.shape, o.shape, t.dtype, o.dtype)
        np.testing.assert_allclose(o, t, rtol=rtol, atol=atol)


# ----- comparisons ------------------------------------------------------------------------------------
def test_comparisons_are_elementwise_and_tensors_hash_by_identity():
    def program(lib):
        labels = lib.tensor([0, 3, 1, 3, 2])
        x = lib.arange(5.0)
        pred = lib.tensor([0, 3, 2, 3, 1])
        accuracy = (pred == labels).float().mean()
        return x[labels == 3], accuracy, labels != 3, x < 2, x >= 3, (2 < x) & (x <= 4), ~(x > 1)
    assert_both(program)
    a, b = nnci.zeros(2), nnci.zeros(2)
    assert len({a, b}) == 2 and (a == b).all() and a in {a: 1}
    assert (nnci.tensor([1, 2]) == None) is False  # noqa: E711 - what torch returns


# ----- in-place ops -------------------------------------------------------------------------------------
def test_manual_gradient_descent_updates_the_parameters_in_place():
    def program(lib):
        w = lib.tensor([1.0, -2.0], requires_grad=True)
        for _ in range(3):
            loss = ((w * lib.tensor([3.0, 0.5]) - 1) ** 2).sum()
            loss.backward()
            with lib.no_grad():
                w -= 0.1 * w.grad
                w.grad.zero_()
        return w
    assert_both(program)
    w = nnci.tensor([1.0], requires_grad=True)
    alias = w.data
    alias -= 2  # .data shares memory and is not recorded
    assert w.item() == -1.0 and w._version == 0


INPLACE = {
    "add_": lambda t, o: t.add_(o, alpha=2), "sub_": lambda t, o: t.sub_(o), "mul_": lambda t, o: t.mul_(o),
    "div_": lambda t, o: t.div_(o + 3), "iadd": lambda t, o: t.__iadd__(o), "imul": lambda t, o: t.__imul__(o),
    "itruediv": lambda t, o: t.__itruediv__(o * o + 1), "isub": lambda t, o: t.__isub__(o),
    "clamp_": lambda t, o: t.clamp_(-0.3, 0.4), "pow_": lambda t, o: t.pow_(2), "exp_": lambda t, o: t.exp_(),
    "masked_fill_": lambda t, o: t.masked_fill_(o > 0, 0.5), "relu_": lambda t, o: t.relu_(),
    "copy_": lambda t, o: t.copy_(o * 3), "fill_": lambda t, o: t.fill_(2.0), "zero_": lambda t, o: t.zero_(),
    "sigmoid_": lambda t, o: t.sigmoid_(), "tanh_": lambda t, o: t.tanh_(), "neg_": lambda t, o: t.neg_(),
    "addcmul_": lambda t, o: t.addcmul_(o, o, value=0.5), "lerp_": lambda t, o: t.lerp_(o, 0.3),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
@pytest.mark.parametrize("seed", range(2))
def test_inplace_ops_on_non_leaves_record_the_right_gradient(name, seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(1, 3)))
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    upstream = rng.standard_normal(shape)

    def program(lib):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        h = x * 1.5 + y            # a non-leaf
        INPLACE[name](h, y)
        (h * lib.tensor(upstream)).sum().backward()
        return h, x.grad if x.grad is not None else lib.zeros(shape, dtype=lib.float64), \
            y.grad if y.grad is not None else lib.zeros(shape, dtype=lib.float64)
    assert_both(program, rtol=1e-10, atol=1e-12)


def test_inplace_change_of_a_leaf_or_a_view_of_a_leaf_is_refused_as_in_torch():
    for lib in (torch, nnci):
        w = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            w.add_(1)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            w[0:2].mul_(2)
        with pytest.raises(RuntimeError):
            w[0] = 5.0
        with lib.no_grad():
            w[0] = 5.0
        assert w.detach().numpy()[0] == 5.0


@pytest.mark.parametrize("case", ["exp", "sigmoid", "mul_input", "div_denominator", "matmul", "relu_output",
                                  "sum_no_save", "add_no_save", "mul_constant_changed", "view_of_saved"])
def test_changing_a_saved_value_raises_exactly_where_torch_raises(case):
    def program(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        h = x * 2
        c = lib.tensor([1.0, 2.0, 3.0])
        if case == "exp":
            y = h.exp(); y.add_(1); out = y
        elif case == "sigmoid":
            y = h.sigmoid(); y.mul_(2); out = y
        elif case == "mul_input":
            y = h * x; h.add_(1); out = y
        elif case == "div_denominator":
            y = c / h; h.add_(1); out = y
        elif case == "matmul":
            y = h @ h; h.mul_(3); out = y
        elif case == "relu_output":
            y = h.relu(); h.add_(1); out = y          # relu keeps its output, not its input
        elif case == "sum_no_save":
            y = h.sum(); h.add_(1); out = y
        elif case == "add_no_save":
            y = h + c; h.mul_(2); out = y
        elif case == "mul_constant_changed":
            y = h * c; c.add_(1); out = y             # the constant was kept for the gradient of h
        else:
            v = h.view(3, 1); y = v * v; h.add_(1); out = y  # a view shares its base's version
        try:
            out.sum().backward()
        except RuntimeError as error:
            assert "modified by an inplace operation" in str(error)
            return "raised"
        return x.grad.numpy().round(6).tolist()
    assert program(torch) == program(nnci)


def test_the_version_error_names_the_op():
    x = nnci.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).exp()
    y += 1
    with pytest.raises(RuntimeError, match=r"output 0 of ExpBackward0, is at version 1; expected version 0"):
        y.sum().backward()


def test_inplace_on_views_of_non_leaves_rewrites_the_base_like_torch():
    rng = np.random.default_rng(3)
    a, u = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))

    def program(lib):
        x = lib.tensor(a, requires_grad=True)
        h = x * 1.0
        top, rest = h[:1], h[1:]
        row = h[1]
        top.mul_(3)                      # a view changed in place: h's history is rewritten
        row.add_(x[2] * 2)
        t = h.t()
        t[0].mul_(-1)                    # a view of a view
        k = h.reshape(12)
        out = (h * lib.tensor(u)).sum() + (rest * 2).sum() + (k ** 2).sum()
        out.backward()
        return h, x.grad
    assert_both(program, rtol=1e-10, atol=1e-12)


def test_setitem_builds_a_tensor_from_values_that_require_grad():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((4, 3))

    def program(lib):
        x = lib.tensor(a, requires_grad=True)
        out = lib.zeros(4, 3, dtype=lib.float64)
        for i in range(4):
            out[i] = x[i] * (i + 1)
        out[:, 0] = 0
        mask = out > 0.5
        out[mask] = out[mask] * 10
        out.sum().backward()
        return out, x.grad, out.requires_grad
    assert_both(program, rtol=1e-10, atol=1e-12)


def test_data_and_detach_share_memory_but_not_history():
    x = nnci.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    d.add_(1)  # shares y's version counter: backward through y now refuses (torch does the same)
    assert y.tolist() == [4.0, 7.0]
    z = x.data
    assert isinstance(z, nnci.Tensor) and not z.requires_grad and z.data_ptr() == x.data_ptr()
    x.data = nnci.tensor([5.0, 6.0])
    assert x.tolist() == [5.0, 6.0] and x.requires_grad


# ----- namespaces, dtypes, devices ----------------------------------------------------------------------
def test_the_namespaces_and_names_tutorials_import():
    import nnci.autograd
    import nnci.nn.init
    import nnci.onnx
    import nnci.optim.lr_scheduler
    import nnci.utils.data
    from nnci.utils.data import DataLoader, Dataset, TensorDataset, random_split  # noqa: F401
    assert nnci.float is nnci.float32 and nnci.double is nnci.float64 and nnci.long is nnci.int64
    assert str(nnci.float32) == "nnci.float32" and nnci.float32 == np.float32 and nnci.int64.is_floating_point is False
    assert nnci.tensor([1.0]).dtype == nnci.float and nnci.tensor([1]).dtype == nnci.long
    assert isinstance(nnci.tensor([1.0]), nnci.FloatTensor) and not isinstance(nnci.tensor([1]), nnci.FloatTensor)
    assert nnci.FloatTensor([1, 2]).dtype == nnci.float32 and nnci.LongTensor([1.7]).tolist() == [1]
    assert nnci.tensor([1.5]).type() == "nnci.FloatTensor" and nnci.tensor([1.5]).type(nnci.LongTensor).dtype == nnci.long
    assert nnci.is_tensor(nnci.zeros(1)) and not nnci.is_tensor(np.zeros(1))
    assert nnci.tensor([1, 2]).int().dtype == nnci.int32 and nnci.tensor([0, 2]).bool().tolist() == [False, True]
    with pytest.raises(AttributeError, match="nnci does not implement torch.nn.LSTMX"):
        nnci.nn.LSTMX


def test_cpu_is_accepted_everywhere_and_other_devices_get_one_clear_error():
    device = nnci.device("cuda" if nnci.cuda.is_available() else "cpu")
    x = nnci.zeros(2, device=device).to(device).to("cpu").cpu()
    model = nn.Linear(2, 1).to(device)
    assert x.device == nnci.device("cpu") and str(x.device) == "cpu" and x.is_cuda is False
    assert model(x.to(nnci.float64).float()).shape == (1,)
    assert x.to("cpu", nnci.float64).dtype == nnci.float64 and x.to(nnci.zeros(1, dtype=nnci.int64)).dtype == nnci.long
    for attempt in (lambda: x.cuda(), lambda: x.to("cuda"), lambda: nnci.zeros(1, device="cuda:0"),
                    lambda: model.to("cuda"), lambda: model.cuda(), lambda: nnci.load("x", map_location="cuda")):
        with pytest.raises(RuntimeError, match="nnci runs on the CPU only: device 'cuda(:0)?' is not available"):
            attempt()
    assert nnci.cuda.device_count() == 0 and nnci.backends.mps.is_available() is False


def test_default_dtype_and_promotion_follow_torch():
    cases = [lambda lib: lib.tensor([1, 2]) / 2, lambda lib: lib.tensor([1, 2]) * 1.5,
             lambda lib: lib.ones(2) * lib.tensor(2.0, dtype=lib.float64),
             lambda lib: lib.ones(2, dtype=lib.int32) + lib.tensor(3), lambda lib: lib.tensor([True]) + 1,
             lambda lib: lib.tensor([3, -7]) // 2, lambda lib: lib.tensor([3.0, -7.0]) % 2,
             lambda lib: lib.tensor([3, -7]) % 2, lambda lib: lib.arange(0, 1, 0.25), lambda lib: lib.full((2,), 7)]
    for case in cases:
        assert_both(case)
    try:
        nnci.set_default_dtype(nnci.float64)
        assert nnci.tensor([1.5]).dtype == nnci.float64 and nn.Linear(2, 2).weight.dtype == nnci.float64
    finally:
        nnci.set_default_dtype(nnci.float32)


# ----- unbatched inputs (the course's examples) -------------------------------------------------------
def test_course_example_pooling_of_an_unbatched_tensor():
    tens = nnci.ones(1, 4, 4) + nnci.eye(4)
    pooling = nn.MaxPool2d(2, 2)
    np.testing.assert_array_equal(pooling(tens).numpy(), [[[2, 1], [1, 2]]])


KERNEL = [[-0.1799, -0.2866, 0.0131], [-0.3184, -0.2836, 0.1496], [-0.0730, 0.1886, -0.0858]]


def test_course_example_transposed_convolution_of_unbatched_inputs():
    tconv = nn.ConvTranspose2d(1, 1, 3, bias=False)
    with nnci.no_grad():
        tconv.weight[0, 0] = nnci.tensor(KERNEL)
    onehot = nnci.zeros(1, 3, 3)
    onehot[0, 1, 1] = 1
    expected = np.zeros((1, 5, 5))
    expected[0, 1:4, 1:4] = KERNEL
    np.testing.assert_allclose(tconv(onehot).detach().numpy(), expected, atol=1e-7)
    out = tconv(nnci.eye(3).unsqueeze(0)).detach().numpy()
    np.testing.assert_allclose(out[0], [[-0.1799, -0.2866, 0.0131, 0, 0], [-0.3184, -0.4635, -0.1369, 0.0131, 0],
                                        [-0.0730, -0.1298, -0.5493, -0.1369, 0.0131],
                                        [0, -0.0730, -0.1298, -0.3694, 0.1496], [0, 0, -0.0730, 0.1886, -0.0858]],
                               atol=1e-4)


def test_course_example_upsampling_of_eye3():
    up = nn.Upsample(scale_factor=(2.0, 2.0))
    np.testing.assert_array_equal(up(nnci.eye(3).unsqueeze(0).unsqueeze(0)).numpy()[0, 0],
                                  np.kron(np.eye(3), np.ones((2, 2))))


def test_course_example_log_squared_with_requires_grad():
    x = nnci.tensor(3.0)
    x.requires_grad = True
    y = nnci.log(x) ** 2
    y.backward()
    assert round(y.item(), 4) == 1.2069 and round(x.grad.item(), 4) == 0.7324
    assert x.grad.item() == pytest.approx(2 * math.log(3) / 3, rel=1e-6)


@pytest.mark.parametrize("layer", ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "conv1d", "linear",
                                   "instance_norm", "batch_norm1d", "adaptive"])
def test_unbatched_inputs_give_torch_results(layer):
    shape = {"conv1d": (2, 6), "linear": (6,), "batch_norm1d": (5, 2)}.get(layer, (2, 6, 6))
    data = np.random.default_rng(5).standard_normal(shape).astype(np.float32)

    def program(lib):
        lib.manual_seed(0)
        make = {"conv2d": lambda: lib.nn.Conv2d(2, 3, 3, padding=1), "conv_transpose2d": lambda: lib.nn.ConvTranspose2d(
            2, 3, 3, stride=2), "max_pool2d": lambda: lib.nn.MaxPool2d(3, 2, 1), "avg_pool2d": lambda: lib.nn.AvgPool2d(
            2), "conv1d": lambda: lib.nn.Conv1d(2, 3, 3), "linear": lambda: lib.nn.Linear(6, 2),
            "instance_norm": lambda: lib.nn.InstanceNorm2d(2, affine=True), "batch_norm1d": lambda: lib.nn.BatchNorm1d(
                2), "adaptive": lambda: lib.nn.AdaptiveAvgPool2d((2, 3))}[layer]
        module = make()
        x = lib.tensor(data, requires_grad=True)
        with lib.no_grad():
            for p in module.parameters():
                p.copy_(lib.tensor(np.linspace(-1, 1, p.numel(), dtype=np.float32).reshape(p.shape)))
        y = module(x)
        y.sum().backward()
        return y, x.grad
    # float32 3x3 convolutions run Winograd: rounding error ~1e-5 of the output's scale (tests/test_kernels.py)
    assert_both(program, rtol=1e-5, atol=2e-5 if layer == "conv2d" else 1e-6)


# ----- seeds, checkpoints, optimizer and scheduler state ------------------------------------------------
def test_manual_seed_fixes_init_draws_dropout_and_loader_order():
    def run():
        nnci.manual_seed(7)
        model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 1))
        data = nnci.utils.data.TensorDataset(nnci.arange(20.0).reshape(10, 2).repeat(1, 2), nnci.arange(10))
        order = [y.tolist() for _, y in nnci.utils.data.DataLoader(data, batch_size=3, shuffle=True)]
        return model(nnci.randn(3, 4)).detach().numpy(), order, nnci.rand(2).numpy()
    first, second = run(), run()
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1] == second[1] and sorted(sum(first[1], [])) == list(range(10))
    np.testing.assert_array_equal(first[2], second[2])


def test_checkpoint_dict_round_trips_and_resumes_training_exactly(tmp_path):
    def make():
        nnci.manual_seed(3)
        model = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 1))
        optimizer = nnci.optim.Adam(model.parameters(), lr=0.05)
        schedule = nnci.optim.lr_scheduler.StepLR(optimizer, 2, 0.5)
        return model, optimizer, schedule

    x = nnci.tensor(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32))

    def steps(model, optimizer, schedule, count):
        for _ in range(count):
            loss = model(x).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        return loss

    model, optimizer, schedule = make()
    loss = steps(model, optimizer, schedule, 3)
    nnci.save({"epoch": 3, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
               "scheduler": schedule.state_dict(), "loss": loss.detach(), "history": [1.5, float("nan"), (2, "a")]},
              tmp_path / "checkpoint.pt")
    steps(model, optimizer, schedule, 3)
    expected = copy.deepcopy(model.state_dict())

    model2, optimizer2, schedule2 = make()
    checkpoint = nnci.load(tmp_path / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 3 and checkpoint["loss"].item() == loss.item()
    assert checkpoint["history"][0] == 1.5 and math.isnan(checkpoint["history"][1])
    assert checkpoint["history"][2] == (2, "a")
    model2.load_state_dict(checkpoint["model_state_dict"])
    optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
    schedule2.load_state_dict(checkpoint["scheduler"])
    steps(model2, optimizer2, schedule2, 3)
    for key, value in model2.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), expected[key].numpy(), err_msg=key)
    with pytest.raises(TypeError, match="cannot store a Sequential.*model.state_dict"):
        nnci.save(model, tmp_path / "model.pt")


def test_a_torch_pickle_checkpoint_is_refused_with_how_to_convert(tmp_path):
    torch.save({"w": torch.zeros(2)}, tmp_path / "model.pth")
    with pytest.raises(ValueError, match="PyTorch pickle checkpoint.*never unpickles.*save_file"):
        nnci.load(tmp_path / "model.pth")


def test_optimizer_state_dict_has_torchs_layout():
    for lib in (torch, nnci):
        p = lib.nn.Parameter(lib.ones(3))
        opt = lib.optim.Adam([p], lr=0.1)
        p.grad = lib.ones(3)
        opt.step()
        state = opt.state_dict()
        assert sorted(state) == ["param_groups", "state"] and list(state["state"]) == [0]
        assert sorted(state["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]
        assert state["param_groups"][0]["params"] == [0] and state["param_groups"][0]["lr"] == 0.1


# ----- autograd API ---------------------------------------------------------------------------------------
def test_autograd_grad_hooks_retain_grad_and_next_functions():
    def program(lib):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        w = lib.tensor([0.5, 0.25, -1.0], requires_grad=True)
        h = x * w
        h.retain_grad()
        seen = []
        h.register_hook(lambda g: seen.append(g.clone()))
        x.register_hook(lambda g: g * 2)
        y = (h.sin() * h).sum()
        (gx,) = lib.autograd.grad(y, [x], retain_graph=True)
        y.backward()
        return gx, x.grad, w.grad, h.grad, seen[0]
    assert_both(program, rtol=1e-6)
    y = nnci.tensor([1.0], requires_grad=True) * 2 + 1
    names = [type(n).__name__ if n is not None else None for n, _ in y.grad_fn.next_functions]
    assert y.grad_fn.name() == "AddBackward0" and names == ["MulBackward0", None]
    assert y.grad_fn.next_functions[0][0].next_functions[0][0].name() == "AccumulateGrad"


def test_custom_autograd_function_with_ctx():
    def program(lib):
        class LegendrePolynomial3(lib.autograd.Function):
            @staticmethod
            def forward(ctx, input, scale):
                ctx.save_for_backward(input)
                ctx.scale = scale
                return 0.5 * (5 * input ** 3 - 3 * input) * scale

            @staticmethod
            def backward(ctx, grad_output):
                (input,) = ctx.saved_tensors
                return grad_output * 1.5 * (5 * input ** 2 - 1) * ctx.scale, None

        class Split(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.mark_non_differentiable
                return x * 2, x.argmax()

            @staticmethod
            def backward(ctx, g, _):
                return g * 2

        x = lib.tensor([0.3, -0.7, 1.1], requires_grad=True)
        y = LegendrePolynomial3.apply(x, 2.0)
        doubled, _ = Split.apply(x)
        (y.sum() + doubled.sum()).backward()
        return y, x.grad
    assert_both(program, rtol=1e-6)


def test_module_forward_and_backward_hooks():
    def program(lib):
        lib.manual_seed(0)
        layer = lib.nn.Linear(3, 2)
        with lib.no_grad():
            layer.weight.copy_(lib.tensor([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]))
            layer.bias.fill_(0.1)
        outputs, grads = [], []
        layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        layer.register_forward_hook(lambda m, args, out: outputs.append(out.detach().clone()))
        layer.register_full_backward_hook(lambda m, gin, gout: grads.append((gin[0].clone(), gout[0].clone())))
        x = lib.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
        (layer(x) ** 2).sum().backward()
        return outputs[0], grads[0][0], grads[0][1], x.grad
    assert_both(program, rtol=1e-6)


def test_printing_and_format_follow_torch():
    for make in (lambda lib: lib.tensor([1.0, 2.0, 3.0]), lambda lib: lib.tensor([[0.1234567, -2.0], [3.5, 1e-5]]),
                 lambda lib: lib.tensor([1, 2, 3]), lambda lib: lib.tensor([True, False]),
                 lambda lib: lib.tensor(2.5), lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64),
                 lambda lib: lib.zeros(0, 3), lambda lib: lib.tensor([1e10, 1.0]),
                 lambda lib: lib.tensor([1.0, 2.0], requires_grad=True),
                 lambda lib: lib.tensor([1.0, 2.0], requires_grad=True) * 2,
                 lambda lib: lib.arange(2000.0)):
        assert repr(make(nnci)).replace("nnci", "torch") == repr(make(torch)).replace("MulBackward0", "MulBackward0")
    assert f"{nnci.tensor(3.14159):.2f}" == "3.14" and format(nnci.tensor(2), "03d") == "002"
    assert repr(nnci.zeros(2, 3).shape) == "nnci.Size([2, 3])"
    model = lambda lib: lib.nn.Sequential(lib.nn.Conv2d(1, 6, 5, padding=2), lib.nn.ReLU(inplace=True),  # noqa: E731
                                          lib.nn.MaxPool2d(2, 2), lib.nn.BatchNorm2d(6), lib.nn.Flatten(),
                                          lib.nn.Dropout(0.5), lib.nn.Linear(6 * 14 * 14, 10), lib.nn.LeakyReLU(0.2),
                                          lib.nn.Softmax(dim=1))
    assert repr(model(nnci)) == repr(model(torch))
