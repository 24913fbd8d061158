"""Engineering views from the events: tools, API latency and errors.

Counts come from the events rollups. Percentiles and means of durations come from the durations rollups, exact up to
`percentiles.EXACT_LIMIT` values and within 1 % beyond (`analytics.percentiles`; each answer says which); means are
exact sums over counts. Events without a tool or model name are one `(unknown)` row, so the rows add up to the
summary.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from ccmon.analytics.percentiles import EXACT_SQL, Precision, timed
from ccmon.analytics.query import Query, bucket_sql, label
from ccmon.analytics.results import Point, TimeSeries, integer, number, ratio, utc
from ccmon.analytics.rollup import rollup_rows
from ccmon.analytics.timerange import InvalidQuery
from ccmon.store.facade import Store
from ccmon.store.rollups import EVENTS


class ToolStats(BaseModel):
    tool: str
    calls: int
    """`tool_result` events: the tool ran."""
    successes: int
    success_rate: float | None
    rejections: int
    """`tool_decision` events with decision=reject: the tool was not allowed to run."""
    duration_mean_ms: float | None
    duration_p50_ms: float | None
    duration_p95_ms: float | None
    duration_p99_ms: float | None


class Tools(BaseModel):
    rows: list[ToolStats]
    percentiles: Precision


def tools(store: Store, query: Query) -> Tools:
    """Per tool: calls, success rate, rejections and duration percentiles, most called first."""
    source, params = rollup_rows(
        EVENTS,
        query,
        uses=("event_name", "tool_name", "outcome", "decision"),
        where="event_name IN ('tool_result', 'tool_decision')",
    )
    rows = store.query(
        "SELECT tool_name, sumIf(events, event_name = 'tool_result') AS calls, "
        "sumIf(events, event_name = 'tool_result' AND outcome = 1), "
        "sumIf(events, event_name = 'tool_decision' AND decision = 'reject') "
        f"FROM ({source}) GROUP BY tool_name ORDER BY calls DESC, tool_name",
        params,
    )
    answer = timed(store, query, "tool_result", "tool_name", uses=("tool_name",), measures=("durations",))
    how = answer.precision
    # Means from the rollup either way (an exact sum over a count); percentiles from the raw rows when exact.
    means = {name: ratio(t.duration_us / 1000, t.durations.values) for name, t in answer.groups.items()}
    if how.exact:
        where, params = query.where()
        quantiles = dict(
            store.query(
                f"SELECT tool_name, {EXACT_SQL}(duration_ms) FROM events "
                f"WHERE event_name = 'tool_result' AND {where} GROUP BY tool_name",
                params,
            )
        )
    else:
        quantiles = {name: t.durations.quantiles() for name, t in answer.groups.items()}
    return Tools(
        percentiles=how,
        rows=[
            ToolStats(
                tool=label(name),
                calls=integer(calls),
                successes=integer(ok),
                success_rate=ratio(number(ok), number(calls)),
                rejections=integer(rejected),
                duration_mean_ms=means.get(name),
                **_percentiles("duration", quantiles.get(name)),
            )
            for name, calls, ok, rejected in rows
        ],
    )


def _percentiles(prefix: str, values: Sequence[float] | None) -> dict[str, float | None]:
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
    source, params = rollup_rows(
        EVENTS, query, uses=("event_name", "tool_name"), bucket="1h", where="event_name = 'tool_result'"
    )
    rows = store.query(
        f"SELECT tool_name, toHour(hour, 'UTC') AS hour_of_day, sum(events) FROM ({source}) "
        "GROUP BY tool_name, hour_of_day ORDER BY tool_name, hour_of_day",
        params,
    )
    return Heatmap(rows=[HeatCell(tool=label(t), hour=int(h), calls=integer(c)) for t, h, c in rows])


LATENCY_MEASURES = {"duration": "duration_ms", "ttft": "ttft_ms"}


class Latency(TimeSeries):
    percentiles: Precision


def api_latency(store: Store, query: Query, measure: str = "duration") -> Latency:
    """p50/p95/p99 of API request duration (or time to first token) per bucket: series `p50`, `p95`, `p99`."""
    if measure not in LATENCY_MEASURES:
        raise InvalidQuery(f"measure: {measure!r} is not one of {', '.join(LATENCY_MEASURES)}")
    bucket = query.chosen_bucket
    distribution = "durations" if measure == "duration" else "ttfts"
    answer = timed(store, query, "api_request", bucket_sql(bucket, "hour"), bucket=bucket, measures=(distribution,))
    how = answer.precision
    if how.exact:
        where, params = query.where()
        rows = store.query(
            f"SELECT {bucket_sql(bucket)} AS t, {EXACT_SQL}({LATENCY_MEASURES[measure]}) FROM events "
            f"WHERE event_name = 'api_request' AND {LATENCY_MEASURES[measure]} IS NOT NULL AND {where} "
            "GROUP BY t ORDER BY t",
            params,
        )
    else:
        by_time = ((t, getattr(r, distribution)) for t, r in answer.groups.items())
        rows = sorted((t, values) for t, d in by_time if (values := d.quantiles()) is not None)
    points = [
        Point(t=utc(t), series=name, value=number(value))
        for t, values in rows
        for name, value in zip(("p50", "p95", "p99"), values, strict=True)
    ]
    return Latency(bucket=bucket, rows=points, percentiles=how)


class ModelLatency(BaseModel):
    model: str
    requests: int
    share: float
    """This model's share of the API requests (0..1): seed 002's model distribution."""
    duration_p50_ms: float | None
    duration_p95_ms: float | None
    duration_p99_ms: float | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    ttft_p99_ms: float | None


class LatencyByModel(BaseModel):
    rows: list[ModelLatency]
    percentiles: Precision


def latency_by_model(store: Store, query: Query) -> LatencyByModel:
    answer = timed(store, query, "api_request", "model", uses=("model",))
    how = answer.precision
    rows: list[tuple[str, int, Sequence[float] | None, Sequence[float] | None]]
    if how.exact:
        where, params = query.where()
        rows = store.query(
            f"SELECT model, count() AS requests, {EXACT_SQL}(duration_ms), {EXACT_SQL}(ttft_ms) FROM events "
            f"WHERE event_name = 'api_request' AND {where} GROUP BY model",
            params,
        )
    else:
        rows = [(m, t.events, t.durations.quantiles(), t.ttfts.quantiles()) for m, t in answer.groups.items()]
    rows.sort(key=lambda row: (-integer(row[1]), row[0]))
    total = sum(integer(requests) for _, requests, _, _ in rows)
    return LatencyByModel(
        percentiles=how,
        rows=[
            ModelLatency(
                model=label(model),
                requests=integer(requests),
                share=ratio(integer(requests), total) or 0.0,
                **_percentiles("duration", durations),
                **_percentiles("ttft", ttfts),
            )
            for model, requests, durations, ttfts in rows
        ],
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
    bucket = query.chosen_bucket
    source, params = rollup_rows(
        EVENTS,
        query,
        uses=("event_name", "status_code"),
        bucket=bucket,
        where="event_name IN ('api_request', 'api_error', 'api_retries_exhausted')",
    )
    ((requests, failures, exhausted),) = store.query(
        "SELECT sumIf(events, event_name = 'api_request'), sumIf(events, event_name = 'api_error'), "
        f"sumIf(events, event_name = 'api_retries_exhausted') FROM ({source})",
        params,
    )
    # The rollup keeps a missing status code as 0 (sorting keys cannot be Nullable); 0 is never an HTTP status.
    by_status = store.query(
        f"SELECT nullIf(status_code, 0) AS code, sum(events) AS n FROM ({source}) WHERE event_name = 'api_error' "
        "GROUP BY code ORDER BY n DESC, code",
        params,
    )
    series = store.query(
        f"SELECT {bucket_sql(bucket, 'hour')} AS t, sumIf(events, event_name = 'api_request'), "
        f"sumIf(events, event_name = 'api_error') FROM ({source}) GROUP BY t ORDER BY t",
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
