"""DataLoader: seeded shuffled mini-batches over arrays (random partitioning each epoch)."""
from __future__ import annotations

from typing import Any, Iterator, Sequence

from ..backend import xp
from ..tensor import Tensor


class TensorDataset:
    """Rows of several equally long arrays; item i is the tuple of their i-th rows."""

    def __init__(self, *arrays: Any) -> None:
        self.arrays = [a.data if isinstance(a, Tensor) else xp.asarray(a) for a in arrays]
        lengths = {len(a) for a in self.arrays}
        if len(lengths) != 1:
            raise ValueError(f"TensorDataset: arrays have different lengths {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def batch(self, indices: Sequence[int]) -> tuple[Tensor, ...]:
        return tuple(Tensor(a[indices]) for a in self.arrays)


class DataLoader:
    """Iterate a dataset in batches; with shuffle, a new random partition every epoch from `seed`.

    The generator's state is part of `state_dict()`, so a resumed run draws the same batches.
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 seed: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.generator = xp.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = self.generator.permutation(n) if self.shuffle else xp.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            indices = order[start:start + self.batch_size]
            if hasattr(self.dataset, "batch"):
                yield self.dataset.batch(indices)
            else:
                items = [self.dataset[int(i)] for i in indices]
                yield tuple(Tensor(xp.stack([xp.asarray(item[k].data if isinstance(item[k], Tensor) else item[k])
                                             for item in items])) for k in range(len(items[0])))

    def state_dict(self) -> dict:
        return {"generator": self.generator.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.generator.bit_generator.state = state["generator"]
