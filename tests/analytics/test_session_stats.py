"""Sessions by project and per-session distributions on the second day of tests/analytics/data.py.

The four sessions, by hand: s1 (alice, ccmon) 3 prompts, 600 s, 1000 tokens, $0.25, 1 tool call; s2 (alice, ccmon)
1 prompt, 60 s, 100 tokens, $0.50; s3 (bob, web) 2 prompts, 120 s, 10,000 tokens, $1.00; s4 (bob, no repository)
1 prompt, 0 s, nothing else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ccmon.analytics import Filters, InvalidQuery, Query, TimeRange
from ccmon.analytics.session_stats import session_distribution, sessions_by_project
from ccmon.ingest.writer import BatchWriter
from tests.analytics.data import SECOND_DAY

EMPTY = Query(TimeRange(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC)))


def test_sessions_by_project(second_day: BatchWriter) -> None:
    rows = sessions_by_project(second_day.store, Query(SECOND_DAY)).rows
    assert [r.model_dump() for r in rows] == [
        {"project": "ccmon", "sessions": 2, "users": 1, "prompts": 4, "cost_usd": 0.75, "tokens": 1100},
        {"project": "(unknown)", "sessions": 1, "users": 1, "prompts": 1, "cost_usd": 0.0, "tokens": 0},
        {"project": "web", "sessions": 1, "users": 1, "prompts": 2, "cost_usd": 1.0, "tokens": 10000},
    ]


def test_prompts_per_session(second_day: BatchWriter) -> None:
    result = session_distribution(second_day.store, Query(SECOND_DAY), "prompts")
    # 1, 1, 2, 3: p50 halfway between 1 and 2; p90 at rank 2.7, p99 at rank 2.97 (0-based), between 2 and 3.
    assert (result.sessions, result.mean, result.min, result.max) == (4, 1.75, 1.0, 3.0)
    assert (result.p50, result.p90, result.p99) == pytest.approx((1.5, 2.7, 2.97))
    # Whole numbers: one bin per prompt count.
    assert [(b.lower, b.upper, b.sessions) for b in result.rows] == [(1, 2, 2), (2, 3, 1), (3, 4, 1)]


def test_duration_distribution_in_nice_bins(second_day: BatchWriter) -> None:
    result = session_distribution(second_day.store, Query(SECOND_DAY), "duration_s", bins=4)
    # 0, 60, 120, 600 s: 600 / 4 = 150 s rounds up to bins of 200 s; the last bin holds its upper edge.
    assert (result.mean, result.p50, result.p90, result.p99) == pytest.approx((195.0, 90.0, 456, 585.6))
    assert [(b.lower, b.upper, b.sessions) for b in result.rows] == [(0, 200, 3), (200, 400, 0), (400, 600, 1)]


def test_tokens_per_session_on_a_log_scale(second_day: BatchWriter) -> None:
    result = session_distribution(second_day.store, Query(SECOND_DAY), "tokens", scale="log")
    assert [(b.lower, b.upper, b.sessions) for b in result.rows] == [
        (0, 100, 1),
        (100, 200, 1),
        (200, 500, 0),
        (500, 1000, 0),
        (1000, 2000, 1),
        (2000, 5000, 0),
        (5000, 10000, 1),
    ]
    decades = session_distribution(second_day.store, Query(SECOND_DAY), "tokens", bins=3, scale="log")
    assert [(b.lower, b.upper, b.sessions) for b in decades.rows] == [(0, 100, 1), (100, 1000, 1), (1000, 10000, 2)]


def test_cost_per_session(second_day: BatchWriter) -> None:
    result = session_distribution(second_day.store, Query(SECOND_DAY), "cost_usd", bins=2)
    # 0, 0.25, 0.5, 1.0
    assert (result.mean, result.p50, result.p90, result.p99) == pytest.approx((0.4375, 0.375, 0.85, 0.985))
    assert [(b.lower, b.upper, b.sessions) for b in result.rows] == [(0, 0.5, 2), (0.5, 1, 2)]
    calls = session_distribution(second_day.store, Query(SECOND_DAY), "tool_calls")
    assert (calls.sessions, calls.mean, [(b.lower, b.upper, b.sessions) for b in calls.rows]) == (
        4,
        0.25,
        [(0, 1, 3), (1, 2, 1)],
    )


def test_filters_apply_to_sessions(second_day: BatchWriter) -> None:
    ccmon = Query(SECOND_DAY, filters=Filters({"repository": ("ccmon",)}))
    assert [r.project for r in sessions_by_project(second_day.store, ccmon).rows] == ["ccmon"]
    assert session_distribution(second_day.store, ccmon, "prompts").sessions == 2


def test_empty_range(second_day: BatchWriter) -> None:
    assert sessions_by_project(second_day.store, EMPTY).rows == []
    empty = session_distribution(second_day.store, EMPTY, "tokens")
    assert (empty.sessions, empty.mean, empty.p50, empty.p99, empty.min, empty.rows) == (0, None, None, None, None, [])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"measure": "mood"}, "measure: 'mood' is not one of duration_s, prompts, tokens, cost_usd, tool_calls"),
        ({"measure": "tokens", "scale": "sqrt"}, "scale: 'sqrt'"),
        ({"measure": "tokens", "bins": 0}, "bins: must be between 1 and 100"),
        ({"measure": "tokens", "bins": 101}, "bins"),
    ],
)
def test_bad_distribution_parameters(second_day: BatchWriter, arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        session_distribution(second_day.store, Query(SECOND_DAY), **arguments)
