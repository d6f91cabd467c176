"""Devices: nnci computes on the CPU. 'cpu' is accepted wherever torch takes a device; any other device is
refused with one clear error when something is to be placed on it (constructing torch.device('cuda') is fine
in torch too, using it is what fails without a GPU)."""
from __future__ import annotations

from typing import Any


class device:  # noqa: N801 - torch's name
    """A device description: nnci.device('cpu'), nnci.device('cuda', 0)."""

    __slots__ = ("type", "index")

    def __init__(self, kind: Any, index: int | None = None) -> None:
        if isinstance(kind, device):
            kind, index = kind.type, kind.index if index is None else index
        if isinstance(kind, int) and not isinstance(kind, bool):
            kind, index = "cuda", kind  # torch.device(0) means the first GPU
        if not isinstance(kind, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {kind!r}")
        name, _, number = kind.partition(":")
        if number:
            if index is not None:
                raise ValueError(f"device: {kind!r} already names an index; got index={index} as well")
            if not number.isdigit():
                raise ValueError(f"device: invalid device string {kind!r}")
            index = int(number)
        if not name.isidentifier():
            raise ValueError(f"device: invalid device string {kind!r}")
        self.type, self.index = name, index

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __enter__(self) -> "device":
        check_device(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


CPU = device("cpu")


def check_device(value: Any) -> device:
    """The CPU device for None, 'cpu' or device('cpu'); one clear error for anything else."""
    if value is None:
        return CPU
    place = value if isinstance(value, device) else device(value)
    if place.type != "cpu" or place.index not in (None, 0):
        raise RuntimeError(f"nnci runs on the CPU only: device '{place}' is not available "
                           "(use 'cpu'; nnci.cuda.is_available() is False)")
    return CPU
