"""nnci.nn modules against torch.nn: state-dict keys and shapes, outputs and gradients after a copy."""
import numpy as np
import pytest
import torch

import nnci
import nnci.nn as nn


def copy_torch_to_nnci(torch_module, nnci_module):
    nnci_module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})


def small_cnn(lib, bias=True):
    """The same small CNN in either library: conv, batch norm, ReLU, pooling, linear."""
    return lib.Sequential(
        lib.Conv2d(3, 8, 3, padding=1, bias=bias), lib.BatchNorm2d(8), lib.ReLU(), lib.MaxPool2d(2, 2),
        lib.Conv2d(8, 16, 3, stride=2, padding=1, padding_mode="reflect"), lib.LeakyReLU(0.1),
        lib.ConvTranspose2d(16, 8, 2, stride=2), lib.ELU(), lib.Upsample(scale_factor=2, mode="bilinear"),
        lib.AvgPool2d(2), lib.Flatten(), lib.Linear(8 * 8 * 8, 10), lib.Softplus(beta=2.0), lib.Dropout(0.0),
        lib.Linear(10, 4), lib.BatchNorm1d(4), lib.Tanh(), lib.Linear(4, 3), lib.Sigmoid())


def test_state_dict_keys_shapes_and_order_match_torch():
    ours, theirs = small_cnn(nn), small_cnn(torch.nn)
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    for key in theirs_sd:
        assert ours_sd[key].shape == tuple(theirs_sd[key].shape), key
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_cnn_forward_backward_matches_torch(train, dtype):
    torch.manual_seed(0)
    theirs = small_cnn(torch.nn).to(torch.float64 if dtype == np.float64 else torch.float32)
    # give batch norms non-trivial running statistics first
    theirs.train()
    with torch.no_grad():
        theirs(torch.randn(6, 3, 16, 16, dtype=theirs[0].weight.dtype))
    ours = small_cnn(nn).to(dtype)
    copy_torch_to_nnci(theirs, ours)
    theirs.train(train)
    ours.train(train)
    x = np.random.default_rng(0).standard_normal((5, 3, 16, 16)).astype(dtype)
    out_theirs = theirs(torch.tensor(x))
    out_ours = ours(nnci.tensor(x))
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), **tol)
    out_theirs.square().sum().backward()
    (out_ours ** 2).sum().backward()
    grads_theirs = dict(theirs.named_parameters())
    # absolute tolerance relative to the model's gradient scale: a bias feeding batch norm has a true
    # gradient of exactly 0, so in float32 both libraries return rounding noise there, accumulated over
    # 19 layers; the float64 case of this test keeps the strict check on every formula
    scale = max(float(p.grad.abs().max()) for p in theirs.parameters())
    grad_tol = dict(rtol=tol["rtol"], atol=(1e-4 if dtype == np.float32 else tol["atol"]) * max(1.0, scale))
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads_theirs[name].grad.numpy(), **grad_tol, err_msg=name)
    for key, value in theirs.state_dict().items():  # running statistics updated alike
        np.testing.assert_allclose(ours.state_dict()[key].detach().numpy(), value.detach().numpy(), **tol, err_msg=key)


