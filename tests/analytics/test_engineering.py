"""Engineering analytics on the hand-computed dataset (tests/analytics/data.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccmon.analytics import InvalidQuery, Query, TimeRange
from ccmon.analytics.engineering import api_latency, errors, latency_by_model, tool_heatmap, tools
from ccmon.ingest.writer import BatchWriter
from tests.analytics.data import FIRST_HOUR, OPUS, SONNET

H10 = datetime(2026, 11, 20, 10, tzinfo=UTC)
EMPTY = Query(TimeRange(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC)))


def test_tools_combine_results_and_rejections(loaded: BatchWriter) -> None:
    rows = tools(loaded.store, Query(FIRST_HOUR)).rows
    assert [r.model_dump() for r in rows] == [
        {
            "tool": "Edit",
            "calls": 1,
            "successes": 1,
            "success_rate": 1.0,
            "rejections": 0,
            "duration_mean_ms": 20.0,
            "duration_p50_ms": 20.0,
            "duration_p95_ms": 20.0,
            "duration_p99_ms": 20.0,
        },
        {
            "tool": "Bash",
            "calls": 0,
            "successes": 0,
            "success_rate": None,
            "rejections": 1,
            "duration_mean_ms": None,
            "duration_p50_ms": None,
            "duration_p95_ms": None,
            "duration_p99_ms": None,
        },
    ]


def test_heatmap_counts_calls_by_hour_of_day(loaded: BatchWriter) -> None:
    cells = tool_heatmap(loaded.store, Query(FIRST_HOUR)).rows
    assert [(c.tool, c.hour, c.calls) for c in cells] == [("Edit", 10, 1)]


def test_latency_percentiles_interpolate_between_ranks(loaded: BatchWriter) -> None:
    series = api_latency(loaded.store, Query(FIRST_HOUR, bucket="1h"))
    # durations 1000, 2000, 4000: p95 = 2000 + 0.9 * 2000, p99 = 2000 + 0.98 * 2000
    assert [(p.t, p.series, p.value) for p in series.rows] == [
        (H10, "p50", 2000.0),
        (H10, "p95", 3800.0),
        (H10, "p99", 3960.0),
    ]
    ttft = api_latency(loaded.store, Query(FIRST_HOUR, bucket="1h"), "ttft")
    assert [p.value for p in ttft.rows] == [300.0, 480.0, 496.0]
    with pytest.raises(InvalidQuery, match="measure"):
        api_latency(loaded.store, Query(FIRST_HOUR), "speed")


def test_latency_by_model(loaded: BatchWriter) -> None:
    rows = latency_by_model(loaded.store, Query(FIRST_HOUR)).rows
    assert [(r.model, r.requests, r.duration_p50_ms, r.ttft_p50_ms) for r in rows] == [
        (SONNET, 2, 1500.0, 200.0),
        (OPUS, 1, 4000.0, 500.0),
    ]


def test_errors_rate_status_codes_and_exhausted_retries(loaded: BatchWriter) -> None:
    result = errors(loaded.store, Query(FIRST_HOUR, bucket="1h"))
    assert (result.api_requests, result.api_errors, result.retries_exhausted) == (3, 1, 1)
    assert result.error_rate == 0.25
    assert [(s.status_code, s.errors) for s in result.by_status] == [(529, 1)]
    assert [(p.series, p.value) for p in result.over_time.rows] == [
        ("error_rate", 0.25),
        ("api_errors", 1.0),
        ("api_requests", 3.0),
    ]


def test_empty_ranges(loaded: BatchWriter) -> None:
    assert tools(loaded.store, EMPTY).rows == []
    assert tool_heatmap(loaded.store, EMPTY).rows == []
    assert api_latency(loaded.store, EMPTY).rows == []
    empty = errors(loaded.store, EMPTY)
    assert empty.error_rate is None and empty.by_status == [] and empty.over_time.rows == []
