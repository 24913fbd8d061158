"""The HTTP API and the web UI, served on the UI/API port.

No `from __future__ import annotations` here: FastAPI evaluates the endpoint annotations, and the dependencies
they name are closures of `create_app`.
"""

import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi import Query as Param
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from ccmon import __version__
from ccmon.analytics import Analytics, InvalidQuery, Overview, Query, Summary, TimeSeries
from ccmon.analytics import sessions as session_queries
from ccmon.analytics.adoption import Activity, Shares
from ccmon.analytics.cost import Breakdown, Efficiency, MonthToDate
from ccmon.analytics.engineering import Errors, Heatmap, Latency, LatencyByModel, Tools
from ccmon.analytics.explorer import EventPage
from ccmon.analytics.paging import MAX_LIMIT
from ccmon.analytics.people import SORTABLE, AcceptanceBreakdown, Leaderboard, Profile
from ccmon.analytics.productivity import LINE_DIMENSIONS, LinesBreakdown
from ccmon.analytics.scope import Forbidden
from ccmon.analytics.session_stats import MAX_BINS, MEASURES, SCALES, Distribution, SessionsByProject
from ccmon.analytics.sessions import SessionDetail, Sessions
from ccmon.analytics.timerange import parse_instant
from ccmon.auth.principal import LOOPBACK_ADMIN, Principal
from ccmon.web.params import Authenticate, Format, QueryDependencies, authorizer, tabular
from ccmon.web.ui import LoadingStatus, ServerInfo, StaticAssets, not_found, ui_routes


def create_app(
    analytics: Analytics,
    *,
    ready: Callable[[], bool],
    registry: CollectorRegistry,
    info: ServerInfo,
    loading: Callable[[], LoadingStatus | None] = lambda: None,
    api_tokens: Sequence[str] = (),
    scrape_tokens: Sequence[str] = (),
    authenticate: Authenticate | None = None,
    ingest_token_required: Callable[[], bool] | None = None,
) -> FastAPI:
    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN, and ccmon must work offline. The OpenAPI
    # document is served below, behind the API token.
    app = FastAPI(
        title="ccmon",
        version=__version__,
        summary="A self-hosted monitor for Claude Code.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    authorize = authenticate or authorizer(api_tokens)
    authorize_scrape = scrape_authorizer(authorize, scrape_tokens)

    app.add_exception_handler(StarletteHTTPException, not_found)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422, whose echo of the input must be JSON: Python's JSON reader takes `NaN`, `Infinity` and
        `1e999` in a body, and echoing them back as they are would fail the answer (a 500)."""
        return JSONResponse({"detail": json_safe(jsonable_encoder(exc.errors()))}, status_code=422)

    @app.exception_handler(InvalidQuery)
    async def invalid_query(_: Request, exc: InvalidQuery) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """The store is open and migrated, the writer is running and every receiver takes telemetry.

        Ready to receive is not "every number is in": a demo load this server started (`serve --demo`) may still be
        running; `demo` says so (`running`, `done`, `failed`, or null when there is none).
        """
        status = loading()
        demo = status.state if status else None
        if ready():
            return JSONResponse({"status": "ready", "demo": demo})
        return JSONResponse({"status": "starting", "demo": demo}, status_code=503)

    @app.get(
        "/metrics", tags=["operations"], response_class=PlainTextResponse, dependencies=[Depends(authorize_scrape)]
    )
    def metrics() -> PlainTextResponse:
        """ccmon's own metrics in Prometheus text format (a scrape token, or any credential the API accepts, when
        authentication is required)."""
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(authorize)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/api/v1/server", tags=["operations"], dependencies=[Depends(authorize)])
    def server_info() -> ServerInfo:
        """This server: its version, where Claude Code should send telemetry, whether tokens are asked, the budget."""
        update: dict[str, Any] = {"has_data": analytics.has_data(), "loading": loading()}
        if ingest_token_required is not None:
            update["ingest_token_required"] = ingest_token_required()
        return info.model_copy(update=update)

    app.include_router(_analytics_routes(analytics, QueryDependencies(authorize)), prefix="/api/v1")
    app.include_router(ui_routes())
    app.mount("/static", StaticAssets(), name="static")
    return app


def scrape_authorizer(authorize: Authenticate, scrape_tokens: Sequence[str]) -> Authenticate:
    """Who may scrape `/metrics` and `/metrics/claude-code`: a scrape token (Prometheus may be given a token that
    reads nothing else; it sees the whole organisation), else a credential the API accepts, with its own scope. Never
    more open than the API, and with scrape tokens configured never open to a caller who presents nothing."""
    scrape_only = authorizer(scrape_tokens)

    def authorize_scrape(request: Request) -> Principal:
        if not scrape_tokens:
            return authorize(request)
        try:
            return scrape_only(request)
        except HTTPException:
            principal = authorize(request)
            if principal is LOOPBACK_ADMIN:
                raise
            return principal

    return authorize_scrape


def json_safe(value: Any) -> Any:
    """`value` with every number JSON cannot carry (NaN, infinities) written as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    return value


