"""The `nnci` console command: imports nnci inside the guard, so that Ctrl-C while the library is still
loading ends with one line, like Ctrl-C at any later moment, instead of a traceback."""
import sys


def main() -> int:
    try:
        from nnci.cli import main as run
    except KeyboardInterrupt:
        print("nnci: interrupted", file=sys.stderr)
        return 130
    return run()


if __name__ == "__main__":
    sys.exit(main())
