"""Which rollup tier a query reads, and how a range is cut into days, hours and raw minutes.

That the rows read are right is `tests/store/test_rollups.py`'s job (on real data); these tests pin the choice, which
decides how fast dashboards are: the smallest tier that has every column the query needs.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccmon.analytics import Filters, Query, Scope, TimeRange
from ccmon.analytics.query import DIMENSIONS
from ccmon.analytics.rollup import rollup_rows
from ccmon.store.rollups import (
    DURATIONS,
    DURATIONS_BY_DAY,
    DURATIONS_BY_DAY_AND_PERSON,
    DURATIONS_BY_HOUR,
    DURATIONS_BY_HOUR_AND_TEAM,
    EVENTS,
    EVENTS_BY_DAY,
    EVENTS_BY_DAY_AND_PERSON,
    EVENTS_BY_HOUR,
    METRICS,
    METRICS_BY_DAY,
    METRICS_BY_DAY_AND_PERSON,
    METRICS_BY_HOUR,
    SESSIONS,
    SESSIONS_BY_DAY,
    SESSIONS_BY_HOUR,
)

# Mid-day to mid-day over a month: whole days, whole hours and minutes at both ends.
RANGE = TimeRange(datetime(2026, 10, 2, 9, 41, tzinfo=UTC), datetime(2026, 11, 1, 14, 7, tzinfo=UTC))


def _tables(sql: str) -> set[str]:
    return {
        table for tiers in (METRICS, EVENTS, SESSIONS, DURATIONS) for t in tiers if f"FROM {(table := t.table)} " in sql
    }


def test_the_last_tier_of_each_family_has_every_column_of_the_others_and_every_dimension() -> None:
    for tiers in (METRICS, EVENTS, SESSIONS, DURATIONS):
        finest = set(tiers[-1].column_names)
        assert set(DIMENSIONS.values()) <= finest
        for tier in tiers:
            assert set(tier.column_names) <= finest, tier.table
        assert [t.grain_s for t in tiers] == sorted((t.grain_s for t in tiers), reverse=True)


def test_a_person_keyed_query_reads_the_daily_person_tier_and_hours_around_it() -> None:
    sql, params = rollup_rows(METRICS, Query(RANGE), uses=("metric_name", "person"))
    assert _tables(sql) == {METRICS_BY_DAY_AND_PERSON.table, METRICS_BY_HOUR.table}
    # One read per table: the hours around the days in one, the minutes before 10:00 and after 14:00 in another.
    assert sql.count("FROM metric_points") == 1 and sql.count(" OR ") == 2
    # Cuts at the whole days and hours, bound by value: 10:00 and 00:00 on Oct 2-3, 00:00 and 14:00 on Nov 1.
    cuts = sorted(datetime.fromtimestamp(v, UTC).strftime("%m-%d %H:%M") for k, v in params.items() if "cut" in k)
    assert cuts == ["10-02 10:00", "10-03 00:00", "11-01 00:00", "11-01 14:00"]


def test_a_filter_the_person_tier_cannot_apply_moves_to_one_that_can() -> None:
    by_model = Query(RANGE, filters=Filters({"model": ("claude-opus-4-6",)}))
    sql, _ = rollup_rows(METRICS, by_model, uses=("metric_name",))
    assert _tables(sql) == {METRICS_BY_DAY.table, METRICS_BY_HOUR.table}
    both = Query(RANGE, filters=Filters({"model": ("m",), "person": ("p",)}))
    assert _tables(rollup_rows(METRICS, both, uses=("metric_name",))[0]) == {METRICS_BY_HOUR.table}
    assert _tables(rollup_rows(SESSIONS, by_model, uses=("session_id",))[0]) == {SESSIONS_BY_HOUR.table}


def test_the_scope_counts_as_a_column_the_query_uses() -> None:
    mine = Query(RANGE, scope=Scope(persons=("ada",)))
    assert EVENTS_BY_DAY_AND_PERSON.table in rollup_rows(EVENTS, mine, uses=("event_name",))[0]
    tools = rollup_rows(EVENTS, mine, uses=("event_name", "tool_name"))[0]
    assert _tables(tools) == {EVENTS_BY_HOUR.table}
    assert EVENTS_BY_DAY.table in rollup_rows(EVENTS, Query(RANGE), uses=("event_name", "tool_name"))[0]


@pytest.mark.parametrize(
    ("bucket", "tables"),
    [
        ("1w", {SESSIONS_BY_DAY.table, SESSIONS_BY_HOUR.table}),
        ("1d", {SESSIONS_BY_DAY.table, SESSIONS_BY_HOUR.table}),
        ("6h", {SESSIONS_BY_HOUR.table}),
        ("1h", {SESSIONS_BY_HOUR.table}),
        ("15m", set()),
    ],
)
def test_a_bucket_reads_only_tiers_whose_grain_divides_it(bucket: str, tables: set[str]) -> None:
    query = Query(TimeRange(RANGE.start, RANGE.start.replace(day=9)))
    sql, _ = rollup_rows(SESSIONS, query, uses=("session_id",), bucket=bucket)
    assert _tables(sql) == tables
    if not tables:
        assert "INTERVAL 900 SECOND" in sql and "FROM events" in sql and "FROM metric_points" in sql


def test_a_range_inside_one_hour_reads_raw_rows_only() -> None:
    inside = Query(TimeRange(datetime(2026, 10, 2, 9, 5, tzinfo=UTC), datetime(2026, 10, 2, 9, 55, tzinfo=UTC)))
    sql, _ = rollup_rows(EVENTS, inside, uses=("event_name",))
    assert _tables(sql) == set() and "FROM events" in sql


def test_a_column_no_tier_has_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no rollup"):
        rollup_rows(SESSIONS, Query(RANGE), uses=("tool_name",))


def test_percentiles_read_the_smallest_durations_tier_that_has_their_columns() -> None:
    organisation = _tables(rollup_rows(DURATIONS, Query(RANGE), uses=("event_name", "tool_name"))[0])
    assert organisation == {DURATIONS_BY_DAY.table, DURATIONS_BY_HOUR_AND_TEAM.table}
    six_hours = rollup_rows(DURATIONS, Query(RANGE), uses=("event_name",), bucket="6h")[0]
    assert _tables(six_hours) == {DURATIONS_BY_HOUR_AND_TEAM.table}
    mine = Query(RANGE, Scope(persons=("ada@example.com",)))
    assert _tables(rollup_rows(DURATIONS, mine, uses=("event_name", "tool_name"))[0]) == {
        DURATIONS_BY_DAY_AND_PERSON.table,
        DURATIONS_BY_HOUR.table,
    }
    by_repository = Query(RANGE, filters=Filters({"repository": ("ccmon",)}))
    assert _tables(rollup_rows(DURATIONS, by_repository, uses=("event_name",))[0]) == {DURATIONS_BY_HOUR.table}
