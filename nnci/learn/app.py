"""The web app of `nnci learn`: pages, their JSON API and the static files, on loopback only.

GET /                  the table of contents          GET /api/SLUG?control=value...   the panels, as JSON
GET /SLUG              one page of the course         GET /api/SLUG/stream?...         panels as they change (NDJSON)
POST /api/SLUG/upload  an image file (body), -> {"token", "note"}
A bad value is answered 400 with {"error": "<control>: expected ..."}; a bug 500 with its one-line message; the
server keeps running either way.
"""
from __future__ import annotations

import html
import json
import socket
import threading
import traceback
from importlib import resources
from typing import Any, Iterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..tasks.options import UserError
from .pages import PAGES
from .pages.applications import store_upload

HOST = "127.0.0.1"
_compute_lock = threading.Lock()  # nnci's grad mode and seeds are process-wide: one computation at a time


def _static_dir() -> str:
    return str(resources.files("nnci.learn").joinpath("static"))


def _json_for_script(value: Any) -> str:
    """JSON that is safe inside <script type="application/json">."""
    return json.dumps(value).replace("</", "<\\/")


def render_page(slug: str | None) -> str:
    """The HTML of one page (None: the table of contents): the template with the page's spec and the nav."""
    template = (resources.files("nnci.learn").joinpath("static", "page.html")).read_text(encoding="utf-8")
    nav = [{"slug": page.slug, "title": page.title, "section": page.section} for page in PAGES.values()]
    spec = PAGES[slug].spec() if slug else None
    title = PAGES[slug].title if slug else "Neural networks for computational imaging, live"
    return (template.replace("{{title}}", html.escape(title))
            .replace("{{spec}}", _json_for_script(spec)).replace("{{nav}}", _json_for_script(nav)))


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _failure(error: Exception) -> JSONResponse:
    if isinstance(error, UserError):
        return _error(400, str(error))
    if isinstance(error, MemoryError):
        return _error(500, "out of memory: choose smaller sizes")
    traceback.print_exc()
    return _error(500, f"internal error: {type(error).__name__}: {error}")


async def index(request: Request) -> Response:
    return HTMLResponse(render_page(None))


async def page(request: Request) -> Response:
    slug = request.path_params["slug"]
    if slug not in PAGES:
        return HTMLResponse(f"<p>No page {html.escape(slug)!s}. <a href='/'>All pages</a></p>", status_code=404)
    return HTMLResponse(render_page(slug))


def _compute(slug: str, query: dict) -> dict:
    page = PAGES[slug]
    values = page.read(query)
    with _compute_lock:
        return page.compute(values)


async def api(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool
    slug = request.path_params["slug"]
    if slug not in PAGES:
        return _error(404, f"no page {slug!r}; pages: {', '.join(PAGES)}")
    if PAGES[slug].stream:
        return _error(400, f"{slug} streams its panels: GET /api/{slug}/stream")
    try:
        return JSONResponse(await run_in_threadpool(_compute, slug, dict(request.query_params)))
    except Exception as error:  # noqa: BLE001 - every failure becomes a message on the page
        return _failure(error)


def _lines(page, values: dict) -> Iterator[bytes]:
    with _compute_lock:
        try:
            for update in page.compute(values):
                yield (json.dumps(update) + "\n").encode()
        except Exception as error:  # noqa: BLE001 - reported in the stream, the page shows it
            response = _failure(error)
            yield response.body + b"\n"


async def stream(request: Request) -> Response:
    slug = request.path_params["slug"]
    if slug not in PAGES or not PAGES[slug].stream:
        return _error(404, f"no streaming page {slug!r}")
    try:
        values = PAGES[slug].read(dict(request.query_params))
    except UserError as error:
        return _error(400, str(error))
    return StreamingResponse(_lines(PAGES[slug], values), media_type="application/x-ndjson")


async def upload(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool
    slug = request.path_params["slug"]
    if slug not in PAGES or not PAGES[slug].upload:
        return _error(404, f"page {slug!r} takes no upload")
    data = await request.body()
    name = request.headers.get("x-filename", "upload")[:200]
    try:
        return JSONResponse(await run_in_threadpool(store_upload, data, name))
    except Exception as error:  # noqa: BLE001
        return _failure(error)


def create_app() -> Starlette:
    """The app; only requests addressed to this machine's loopback names are served (no DNS rebinding)."""
    return Starlette(routes=[
        Route("/", index), Route("/favicon.ico", lambda request: Response(status_code=204)), Route("/api/{slug}", api), Route("/api/{slug}/stream", stream),
        Route("/api/{slug}/upload", upload, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=_static_dir()), name="static"),
        Route("/{slug}", page),
    ], middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"])])


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:port (0: any free port); UserError when the port is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError as error:
        sock.close()
        raise UserError(f"--port {port}: cannot listen on {HOST}:{port} ({error.strerror}); choose another port, "
                        "or 0 for any free one") from None
    sock.listen(128)
    return sock


def make_server(quiet: bool = False) -> Any:
    """A uvicorn server of the app; run it with .run(sockets=[bind(port)]), stop it with .should_exit = True."""
    import uvicorn
    return uvicorn.Server(uvicorn.Config(create_app(), log_level="warning" if quiet else "info", access_log=False))


def serve(sock: socket.socket, quiet: bool = False) -> None:
    """Serve the app on a bound socket until interrupted."""
    make_server(quiet).run(sockets=[sock])
