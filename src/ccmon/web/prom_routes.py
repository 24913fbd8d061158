"""`GET /metrics/claude-code`: Claude Code's counters for a Prometheus to scrape, named as the OpenTelemetry
Collector's `prometheus` exporter names them, so the dashboards and PromQL written for that setup work against
ccmon (`ccmon.analytics.prom_series` says how the series are built; docs/interop.md#prometheus).

Who may scrape: as `/metrics` (`ccmon.web.app.scrape_authorizer`): a scrape token sees the whole organisation, any
other credential the rows its role may see; a role that sees aggregates only (the viewer) gets series without
`user_email` and `session_id`. ccmon's own metrics stay at `/metrics`.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from ccmon.analytics import Analytics, Scope
from ccmon.analytics.prom_series import CONTENT_TYPE, Exposition, render
from ccmon.auth.principal import Principal
from ccmon.settings import Config
from ccmon.web.params import Authenticate

PATH = "/metrics/claude-code"


def prom_routes(analytics: Analytics, authorize_scrape: Authenticate, config: Config) -> APIRouter:
    """The router (mount it at the root, next to `/metrics`), as the settings `prometheus_session_labels` and
    `prometheus_max_series` say."""
    session_labels, max_series = config.prometheus_session_labels, config.prometheus_max_series
    router = APIRouter(tags=["operations"])
    rendered: dict[tuple[Scope, bool], tuple[Exposition, bytes]] = {}
    """Body of each variant's last answer (a few variants: cleared beyond 8): the analytics layer hands back the
    same `Exposition` when nothing arrived since, and rendering and encoding 20,000 series (6 MiB) costs ~30 ms."""

    @router.get(PATH, response_class=Response)
    def claude_code_metrics(principal: Annotated[Principal, Depends(authorize_scrape)]) -> Response:
        """Claude Code's counters (`claude_code_cost_usage_USD_total`, ...) in Prometheus text format: cumulative
        sums of everything stored, per label set, never expired; at most `prometheus_max_series` series, the most
        recently active, with `ccmon_prometheus_series_dropped` counting the others."""
        exposition = analytics.prometheus_series(
            principal.scope(), session_labels=session_labels, max_series=max_series
        )
        variant = principal.scope(), session_labels
        last = rendered.get(variant)
        if last is None or last[0] is not exposition:
            if len(rendered) >= 8:
                rendered.clear()
            last = rendered[variant] = exposition, render(exposition).encode("utf-8", "replace")
        return Response(last[1], media_type=CONTENT_TYPE)

    return router
