"""Data-parallel training over MPI (mpi4py): the same model on every rank, each rank a shard of every
batch, gradients summed by allreduce. Names follow torch.distributed where they mean the same.

    mpiexec -n 4 nnci denoise train --out runs/dp       # every task that trains
    mpiexec -n 4 nnci denoise run photos/ -o clean/     # the inputs split across the ranks

In a script: nnci.distributed.init(), then Trainer does the rest; a custom loop calls
broadcast_parameters(model) once and average_gradients(model) after each backward. Without MPI, or
under a plain `python`, everything here is a no-op on one rank. mpi4py and an MPI come with
`pip install "nnci[mpi]"`.

A collective that does not complete within NNCI_MPI_TIMEOUT seconds (default 600: a rank died or
hangs) ends the whole job with one line naming the rank, never a silent hang.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Iterator

from .backend import xp

_COMM: Any = None
_MPI: Any = None
LAUNCHER_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_RANK")
BUCKET_BYTES = 25 * 2 ** 20  # gradients travel in flat buffers of about this size, as in torch's DDP


class DistributedError(RuntimeError):
    """A collective failed or timed out."""


def launched_by_mpi() -> bool:
    """Whether an MPI launcher (mpiexec, mpirun, srun) started this process with more than one rank."""
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"):
        if os.environ.get(name, "1") not in ("", "1"):
            return True
    return "PMIX_RANK" in os.environ and os.environ.get("OMPI_COMM_WORLD_SIZE", "2") != "1"


def init() -> int:
    """Join the MPI job (once; later calls do nothing) and return its world size."""
    global _COMM, _MPI
    if _COMM is None:
        try:
            from mpi4py import MPI
        except ImportError:
            raise ImportError("data-parallel training needs mpi4py and an MPI library: pip install 'nnci[mpi]' "
                              "(or mpi4py built against your cluster's MPI)") from None
        _MPI, _COMM = MPI, MPI.COMM_WORLD
    return world_size()


def is_initialized() -> bool:
    return _COMM is not None


def rank() -> int:
    """This process's rank, 0 when not initialised."""
    return _COMM.Get_rank() if _COMM is not None else 0


def world_size() -> int:
    """How many ranks take part, 1 when not initialised."""
    return _COMM.Get_size() if _COMM is not None else 1


def is_main() -> bool:
    """Rank 0: the one that prints, writes files and checkpoints."""
    return rank() == 0


def is_parallel() -> bool:
    return world_size() > 1


def timeout() -> float:
    try:
        return max(1.0, float(os.environ.get("NNCI_MPI_TIMEOUT", "600")))
    except ValueError:
        return 600.0


def _wait(request: Any, what: str) -> None:
    """Wait for a non-blocking collective, or end the job after timeout() seconds."""
    limit = time.monotonic() + timeout()
    pause = 1e-5
    while not request.Test():
        if time.monotonic() > limit:
            print(f"nnci: rank {rank()} of {world_size()}: {what} got no answer from the other ranks for "
                  f"{timeout():g} s (a rank died or hangs); ending the job", file=sys.stderr, flush=True)
            # Abort has the launcher kill every rank at once; the pause lets it forward the line above first
            time.sleep(0.5)
            _COMM.Abort(1)
        time.sleep(pause)
        pause = min(pause * 2, 1e-3)


def all_reduce(array: Any, what: str = "allreduce") -> Any:
    """array summed over the ranks, in place (a contiguous NumPy array); returned for convenience."""
    if is_parallel():
        _wait(_COMM.Iallreduce(_MPI.IN_PLACE, array, op=_MPI.SUM), what)
    return array


def broadcast(array: Any, src: int = 0, what: str = "broadcast") -> Any:
    """array overwritten, in place, by rank src's copy."""
    if is_parallel():
        _wait(_COMM.Ibcast(array, root=src), what)
    return array


def broadcast_object(value: Any, src: int = 0) -> Any:
    """A JSON-able value or bytes from rank src (settings, checkpoint files): never pickled objects of ours."""
    if not is_parallel():
        return value
    import json
    if rank() == src:
        payload = value if isinstance(value, bytes) else b"J" + json.dumps(value).encode()
        size = xp.array([len(payload) + 1], xp.int64)
    else:
        size = xp.zeros(1, xp.int64)
    broadcast(size, src, "broadcast of a size")
    buffer = xp.zeros(int(size[0]), xp.uint8)
    if rank() == src:
        buffer[0] = 1 if isinstance(value, bytes) else 0
        buffer[1:] = xp.frombuffer(payload, xp.uint8)
    broadcast(buffer, src, "broadcast of a value")
    data = buffer[1:].tobytes()
    return data if buffer[0] == 1 else json.loads(data[1:].decode())


def all_gather_object(value: Any) -> list:
    """[rank 0's value, rank 1's, ...] of a JSON-able value, on every rank."""
    if not is_parallel():
        return [value]
    return [broadcast_object(value if rank() == source else None, source) for source in range(world_size())]


