"""Exports are audited: every CSV download (`format=csv` on any analytics endpoint, from the UI, `ccmon report --csv`
or a script) leaves an `export` entry naming who took which rows, as seed 000's access-control section and
docs/security.md ask. JSON answers are the dashboard's own reading and are not logged one by one.
"""

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from ccmon.auth.audit import Audit
from ccmon.auth.principal import Principal
from ccmon.web.params import client_address

MAX_DETAIL = 2000
"""The query string is kept up to this many characters (filters, range, sort): what was exported, not a copy."""


def audit_exports(app: FastAPI, audit: Audit) -> None:
    """Record an `export` audit entry for each successful CSV answer of `app`."""

    @app.middleware("http")
    async def record_export(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if request.query_params.get("format") == "csv" and response.status_code == 200:
            # Set by the query dependency (`ccmon.web.params`) once the caller was authenticated.
            principal: Principal | None = getattr(request.state, "principal", None)
            actor = principal.name if principal else ""
            detail = request.url.query[:MAX_DETAIL]
            await run_in_threadpool(
                audit.record, actor, "export", request.url.path, "ok", client_address(request), detail
            )
        return response
