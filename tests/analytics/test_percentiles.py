"""Percentiles from the durations rollups: within the stated bound of the exact answer, and exact when they say so.

The data is generated in the engine (`INSERT ... SELECT ... FROM numbers()`, deterministic), so it passes through the
rollups' materialized views as ingest's rows do; the exact answers are ClickHouse's `quantilesExactInclusive` over
the same raw rows, which is what the API answers below `EXACT_LIMIT`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ccmon.analytics import Query, TimeRange
from ccmon.analytics import percentiles as percentiles_module
from ccmon.analytics.engineering import api_latency, latency_by_model, tools
from ccmon.analytics.percentiles import Distribution
from ccmon.analytics.scope import Scope
from ccmon.store.distribution import GAMMA, RELATIVE_ERROR, bucket_sql, representative
from ccmon.store.facade import Store

START = datetime(2026, 10, 5, 9, 17, tzinfo=UTC)
SPAN = timedelta(days=3)
VALUES = 20_000
"""Per shape and tool or model: enough for the tails to be sparse, few enough for a quick test."""

# Durations in milliseconds from a uniform u in (0, 1) (a hash of the row number): shapes a latency can take.
SHAPES = {
    "log-uniform": "exp(12 * {u})",  # six decades
    "heavy tail": "10 / {u}",  # Pareto: p99 is 100 times the median
    "uniform": "5000 * {u}",
    "ties": "toFloat64(1 + intDiv(toUInt64({u} * 1e6), 100000))",  # ten values, each many times
    "zeros and small": "if({u} < 0.3, 0, {u} * 3)",  # a third exactly zero
    "sub-millisecond": "{u} / 1000",
}


def _insert(store: Store, shape: str, expression: str, offset: int) -> None:
    """`VALUES` tool results (tool = shape) and as many API requests (model = shape), spread over `SPAN`, with
    durations (and times to first token, a tenth of them) drawn from `expression`; people p0..p9 in teams t0, t1."""
    u = f"((cityHash64(number, {offset}) % 1000000) + 0.5) / 1000000"
    common = (
        f"toDateTime64({START.timestamp()} + number * {SPAN.total_seconds() / VALUES}, 9, 'UTC') AS ts, "
        "concat('p', toString(number % 10)) AS person, concat('t', toString(number % 2)) AS team, "
        "concat('s', toString(number % 50)) AS session_id, "
        f"cityHash64(number, {offset}, event_name) AS dedup_key"
    )
    for event_name, name_column in (("tool_result", "tool_name"), ("api_request", "model")):
        store.command(
            f"INSERT INTO events (ts, person, team, session_id, dedup_key, event_name, {name_column}, duration_ms, "
            f"ttft_ms) SELECT {common}, '{event_name}' AS event_name, '{shape}', "
            f"{expression.format(u=u)} AS d, d / 10 FROM numbers({VALUES})"
        )


@pytest.fixture
def generated(store: Store) -> Iterator[Store]:
    for offset, (shape, expression) in enumerate(SHAPES.items()):
        _insert(store, shape, expression, offset)
    yield store


def _within(approximate: float | None, exact: float | None) -> bool:
    assert approximate is not None and exact is not None
    # The bound, and a billionth for the floating point of the bucket's edges.
    return abs(approximate - exact) <= RELATIVE_ERROR * abs(exact) * (1 + 1e-9)


def _both(monkeypatch: pytest.MonkeyPatch, answer):  # type: ignore[no-untyped-def]
    """The answer computed exactly (from raw rows) and from the rollup."""
    monkeypatch.setattr(percentiles_module, "EXACT_LIMIT", 10**12)
    exact = answer()
    monkeypatch.setattr(percentiles_module, "EXACT_LIMIT", 0)
    return exact, answer()


# A range that cuts hours and days at both ends: whole days from the daily tier, hours and minutes around them.
RANGE = TimeRange(START + timedelta(hours=5, minutes=11), START + SPAN - timedelta(hours=2, minutes=7))


@pytest.mark.parametrize(
    "scope",
    [Scope.everyone(), Scope(teams=("t1",)), Scope(persons=("p3",))],
    ids=["organisation", "team", "person"],
)
def test_tool_percentiles_are_within_the_stated_bound(
    generated: Store, monkeypatch: pytest.MonkeyPatch, scope: Scope
) -> None:
    exact, approximate = _both(monkeypatch, lambda: tools(generated, Query(RANGE, scope)))
    assert exact.percentiles.exact and exact.percentiles.relative_error == 0
    assert not approximate.percentiles.exact and approximate.percentiles.relative_error == RELATIVE_ERROR
    assert [r.tool for r in approximate.rows] == [r.tool for r in exact.rows] == sorted(SHAPES, key=lambda s: s)
    for want, got in zip(exact.rows, approximate.rows, strict=True):
        assert (got.calls, got.successes, got.rejections) == (want.calls, want.successes, want.rejections)
        # The mean is an exact sum over a count either way.
        assert got.duration_mean_ms == pytest.approx(want.duration_mean_ms, rel=1e-12)
        for level in ("p50", "p95", "p99"):
            field = f"duration_{level}_ms"
            assert _within(getattr(got, field), getattr(want, field)), (want.tool, level)


def test_latency_series_are_within_the_stated_bound(generated: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for measure in ("duration", "ttft"):
        for bucket in ("6h", "1d"):
            query = Query(RANGE, bucket=bucket)
            exact, approximate = _both(monkeypatch, lambda q=query, m=measure: api_latency(generated, q, m))
            assert exact.percentiles.exact and not approximate.percentiles.exact
            assert [(p.t, p.series) for p in approximate.rows] == [(p.t, p.series) for p in exact.rows]
            assert len(exact.rows) > 3 * 3
            for want, got in zip(exact.rows, approximate.rows, strict=True):
                assert _within(got.value, want.value), (measure, bucket, want)


def test_latency_by_model_is_within_the_stated_bound(generated: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    exact, approximate = _both(monkeypatch, lambda: latency_by_model(generated, Query(RANGE)))
    assert [(r.model, r.requests, r.share) for r in approximate.rows] == [
        (r.model, r.requests, r.share) for r in exact.rows
    ]
    for want, got in zip(exact.rows, approximate.rows, strict=True):
        for field in ("duration_p50_ms", "duration_p95_ms", "duration_p99_ms", "ttft_p50_ms", "ttft_p99_ms"):
            assert _within(getattr(got, field), getattr(want, field)), (want.model, field)


def test_a_filter_the_smaller_rollups_lack_reads_the_hourly_one(
    generated: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter on a person, which only the hourly and per-person rollups keep, still narrows the approximate
    answer to exactly that person's values."""
    query = Query(RANGE).with_filter("person", "p7")
    exact, approximate = _both(monkeypatch, lambda: tools(generated, query))
    assert [r.calls for r in approximate.rows] == [r.calls for r in exact.rows]
    assert sum(r.calls for r in exact.rows) < VALUES * len(SHAPES) / 9
    for want, got in zip(exact.rows, approximate.rows, strict=True):
        assert _within(got.duration_p95_ms, want.duration_p95_ms)


