"""Compiled kernels: the one place for compiled code, imported only by nnci.ops (and the optimizers).

Each kernel is written twice: a Numba-compiled loop (`parallel`, `cache=True`) and a NumPy reference twin that
reads like the formula. Which one runs is chosen once, at import, by NNCI_KERNELS:

    auto       the compiled kernels when Numba imports, else the references (the default)
    numba      the compiled kernels; an error if Numba is missing
    reference  the NumPy references only (no compilation; slower, same results within float rounding)

`compiled` says which it is. Ops that have a faster compiled strategy (Winograd convolution) use it only when
`compiled` is true; in reference mode they run their direct NumPy strategy.
"""
from __future__ import annotations

import os
from typing import Any, Callable

MODES = ("auto", "numba", "reference")
MODE = os.environ.get("NNCI_KERNELS", "auto").strip().lower() or "auto"
if MODE not in MODES:
    raise ValueError(f"NNCI_KERNELS={MODE!r}: expected one of {', '.join(MODES)}")

numba: Any = None
if MODE != "reference":
    try:
        import numba
    except ImportError:
        if MODE == "numba":
            raise ImportError("NNCI_KERNELS=numba but Numba is not installed: pip install numba, or set "
                              "NNCI_KERNELS=reference") from None
compiled = numba is not None
if compiled and "NUMBA_THREADING_LAYER" not in os.environ:
    # Kernels call single-threaded BLAS from their own threads; OpenBLAS warns on every call made inside an
    # OpenMP region, so the kernels' threads come from Numba's own pool instead.
    numba.config.THREADING_LAYER = "workqueue"


def jit(parallel: bool = False, **options: Any) -> Callable:
    """numba.njit with nnci's defaults (cached to disk, contracted multiply-adds, NumPy's error model: x / 0 is
    inf or nan as in the twins, not an exception, whose check keeps loops with a division from vectorising);
    without Numba the function stays Python and is never called on the hot path (its NumPy twin is)."""
    def decorate(function: Callable) -> Callable:
        if not compiled:
            return function
        options.setdefault("fastmath", {"contract"})
        options.setdefault("error_model", "numpy")
        return numba.njit(parallel=parallel, cache=True, nogil=True, **options)(function)
    return decorate


prange: Any = numba.prange if compiled else range  # parallel loops in compiled kernels, range in plain Python


def load_blas() -> None:
    """Load the BLAS that compiled kernels call. Numba's np.dot calls SciPy's BLAS, a library of its own beside
    NumPy's (another OpenBLAS, loaded on the first kernel call): thread limits set through threadpoolctl reach
    only the libraries loaded when they are set, so it is loaded before any."""
    if compiled:
        from numba.np.linalg import ensure_blas
        ensure_blas()


def set_threads(count: int) -> None:
    """Threads for the compiled kernels' parallel loops."""
    if compiled:
        numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))


_blas: Any = None


def single_threaded_blas() -> Any:
    """A context in which BLAS calls run on one thread, in every BLAS library loaded (the kernels' among them):
    the compiled kernels' own threads each call BLAS."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController
        load_blas()
        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


def choose(fast: Callable, reference: Callable, applies: Callable | None = None) -> Callable:
    """The compiled kernel when compiled kernels run (and `applies(*args)`, if given, is true), else its NumPy
    reference twin; looked up at each call, so that setting `compiled` to False at run time switches to the
    references."""
    def run(*args: Any, **kwargs: Any) -> Any:
        return (fast if compiled and (applies is None or applies(*args)) else reference)(*args, **kwargs)
    run.__doc__, run.__name__ = reference.__doc__, reference.__name__.replace("_reference", "")
    return run
