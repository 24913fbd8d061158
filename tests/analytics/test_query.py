from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ccmon.analytics import Filters, InvalidQuery, Query, Scope, TimeRange
from ccmon.analytics.query import bucket_sql, choose_bucket

START = datetime(2026, 11, 1, tzinfo=UTC)


def _range(**span: float) -> TimeRange:
    return TimeRange(START, START + timedelta(**span))


@pytest.mark.parametrize(
    ("span", "bucket"),
    [
        ({"hours": 1}, "1m"),
        ({"hours": 6}, "5m"),
        ({"hours": 24}, "15m"),
        ({"days": 7}, "1h"),
        ({"days": 30}, "6h"),
        ({"days": 90}, "1d"),
        ({"days": 400}, "1w"),
        ({"days": 4000}, "1w"),
    ],
)
def test_the_automatic_bucket_gives_at_most_240_points(span: dict[str, float], bucket: str) -> None:
    assert choose_bucket(_range(**span)) == bucket


def test_a_requested_bucket_is_kept_unless_it_gives_too_many_points() -> None:
    assert choose_bucket(_range(days=3), "1m") == "1m"  # 4,320 points
    with pytest.raises(InvalidQuery, match="more than 5000"):
        choose_bucket(_range(days=4), "1m")
    with pytest.raises(InvalidQuery, match="not one of"):
        choose_bucket(_range(days=1), "2h")


def test_weeks_start_on_monday_other_buckets_on_utc_boundaries() -> None:
    assert bucket_sql("1w") == "toDateTime(toMonday(ts, 'UTC'), 'UTC')"
    assert bucket_sql("1d", "start_ts") == "toStartOfInterval(start_ts, INTERVAL 86400 SECOND, 'UTC')"


def test_filters_are_bound_never_pasted() -> None:
    sql, params = Filters({"team": ("platform", "x' OR 1=1 --"), "model": ()}).sql()
    assert sql == "1 AND team IN {filter_team:Array(String)}"
    assert params == {"filter_team": ["platform", "x' OR 1=1 --"]}


def test_unknown_filters_are_refused() -> None:
    with pytest.raises(InvalidQuery, match="unknown filter colour"):
        Filters({"colour": ("red",)})


def test_where_combines_time_scope_and_filters() -> None:
    query = Query(_range(days=1), Scope(teams=("data",)), Filters({"terminal": ("vscode",)}))
    sql, params = query.where()
    assert "team IN {scope_teams:Array(String)}" in sql
    assert "terminal_type IN {filter_terminal:Array(String)}" in sql
    assert params["scope_teams"] == ["data"] and params["filter_terminal"] == ["vscode"]


def test_the_previous_period_has_the_same_length() -> None:
    previous = Query(_range(days=2)).previous().time_range
    assert previous == TimeRange(START - timedelta(days=2), START)
