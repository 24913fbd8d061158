"""The web UI: one HTML shell for every page path, the scripts and styles it loads, and what the pages ask the server.

The UI is a set of ES modules under `static/`, with no build step and nothing fetched from elsewhere, so it works
offline. Every page is a real path (`/cost`, `/people/<key>`, ...) answering the same shell; the page's script reads
the path and the query string (time range and filters), so any view can be bookmarked or shared as a link.
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccmon import __version__
from ccmon.settings import Config

STATIC = Path(str(files("ccmon.web") / "static"))

PAGES = (
    "/",
    "/cost",
    "/engineering",
    "/adoption",
    "/people",
    "/sessions",
    "/events",
    "/alerts",
    "/budgets",
    "/history",
    "/connect",
    "/access",
)
"""Page paths answered with the shell; `/people/<key>`, `/sessions/<id>` and `/access/<section>` too."""

ACCESS_SECTIONS = ("users", "api-keys", "ingest-tokens", "directory", "audit")
"""The Access pages' tabs (`static/js/pages/access.js`): admin-only in what they show, since every request they
make is an admin endpoint; the shell itself is public like every page's."""

# Telemetry text (prompts, errors, tool input) is rendered as text by the scripts; the policy is the second line of
# defence: no inline script or style, nothing loaded from another origin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


class LoadingStatus(BaseModel):
    """A load of data into this server that it started itself (`serve --demo`), while it runs and after it ended."""

    kind: Literal["demo"]
    state: Literal["running", "done", "failed"]
    done: int
    """Events and data points acknowledged (stored) so far."""
    total: int | None
    """Events and data points to send, once known."""
    started: datetime
    finished: datetime | None = None
    error: str | None = None


class ServerInfo(BaseModel):
    """What the UI needs to know about this server: where Claude Code should send its telemetry, and the budget."""

    version: str
    otlp_host: str | None
    """The address clients should use, or null when the server listens on every address (the UI then uses its own)."""
    otlp_grpc_port: int
    otlp_http_port: int
    ingest_token_required: bool
    api_token_required: bool
    monthly_budget_usd: float | None
    parallel_requests: int
    """How many API requests the dashboard sends at once. The embedded store gives a large query every core, so
    many at once only share them; but most answers are now small reads of the rollups that wait on the engine
    more than they compute, and two at a time completed the executive page over 100M events in 625 ms instead of
    736 (docs/performance.md). A ClickHouse server hides network waits behind a few at a time."""
    demo_domain: str
    """The email domain of the demo organisation's people (`ccmon demo`, `serve --demo`): their data is not real."""
    has_data: bool = False
    """Whether any telemetry has arrived (answered per request)."""
    loading: LoadingStatus | None = None
    """The demo load this process started, if any (answered per request): while it runs, numbers still grow."""

    @classmethod
    def from_config(cls, config: Config, *, demo_domain: str) -> ServerInfo:
        wildcard = config.host in {"0.0.0.0", "::", "[::]"}
        return cls(
            version=__version__,
            otlp_host=None if wildcard else config.host,
            otlp_grpc_port=config.otlp_grpc_port,
            otlp_http_port=config.otlp_http_port,
            ingest_token_required=bool(config.ingest_tokens),
            api_token_required=bool(config.api_tokens),
            monthly_budget_usd=config.monthly_budget_usd,
            parallel_requests=2 if config.clickhouse_url is None else 4,
            demo_domain=demo_domain,
        )


def _shell() -> HTMLResponse:
    # Read per request: a few kB, and an edited shell shows on reload during development.
    return HTMLResponse((STATIC / "index.html").read_text(), headers=SECURITY_HEADERS)


async def not_found(request: Request, exc: Exception) -> Response:
    """404s that say what to do: a browser gets the shell (its "Page not found" page, with the navigation), anything
    else a JSON detail naming the path. Other HTTP errors are FastAPI's."""
    if not isinstance(exc, StarletteHTTPException) or exc.status_code != 404:
        return await http_exception_handler(request, exc)  # type: ignore[arg-type]
    path = request.url.path
    is_page = not path.startswith(("/api/", "/static/")) and request.method in {"GET", "HEAD"}
    if is_page and "text/html" in request.headers.get("accept", ""):
        page = _shell()
        page.status_code = 404
        return page
    detail = exc.detail
    if detail == "Not Found":  # Starlette's own: no route matched
        detail = f"Not Found: {path} is neither a page nor an API path (the API is /api/v1, described at /openapi.json)"
    return JSONResponse({"detail": detail}, status_code=404, headers=getattr(exc, "headers", None))


def ui_routes() -> APIRouter:
    """The page paths, each answering the shell (hidden from the OpenAPI document: they are not API)."""
    router = APIRouter(include_in_schema=False)
    sections = tuple(f"/access/{section}" for section in ACCESS_SECTIONS)
    for path in (*PAGES, *sections, "/people/{key:path}", "/sessions/{session_id:path}"):
        router.add_api_route(path, _shell, methods=["GET", "HEAD"], response_class=HTMLResponse)
    return router


class StaticAssets:
    """The scripts and styles, revalidated on every load (`no-cache` + ETag) so an upgrade is never half-applied."""

    def __init__(self) -> None:
        self._files: ASGIApp = StaticFiles(directory=STATIC)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"cache-control", b"no-cache"))
                headers.extend((k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items())
                message = {**message, "headers": headers}
            await send(message)

        await self._files(scope, receive, send_with_headers)