def all_reduce_tensor(tensor: Any) -> Any:
    """sum over the ranks of a Tensor, differentiable: the gradient of a sum is the sum of the gradients."""
    from .autograd.function import Function
    from .creation import as_tensor

    class AllReduceSum(Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return as_tensor(all_reduce(x.detach().numpy().copy(), "allreduce of batch statistics"))

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            return as_tensor(all_reduce(grad.numpy().copy(), "allreduce of batch-statistic gradients"))
    return AllReduceSum.apply(tensor) if is_parallel() else tensor


def abort(code: int = 1, grace: float = 0.0) -> None:
    """End every rank of the job (after an error on this one, so that no rank waits for it), after `grace`
    seconds: a rank other than 0 leaves rank 0 the time to finish its files or to end the job itself."""
    if is_parallel():
        time.sleep(grace)
        _COMM.Abort(code)


def barrier() -> None:
    if is_parallel():
        _wait(_COMM.Ibarrier(), "barrier")


def _tensors(model: Any, buffers: bool) -> list:
    items = [p for p in model.parameters()]
    if buffers:
        items += [b for b in model.buffers() if b is not None]
    return items


def _buckets(tensors: list, bucket_bytes: int) -> Iterator[list]:
    """Consecutive groups of tensors of one dtype, about bucket_bytes each."""
    bucket: list = []
    size = 0
    for tensor in tensors:
        if bucket and (tensor.dtype != bucket[0].dtype or size + tensor.numel() * tensor.element_size() > bucket_bytes):
            yield bucket
            bucket, size = [], 0
        bucket.append(tensor)
        size += tensor.numel() * tensor.element_size()
    if bucket:
        yield bucket


def broadcast_parameters(model: Any, src: int = 0, bucket_bytes: int = BUCKET_BYTES) -> None:
    """Every rank's parameters and buffers become rank src's (call once, before training)."""
    if not is_parallel():
        return
    from .autograd.grad_mode import no_grad
    with no_grad():
        for bucket in _buckets(_tensors(model, buffers=True), bucket_bytes):
            flat = xp.concatenate([t.detach().numpy().reshape(-1) for t in bucket])
            broadcast(flat, src, "broadcast of the parameters")
            offset = 0
            for tensor in bucket:
                count = tensor.numel()
                tensor.copy_(flat[offset:offset + count].reshape(tuple(tensor.shape)))
                offset += count


def sum_gradients(model: Any, bucket_bytes: int = BUCKET_BYTES) -> None:
    """Each parameter's .grad becomes the sum over the ranks (a rank without a gradient adds zeros), one
    allreduce per flat bucket."""
    if not is_parallel():
        return
    from .creation import as_tensor
    parameters = [p for p in model.parameters() if p.requires_grad]
    present = all_reduce(xp.array([p.grad is not None for p in parameters], xp.int64), "allreduce of which grads exist")
    used = [p for p, count in zip(parameters, present) if count]
    for bucket in _buckets(used, bucket_bytes):
        flat = xp.concatenate([(p.grad.numpy() if p.grad is not None else xp.zeros(tuple(p.shape), p.numpy().dtype))
                               .reshape(-1) for p in bucket])
        all_reduce(flat, "allreduce of the gradients")
        offset = 0
        for parameter in bucket:
            count = parameter.numel()
            parameter.grad = as_tensor(flat[offset:offset + count].reshape(tuple(parameter.shape)).copy())
            offset += count


def average_gradients(model: Any, bucket_bytes: int = BUCKET_BYTES) -> None:
    """Each parameter's .grad becomes the mean over the ranks (for a loss that is a mean over equal shards)."""
    if not is_parallel():
        return
    sum_gradients(model, bucket_bytes)
    for parameter in model.parameters():
        if parameter.grad is not None:
            parameter.grad.numpy()[...] /= world_size()


def shard_bounds(count: int, parts: int | None = None, index: int | None = None) -> tuple[int, int]:
    """[start, stop) of part `index` when `count` items are cut into `parts` contiguous, near-equal parts."""
    parts = world_size() if parts is None else parts
    index = rank() if index is None else index
    base, extra = divmod(count, parts)
    start = index * base + min(index, extra)
    return start, start + base + (1 if index < extra else 0)


def shard(items: list) -> list:
    """This rank's share of a list of work items (every rank.th item), so that each is done once."""
    return list(items)[rank()::world_size()]


class DistributedSampler:
    """torch.utils.data.distributed.DistributedSampler: this rank's indices of a seeded permutation, padded
    (or, with drop_last, cut) to a multiple of the ranks; set_epoch(e) draws the epoch's permutation."""

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False) -> None:
        self.dataset, self.shuffle, self.seed, self.drop_last = dataset, shuffle, seed, drop_last
        self.num_replicas = world_size() if num_replicas is None else num_replicas
        self.rank = globals()["rank"]() if rank is None else rank
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"Invalid rank {self.rank}, rank should be in the interval [0, {self.num_replicas - 1}]")
        self.epoch = 0
        total = len(dataset)
        self.num_samples = total // self.num_replicas if drop_last else -(-total // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        count = len(self.dataset)
        order = (xp.random.default_rng(self.seed + self.epoch).permutation(count) if self.shuffle
                 else xp.arange(count))
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > count:
            order = xp.concatenate([order, xp.resize(order, self.total_size - count)])
        return iter(int(i) for i in order[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
