"""repr(tensor) in torch's layout: `tensor([[1., 2.], [3., 4.]], grad_fn=<MulBackward0>)`.

Floating values share one format per tensor: whole numbers as `1.`, otherwise 4 decimals, or scientific
notation when the nonzero magnitudes span more than 1000x or leave [1e-4, 1e8]; long tensors are
summarised with `...` (torch's print options, settable with set_printoptions).
"""
from __future__ import annotations

import math
from typing import Any

from . import dtypes
from .backend import xp

OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
             "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80)}


def set_printoptions(precision: int | None = None, threshold: float | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None, sci_mode: bool | None = None) -> None:
    """torch.set_printoptions: digits, summarising threshold, edge items, line width, scientific notation."""
    if profile is not None:
        OPTIONS.update(_PROFILES[profile])
    for key, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                       ("linewidth", linewidth)):
        if value is not None:
            OPTIONS[key] = value
    OPTIONS["sci_mode"] = sci_mode


class _Formatter:
    """One width and one notation for every element of a tensor."""

    def __init__(self, values: Any) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        precision = OPTIONS["precision"]
        if not self.floating:
            self.width = max((len(self._plain(v)) for v in values.reshape(-1).tolist()), default=1)
            return
        finite = values[xp.isfinite(values) & (values != 0)].astype(xp.float64)
        if finite.size:
            magnitude = xp.abs(finite)
            low, high = float(magnitude.min()), float(magnitude.max())
            self.int_mode = bool(xp.all(finite == xp.ceil(finite)))
            if self.int_mode:
                self.sci_mode = high / low > 1000 or high > 1e8
                strings = [f"{v:.{precision}e}" if self.sci_mode else f"{v:.0f}." for v in finite.tolist()]
            else:
                self.sci_mode = high / low > 1000 or high > 1e8 or low < 1e-4
                strings = [f"{v:.{precision}e}" if self.sci_mode else f"{v:.{precision}f}" for v in finite.tolist()]
            self.width = max(len(s) for s in strings)
        if OPTIONS["sci_mode"] is not None:
            self.sci_mode = OPTIONS["sci_mode"]

    @staticmethod
    def _plain(value: Any) -> str:
        return str(value)

    def format(self, value: Any) -> str:
        precision = OPTIONS["precision"]
        if not self.floating:
            text = self._plain(value)
        elif self.sci_mode:
            text = f"{value:.{precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{precision}f}"
        return " " * (self.width - len(text)) + text


def _summarised(values: Any, edge: int) -> Any:
    """The values that a summarised print shows (for choosing the format)."""
    if values.ndim == 0:
        return values
    if values.shape[0] > 2 * edge:
        values = xp.concatenate([values[:edge], values[-edge:]])
    return xp.stack([_summarised(v, edge) for v in values]) if values.ndim > 1 else values


def _body(values: Any, indent: int, summarise: bool, formatter: _Formatter) -> str:
    edge, width = OPTIONS["edgeitems"], OPTIONS["linewidth"]
    if values.ndim == 0:
        return formatter.format(values.item())
    if values.ndim == 1:
        items = values.tolist()
        if summarise and len(items) > 2 * edge:
            texts = [formatter.format(v) for v in items[:edge]] + [" ..."] + [formatter.format(v) for v in items[-edge:]]
        else:
            texts = [formatter.format(v) for v in items]
        per_line = max(1, int(math.floor((width - indent) / (formatter.width + 2))))
        lines = [", ".join(texts[i:i + per_line]) for i in range(0, len(texts), per_line)]
        return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"
    count = values.shape[0]
    if summarise and count > 2 * edge:
        parts = ([_body(values[i], indent + 1, summarise, formatter) for i in range(edge)] + ["..."]
                 + [_body(values[i], indent + 1, summarise, formatter) for i in range(count - edge, count)])
    else:
        parts = [_body(values[i], indent + 1, summarise, formatter) for i in range(count)]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    width = OPTIONS["linewidth"]
    pieces, last = [text], len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > width:
            pieces.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            last += len(suffix) + 2
    pieces.append(")")
    return "".join(pieces)


def tensor_repr(tensor: Any, prefix: str = "tensor(") -> str:
    """repr of a Tensor, as torch prints it."""
    values, indent, suffixes = tensor._array, len(prefix), []
    plain = (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool)
    if values.size == 0:
        if values.ndim != 1:
            suffixes.append(f"size={tuple(values.shape)}")
        if tensor.dtype != dtypes.get_default_dtype():
            suffixes.append(f"dtype={tensor.dtype}")
        body = "[]"
    else:
        if tensor.dtype not in plain:
            suffixes.append(f"dtype={tensor.dtype}")
        summarise = values.size > OPTIONS["threshold"]
        shown = _summarised(values, OPTIONS["edgeitems"]) if summarise else values
        body = _body(values, indent, summarise, _Formatter(shown))
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name()}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