def _analytics_routes(analytics: Analytics, queries: QueryDependencies) -> APIRouter:
    router = APIRouter(tags=["analytics"])
    QueryParams = Annotated[Query, Depends(queries.ranged)]
    SeriesParams = Annotated[Query, Depends(queries.bucketed)]
    FilterParams = Annotated[Query, Depends(queries.filtered)]
    FormatParam = Annotated[Format, Param(alias="format", description="json, or csv for the rows")]

    @router.get("/summary")
    def get_summary(query: QueryParams) -> Summary:
        """Cost, tokens, sessions, users, requests, output and decisions in [from, to)."""
        return analytics.summary(query)

    @router.get("/overview")
    def get_overview(query: QueryParams) -> Overview:
        """The summary, its change against the period before, accept rate and cost per user, session, PR, commit."""
        return analytics.overview(query)

    @router.get("/cost/timeseries", response_model=TimeSeries)
    def get_cost_timeseries(
        query: SeriesParams,
        by: Annotated[str, Param(description="model, or family (haiku/sonnet/opus/other)")] = "model",
        fmt: FormatParam = "json",
    ) -> Any:
        """Cost per time bucket, one series per model or model family."""
        result = analytics.cost_over_time(query, by)
        return tabular(result, result.rows, fmt)

    @router.get("/cost/tokens", response_model=TimeSeries)
    def get_token_timeseries(query: SeriesParams, fmt: FormatParam = "json") -> Any:
        """Tokens per time bucket, one series per type (input, output, cache_read, cache_creation)."""
        result = analytics.tokens_over_time(query)
        return tabular(result, result.rows, fmt)

    @router.get("/cost/breakdown", response_model=Breakdown)
    def get_cost_breakdown(
        query: QueryParams,
        by: Annotated[
            str,
            Param(description="person, team, department, cost_center, model, family, repository, terminal or version"),
        ] = "team",
        top: Annotated[int, Param(description="rows before the rest is summed as `(rest)`")] = 10,
        fmt: FormatParam = "json",
    ) -> Any:
        """Cost per value of a dimension, largest first, with each one's share of the total."""
        result = analytics.cost_by(query, by, top)
        return tabular(result, result.rows, fmt)

    @router.get("/cost/efficiency")
    def get_efficiency(query: QueryParams) -> Efficiency:
        """Token totals, cache efficiency = cache_read / (input + cache_creation + cache_read), output / input, and
        cost per million tokens of every type (cache reads included)."""
        return analytics.efficiency(query)

    @router.get("/cost/month-to-date")
    def get_month_to_date(
        query: FilterParams,
        as_of: Annotated[str | None, Param(description="RFC 3339 in UTC; default: now")] = None,
    ) -> MonthToDate:
        """Spend since the first of the month (UTC) and the projected month-end spend, with the method used."""
        return analytics.month_to_date(query, parse_instant(as_of, "as_of") if as_of else None)

    @router.get("/adoption/activity", response_model=Activity)
    def get_activity(query: QueryParams, fmt: FormatParam = "json") -> Any:
        """Per day: DAU, WAU, MAU, new and returning people, sessions, sessions per person."""
        result = analytics.activity(query)
        return tabular(result, result.rows, fmt)

    @router.get("/adoption/shares", response_model=Shares)
    def get_adoption_shares(
        query: QueryParams,
        by: Annotated[str, Param(description="version, terminal or os")] = "version",
        fmt: FormatParam = "json",
    ) -> Any:
        """People and sessions per Claude Code version, terminal or operating system."""
        result = analytics.adoption_shares(query, by)
        return tabular(result, result.rows, fmt)

    @router.get("/people/leaderboard", response_model=Leaderboard)
    def get_leaderboard(
        query: QueryParams,
        group: Annotated[str, Param(description="person, or team for the team comparison")] = "person",
        sort: Annotated[str, Param(description=f"one of {', '.join(SORTABLE)}")] = "cost_usd",
        order: Annotated[Literal["asc", "desc"], Param()] = "desc",
        limit: Annotated[int, Param(ge=1, le=MAX_LIMIT)] = 50,
        offset: Annotated[int, Param(ge=0)] = 0,
        fmt: FormatParam = "json",
    ) -> Any:
        """PRs, commits, lines, cost, cost per PR, accept rate, sessions and active time per person (or team)."""
        result = analytics.leaderboard(
            query, group=group, sort=sort, descending=order == "desc", limit=limit, offset=offset
        )
        return tabular(result, result.rows, fmt)

    @router.get("/people/acceptance", response_model=AcceptanceBreakdown)
    def get_acceptance(
        query: QueryParams,
        by: Annotated[str, Param(description="tool, source, language or person")] = "tool",
        fmt: FormatParam = "json",
    ) -> Any:
        """Code-edit decisions accepted and rejected, and the accept rate."""
        result = analytics.acceptance(query, by)
        return tabular(result, result.rows, fmt)

    @router.get("/people/profile")
    def get_profile(
        query: QueryParams, key: Annotated[str, Param(description="the person key, as in the leaderboard")]
    ) -> Profile:
        """One person: overview, cost by model, tools and acceptance."""
        return analytics.profile(query, key)

    @router.get("/sessions", response_model=Sessions)
    def get_sessions(
        query: QueryParams,
        sort: Annotated[str, Param(description=f"one of {', '.join(session_queries.SORTABLE)}")] = "started",
        order: Annotated[Literal["asc", "desc"], Param()] = "desc",
        limit: Annotated[int, Param(ge=1, le=MAX_LIMIT)] = 50,
        offset: Annotated[int, Param(ge=0)] = 0,
        fmt: FormatParam = "json",
    ) -> Any:
        """Sessions active in the range, with their prompts, requests, errors, tool calls, cost and tokens."""
        result = analytics.sessions(query, sort=sort, descending=order == "desc", limit=limit, offset=offset)
        return tabular(result, result.rows, fmt)

    @router.get("/sessions/{session_id}")
    def get_session(query: FilterParams, session_id: str) -> SessionDetail:
        """One session whole (no time range): its events in order, grouped by prompt with per-prompt cost, tokens and
        tool calls; its spans."""
        return analytics.session(query, session_id)

    @router.get("/events", response_model=EventPage)
    def get_events(
        query: QueryParams,
        name: Annotated[list[str] | None, Param(description="event names, e.g. api_error")] = None,
        attr: Annotated[
            list[str] | None, Param(description="`key=value`: an attribute (or column) equal to a value")
        ] = None,
        text: Annotated[str | None, Param(description="text in the error message, any case")] = None,
        cursor: Annotated[str | None, Param(description="`next_cursor` of the previous page")] = None,
        limit: Annotated[int, Param(ge=1, le=MAX_LIMIT)] = 100,
        fmt: FormatParam = "json",
    ) -> Any:
        """Events newest first, filtered by name, attributes and error text; paged by cursor."""
        attributes = {}
        for item in attr or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise InvalidQuery(f"attr: {item[:64]!r} is not key=value")
            attributes[key] = value
        result = analytics.events(
            query, names=tuple(name or ()), attributes=attributes, text=text, cursor=cursor, limit=limit
        )
        return tabular(result, result.rows, fmt)

    @router.get("/engineering/tools", response_model=Tools)
    def get_tools(query: QueryParams, fmt: FormatParam = "json") -> Any:
        """Per tool: calls, success rate, rejections, duration p50/p95/p99."""
        result = analytics.tools(query)
        return tabular(result, result.rows, fmt)

    @router.get("/engineering/tool-heatmap", response_model=Heatmap)
    def get_tool_heatmap(query: QueryParams, fmt: FormatParam = "json") -> Any:
        """Tool calls by tool and hour of day (UTC)."""
        result = analytics.tool_heatmap(query)
        return tabular(result, result.rows, fmt)

    @router.get("/engineering/latency", response_model=Latency)
    def get_latency(
        query: SeriesParams,
        measure: Annotated[str, Param(description="duration (whole request) or ttft (time to first token)")] = (
            "duration"
        ),
        fmt: FormatParam = "json",
    ) -> Any:
        """API latency p50/p95/p99 per time bucket."""
        result = analytics.api_latency(query, measure)
        return tabular(result, result.rows, fmt)

    @router.get("/engineering/latency-by-model", response_model=LatencyByModel)
    def get_latency_by_model(query: QueryParams, fmt: FormatParam = "json") -> Any:
        """API requests and latency percentiles per model."""
        result = analytics.latency_by_model(query)
        return tabular(result, result.rows, fmt)

    @router.get("/engineering/errors")
    def get_errors(query: SeriesParams) -> Errors:
        """API error rate (overall and per bucket), errors by status code, exhausted retries."""
        return analytics.errors(query)

    @router.get("/engineering/sessions-by-project", response_model=SessionsByProject)
    def get_sessions_by_project(query: QueryParams, fmt: FormatParam = "json") -> Any:
        """Sessions, people, prompts, cost and tokens per repository, most sessions first."""
        result = analytics.sessions_by_project(query)
        return tabular(result, result.rows, fmt)

    @router.get("/engineering/session-distribution", response_model=Distribution)
    def get_session_distribution(
        query: QueryParams,
        measure: Annotated[str, Param(description=f"one of {', '.join(MEASURES)}")] = "tokens",
        bins: Annotated[int, Param(description=f"at most this many histogram bins, 1..{MAX_BINS}")] = 20,
        scale: Annotated[str, Param(description=f"{' or '.join(SCALES)} bin edges")] = "linear",
        fmt: FormatParam = "json",
    ) -> Any:
        """A per-session measure over the sessions in the range: count, mean, min, max, p50/p90/p99, histogram."""
        result = analytics.session_distribution(query, measure, bins=bins, scale=scale)
        return tabular(result, result.rows, fmt)

    @router.get("/productivity/lines", response_model=LinesBreakdown)
    def get_lines(
        query: QueryParams,
        by: Annotated[str, Param(description=f"one of {', '.join(LINE_DIMENSIONS)}")] = "language",
        fmt: FormatParam = "json",
    ) -> Any:
        """Lines added and removed per language, model or repository (`(unknown)` where the data points carry none)."""
        result = analytics.lines_by(query, by)
        return tabular(result, result.rows, fmt)

    return router
