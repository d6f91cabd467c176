"""The one place nnci draws with matplotlib: a headless pyplot and atomic PNG writes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .io import atomic_write

DPI = 110


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig: Any, path: str | Path) -> Path:
    """Write a matplotlib figure as PNG atomically and close it."""
    atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=DPI))
    pyplot().close(fig)
    return Path(path)
