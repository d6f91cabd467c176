"""The one place where arrays are created and random numbers drawn.

Every op imports `xp` from here instead of numpy, so a GPU array library with NumPy's API
(CuPy) can be swapped in without touching the ops.
"""
from __future__ import annotations

import numpy as xp
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["xp", "sliding_window_view", "default_dtype", "generator", "manual_seed"]

default_dtype = xp.float32
_generator = xp.random.default_rng()


def generator() -> xp.random.Generator:
    """The global random generator behind randn, dropout and the default initialisation."""
    return _generator


def manual_seed(seed: int) -> None:
    """Reseed the global generator: the same seed gives the same draws."""
    global _generator
    _generator = xp.random.default_rng(seed)
