"""Cost analytics on the hand-computed dataset (tests/analytics/data.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccmon.analytics import Filters, InvalidQuery, Query, TimeRange, TimeSeries
from ccmon.analytics.cost import PROJECTION_METHOD, cost_by, cost_over_time, efficiency, month_to_date, tokens_over_time
from ccmon.analytics.overview import overview
from ccmon.ingest.writer import BatchWriter
from tests.analytics.data import FIRST_HOUR, HAIKU, OPUS, SONNET, T0

TWO_HOURS = Query(TimeRange(T0, datetime(2026, 11, 20, 12, 0, tzinfo=UTC)), bucket="1h")
EMPTY = Query(TimeRange(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC)))
H10, H11 = datetime(2026, 11, 20, 10, tzinfo=UTC), datetime(2026, 11, 20, 11, tzinfo=UTC)


def _points(series: TimeSeries) -> list[tuple[datetime, str, float]]:
    return [(p.t, p.series, p.value) for p in series.rows]


def test_cost_over_time_by_model_and_family(loaded: BatchWriter) -> None:
    by_model = cost_over_time(loaded.store, TWO_HOURS, "model")
    assert by_model.bucket == "1h"
    assert _points(by_model) == [(H10, OPUS, 0.5), (H10, SONNET, 1.25), (H11, HAIKU, 2.0)]
    by_family = cost_over_time(loaded.store, TWO_HOURS, "family")
    assert _points(by_family) == [(H10, "opus", 0.5), (H10, "sonnet", 1.25), (H11, "haiku", 2.0)]
    with pytest.raises(InvalidQuery, match="by: 'vendor'"):
        cost_over_time(loaded.store, TWO_HOURS, "vendor")


def test_tokens_over_time_use_the_api_names(loaded: BatchWriter) -> None:
    assert _points(tokens_over_time(loaded.store, TWO_HOURS)) == [
        (H10, "cache_creation", 40.0),
        (H10, "cache_read", 3000.0),
        (H10, "input", 1000.0),
        (H10, "output", 200.0),
    ]


def test_breakdown_by_dimension_with_top_n_and_rest(loaded: BatchWriter) -> None:
    by_person = cost_by(loaded.store, TWO_HOURS, "person")
    assert [(r.key, r.cost_usd) for r in by_person.rows] == [("alice@example.com", 3.25), ("bob-uuid", 0.5)]
    assert by_person.total_cost_usd == 3.75
    assert [round(r.share, 4) for r in by_person.rows] == [0.8667, 0.1333]
    top1 = cost_by(loaded.store, TWO_HOURS, "model", top=1)
    assert [(r.key, r.cost_usd) for r in top1.rows] == [(HAIKU, 2.0), ("(rest)", 1.75)]
    assert [r.key for r in cost_by(loaded.store, TWO_HOURS, "family").rows] == ["haiku", "sonnet", "opus"]
    assert [r.key for r in cost_by(loaded.store, TWO_HOURS, "repository").rows] == ["(unknown)"]
    with pytest.raises(InvalidQuery, match="by: 'colour'"):
        cost_by(loaded.store, TWO_HOURS, "colour")


def test_filters_narrow_every_cost_query(loaded: BatchWriter) -> None:
    platform = Query(TWO_HOURS.time_range, filters=Filters({"team": ("platform",)}), bucket="1h")
    assert [r.key for r in cost_by(loaded.store, platform, "person").rows] == ["alice@example.com"]
    assert _points(cost_over_time(loaded.store, platform, "family")) == [(H10, "sonnet", 1.25), (H11, "haiku", 2.0)]
    opus = Query(TWO_HOURS.time_range, filters=Filters({"model": (OPUS,)}))
    assert efficiency(loaded.store, opus).cache_creation_tokens == 40


def test_efficiency(loaded: BatchWriter) -> None:
    result = efficiency(loaded.store, Query(FIRST_HOUR))
    assert result.cache_efficiency == pytest.approx(3000 / (1000 + 40 + 3000))  # read / (input + creation + read)
    assert result.token_efficiency == pytest.approx(0.2)
    assert result.cost_per_million_tokens == pytest.approx(1.75 / 4240 * 1_000_000)


def test_month_to_date_and_projection(loaded: BatchWriter) -> None:
    as_of = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    result = month_to_date(loaded.store, Query(FIRST_HOUR), now=as_of)
    assert result.month_start == datetime(2026, 11, 1, tzinfo=UTC)
    assert result.spend_usd == 3.75
    assert result.trailing_7d_daily_usd == pytest.approx(3.75 / 7)
    # 10.5 days left in November after 2026-11-20 12:00.
    assert result.projected_month_end_usd == pytest.approx(3.75 + 3.75 / 7 * 10.5)
    assert result.method == PROJECTION_METHOD


def test_overview_compares_with_the_previous_period(loaded: BatchWriter) -> None:
    second_hour = Query(TimeRange(H11, datetime(2026, 11, 20, 12, tzinfo=UTC)))
    result = overview(loaded.store, second_hour)
    assert result.current.cost_usd == 2.0 and result.previous.cost_usd == 1.75
    assert result.cost_change_pct == pytest.approx((2.0 - 1.75) / 1.75 * 100)
    first = overview(loaded.store, Query(FIRST_HOUR))
    assert first.edit_accept_rate == 0.75
    assert first.cost_per_user == 0.875
    assert first.cost_per_session == 0.875
    assert first.cost_per_commit == 0.875
    assert first.cost_per_pull_request == 1.75
    assert first.cost_change_pct is None  # nothing the hour before


def test_empty_ranges_answer_zeros_and_empty_series(loaded: BatchWriter) -> None:
    assert cost_over_time(loaded.store, EMPTY).rows == []
    assert tokens_over_time(loaded.store, EMPTY).rows == []
    empty_breakdown = cost_by(loaded.store, EMPTY, "team")
    assert empty_breakdown.rows == [] and empty_breakdown.total_cost_usd == 0
    empty_efficiency = efficiency(loaded.store, EMPTY)
    assert empty_efficiency.cache_efficiency is None and empty_efficiency.input_tokens == 0
    empty_overview = overview(loaded.store, EMPTY)
    assert empty_overview.cost_per_user is None and empty_overview.edit_accept_rate is None
