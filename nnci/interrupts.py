"""Ctrl-C in nnci's commands: a KeyboardInterrupt, also while Numba compiles a kernel.

Numba compiles a kernel on its first use after an install (seconds). A Ctrl-C then runs Python's handler inside
llvmlite's ctypes callbacks, where the KeyboardInterrupt is printed as an ignored exception and lost, and the
command runs on. `handler` sends the signal again RESEND_S later there, until it lands in ordinary Python code.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

RESEND_S = 0.05


def handler(signum: int, frame: Any) -> None:
    """SIGINT as KeyboardInterrupt, except inside llvmlite's callbacks: there, once more RESEND_S later."""
    while frame is not None:
        if "llvmlite" in frame.f_code.co_filename:
            signal.setitimer(signal.ITIMER_REAL, RESEND_S)
            return
        frame = frame.f_back
    raise KeyboardInterrupt


def _resend(signum: int, frame: Any) -> None:
    signal.raise_signal(signal.SIGINT)  # through whichever SIGINT handler holds now (the Trainer's defers it)


def is_default(current: Any) -> bool:
    """Whether `current` is Python's own SIGINT handler or nnci's `handler`: the ones nnci may replace for a while."""
    return current is signal.default_int_handler or current is handler


@contextmanager
def guarded() -> Iterator[None]:
    """`handler` takes SIGINT inside the block (main thread, over Python's default only); restored after."""
    if not (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
        yield
        return
    previous_alarm = signal.signal(signal.SIGALRM, _resend)
    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGALRM, previous_alarm)