def test_batchnorm_options_match_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    for kw in (dict(affine=False), dict(track_running_stats=False), dict(momentum=None), dict(eps=1e-2)):
        ours, theirs = nn.BatchNorm2d(3, **kw), torch.nn.BatchNorm2d(3, **kw)
        assert list(ours.state_dict()) == list(theirs.state_dict()), kw
        for _ in range(3):
            out_ours, out_theirs = ours(nnci.tensor(x)), theirs(torch.tensor(x))
        np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-5, atol=1e-5)
        for key, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[key].detach().numpy(), value.detach().numpy(), rtol=1e-5, err_msg=str(kw))
        ours.eval(), theirs.eval()
        np.testing.assert_allclose(ours(nnci.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer", ["linear", "conv", "conv_transpose", "conv_groups"])
def test_default_initialisation_has_torch_bounds(layer):
    make = {
        "linear": lambda lib: lib.Linear(50, 30),
        "conv": lambda lib: lib.Conv2d(6, 20, 3),
        "conv_transpose": lambda lib: lib.ConvTranspose2d(6, 20, 3),
        "conv_groups": lambda lib: lib.Conv2d(6, 20, 3, groups=2),
    }[layer]
    ours, theirs = make(nn), make(torch.nn)
    for name, p in theirs.named_parameters():
        bound = float(p.detach().abs().max())
        mine = getattr(ours, name).detach().numpy()
        fan_bound = {"linear": 1 / 50 ** 0.5, "conv": 1 / 54 ** 0.5, "conv_transpose": 1 / 180 ** 0.5,
                     "conv_groups": 1 / 27 ** 0.5}[layer]
        assert bound <= fan_bound + 1e-6
        assert np.abs(mine).max() <= fan_bound + 1e-6
        if name == "weight":  # hundreds of samples: the distribution's shape is testable
            assert np.abs(mine).max() > 0.9 * fan_bound  # the whole range is used, not a narrower one
            assert abs(mine.std() - fan_bound / 3 ** 0.5) < 0.15 * fan_bound  # uniform on [-b, b]


def test_modules_registration_traversal_and_modes():
    model = small_cnn(nn)
    assert len(list(model.children())) == 19
    assert all(m.training for m in model.modules())
    model.eval()
    assert not any(m.training for m in model.modules())
    assert model.num_parameters() == sum(p.numel() for p in small_cnn(torch.nn).parameters())
    text = repr(model)
    assert "(0): Conv2d(3, 8, kernel_size=(3, 3)" in text and "BatchNorm2d(8" in text
    holder = nn.ModuleDict({"a": nn.Linear(2, 2)})
    holder["b"] = nn.ModuleList([nn.Linear(2, 3), nn.Identity()])
    assert [n for n, _ in holder.named_parameters()] == ["a.weight", "a.bias", "b.0.weight", "b.0.bias"]
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_load_state_dict_lists_missing_unexpected_and_mismatched():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    state.pop("2.bias")
    state["extra.weight"] = np.zeros(1)
    state["0.weight"] = np.zeros((5, 3))
    with pytest.raises(RuntimeError) as error:  # torch's type and wording
        model.load_state_dict(state)
    message = str(error.value)
    assert 'Missing key(s) in state_dict: "2.bias"' in message
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in message
    assert "size mismatch for 0.weight: copying a param with shape [5, 3] from checkpoint, the shape in current " \
           "model is [4, 3]" in message
    state["0.weight"] = np.ones((4, 3))
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["2.bias"] and unexpected == ["extra.weight"]
    assert np.all(model[0].weight.detach().numpy() == 1)


@pytest.mark.parametrize("bias", [True, False])
def test_fuse_folds_batch_norm_into_the_conv(bias):
    """nnci.inference.fuse runs Conv2d -> BatchNorm2d (-> ReLU) as one conv: same result as unfolded and torch."""
    torch.manual_seed(0)
    make = lambda lib: lib.Sequential(lib.Conv2d(3, 6, 3, padding=1, bias=bias), lib.BatchNorm2d(6), lib.ReLU(),  # noqa: E731
                                      lib.Conv2d(6, 4, 3, stride=2, bias=bias), lib.BatchNorm2d(4),
                                      lib.Conv2d(4, 2, 1))
    theirs = make(torch.nn)
    theirs.train()
    with torch.no_grad():
        theirs(torch.randn(8, 3, 9, 9) * 3 + 1)  # non-trivial running statistics
    theirs.eval()
    ours = make(nn)
    copy_torch_to_nnci(theirs, ours)
    ours.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 9)).astype(np.float32)
    fused = nnci.inference.fuse(ours)
    assert [type(m).__name__ for m in fused.children()] == ["FoldedConv", "FoldedConv", "Conv2d"]
    assert len(fused.fusions) == 2 and "batch norm folded" in fused.fusions[0]
    with nnci.no_grad():
        folded = fused(nnci.tensor(x)).numpy()
    unfolded = ours(nnci.tensor(x)).detach().numpy()
    np.testing.assert_allclose(folded, unfolded, rtol=1e-5, atol=1e-5)
    with pytest.raises(RuntimeError, match="no_grad"):
        fused(nnci.tensor(x))
    np.testing.assert_allclose(folded, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_fuse_keeps_same_padding_runs_in_the_grid_layout(seed):
    """Runs of stride-1 same-padding convs (with BN folded, ReLU) pass grid to grid in a fused model; a change
    of padding starts a new run, and a strided conv or other layer falls back: same result as unfused and torch."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    c = [int(v) for v in rng.integers(1, 6, 6)]
    make = lambda lib: lib.Sequential(  # noqa: E731
        lib.Conv2d(c[0], c[1], 3, padding=1), lib.ReLU(),
        lib.Conv2d(c[1], c[2], 3, padding=1, bias=False), lib.BatchNorm2d(c[2]), lib.ReLU(),
        lib.Conv2d(c[2], c[3], 3, padding="same"), lib.BatchNorm2d(c[3]),
        lib.Conv2d(c[3], c[4], 5, padding=2), lib.ReLU(), lib.Conv2d(c[4], c[4], (3, 5), padding=(1, 2)),
        lib.Sigmoid(), lib.Conv2d(c[4], c[5], 3, padding=1, stride=2), lib.Conv2d(c[5], c[5], 1))
    theirs = make(torch.nn)
    theirs.train()
    with torch.no_grad():
        theirs(torch.randn(4, c[0], 11, 13) * 2 + 1)  # non-trivial running statistics
    theirs.eval()
    ours = make(nn)
    copy_torch_to_nnci(theirs, ours)
    ours.eval()
    n, h, w = int(rng.integers(1, 4)), int(rng.integers(5, 20)), int(rng.integers(5, 20))
    x = rng.standard_normal((n, c[0], h, w)).astype(np.float32)
    model = nnci.inference.fuse(ours)
    assert "GridChain" in [type(m).__name__ for m in model.children()]
    with nnci.no_grad():
        fused = model(nnci.tensor(x)).numpy()
    unfused = ours(nnci.tensor(x)).detach().numpy()
    np.testing.assert_allclose(fused, unfused, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_buffers_and_parameters_register_on_assignment():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(np.ones(2, np.float32))
            self.register_buffer("count", nnci.zeros(1))
            self.inner = nn.Linear(2, 2)

    net = Net()
    net.count = nnci.ones(1) * 5  # stays a buffer
    assert list(net.state_dict()) == ["scale", "count", "inner.weight", "inner.bias"]
    assert net.state_dict()["count"].item() == 5
    assert [n for n, _ in net.named_buffers()] == ["count"]
    net.scale = nn.Parameter(np.zeros(2, np.float32))
    assert net.state_dict()["scale"].detach().numpy().tolist() == [0, 0]
    del net.inner
    assert list(net.state_dict()) == ["scale", "count"]


def test_fuse_leaves_a_subclass_with_its_own_forward_alone():
    """A Conv2d subclass that overrides forward computes something else: fuse must not replace it."""
    class Doubled(nn.Conv2d):
        def forward(self, x):
            return super().forward(x) * 2

    model = nn.Sequential(Doubled(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.Conv2d(2, 2, 3, padding=1),
                          nn.ReLU()).eval()
    fused = nnci.inference.fuse(model)
    assert type(fused[0]) is Doubled and fused.fusions == []
    x = nnci.randn(1, 1, 6, 6)
    with nnci.no_grad():
        np.testing.assert_array_equal(fused(x).numpy(), model(x).numpy())
