"""Containers: Sequential, ModuleList, ModuleDict, and the trivial Identity and Flatten."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator

from ..ops.shape import flatten
from ..tensor import Tensor, is_grad_enabled
from . import fused
from .module import Module


class Sequential(Module):
    """y = f_n(...f_2(f_1(x)))"""

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def forward(self, x: Any) -> Any:
        items = list(self._modules.items())
        modules = [module for _, module in items]
        fuse = not self.training and not is_grad_enabled()
        i = 0
        while i < len(items):
            name, module = items[i]
            try:
                if fuse and isinstance(x, Tensor) and x.ndim == 4:
                    units, used = fused.grid_chain_at(modules, i, x.shape[1])
                    if len(units) >= 2:  # a run of same-padding convolutions stays in the grid layout
                        x = Tensor(fused.grid_chain(units, x.data))
                        i += used
                        continue
                    following = modules[i + 1] if i + 1 < len(modules) else None
                    if fused.foldable(module, following):
                        x, used = fused.conv_bn_relu(module, following, modules[i + 2] if i + 2 < len(modules) else None,
                                                     x)
                        i += used
                        continue
                x = module(x)
            except ValueError as error:
                raise ValueError(f"in layer ({name}) {type(module).__name__}: {error}") from None
            i += 1
        return x

    def __getitem__(self, index: Any) -> Any:
        items = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*items[index])
        return items[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class ModuleDict(Module):
    """A dict of modules whose parameters are registered."""

    def __init__(self, modules: dict | None = None) -> None:
        super().__init__()
        for name, module in (modules or {}).items():
            self.add_module(name, module)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self) -> Any:
        return self._modules.keys()

    def values(self) -> Any:
        return self._modules.values()

    def items(self) -> Any:
        return self._modules.items()


class Identity(Module):
    """y = x"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """y = x with dims start_dim..end_dim merged"""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
