"""torch.amp: autocast and loss scaling.

nnci computes in the dtype of the tensors (float32 by default) and has no float16/bfloat16 matmul kernels, so
`autocast` changes nothing: inside it, ops run in float32 where torch would run some in a lower precision
(results agree to the lower precision's rounding). GradScaler scales the loss, unscales the gradients, skips a
step whose gradients are not finite and grows or shrinks the scale, with torch's rules; a scaler for a device
that is not available (torch.cuda.amp.GradScaler here) disables itself with torch's warning.
"""
from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

from .backend import xp


_enabled: dict = {}  # device type -> how many enabled autocast regions are open
_DEFAULT_DTYPES = {"cpu": "bfloat16", "cuda": "float16"}
_warned = False


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether an enabled autocast region for device_type is open (nnci still computes in float32 there)."""
    return _enabled.get(device_type, 0) > 0


def get_autocast_dtype(device_type: str) -> Any:
    from . import dtypes
    return getattr(dtypes, _DEFAULT_DTYPES.get(device_type, "float16"))


class autocast:  # noqa: N801 - torch's name
    """Context manager and decorator; computation stays in the tensors' own dtype (see the module docstring).
    Entering an enabled CPU region warns once that results are float32."""

    def __init__(self, device_type: str = "cpu", dtype: Any = None, enabled: bool = True,
                 cache_enabled: Any = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device_type, self.fast_dtype = device_type, dtype or get_autocast_dtype(device_type)
        if enabled and device_type != "cpu":
            warnings.warn(f"User provided device_type of '{device_type}', but {device_type.upper()} is not available "
                          "(nnci runs on the CPU). Disabling", UserWarning, stacklevel=2)
            enabled = False
        self.enabled = enabled

    def __enter__(self) -> "autocast":
        global _warned
        if self.enabled:
            _enabled[self.device_type] = _enabled.get(self.device_type, 0) + 1
            if not _warned:
                _warned = True
                warnings.warn(f"nnci.autocast: nnci has no {self.fast_dtype.name} kernels, so the ops inside run "
                              "in float32 (as precise as torch's or more; dtypes print float32)", UserWarning,
                              stacklevel=2)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            _enabled[self.device_type] -= 1

    def __call__(self, function: Callable) -> Callable:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return function(*args, **kwargs)
        return run


def is_autocast_available(device_type: str) -> bool:
    return device_type == "cpu"


def custom_fwd(function: Callable | None = None, **options: Any) -> Callable:
    return function if function is not None else (lambda f: f)


custom_bwd = custom_fwd


class GradScaler:
    """Dynamic loss scaling: loss * scale for backward, gradients / scale before the step, steps with inf or NaN
    gradients skipped (then the scale shrinks by backoff_factor; after growth_interval good steps it grows)."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        if enabled and device != "cpu":
            warnings.warn(f"GradScaler for device {device!r} is enabled, but {device.upper()} is not available (nnci "
                          "runs on the CPU). Disabling.", UserWarning, stacklevel=3)
            enabled = False
        self._enabled = enabled
        self._scale, self._growth_factor, self._backoff_factor = float(init_scale), growth_factor, backoff_factor
        self._growth_interval, self._growth_tracker = growth_interval, 0
        self._unscaled: dict = {}  # id(optimizer) -> whether its gradients were all finite

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def scale(self, outputs: Any) -> Any:
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer: Any) -> None:
        if not self._enabled:
            return
        if id(optimizer) in self._unscaled:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        from .autograd.grad_mode import no_grad
        finite = True
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.grad._array *= 1.0 / self._scale
                        finite = finite and bool(xp.isfinite(p.grad._array).all())
        self._unscaled[id(optimizer)] = finite

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if id(optimizer) not in self._unscaled:
            self.unscale_(optimizer)
        if self._unscaled[id(optimizer)]:
            return optimizer.step(*args, **kwargs)
        return None

    def update(self, new_scale: float | Any = None) -> None:
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale)
        elif self._unscaled:
            if all(self._unscaled.values()):
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale *= self._growth_factor
                    self._growth_tracker = 0
            else:
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
        self._unscaled = {}

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._scale = float(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._growth_tracker = state_dict["_growth_tracker"]

