"""Run a PyTorch program on nnci without editing it: `import torch` (and torch.nn, torch.utils.data, ...) imports
nnci's modules.

    python -m nnci.as_torch script.py [arguments]

or, from Python, `nnci.as_torch.install()` before the program imports torch. Each torch module name maps to the
nnci module of the same path (torch.nn.functional -> nnci.nn.functional), the very same module objects, so
`isinstance(layer, torch.nn.Module)` holds for nnci's layers. A torch module nnci does not have fails to import
with a message naming it.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import runpy
import sys
from typing import Any, Sequence


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: Any) -> Any:
        try:
            return importlib.import_module(self.target)
        except ModuleNotFoundError:
            raise ModuleNotFoundError(f"No module named '{spec.name}': nnci has no {self.target} (running a PyTorch "
                                      "program on nnci)", name=spec.name) from None

    def exec_module(self, module: Any) -> None:
        return None


class _TorchFinder(importlib.abc.MetaPathFinder):
    """Finds torch and torch.* as nnci and nnci.*."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        alias = "nnci" + fullname[len("torch"):]
        return importlib.machinery.ModuleSpec(fullname, _Alias(alias), is_package=True)


_FINDER = _TorchFinder()


def install() -> None:
    """From now on, `import torch` in this process imports nnci."""
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        del sys.modules[name]
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    """Undo install(): torch imports torch again (modules imported meanwhile are forgotten)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        del sys.modules[name]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[0])
        print("usage: python -m nnci.as_torch script.py [arguments]")
        return 0 if args else 2
    install()
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
