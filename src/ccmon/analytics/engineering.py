"""Engineering views from the events: tools, API latency and errors.

Percentiles are exact and interpolated between the closest ranks (ClickHouse `quantileExactInclusive`, the same as a
spreadsheet's PERCENTILE.INC), so small samples give the numbers a person computes by hand.
"""

from __future__ import annotations

from pydantic import BaseModel

from ccmon.analytics.query import Query, bucket_sql
from ccmon.analytics.results import Point, TimeSeries, integer, number, ratio, utc
from ccmon.analytics.timerange import InvalidQuery
from ccmon.store.facade import Store

_PERCENTILES = "quantilesExactInclusive(0.5, 0.95, 0.99)"


class ToolStats(BaseModel):
    tool: str
    calls: int
    """`tool_result` events: the tool ran."""
    successes: int
    success_rate: float | None
    rejections: int
    """`tool_decision` events with decision=reject: the tool was not allowed to run."""
    duration_p50_ms: float | None
    duration_p95_ms: float | None
    duration_p99_ms: float | None


class Tools(BaseModel):
    rows: list[ToolStats]


def tools(store: Store, query: Query) -> Tools:
    """Per tool: calls, success rate, rejections and duration percentiles, most called first."""
    where, params = query.where()
    rows = store.query(
        f"SELECT tool_name, countIf(event_name = 'tool_result') AS calls, "
        f"countIf(event_name = 'tool_result' AND success), "
        f"countIf(event_name = 'tool_decision' AND decision = 'reject'), "
        f"{_PERCENTILES}(if(event_name = 'tool_result', duration_ms, NULL)) "
        f"FROM events WHERE event_name IN ('tool_result', 'tool_decision') AND tool_name != '' AND {where} "
        "GROUP BY tool_name ORDER BY calls DESC, tool_name",
        params,
    )
    return Tools(
        rows=[
            ToolStats(
                tool=tool,
                calls=integer(calls),
                successes=integer(ok),
                success_rate=ratio(number(ok), number(calls)),
                rejections=integer(rejected),
                **_percentiles("duration", quantiles if calls else []),
            )
            for tool, calls, ok, rejected, quantiles in rows
        ]
    )


def _percentiles(prefix: str, values: list[float]) -> dict[str, float | None]:
    p50, p95, p99 = (number(v) for v in values) if values else (None, None, None)
    return {f"{prefix}_p50_ms": p50, f"{prefix}_p95_ms": p95, f"{prefix}_p99_ms": p99}


class HeatCell(BaseModel):
    tool: str
    hour: int
    """Hour of day, 0-23, UTC."""
    calls: int


class Heatmap(BaseModel):
    rows: list[HeatCell]


def tool_heatmap(store: Store, query: Query) -> Heatmap:
    """Tool calls by tool and hour of day (UTC); cells with no calls are left out."""
    where, params = query.where()
    rows = store.query(
        f"SELECT tool_name, toHour(ts, 'UTC') AS hour, count() FROM events "
        f"WHERE event_name = 'tool_result' AND {where} GROUP BY tool_name, hour ORDER BY tool_name, hour",
        params,
    )
    return Heatmap(rows=[HeatCell(tool=t, hour=int(h), calls=integer(c)) for t, h, c in rows])


LATENCY_MEASURES = {"duration": "duration_ms", "ttft": "ttft_ms"}


def api_latency(store: Store, query: Query, measure: str = "duration") -> TimeSeries:
    """p50/p95/p99 of API request duration (or time to first token) per bucket: series `p50`, `p95`, `p99`."""
    if measure not in LATENCY_MEASURES:
        raise InvalidQuery(f"measure: {measure!r} is not one of {', '.join(LATENCY_MEASURES)}")
    bucket = query.chosen_bucket
    where, params = query.where()
    rows = store.query(
        f"SELECT {bucket_sql(bucket)} AS t, {_PERCENTILES}({LATENCY_MEASURES[measure]}) FROM events "
        f"WHERE event_name = 'api_request' AND {LATENCY_MEASURES[measure]} IS NOT NULL AND {where} "
        "GROUP BY t ORDER BY t",
        params,
    )
    points = [
        Point(t=utc(t), series=name, value=number(value))
        for t, values in rows
        for name, value in zip(("p50", "p95", "p99"), values, strict=True)
    ]
    return TimeSeries(bucket=bucket, rows=points)


class ModelLatency(BaseModel):
    model: str
    requests: int
    duration_p50_ms: float | None
    duration_p95_ms: float | None
    duration_p99_ms: float | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    ttft_p99_ms: float | None


class LatencyByModel(BaseModel):
    rows: list[ModelLatency]


def latency_by_model(store: Store, query: Query) -> LatencyByModel:
    where, params = query.where()
    rows = store.query(
        f"SELECT model, count() AS requests, {_PERCENTILES}(duration_ms), {_PERCENTILES}(ttft_ms) FROM events "
        f"WHERE event_name = 'api_request' AND {where} GROUP BY model ORDER BY requests DESC, model",
        params,
    )
    return LatencyByModel(
        rows=[
            ModelLatency(
                model=model,
                requests=integer(requests),
                **_percentiles("duration", durations),
                **_percentiles("ttft", ttfts),
            )
            for model, requests, durations, ttfts in rows
        ]
    )


class StatusCount(BaseModel):
    status_code: int | None
    """HTTP status of the failed request; null for errors that were not HTTP responses."""
    errors: int


class Errors(BaseModel):
    api_requests: int
    api_errors: int
    error_rate: float | None
    """api_errors / (api_requests + api_errors): each failed request emits one api_error, after its retries."""
    retries_exhausted: int
    by_status: list[StatusCount]
    over_time: TimeSeries
    """Per bucket: series `error_rate`, `api_errors`, `api_requests`."""


def errors(store: Store, query: Query) -> Errors:
    where, params = query.where()
    bucket = query.chosen_bucket
    scoped = f"FROM events WHERE event_name IN ('api_request', 'api_error', 'api_retries_exhausted') AND {where}"
    ((requests, failures, exhausted),) = store.query(
        "SELECT countIf(event_name = 'api_request'), countIf(event_name = 'api_error'), "
        f"countIf(event_name = 'api_retries_exhausted') {scoped}",
        params,
    )
    by_status = store.query(
        f"SELECT status_code, count() AS n {scoped} AND event_name = 'api_error' GROUP BY status_code "
        "ORDER BY n DESC, status_code",
        params,
    )
    series = store.query(
        f"SELECT {bucket_sql(bucket)} AS t, countIf(event_name = 'api_request'), countIf(event_name = 'api_error') "
        f"{scoped} GROUP BY t ORDER BY t",
        params,
    )
    points: list[Point] = []
    for t, ok, failed in series:
        rate = ratio(number(failed), number(ok) + number(failed))
        points += [
            Point(t=utc(t), series="error_rate", value=rate or 0.0),
            Point(t=utc(t), series="api_errors", value=number(failed)),
            Point(t=utc(t), series="api_requests", value=number(ok)),
        ]
    return Errors(
        api_requests=integer(requests),
        api_errors=integer(failures),
        error_rate=ratio(number(failures), number(requests) + number(failures)),
        retries_exhausted=integer(exhausted),
        by_status=[StatusCount(status_code=code, errors=integer(n)) for code, n in by_status],
        over_time=TimeSeries(bucket=bucket, rows=points),
    )
