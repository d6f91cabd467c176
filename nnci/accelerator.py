"""torch.accelerator's queries: nnci has no accelerator, so none is current and none is available."""
from __future__ import annotations

from typing import Any


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False) -> Any:
    return None


def device_count() -> int:
    return 0


def synchronize(device: Any = None) -> None:
    pass
