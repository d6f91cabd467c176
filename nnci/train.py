"""One training loop for every task: epochs of shuffled mini-batches, validation, progress,
a time budget, atomic checkpoints and bit-identical resume.

A checkpoint (`checkpoint.safetensors`) holds the model's state dict, the optimizer's arrays and,
in its JSON metadata, everything else needed to continue exactly: epoch, step, the position in
the epoch, the data loader's generator state at the start of the epoch, nnci's global generator
(dropout, VAE sampling), the optimizer's scalars and hyper-parameters, the scheduler and the
history so far.
"""
from __future__ import annotations

import json
import math
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

from . import backend, distributed, interrupts
from .backend import xp
from .io import atomic_write
from .serialization import load_safetensors, safetensors_metadata, save_safetensors
from .nn.module import Module
from .nn.utils import clip_grad_norm_
from .optim.optimizer import Optimizer
from .autograd.grad_mode import no_grad
from .tensor import Tensor

CHECKPOINT = "checkpoint.safetensors"


class TrainingSetupError(ValueError):
    """A training that cannot start as configured (a batch smaller than the ranks sharing it): one line, no
    traceback."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def write_json(path: str | Path, data: Any) -> None:
    """Write `data` as indented JSON, atomically."""
    text = json.dumps(data, indent=2).encode()
    atomic_write(path, lambda handle: handle.write(text))


def plot_history(history: dict, path: str | Path, title: str = "training") -> None:
    """Loss per step (and its running mean) and the validation metrics per epoch, as a PNG."""
    from .plotting import pyplot, save_figure
    plt = pyplot()
    losses = history.get("step_loss", [])
    fig, axis = plt.subplots(figsize=(7, 4))
    if losses:
        steps = xp.arange(1, len(losses) + 1)
        axis.plot(steps, losses, color="#9bb7d4", linewidth=0.8, label="loss per step")
        window = max(1, len(losses) // 25)
        smooth = xp.convolve(losses, xp.ones(window) / window, mode="valid")
        axis.plot(steps[window - 1:], smooth, color="#1f4e79", linewidth=1.8, label=f"mean of {window} steps")
        if min(losses) > 0 and max(losses) / max(min(losses), 1e-12) > 20:
            axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_ylabel("training loss")
    axis.set_title(title)
    epochs = history.get("epochs", [])
    metric_names = sorted({k for e in epochs for k in e.get("val", {})})
    if metric_names:
        other = axis.twinx()
        for name in metric_names:
            points = [(e["step"], e["val"][name]) for e in epochs if name in e.get("val", {})]
            other.plot(*zip(*points), marker="o", linewidth=1.2, label=f"val {name}")
        other.set_ylabel("validation")
        other.legend(loc="upper center", fontsize=8)
    axis.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


class _DeferredInterrupt:
    """Holds a Ctrl-C (SIGINT) until the current step has finished, so that the checkpoint written on an
    interrupt never holds half a step (batch norm's running statistics move in the forward pass, the
    weights only in the optimizer's step). A second Ctrl-C interrupts at once. Only the main thread can
    take signals; elsewhere, and under a handler the host installed (other than nnci.interrupts'), nothing
    changes."""

    def __enter__(self) -> "_DeferredInterrupt":
        self.requested = self.between_steps = False
        self.previous = None
        if (threading.current_thread() is threading.main_thread()
                and interrupts.is_default(signal.getsignal(signal.SIGINT))):
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def deliver(self, agreed: bool | None = None) -> None:
        """Called between steps: raise the held interrupt now that the state is whole. `agreed`, in a
        data-parallel run, is whether any rank held one when they last exchanged flags: every rank stops after
        the same step (one that arrives during the exchange waits for the next)."""
        if self.requested if agreed is None else agreed:
            self.between_steps = True
            raise KeyboardInterrupt

    def __exit__(self, *exc: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


class Trainer:
    """Fit `model` by minimising loss_fn(model, batch) over train_loader with `optimizer`.

    evaluate(model) -> {metric: value} runs after every epoch (in eval mode, without gradients).
    `minutes` bounds the wall time; `checkpoint_every` saves every N steps (and always at the end).
    `warmup_steps` ramps every learning rate linearly, lr * (step + 1) / warmup_steps, over the first steps
    (a fresh Adam's first steps move every weight by about lr: enough to wreck a trained model).
    fit(resume=True) continues from out_dir/checkpoint.safetensors when it exists.
    """

    def __init__(self, model: Module, optimizer: Optimizer, loss_fn: Callable[[Module, Any], Tensor],
                 train_loader: Any, *, evaluate: Callable[[Module], dict] | None = None, scheduler: Any = None,
                 out_dir: str | Path | None = None, epochs: int = 1, minutes: float | None = None,
                 checkpoint_every: int | None = None, clip_grad_norm: float | None = None, warmup_steps: int = 0,
                 progress: bool = True, log: Callable[[str], None] = print, title: str = "training") -> None:
        self.model, self.optimizer, self.loss_fn, self.loader = model, optimizer, loss_fn, train_loader
        self.evaluate, self.scheduler, self.epochs, self.minutes = evaluate, scheduler, epochs, minutes
        self.checkpoint_every, self.clip_grad_norm, self.warmup_steps = checkpoint_every, clip_grad_norm, warmup_steps
        self.progress, self.log, self.title = progress, log, title
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.epoch = self.step = self.batch_in_epoch = 0
        self.elapsed = 0.0
        self.epoch_loader_state: dict | None = None
        self.history: dict = {"step_loss": [], "epochs": []}

    # ----- checkpoints ----------------------------------------------------------------------
    def _checkpoint_path(self) -> Path | None:
        return self.out_dir / CHECKPOINT if self.out_dir is not None else None

    def save_checkpoint(self) -> None:
        """Write weights, optimizer and every counter and generator state, atomically."""
        path = self._checkpoint_path()
        if path is None or not distributed.is_main():
            return
        optim = self.optimizer.state_dict()
        tensors: dict[str, Any] = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        scalars: dict[str, dict] = {}
        for index, entries in optim["state"].items():
            for name, value in entries.items():
                if isinstance(value, Tensor) and value.ndim:
                    tensors[f"optimizer.{index}.{name}"] = value
                else:
                    scalars.setdefault(str(index), {})[name] = value.item() if isinstance(value, Tensor) else value
        state = {
            "epoch": self.epoch, "step": self.step, "batch_in_epoch": self.batch_in_epoch, "elapsed": self.elapsed,
            "epoch_loader_state": self.epoch_loader_state, "loader_state": self.loader.state_dict(),
            "global_rng": backend.generator().bit_generator.state, "optimizer_scalars": scalars,
            "param_groups": optim["param_groups"], "history": self.history,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
        }
        save_safetensors(tensors, path, metadata={"nnci_trainer": json.dumps(state)})

    def load_checkpoint(self, path: Path) -> None:
        """Restore everything save_checkpoint wrote."""
        metadata = safetensors_metadata(path)
        if "nnci_trainer" not in metadata:
            raise ValueError(f"{path}: not an nnci training checkpoint (no trainer state in its metadata)")
        state = json.loads(metadata["nnci_trainer"])
        tensors = load_safetensors(path)
        self.model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
        optim_state: dict[int, dict] = {}
        for key, value in tensors.items():
            if key.startswith("optimizer."):
                _, index, name = key.split(".", 2)
                optim_state.setdefault(int(index), {})[name] = value
        for index, entries in state["optimizer_scalars"].items():
            optim_state.setdefault(int(index), {}).update(entries)
        groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in state["param_groups"]]
        self.optimizer.load_state_dict({"state": optim_state, "param_groups": groups})
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.step, self.batch_in_epoch = state["epoch"], state["step"], state["batch_in_epoch"]
        self.elapsed, self.history = state["elapsed"], state["history"]
        self.epoch_loader_state = state["epoch_loader_state"]
        self.loader.load_state_dict(state["loader_state"])
        backend.generator().bit_generator.state = state["global_rng"]

    # ----- the loop ---------------------------------------------------------------------------
    def _batches(self) -> Any:
        """This epoch's batches; when resuming mid-epoch, the same permutation, past the done batches."""
        if self.batch_in_epoch and self.epoch_loader_state is not None:
            self.loader.load_state_dict(self.epoch_loader_state)
        else:
            self.epoch_loader_state = self.loader.state_dict()
        iterator = iter(self.loader)
        for _ in range(self.batch_in_epoch):
            next(iterator)
        return iterator

    def fit(self, resume: bool = False) -> dict:
        """Train until `epochs` or the time budget; returns the history."""
        from tqdm import tqdm

        from .backend import keep_freed_memory
        keep_freed_memory()  # each step frees and re-allocates its graph: keep the heap instead of faulting it in
        if not distributed.is_main():  # rank 0 speaks for a data-parallel run
            self.log = lambda message: None
        path = self._checkpoint_path()
        if distributed.is_parallel():
            self._join(resume, path)
        elif resume and path is not None and path.exists():
            self.load_checkpoint(path)
            self.log(f"resumed from {path} at epoch {self.epoch + 1}, step {self.step}")
        if self.out_dir is not None and distributed.is_main():
            self.out_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter() - self.elapsed
        deadline = None if self.minutes is None else start + 60 * self.minutes
        stopped = None
        with _DeferredInterrupt() as interrupt:
            try:
                while self.epoch < self.epochs and stopped is None:
                    self.model.train()
                    batches = self._batches()
                    total = len(self.loader)
                    bar = tqdm(batches, total=total, initial=self.batch_in_epoch, leave=False,
                               disable=not self.progress or not distributed.is_main(),
                               desc=f"epoch {self.epoch + 1}/{self.epochs}", dynamic_ncols=True)
                    running = 0.0
                    for batch in bar:
                        loss = self._train_step(batch)
                        running = loss if self.batch_in_epoch == 1 else 0.9 * running + 0.1 * loss
                        bar.set_postfix(loss=f"{running:.4g}", refresh=False)
                        if self.checkpoint_every and self.step % self.checkpoint_every == 0:
                            self.elapsed = time.perf_counter() - start
                            self.save_checkpoint()
                        past_deadline = deadline is not None and time.perf_counter() > deadline
                        agreed = None
                        if distributed.is_parallel():  # every rank stops after the same step
                            held, past_deadline = distributed.all_reduce(
                                xp.array([interrupt.requested, past_deadline], xp.int64), "allreduce of stop flags")
                            agreed = bool(held)
                        interrupt.deliver(agreed)
                        if past_deadline:
                            stopped = f"time budget of {self.minutes:g} min reached"
                            break
                    bar.close()
                    if stopped is None:
                        self._end_epoch(start)
                        if not distributed.is_parallel():  # ranks agree on stopping at the next step's exchange
                            interrupt.deliver()
            except KeyboardInterrupt:
                if interrupt.between_steps:
                    self.elapsed = time.perf_counter() - start
                    self.save_checkpoint()
                    self.log(f"interrupted at step {self.step}; checkpoint saved, run again with resume to continue")
                else:  # in the middle of a step: its state is half-updated, so the last checkpoint stands
                    self.log(f"interrupted during step {self.step + 1}; the last checkpoint stands, run again with "
                             "resume to continue from it")
                raise
        self.elapsed = time.perf_counter() - start
        if stopped is not None:
            self.history["stopped"] = f"{stopped} at epoch {self.epoch + 1}, step {self.step}"
            self.log(self.history["stopped"])
        self.save_checkpoint()
        self._write_history()
        return self.history

    def _train_step(self, batch: Any) -> float:
        if distributed.is_parallel():
            value = self._parallel_forward_backward(batch)
        else:
            loss = self.loss_fn(self.model, batch)
            value = float(loss.item())
        if not math.isfinite(value):
            self._write_history()
            raise TrainingDiverged(f"the loss became {value} at step {self.step + 1} (epoch {self.epoch + 1}); "
                                   "try a lower learning rate")
        if not distributed.is_parallel():
            self.optimizer.zero_grad()
            loss.backward()
        if self.clip_grad_norm is not None:
            clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        if self.step < self.warmup_steps:
            self._warmup_step((self.step + 1) / self.warmup_steps)
        else:
            self.optimizer.step()
        self.step += 1
        self.batch_in_epoch += 1
        self.history["step_loss"].append(value)
        return value

    # ----- data parallel ------------------------------------------------------------------------
    def _join(self, resume: bool, path: Path | None) -> None:
        """Start every rank from rank 0's state: its checkpoint (sent as bytes, so other hosts need no shared
        disk) or its initial weights; each rank then draws its own random numbers (noise, dropout)."""
        import os
        import tempfile
        data = b""
        if resume:
            found = distributed.is_main() and path is not None and path.exists()
            data = distributed.broadcast_object(path.read_bytes() if found else b"")
        if data:
            if distributed.is_main():
                self.load_checkpoint(path)
                self.log(f"resumed from {path} at epoch {self.epoch + 1}, step {self.step}, on "
                         f"{distributed.world_size()} ranks")
            else:
                handle, copy = tempfile.mkstemp(suffix=".safetensors")
                try:
                    with os.fdopen(handle, "wb") as file:
                        file.write(data)
                    self.load_checkpoint(Path(copy))
                finally:
                    os.unlink(copy)
        distributed.broadcast_parameters(self.model)
        size = getattr(self.loader, "batch_size", None)
        if size is not None and size < distributed.world_size():
            raise TrainingSetupError(f"a batch of {size} cannot be shared by {distributed.world_size()} ranks; "
                                     f"use a batch of at least {distributed.world_size()}")
        if distributed.rank():
            state = backend.generator().bit_generator
            state.state = state.jumped(distributed.rank()).state

    def _parallel_forward_backward(self, batch: Any) -> float:
        """This rank's contiguous shard of the global batch: its loss, weighted by its share n_r / n, is
        backpropagated and the gradients summed over the ranks, so the step is the one-process step on the whole
        batch (for a loss that is a mean over the batch). Returns the whole batch's loss."""
        parts = list(batch) if isinstance(batch, (tuple, list)) else [batch]
        count = len(parts[0])
        start, stop = distributed.shard_bounds(count)
        weight = (stop - start) / count
        self.optimizer.zero_grad()
        local = 0.0
        if stop > start:
            shard = [part[start:stop] for part in parts]
            loss = self.loss_fn(self.model, type(batch)(shard) if isinstance(batch, (tuple, list)) else shard[0])
            local = float(loss.item()) * weight
            (loss * weight).backward()
        distributed.sum_gradients(self.model)
        return float(distributed.all_reduce(xp.array([local], xp.float64), "allreduce of the loss")[0])

    def _warmup_step(self, factor: float) -> None:
        """One optimizer step with every group's lr scaled by factor (the schedule's own lr is left as it was)."""
        groups = self.optimizer.param_groups
        scheduled = [group["lr"] for group in groups]
        for group in groups:
            group["lr"] *= factor
        try:
            self.optimizer.step()
        finally:
            for group, lr in zip(groups, scheduled):
                group["lr"] = lr

    def _end_epoch(self, start: float) -> None:
        losses = self.history["step_loss"][-max(self.batch_in_epoch, 1):]
        record = {"epoch": self.epoch + 1, "step": self.step, "train_loss": float(sum(losses) / max(len(losses), 1)),
                  "lr": self.optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - start, 2)}
        if self.evaluate is not None and distributed.is_main():  # the others go on; they meet at the next step
            self.model.eval()
            with no_grad():
                record["val"] = {k: float(v) for k, v in self.evaluate(self.model).items()}
        self.history["epochs"].append(record)
        metrics = "".join(f", val {k} {v:.4g}" for k, v in record.get("val", {}).items())
        self.log(f"epoch {record['epoch']}/{self.epochs}: train loss {record['train_loss']:.4g}{metrics} "
                 f"({record['seconds']:.1f} s)")
        if self.scheduler is not None:
            self.scheduler.step()
        self.epoch += 1
        self.batch_in_epoch = 0
        self.epoch_loader_state = None

    def _write_history(self) -> None:
        if self.out_dir is None or not distributed.is_main():
            return
        write_json(self.out_dir / "history.json", self.history)
        plot_history(self.history, self.out_dir / "loss.png", self.title)
