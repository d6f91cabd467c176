"""Optimizers, schedulers and clipping give torch's parameters for the same gradients."""
import numpy as np
import pytest
import torch

import nnci
import nnci.nn as nn

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=1e-2)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1)),
]


def mlp(lib):
    return lib.Sequential(lib.Linear(5, 8), lib.Tanh(), lib.Linear(8, 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(OPTIMIZERS)))
def test_optimizer_steps_match_torch(case, dtype):
    name, kw = OPTIMIZERS[case]
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    theirs = mlp(torch.nn).to(torch_dtype)
    ours = mlp(nn).to(dtype)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    opt_theirs = getattr(torch.optim, name)(theirs.parameters(), **kw)
    opt_ours = getattr(nnci.optim, name)(ours.parameters(), **kw)
    rng = np.random.default_rng(case)
    for _ in range(6):
        x, y = rng.standard_normal((7, 5)).astype(dtype), rng.standard_normal((7, 3)).astype(dtype)
        for model, opt, lib in ((theirs, opt_theirs, torch), (ours, opt_ours, nnci)):
            opt.zero_grad()
            out = model(lib.tensor(x))
            ((out - lib.tensor(y)) ** 2).mean().backward()
            opt.step()
    tol = dict(rtol=1e-4, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].detach().numpy(), value.detach().numpy(), **tol, err_msg=key)


def assert_same_learning_rates(opt_ours, sched_ours, opt_theirs, sched_theirs, epochs):
    """Step both optimizers and schedulers together; every group's lr must agree at every epoch."""
    for _ in range(epochs):
        assert sched_ours.get_last_lr() == pytest.approx(sched_theirs.get_last_lr(), rel=1e-9, abs=1e-12)
        opt_theirs.step()
        opt_ours.step()
        sched_theirs.step()
        sched_ours.step()


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
]


@pytest.mark.parametrize("case", range(len(SCHEDULERS)))
def test_schedulers_match_torch(case):
    name, kw = SCHEDULERS[case]
    p_theirs = torch.nn.Parameter(torch.zeros(2))
    opt_theirs = torch.optim.SGD([p_theirs], lr=0.5)
    opt_ours = nnci.optim.SGD([nn.Parameter(np.zeros(2, np.float32))], lr=0.5)
    sched_theirs = getattr(torch.optim.lr_scheduler, name)(opt_theirs, **kw)
    sched_ours = getattr(nnci.optim.lr_scheduler, name)(opt_ours, **kw)
    assert_same_learning_rates(opt_ours, sched_ours, opt_theirs, sched_theirs, epochs=12)


def test_lambda_lr_with_one_lambda_per_parameter_group_matches_torch():
    lambdas = [lambda epoch: 0.9 ** epoch, lambda epoch: 0.0 if epoch < 3 else 1.0 / (epoch + 1)]
    opt_theirs = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.5},
                                  {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1}], lr=1.0)
    opt_ours = nnci.optim.SGD([{"params": [nn.Parameter(np.zeros(2, np.float32))], "lr": 0.5},
                               {"params": [nn.Parameter(np.zeros(1, np.float32))], "lr": 0.1}], lr=1.0)
    sched_theirs = torch.optim.lr_scheduler.LambdaLR(opt_theirs, lambdas)
    sched_ours = nnci.optim.lr_scheduler.LambdaLR(opt_ours, lambdas)
    assert_same_learning_rates(opt_ours, sched_ours, opt_theirs, sched_theirs, epochs=8)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        nnci.optim.lr_scheduler.LambdaLR(opt_ours, lambdas[:1])


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.1, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (5,))]
    ours = [nn.Parameter(np.zeros(g.shape, np.float32)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    for o, t, g in zip(ours, theirs, grads):
        o.grad, t.grad = nnci.tensor(g), torch.tensor(g)
    total_ours = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    total_theirs = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert float(total_ours) == pytest.approx(float(total_theirs), rel=1e-5)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_optimizer_state_dict_round_trip_continues_identically():
    rng = np.random.default_rng(0)
    x, y = nnci.tensor(rng.standard_normal((8, 5)).astype(np.float32)), nnci.tensor(rng.standard_normal((8, 3)).astype(np.float32))

    def run(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            opt.step()

    nnci.manual_seed(1)
    straight = mlp(nn)
    opt = nnci.optim.Adam(straight.parameters(), lr=1e-2)
    run(straight, opt, 6)

    nnci.manual_seed(1)
    first = mlp(nn)
    opt_first = nnci.optim.Adam(first.parameters(), lr=1e-2)
    run(first, opt_first, 3)
    second = mlp(nn)
    second.load_state_dict(first.state_dict())
    opt_second = nnci.optim.Adam(second.parameters(), lr=1e-2)
    opt_second.load_state_dict(opt_first.state_dict())
    run(second, opt_second, 3)
    for key, value in straight.state_dict().items():
        np.testing.assert_array_equal(second.state_dict()[key].detach().numpy(), value.detach().numpy())
