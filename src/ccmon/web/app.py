"""The HTTP API and (later) the web UI, served on the UI/API port.

No `from __future__ import annotations` here: FastAPI evaluates the endpoint annotations, and the dependencies
they name are closures of `create_app`.
"""

import hmac
from collections.abc import Callable, Sequence
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ccmon import __version__
from ccmon.analytics import Analytics, InvalidRange, Scope, Summary, TimeRange


def create_app(
    analytics: Analytics,
    *,
    ready: Callable[[], bool],
    registry: CollectorRegistry,
    api_tokens: Sequence[str] = (),
) -> FastAPI:
    tokens = tuple(t.encode() for t in api_tokens)

    def authorize(request: Request) -> Scope:
        """The caller's scope; with API tokens configured, a valid bearer token is required."""
        if tokens:
            scheme, _, credential = (request.headers.get("authorization") or "").partition(" ")
            presented = credential.strip().encode()
            if scheme.lower() != "bearer" or not any([hmac.compare_digest(presented, t) for t in tokens]):
                raise HTTPException(401, "missing or invalid bearer token", {"WWW-Authenticate": "Bearer"})
        return Scope.everyone()

    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN, and ccmon must work offline.
    app = FastAPI(
        title="ccmon",
        version=__version__,
        summary="A self-hosted monitor for Claude Code.",
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(InvalidRange)
    async def invalid_range(_: Request, exc: InvalidRange) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """The store is open and migrated and the writer is running."""
        if ready():
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "starting"}, status_code=503)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        """ccmon's own metrics in Prometheus text format."""
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/v1/summary", tags=["analytics"])
    def get_summary(
        scope: Annotated[Scope, Depends(authorize)],
        start: Annotated[
            str | None, Query(alias="from", description="RFC 3339, UTC; default: 24 h before `to`")
        ] = None,
        end: Annotated[str | None, Query(alias="to", description="RFC 3339, UTC; default: now")] = None,
    ) -> Summary:
        """Cost, tokens, sessions, users, requests, output and decisions in [from, to)."""
        return analytics.summary(TimeRange.parse(start, end), scope)

    return app
