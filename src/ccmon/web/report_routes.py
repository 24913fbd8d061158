"""The weekly report over HTTP: `GET /api/v1/reports/weekly?week=2026-W47&format=json|markdown|html|slack`.

Within the caller's scope and filters, like every analytics answer: a team lead gets their teams' report, and a role
that sees totals only gets no recommendation naming sessions or people. `ccmon report weekly --url` reads the JSON
and renders it itself, so the CLI and the server cannot format the same report differently.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi import Query as Param
from starlette.concurrency import run_in_threadpool

from ccmon.analytics import Analytics, Query
from ccmon.reports.render import markdown, slack, to_html
from ccmon.reports.report import WeeklyReport, build_report
from ccmon.reports.weekly import Week, WeekError
from ccmon.web.params import Authenticate, QueryDependencies, reject_unknown_parameters

MEDIA = {"markdown": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}


def report_routes(analytics: Analytics, authorize: Authenticate) -> APIRouter:
    router = APIRouter(dependencies=[Depends(reject_unknown_parameters)])
    queries = QueryDependencies(authorize)

    @router.get("/reports/weekly", tags=["analytics"], response_model=WeeklyReport)
    async def get_weekly(
        query: Annotated[Query, Depends(queries.filtered)],
        week: Annotated[
            str | None,
            Param(max_length=40, description="ISO week (2026-W47) or a date in it; default: the last complete week"),
        ] = None,
        fmt: Annotated[Literal["json", "markdown", "html", "slack"], Param(alias="format")] = "json",
    ) -> object:
        """Seed 000's weekly report: the week's figures against the week before, top teams, models and tools, the
        API error rate, and recommendations with their evidence and a dollar estimate (docs/reports.md)."""
        try:
            chosen = Week.parse(week) if week else Week.last_complete(datetime.now(UTC))
        except WeekError as exc:
            raise HTTPException(422, str(exc)) from None
        report = await run_in_threadpool(build_report, analytics, chosen, query.scope, query.filters)
        if fmt == "markdown":
            return Response(markdown(report), media_type=MEDIA["markdown"])
        if fmt == "html":
            return Response(to_html(report).html, media_type=MEDIA["html"])
        if fmt == "slack":
            return slack(report)
        return report

    return router