def test_answers_are_exact_up_to_the_limit_and_approximate_beyond(generated: Store) -> None:
    """With the real limit, what counts is the values of the range, everyone's (what an exact answer reads): a
    day (40k tool results) is exact, for one person too; the whole range (108k) is approximate, also for one person
    (whose 11k values an exact answer would find only by reading everyone's)."""
    day = Query(TimeRange(START, START + timedelta(days=1)))
    assert tools(generated, day).percentiles.exact
    assert tools(generated, day.with_filter("person", "p1")).percentiles.exact
    assert not tools(generated, Query(RANGE)).percentiles.exact
    assert not tools(generated, Query(RANGE).with_filter("person", "p1")).percentiles.exact
    assert not latency_by_model(generated, Query(RANGE, Scope(persons=("p1",)))).percentiles.exact


def test_buckets_hold_values_within_the_bound(store: Store) -> None:
    """The engine's bucket of a value, read back in Python, is within 1 % of it, across the whole useful range, at
    the edges of buckets, and for zero, negative and non-finite values."""
    values = [0.0, 1e-6, 0.001, 0.5, 1.0, GAMMA, GAMMA**2, 999.999, 1e3, 12345.678, 3.6e6, 8.64e7, 1e11, -5.0]
    keys = store.query(
        f"SELECT {bucket_sql('v')} FROM (SELECT arrayJoin({{values:Array(Float64)}}) AS v)", {"values": values}
    )
    for value, (key,) in zip(values, keys, strict=True):
        assert abs(representative(key) - value) <= RELATIVE_ERROR * abs(value) * (1 + 1e-9), value
    ((nan, inf),) = store.query(f"SELECT {bucket_sql('nan')}, {bucket_sql('inf')}")
    assert nan == inf == 0
    ordered = store.query(f"SELECT {bucket_sql('v')} FROM (SELECT arrayJoin([-10., -1., 0., 1., 10.]) AS v)")
    assert [k for (k,) in ordered] == sorted(k for (k,) in ordered)


def test_quantiles_of_a_distribution_interpolate_like_the_exact_function() -> None:
    one = Distribution(keys=[0], counts=[1])
    assert one.quantiles() == [0.0, 0.0, 0.0]
    assert Distribution(keys=[], counts=[]).quantiles() is None
    # Values 0, 0, 0, x: p50 at rank 1.5 (0), p95 at 2.85 (0.85 x), p99 at 2.97 (0.97 x).
    key = 20_000
    x = representative(key)
    p50, p95, p99 = Distribution(keys=[0, key], counts=[3, 1]).quantiles() or []
    assert p50 == 0 and math.isclose(p95, 0.85 * x) and math.isclose(p99, 0.97 * x)
