"""Panels: the JSON a page's compute function returns and the browser draws, kind by kind.

Every number in a panel was computed by nnci; the browser only lays it out. Arrays become lists of
floats (non-finite values become null, which JSON can carry)."""
from __future__ import annotations

import base64
import io
import math
from typing import Any, Sequence

from ..backend import xp


def numbers(values: Any) -> Any:
    """Nested lists of floats, None for nan and inf (a Tensor, an array or a scalar)."""
    if hasattr(values, "detach"):
        values = values.detach().numpy()
    array = xp.asarray(values, dtype=xp.float64)
    if array.ndim == 0:
        value = float(array)
        return value if math.isfinite(value) else None
    return [numbers(row) for row in array] if array.ndim > 1 else \
        [float(v) if math.isfinite(v) else None for v in array.tolist()]


def series(name: str, x: Any, y: Any, style: str = "line") -> dict:
    """One curve (style 'line', 'dashed' or 'points') of a plot."""
    return {"name": name, "x": numbers(x), "y": numbers(y), "style": style}


def plot(title: str, curves: Sequence[dict], xlabel: str = "x", ylabel: str = "", marks: Sequence[dict] = (),
         ylim: tuple[float, float] | None = None, id: str = "plot") -> dict:  # noqa: A002
    """A line plot; marks are vertical lines {x, label} (a step's position, say)."""
    return {"kind": "plot", "id": id, "title": title, "xlabel": xlabel, "ylabel": ylabel, "series": list(curves),
            "marks": list(marks), "ylim": None if ylim is None else [float(ylim[0]), float(ylim[1])]}


def grid(title: str, values: Any, id: str, highlight: Sequence[int] | None = None,  # noqa: A002
         hidden: Any = None) -> dict:
    """A matrix of numbers; highlight = [row, col, height, width] outlines a window; hidden cells (a bool
    mask) are drawn empty, as outputs not computed yet."""
    cells = numbers(values)
    if hidden is not None:
        cells = [[None if hide else value for value, hide in zip(row, mask_row)]
                 for row, mask_row in zip(cells, xp.asarray(hidden).tolist())]
    return {"kind": "grid", "id": id, "title": title, "values": cells,
            "highlight": None if highlight is None else [int(v) for v in highlight]}


def grids(*items: dict) -> dict:
    """Grids side by side."""
    return {"kind": "grids", "items": list(items)}


def readout(id: str, label: str, value: Any, unit: str = "") -> dict:  # noqa: A002
    """One named number the page prints (and tests read)."""
    return {"id": id, "label": label, "value": numbers(value), "unit": unit}


def readouts(*items: dict) -> dict:
    return {"kind": "readouts", "items": list(items)}


def png(image: Any) -> str:
    """A data: URL of an (H, W) or (H, W, 3) image in [0, 1], as 8-bit PNG."""
    from PIL import Image
    array = xp.clip(xp.asarray(image, dtype=xp.float64), 0, 1)
    buffer = io.BytesIO()
    Image.fromarray(xp.round(array * 255).astype(xp.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def images(*items: tuple[str, str, Any]) -> dict:
    """Pictures side by side: (id, caption, image in [0, 1])."""
    return {"kind": "images", "items": [{"id": id_, "title": title, "src": png(image)} for id_, title, image in items]}


def graph(nodes: Sequence[dict], edges: Sequence[tuple[str, str]]) -> dict:
    """A computation graph drawn left to right: nodes {id, label, value, grad}, edges (from, to)."""
    return {"kind": "graph", "nodes": list(nodes), "edges": [list(edge) for edge in edges]}


def note(text: str, id: str = "note") -> dict:  # noqa: A002
    return {"kind": "note", "id": id, "text": text}
