"""The one place where arrays come from, random numbers are drawn and threads are set.

Every op imports `xp` from here instead of numpy, so a GPU array library with NumPy's API (CuPy) can be
plugged in here without touching the ops; nnci ships none (device.py refuses every device but the CPU).
"""
from __future__ import annotations

import ctypes
import json
import os
import sys
from typing import Any

import numpy as xp
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["xp", "sliding_window_view", "Generator", "default_generator", "generator", "manual_seed",
           "keep_freed_memory", "set_num_threads", "get_num_threads", "ignore_floating_errors",
           "restore_floating_errors"]

# ----- floating-point errors: inf and NaN results, as torch gives them, without NumPy's RuntimeWarnings --------
try:  # NumPy 2 keeps its error state in a context variable; setting it costs a quarter of np.errstate
    from numpy._core._ufunc_config import _extobj_contextvar as _ERROR_STATE
    with xp.errstate(all="ignore"):
        _IGNORE = _ERROR_STATE.get()

    def ignore_floating_errors() -> Any:
        """Start ignoring floating-point errors; returns the token restore_floating_errors takes."""
        return _ERROR_STATE.set(_IGNORE)

    def restore_floating_errors(token: Any) -> None:
        _ERROR_STATE.reset(token)
except ImportError:  # pragma: no cover - another NumPy layout
    def ignore_floating_errors() -> Any:
        state = xp.errstate(all="ignore")
        state.__enter__()
        return state

    def restore_floating_errors(token: Any) -> None:
        token.__exit__(None, None, None)


DEFAULT_SEED = 67280421310721  # torch's default CPU seed: unseeded programs draw the same numbers every run


class Generator:
    """A seeded random stream, as torch.Generator: manual_seed(s) makes every later draw reproducible.

    nnci draws with NumPy's PCG64, so the numbers differ from torch's for the same seed; the same seed gives
    the same numbers in nnci every time.
    """

    def __init__(self, device: Any = "cpu") -> None:
        from .device import check_device
        self.device = check_device(device)
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        if seed < 0:
            seed += 1 << 64  # torch takes negative seeds modulo 2^64
        self._seed = seed
        self.numpy = xp.random.default_rng(seed)
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        seed = int.from_bytes(os.urandom(8), "little") >> 1
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Any:
        """The stream's state as a uint8 array (set_state takes it back)."""
        text = json.dumps({"seed": self._seed, "state": self.numpy.bit_generator.state})
        return xp.frombuffer(text.encode(), dtype=xp.uint8).copy()

    def set_state(self, state: Any) -> "Generator":
        array = xp.asarray(getattr(state, "_array", state), dtype=xp.uint8)
        saved = json.loads(array.tobytes().decode())
        self._seed = saved["seed"]
        self.numpy = xp.random.default_rng()
        self.numpy.bit_generator.state = saved["state"]
        return self

    def __repr__(self) -> str:
        return f"<nnci.Generator seed={self._seed}>"


default_generator = Generator()


def generator(source: Generator | None = None) -> Any:
    """The NumPy generator behind `source`, or behind the default generator (randn, dropout, initialisation)."""
    return (source or default_generator).numpy


def manual_seed(seed: int) -> Generator:
    """Reseed the default generator: the same seed gives the same draws (torch.manual_seed)."""
    return default_generator.manual_seed(seed)


_threads = {"count": None}


def set_num_threads(count: int) -> None:
    """Use `count` threads for BLAS (and nnci's compiled kernels), as torch.set_num_threads."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {count!r}")
    _threads["count"] = count
    from . import kernels
    kernels.set_threads(count)
    kernels.load_blas()  # the kernels' BLAS too, which loads on their first call otherwise and would keep all cores
    from threadpoolctl import threadpool_limits
    threadpool_limits(count, user_api="blas")


def get_num_threads() -> int:
    """The number of threads set by set_num_threads (else the machine's cores)."""
    return _threads["count"] or os.cpu_count() or 1


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed arrays for reuse instead of handing them back to the kernel.

    A training step frees its whole graph and allocates it again in the next step. By default glibc serves
    arrays above a (dynamic) threshold by mmap and trims the heap top whenever it is freed, so every step
    faults its activations in again, page by page: 66,000 page faults and ~0.16 s of system time per
    DnCNN-17 step (batch 16, 40x40), a fifth of its wall time. With arrays up to 1 GB served from the heap
    (32 MB, the documented maximum, where a glibc refuses more) and up to 1 GB of free heap kept, the faults
    are gone. Like the caching allocators of other frameworks, the process then keeps its peak memory until
    it exits. Importing nnci does not call it (a host process keeps its own malloc settings); the CLI and
    Trainer.fit do. Set NNCI_KEEP_FREED_MEMORY=0 to leave malloc as it is. Returns whether the setting took
    effect (glibc on Linux only).
    """
    global freed_memory_kept
    if os.environ.get("NNCI_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    served_from_heap = mallopt(_M_MMAP_THRESHOLD, 1 << 30) or mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    freed_memory_kept = freed_memory_kept or (bool(served_from_heap) and bool(mallopt(_M_TRIM_THRESHOLD, 1 << 30)))
    return freed_memory_kept


freed_memory_kept = False  # set by keep_freed_memory(): an explicit call (the CLI and Trainer.fit make it)
