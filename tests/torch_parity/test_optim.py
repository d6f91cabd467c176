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
    ("Adam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=1e-2, maximize=True)),
    ("Adamax", dict(lr=1e-2, weight_decay=1e-2)),
    ("NAdam", dict(lr=1e-2)),
    ("NAdam", dict(lr=1e-2, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=1e-2)),
    ("RAdam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RMSprop", dict(lr=1e-2)),
    ("RMSprop", dict(lr=1e-2, momentum=0.5, centered=True, weight_decay=1e-2)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=1e-2)),
    ("Adadelta", dict(lr=1.0, rho=0.8, weight_decay=1e-2)),
    ("Rprop", dict(lr=1e-2)),
    ("Rprop", dict(lr=1e-2, etas=(0.3, 1.5), step_sizes=(1e-4, 0.05), maximize=True)),
    ("ASGD", dict(lr=1e-2, t0=2, weight_decay=1e-2)),
    ("ASGD", dict(lr=5e-2, lambd=1e-2, alpha=0.5)),
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
    ("ConstantLR", dict(factor=0.25, total_iters=4)),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.9, total_iters=6)),
    ("PolynomialLR", dict(total_iters=8, power=2.0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.02)),
    ("MultiplicativeLR", dict(lr_lambda=lambda epoch: 0.95)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=13)),
    ("OneCycleLR", dict(max_lr=0.8, total_steps=13, anneal_strategy="linear", three_phase=True)),
    ("CyclicLR", dict(base_lr=0.1, max_lr=0.9, step_size_up=3, mode="triangular2")),
    ("CyclicLR", dict(base_lr=0.1, max_lr=0.9, step_size_up=2, step_size_down=4, mode="exp_range", gamma=0.9)),
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


def test_reduce_lr_on_plateau_matches_torch():
    losses = [1.0, 0.9, 0.91, 0.92, 0.93, 0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.2, 0.2, 0.2]
    for kw in (dict(patience=2, factor=0.5), dict(mode="max", patience=1, threshold=0.05, cooldown=1, min_lr=0.1),
               dict(patience=0, threshold_mode="abs", threshold=0.02, eps=1e-3)):
        opt_theirs = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.5)
        opt_ours = nnci.optim.SGD([nn.Parameter(np.zeros(2, np.float32))], lr=0.5)
        sched_theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_theirs, **kw)
        sched_ours = nnci.optim.lr_scheduler.ReduceLROnPlateau(opt_ours, **kw)
        for loss in losses:
            sched_theirs.step(loss)
            sched_ours.step(loss)
            assert opt_ours.param_groups[0]["lr"] == pytest.approx(opt_theirs.param_groups[0]["lr"], rel=1e-12), kw


def test_sequential_and_chained_schedulers_match_torch():
    for kind in ("SequentialLR", "ChainedScheduler"):
        made = []
        for lib, param in ((torch, torch.nn.Parameter(torch.zeros(2))), (nnci, nn.Parameter(np.zeros(2, np.float32)))):
            opt = lib.optim.SGD([param], lr=0.5)
            first = lib.optim.lr_scheduler.LinearLR(opt, start_factor=0.2, total_iters=3)
            second = lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8)
            if kind == "SequentialLR":
                sched = lib.optim.lr_scheduler.SequentialLR(opt, [first, second], milestones=[3])
            else:
                sched = lib.optim.lr_scheduler.ChainedScheduler([first, second])
            made.append((opt, sched))
        (opt_theirs, sched_theirs), (opt_ours, sched_ours) = made
        assert_same_learning_rates(opt_ours, sched_ours, opt_theirs, sched_theirs, epochs=9)


@pytest.mark.parametrize("kw", [dict(), dict(history_size=3, max_iter=6, lr=0.5),
                                dict(line_search_fn="strong_wolfe"),
                                dict(line_search_fn="strong_wolfe", max_iter=4, history_size=2)])
