"""The Trainer: bit-identical resume, checkpoints, time budget, divergence, history and plot."""
import json
import os
import signal

import numpy as np
import pytest

import nnci
import nnci.nn as nn
import nnci.nn.functional as F
from nnci.data import DataLoader, TensorDataset
from nnci.train import Trainer, TrainingDiverged


def make(tmp_path, epochs, seed=0, **kw):
    """A small model with dropout and batch norm (so the global generator and buffers matter)."""
    nnci.manual_seed(seed)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 6)).astype(np.float32)
    y = (x[:, :1] * 2 - x[:, 1:2]).astype(np.float32)
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))
    optimizer = nnci.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = nnci.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, generator=nnci.Generator().manual_seed(seed))
    loss_fn = kw.pop("loss_fn", lambda m, batch: F.mse_loss(m(batch[0]), batch[1]))
    evaluate = lambda m: {"mse": F.mse_loss(m(nnci.tensor(x)), nnci.tensor(y)).item()}  # noqa: E731
    return Trainer(model, optimizer, loss_fn, loader, evaluate=evaluate, scheduler=scheduler, out_dir=tmp_path,
                   epochs=epochs, progress=False, log=lambda s: None, **kw)


def weights(trainer):
    return {k: v.detach().numpy().copy() for k, v in trainer.model.state_dict().items()}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_resume_at_epoch_boundary_is_bit_identical(tmp_path):
    straight = make(tmp_path / "straight", epochs=2)
    straight.fit()
    first = make(tmp_path / "resumed", epochs=1)
    first.fit()
    second = make(tmp_path / "resumed", epochs=2, seed=99)  # a different seed: everything must come from the checkpoint
    second.fit(resume=True)
    assert_same(weights(straight), weights(second))
    assert second.history["step_loss"] == straight.history["step_loss"]
    assert second.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"] == 2.5e-3


def without_wall_time(history):
    """The history minus the wall-clock seconds each epoch took (the only thing a resume may change)."""
    return {**history, "epochs": [{k: v for k, v in e.items() if k != "seconds"} for e in history["epochs"]]}


@pytest.mark.parametrize("commands_handler", [False, True])
@pytest.mark.parametrize("at_call", [1, 3, 5, 8, 10])
def test_ctrl_c_in_the_middle_of_a_step_resumes_bit_identically(tmp_path, at_call, commands_handler):
    """SIGINT arrives after the forward pass has moved batch norm's running statistics: the step is
    finished before the checkpoint is written, so the resumed run matches the uninterrupted one exactly;
    also under the SIGINT handler that nnci's commands install (nnci.interrupts)."""
    from contextlib import nullcontext

    from nnci import interrupts
    straight = make(tmp_path / "straight", epochs=2)
    straight.fit()
    calls = {"n": 0}

    def interrupting_loss(model, batch):
        calls["n"] += 1
        loss = F.mse_loss(model(batch[0]), batch[1])
        if calls["n"] == at_call:
            os.kill(os.getpid(), signal.SIGINT)
        return loss

    broken = make(tmp_path / "resumed", epochs=2, loss_fn=interrupting_loss)
    with pytest.raises(KeyboardInterrupt), interrupts.guarded() if commands_handler else nullcontext():
        broken.fit()
    assert broken.step == at_call  # the interrupted step was completed, then saved
    resumed = make(tmp_path / "resumed", epochs=2, seed=5)
    resumed.fit(resume=True)
    assert resumed.step == straight.step == 10
    assert_same(weights(straight), weights(resumed))
    assert without_wall_time(resumed.history) == without_wall_time(straight.history)


def test_an_immediate_interrupt_keeps_the_last_whole_checkpoint(tmp_path):
    """A KeyboardInterrupt raised inside a step (a second Ctrl-C) must not save the half-done step: the run
    resumes from the last periodic checkpoint and still ends bit-identical."""
    straight = make(tmp_path / "straight", epochs=2)
    straight.fit()
    calls = {"n": 0}

    def interrupting_loss(model, batch):
        calls["n"] += 1
        loss = F.mse_loss(model(batch[0]), batch[1])  # batch norm's buffers have moved
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return loss

    broken = make(tmp_path / "resumed", epochs=2, loss_fn=interrupting_loss, checkpoint_every=3)
    with pytest.raises(KeyboardInterrupt):
        broken.fit()
    resumed = make(tmp_path / "resumed", epochs=2, seed=5)
    resumed.fit(resume=True)
    assert_same(weights(straight), weights(resumed))
    assert without_wall_time(resumed.history) == without_wall_time(straight.history)


def test_checkpoints_history_and_plot_are_written(tmp_path):
    trainer = make(tmp_path, epochs=2, checkpoint_every=3)
    history = trainer.fit()
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved == json.loads(json.dumps(history))
    assert len(saved["step_loss"]) == 10 and [e["epoch"] for e in saved["epochs"]] == [1, 2]
    assert "mse" in saved["epochs"][-1]["val"]
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "checkpoint.safetensors").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_time_budget_stops_and_says_where(tmp_path):
    trainer = make(tmp_path, epochs=50, minutes=1e-9)
    history = trainer.fit()
    assert trainer.step == 1
    assert "time budget" in history["stopped"] and "step 1" in history["stopped"]


def test_nan_loss_stops_with_the_step_number(tmp_path):
    def exploding(model, batch):
        loss = F.mse_loss(model(batch[0]), batch[1])
        return loss * float("nan") if exploding.calls == 3 else (setattr(exploding, "calls", exploding.calls + 1) or loss)

    exploding.calls = 0
    trainer = make(tmp_path, epochs=2, loss_fn=exploding)
    with pytest.raises(TrainingDiverged, match=r"the loss became nan at step 4 \(epoch 1\)"):
        trainer.fit()
    assert len(json.loads((tmp_path / "history.json").read_text())["step_loss"]) == 3


def test_a_foreign_file_is_not_taken_for_a_checkpoint(tmp_path):
    nnci.save({"w": np.zeros(2, np.float32)}, tmp_path / "checkpoint.safetensors")
    with pytest.raises(ValueError, match="not an nnci training checkpoint"):
        make(tmp_path, epochs=1).fit(resume=True)


def test_warmup_ramps_the_learning_rate_linearly_then_leaves_the_schedule_alone(tmp_path):
    """loss = 2 w under SGD: each step moves w by exactly 2 lr_step, so the moves show the lr of every step."""
    w = nn.Parameter(nnci.zeros(1))
    optimizer = nnci.optim.SGD([w], lr=0.5)
    data = DataLoader(TensorDataset(np.zeros((6, 1), np.float32)), batch_size=1, shuffle=False)
    seen = []

    def loss_fn(model, batch):
        seen.append(float(w.detach().numpy()[0]))
        return (w * 2.0).sum()

    trainer = Trainer(nn.Module(), optimizer, loss_fn, data, out_dir=tmp_path, epochs=1, warmup_steps=4,
                      progress=False, log=lambda s: None)
    trainer.fit()
    seen.append(float(w.detach().numpy()[0]))
    moves = -np.diff(seen)
    np.testing.assert_allclose(moves, [0.25, 0.5, 0.75, 1.0, 1.0, 1.0], rtol=1e-6)
    assert optimizer.param_groups[0]["lr"] == 0.5
