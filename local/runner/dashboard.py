"""The admin dashboard on the emulator's port: the built app (clients/dashboard/dist, from
`make dashboard`) at `/`, and `/config.json` with this stack's own URLs, so the page, the
WebSocket and the REST API share one origin (no CORS locally).

Deployed, CloudFront serves the same files with the same cache rules (infra/): the entry
page and config.json are never cached, the content-hashed files under assets/ are cached
forever. The token never reaches these routes: it travels in the URL fragment, which
browsers do not send.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from local.emulated import access_log
from local.emulated.gateway_requests import now_ms

REPO = Path(__file__).resolve().parents[2]  # the repository root
DEFAULT_DIST = REPO / "clients" / "dashboard" / "dist"
# Another build to serve (a test's, a branch's): read on every request.
DIST_ENVIRONMENT_VARIABLE = "LOCAL_DASHBOARD_DIR"

NOT_CACHED = "no-store"
# Vite names every file under assets/ after a hash of its content: a new build, new names.
IMMUTABLE = "public, max-age=31536000, immutable"
# Other files of the build's root (the favicon): cached, but revalidated every time.
REVALIDATE = "no-cache"

_METHODS = ["GET", "HEAD"]

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dashboard not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The dashboard is not built</h1>
<p>The local stack serves the admin dashboard from <code>{dist}</code>, which has no
<code>index.html</code>. Build it, then reload this page:</p>
<pre>make dashboard</pre>
<p>(or <code>npm run build -w @realtime-hub/dashboard</code>; <code>make dev</code> builds it
too). The WebSocket and REST APIs work meanwhile.</p>
</body></html>
"""


class DashboardSite:
    """The routes: `/`, `/index.html`, `/config.json`, `/assets/…` and the build's other
    top-level files. They add nothing under the paths of the emulator's other routes."""

    def __init__(self, config: Mapping[str, Any], dist: Path | None = None) -> None:
        self._config = json.loads(json.dumps(config))  # a copy, and proof it is JSON
        self._dist = dist

    @property
    def dist(self) -> Path:
        if self._dist is not None:
            return self._dist
        configured = os.environ.get(DIST_ENVIRONMENT_VARIABLE)
        return Path(configured) if configured else DEFAULT_DIST

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", _logged(self._index), methods=_METHODS),
            Route("/index.html", _logged(self._index), methods=_METHODS),
            Route("/config.json", _logged(self._config_json), methods=_METHODS),
            Route("/assets/{path:path}", _logged(self._asset), methods=_METHODS),
            Route("/{name}", _logged(self._top_level_file), methods=_METHODS),
        ]

    async def _index(self, request: Request) -> Response:
        index = self.dist / "index.html"
        if not index.is_file():
            page = NOT_BUILT_PAGE.format(dist=_display(self.dist))
            return HTMLResponse(page, status_code=503, headers=_headers(NOT_CACHED))
        return _file(index, _page_headers(self._config), media_type="text/html; charset=utf-8")

    async def _config_json(self, request: Request) -> Response:
        return JSONResponse(self._config, headers=_headers(NOT_CACHED))

    async def _asset(self, request: Request) -> Response:
        file = _inside(self.dist / "assets", request.path_params["path"])
        if file is None:
            return _not_found()
        return _file(file, _headers(IMMUTABLE))

    async def _top_level_file(self, request: Request) -> Response:
        file = _inside(self.dist, request.path_params["name"])
        if file is None or file.name == "index.html":
            return _not_found()
        return _file(file, _headers(REVALIDATE))


Handler = Callable[[Request], Awaitable[Response]]


def _logged(handler: Handler) -> Handler:
    """An access line per request, like the other routes' (the path only, never the query)."""

    async def logging_handler(request: Request) -> Response:
        started = now_ms()
        response = await handler(request)
        access_log.http(
            request.client.host if request.client else "127.0.0.1",
            request.method,
            request.url.path,
            response.status_code,
            int(response.headers.get("content-length", 0)),
            "-",
            started,
        )
        return response

    return logging_handler


def _file(path: Path, headers: dict[str, str], media_type: str | None = None) -> FileResponse:
    # With the stat given, the length, ETag and Last-Modified headers are set at once.
    return FileResponse(path, headers=headers, media_type=media_type, stat_result=os.stat(path))


def _inside(root: Path, relative: str) -> Path | None:
    """The file `relative` names under `root`; None for anything else (a directory, a
    dotfile, a path that leaves `root`)."""
    if not relative or any(part.startswith(".") or part == "" for part in relative.split("/")):
        return None
    try:
        base = root.resolve(strict=True)
        file = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not file.is_relative_to(base) or not file.is_file():
        return None
    return file


def _headers(cache_control: str) -> dict[str, str]:
    return {
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def _page_headers(config: Mapping[str, Any]) -> dict[str, str]:
    """The entry page's headers: as deployed, a policy that lets the page load its own
    files and talk to exactly this stack's WebSocket and REST origins, in no frame."""
    origins = sorted({_origin(str(config.get(key, ""))) for key in ("wsUrl", "restUrl")} - {""})
    connect = " ".join(["'self'", *origins])
    policy = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src {connect}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ]
    )
    return {**_headers(NOT_CACHED), "Content-Security-Policy": policy, "X-Frame-Options": "DENY"}


def _origin(url: str) -> str:
    scheme, separator, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if separator and rest else ""


def _not_found() -> Response:
    return JSONResponse({"code": "NotFound", "message": "no such file"}, status_code=404, headers=_headers(NOT_CACHED))


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)
