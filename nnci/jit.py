"""torch.jit's entry points: nnci has no compiler, so script and trace return the model or function unchanged
(it computes the same); saving a compiled program is refused."""
from __future__ import annotations

from typing import Any, Callable


def script(obj: Any, *args: Any, **kwargs: Any) -> Any:
    return obj


def trace(func: Any, example_inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
    return func


def ignore(function: Callable | None = None, **kwargs: Any) -> Any:
    return function if function is not None else (lambda f: f)


unused = export = ignore


def is_scripting() -> bool:
    return False


def is_tracing() -> bool:
    return False


def save(module: Any, f: Any, *args: Any, **kwargs: Any) -> None:
    raise NotImplementedError("nnci has no TorchScript: save the weights with nnci.save(model.state_dict(), path)")


def load(f: Any, *args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("nnci has no TorchScript: load weights with model.load_state_dict(nnci.load(path))")