def test_lbfgs_matches_torch_in_float64(kw):
    rng = np.random.default_rng(4)
    w0, x, y = rng.standard_normal((5, 3)), rng.standard_normal((20, 5)), rng.standard_normal((20, 3))
    finals, counts = [], []
    for lib in (torch, nnci):
        w = lib.nn.Parameter(lib.tensor(w0))
        xs, ys = lib.tensor(x), lib.tensor(y)
        opt = lib.optim.LBFGS([w], **kw)

        def closure():
            opt.zero_grad()
            loss = ((xs @ w - ys) ** 2).mean() + (w ** 4).sum() * 0.01
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
        finals.append(w.detach().numpy())
        counts.append((opt.state[w]["func_evals"], opt.state[w]["n_iter"]))
    assert counts[0] == counts[1]
    np.testing.assert_allclose(finals[1], finals[0], rtol=1e-9, atol=1e-12)


def test_grad_scaler_on_the_cpu_matches_torch():
    """Scaled losses, unscaled gradients, skipped non-finite steps and the scale's growth and backoff."""
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal(4).astype(np.float32)
    results = []
    for lib in (torch, nnci):
        w = lib.nn.Parameter(lib.tensor(w0))
        opt = lib.optim.SGD([w], lr=0.1)
        scaler = lib.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2)
        scales = []
        for step in range(7):
            opt.zero_grad()
            loss = (w ** 2).sum() * (float("inf") if step == 3 else 1.0)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            scales.append(scaler.get_scale())
        results.append((w.detach().numpy().copy(), scales))
    assert results[1][1] == results[0][1]
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6)


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


@pytest.mark.parametrize("case", range(len(OPTIMIZERS)))
def test_optimizer_state_dict_has_torch_layout_and_loads_torch_state(case):
    """Same param_groups keys and values, same per-parameter state names and values; a torch state_dict (as
    arrays) loaded into nnci continues exactly as torch continues."""
    name, kw = OPTIMIZERS[case]
    theirs = mlp(torch.nn).double()
    ours = mlp(nn).to(np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    opt_theirs = getattr(torch.optim, name)(theirs.parameters(), **kw)
    opt_ours = getattr(nnci.optim, name)(ours.parameters(), **kw)
    rng = np.random.default_rng(case)
    batches = [(rng.standard_normal((7, 5)), rng.standard_normal((7, 3))) for _ in range(4)]

    def step(model, opt, lib, batch):
        opt.zero_grad()
        ((model(lib.tensor(batch[0])) - lib.tensor(batch[1])) ** 2).mean().backward()
        opt.step()

    for batch in batches[:2]:
        step(theirs, opt_theirs, torch, batch)
        step(ours, opt_ours, nnci, batch)
    sd_theirs, sd_ours = opt_theirs.state_dict(), opt_ours.state_dict()
    assert sd_ours["param_groups"] == sd_theirs["param_groups"]
    assert sorted(sd_ours["state"]) == sorted(sd_theirs["state"])
    for index, values in sd_theirs["state"].items():
        assert sorted(sd_ours["state"][index]) == sorted(values), index
        for key, value in values.items():
            mine = sd_ours["state"][index][key]
            np.testing.assert_allclose(np.asarray(mine.numpy() if hasattr(mine, "numpy") else mine),
                                       value.numpy() if hasattr(value, "numpy") else value, rtol=1e-10, err_msg=key)
    # both libraries restart from torch's state_dict (loading casts state such as NAdam's mu_product to the
    # parameters' dtype in both)
    restarted_theirs = mlp(torch.nn).double()
    restarted_theirs.load_state_dict(theirs.state_dict())
    opt_restarted = getattr(torch.optim, name)(restarted_theirs.parameters(), **kw)
    opt_restarted.load_state_dict(sd_theirs)
    fresh = mlp(nn).to(np.float64)
    fresh.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    opt_fresh = getattr(nnci.optim, name)(fresh.parameters(), **kw)
    as_arrays = {"state": {i: {k: (v.numpy() if hasattr(v, "numpy") else v) for k, v in s.items()}
                           for i, s in sd_theirs["state"].items()}, "param_groups": sd_theirs["param_groups"]}
    opt_fresh.load_state_dict(as_arrays)
    theirs = restarted_theirs
    for batch in batches[2:]:
        step(theirs, opt_restarted, torch, batch)
        step(fresh, opt_fresh, nnci, batch)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(fresh.state_dict()[key].detach().numpy(), value.detach().numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=key)
