"""Whether ops record a graph: no_grad, enable_grad, set_grad_enabled, inference_mode (thread-local, as torch)."""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable

_state = threading.local()


def is_grad_enabled() -> bool:
    """True unless inside no_grad() (or after set_grad_enabled(False))."""
    return getattr(_state, "enabled", True)


def _set(enabled: bool) -> None:
    _state.enabled = bool(enabled)


class _GradMode:
    """A context manager that sets grad mode on entry and restores it on exit; also a function decorator."""

    mode = True

    def __enter__(self) -> None:
        self.previous = is_grad_enabled()
        _set(self.mode)

    def __exit__(self, *exc: Any) -> None:
        _set(self.previous)

    def clone(self) -> "_GradMode":
        return type(self)()

    def __call__(self, function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return function(*args, **kwargs)
        return wrapped


class _BareDecorator(_GradMode):
    """Usable as @no_grad and as @no_grad(), like torch."""

    def __new__(cls, function: Callable | None = None) -> Any:
        if function is None:
            return super().__new__(cls)
        return cls()(function)


class no_grad(_BareDecorator):  # noqa: N801 - torch's name
    """Ops inside record no graph: inference and parameter updates."""
    mode = False


class enable_grad(_BareDecorator):  # noqa: N801 - torch's name
    """Turn graph recording back on inside no_grad."""
    mode = True


class inference_mode(_GradMode):  # noqa: N801 - torch's name
    """As no_grad when mode is True, a no-op when False: nnci has no separate inference tensors."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode) and not isinstance(mode, bool):  # used bare as @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.disables = bool(mode)

    def __enter__(self) -> None:
        self.previous = is_grad_enabled()
        if self.disables:
            _set(False)

    def clone(self) -> "inference_mode":
        return inference_mode(self.disables)


class set_grad_enabled(_GradMode):  # noqa: N801 - torch's name
    """set_grad_enabled(mode): switches grad mode at once; as a context manager, restores it on exit."""

    def __init__(self, mode: bool) -> None:
        self.previous = is_grad_enabled()
        self.mode = bool(mode)
        _set(self.mode)

    def __enter__(self) -> None:
        _set(self.mode)

    def __call__(self, function: Callable) -> Callable:
        _set(self.previous)  # as a decorator it changes nothing until the function runs
        return super().__call__(function)

    def clone(self) -> _GradMode:
        entering = _GradMode()
        entering.mode = self.mode
        return entering


def is_inference_mode_enabled() -> bool:
    return not is_grad_enabled()
