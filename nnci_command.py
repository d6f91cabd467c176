"""The `nnci` console command: imports nnci inside the guard, so that Ctrl-C while the library is still
loading ends with one line, like Ctrl-C at any later moment, instead of a traceback."""
import signal
import sys

RESEND_S = 0.05


def _interrupt(signum: int, frame) -> None:
    """Ctrl-C as KeyboardInterrupt, except inside the JIT compiler's C callbacks (Numba compiling a kernel on
    its first use), where Python would print the exception as ignored and lose it: there it comes back
    RESEND_S later, until it lands in ordinary Python code."""
    while frame is not None:
        if "llvmlite" in frame.f_code.co_filename:
            signal.setitimer(signal.ITIMER_REAL, RESEND_S)
            return
        frame = frame.f_back
    raise KeyboardInterrupt


def main() -> int:
    if hasattr(signal, "setitimer"):
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGALRM, _interrupt)
    try:
        from nnci.cli import main as run
    except KeyboardInterrupt:
        print("nnci: interrupted", file=sys.stderr)
        return 130
    return run()


if __name__ == "__main__":
    sys.exit(main())
