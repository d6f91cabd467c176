"""The named tuples that ops with several results return (torch.return_types): values, indices, ..."""
from __future__ import annotations

from collections import namedtuple
from typing import Any


def return_type(name: str, fields: list[str]) -> type:
    """A named tuple class printed as torch prints its return types."""
    base = namedtuple(name, fields)

    def __repr__(self: Any) -> str:
        inner = ",\n".join(f"{field}={value!r}" for field, value in zip(self._fields, self))
        return f"nnci.return_types.{name}(\n{inner})"

    return type(name, (base,), {"__repr__": __repr__, "__slots__": (), "__module__": __name__})


max = return_type("max", ["values", "indices"])  # noqa: A001 - torch's names
min = return_type("min", ["values", "indices"])  # noqa: A001
sort = return_type("sort", ["values", "indices"])
topk = return_type("topk", ["values", "indices"])
kthvalue = return_type("kthvalue", ["values", "indices"])
median = return_type("median", ["values", "indices"])
mode = return_type("mode", ["values", "indices"])
nanmedian = return_type("nanmedian", ["values", "indices"])
cummax = return_type("cummax", ["values", "indices"])
cummin = return_type("cummin", ["values", "indices"])
histogram = return_type("histogram", ["hist", "bin_edges"])
aminmax = return_type("aminmax", ["min", "max"])
slogdet = return_type("slogdet", ["sign", "logabsdet"])
linalg_slogdet = return_type("linalg_slogdet", ["sign", "logabsdet"])
eigh = return_type("eigh", ["eigenvalues", "eigenvectors"])
svd = return_type("svd", ["U", "S", "Vh"])
qr = return_type("qr", ["Q", "R"])
lstsq = return_type("lstsq", ["solution", "residuals", "rank", "singular_values"])
