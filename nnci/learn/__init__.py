"""nnci learn: the course chapter's interactive figures in the browser, every number computed live by nnci.

A small ASGI app (Starlette, served by uvicorn on 127.0.0.1 only): each page is a list of controls and a
compute function in nnci.learn.pages; the browser draws the panels the function returns and keeps the
controls' values in the URL, so a link reproduces a view. Needs the [learn] extra.
"""
from __future__ import annotations

INSTALL = "pip install 'nnci[learn]'"


def missing_extra() -> str | None:
    """None when the web app's libraries are installed, else the sentence that says how to install them."""
    import importlib.util
    missing = [name for name in ("starlette", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        return f"nnci learn needs {' and '.join(missing)}: {INSTALL}"
    return None
