"""torch.cuda's queries, answered for a CPU-only library: no GPU is available, seeding a GPU does nothing."""
from __future__ import annotations

from typing import Any

from ..device import check_device


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Nothing to seed: nnci has no GPU generator (torch does the same without CUDA)."""


manual_seed_all = manual_seed


def empty_cache() -> None:
    pass


def synchronize(device: Any = None) -> None:
    pass


def memory_allocated(device: Any = None) -> int:
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def current_device() -> int:
    check_device("cuda")
    return 0


def get_device_name(device: Any = None) -> str:
    check_device("cuda")
    return ""


def set_device(device: Any) -> None:
    check_device(device if not isinstance(device, int) else f"cuda:{device}")


from . import amp  # noqa: E402
