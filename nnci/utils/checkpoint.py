"""torch.utils.checkpoint: recomputation to save memory. nnci keeps the activations instead, so checkpoint(f, x)
is f(x): the same values and gradients, without the memory saving."""
from __future__ import annotations

from typing import Any, Callable


def checkpoint(function: Callable, *args: Any, use_reentrant: Any = None, context_fn: Any = None,
               determinism_check: Any = None, debug: Any = None, preserve_rng_state: bool = True,
               **kwargs: Any) -> Any:
    """function(*args, **kwargs), with its activations kept for backward."""
    return function(*args, **kwargs)


def checkpoint_sequential(functions: Any, segments: int, input: Any, use_reentrant: Any = None,  # noqa: A002
                          **kwargs: Any) -> Any:
    """Run the modules of a Sequential (or list) one after another on input."""
    modules = list(functions.children()) if hasattr(functions, "children") else list(functions)
    for module in modules:
        input = module(input)
    return input
