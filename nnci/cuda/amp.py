"""torch.cuda.amp's names: without a GPU, autocast changes nothing and GradScaler disables itself (torch's
behaviour on a machine without CUDA)."""
from __future__ import annotations

from typing import Any

from .. import amp as _amp
from ..amp import custom_bwd, custom_fwd  # noqa: F401


class autocast(_amp.autocast):  # noqa: N801 - torch's name
    def __init__(self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True) -> None:
        # without a GPU torch's cuda autocast disables itself; so does this one (without the warning torch gives)
        super().__init__("cpu", dtype, False, cache_enabled)


class GradScaler(_amp.GradScaler):
    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)
