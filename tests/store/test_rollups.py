"""Rollups cannot drift from the raw rows: checked on a demo organisation sent through the OpenTelemetry SDK.

Every analytics answer read from a rollup is a tier's rows for the whole days or hours of its range, a finer tier's
for the whole hours around them, and the tier's materialized view's query over the raw rows at the partial hours
(`analytics.rollup.rollup_rows`). So three checks cover them all: each rollup table equals its view's query over all
raw rows (whether filled by its views or by its migration's backfill), and a range cut mid-hour, with filters, gives
the same rows through `rollup_rows` from every tier as from the raw rows alone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ccmon import demo
from ccmon.analytics import UNKNOWN, Filters, Query, TimeRange
from ccmon.analytics.rollup import rollup_rows
from ccmon.store.facade import Store
from ccmon.store.migrations import MIGRATIONS
from ccmon.store.rollups import EVENTS, METRICS, ROLLUPS, SESSIONS, Rollup
from tests.demo.conftest import NOW
from tests.support import RunningServer


def _grouped(rollup: Rollup, rows_sql: str) -> str:
    """`rows_sql` (rows with the rollup's columns) merged per key and time bucket of the rollup: comparable row for
    row, and to the digit, since sums are exact decimals."""
    keys = [f"{rollup.truncate('hour')} AS hour", *rollup.keys]
    measures = [f"{f}({name})" for name, f in rollup.aggregates.items()]
    return f"SELECT {', '.join(keys)}, {', '.join(measures)} FROM ({rows_sql}) GROUP BY ALL ORDER BY ALL"


def _raw(rollup: Rollup, where: str = "1") -> str:
    return " UNION ALL ".join(
        f"SELECT {rollup.names} FROM ({rollup.select(s, where=where)})" for s, _ in rollup.sources
    )


@pytest.fixture
def organisation(server: RunningServer, store: Store) -> demo.Demo:
    sent = demo.run(f"http://{server.otlp_grpc_target}", "grpc", developers=8, teams=3, days=3, now=NOW, processes=1)
    assert sent.events > 1000 and sent.metric_points > 1000
    return demo.generate(developers=8, teams=3, days=3, now=NOW)


def assert_rollups_equal_raw(store: Store, min_rows: int = 20, rollups: tuple[Rollup, ...] = ROLLUPS) -> None:
    """Every rollup holds what its views' queries give over all the raw rows."""
    for rollup in rollups:
        rolled = store.query(_grouped(rollup, f"SELECT {rollup.names} FROM {rollup.table}"))
        assert len(rolled) > min_rows, rollup.table
        assert rolled == store.query(_grouped(rollup, _raw(rollup))), rollup.table


def test_rollups_equal_their_views_over_raw_rows(organisation: demo.Demo, store: Store) -> None:
    assert_rollups_equal_raw(store)


def test_the_rollups_backfill_equals_their_views(organisation: demo.Demo, store: Store) -> None:
    """Migrations 4 and 14 on a store that already holds data (or run again after an interruption) rebuild the
    rollups: the hourly ones from the raw rows, the others from an hourly one; the result is what the views over raw
    rows give."""
    for migration in (m for m in MIGRATIONS if m.version in (4, 14)):
        for statement in migration.statements:
            store.command(statement)
    assert_rollups_equal_raw(store)


def test_a_range_cut_mid_hour_reads_the_same_rows_from_every_tier(organisation: demo.Demo, store: Store) -> None:
    teams = [row[0] for row in store.query("SELECT DISTINCT team FROM events WHERE team != '' ORDER BY team LIMIT 2")]
    assert len(teams) == 2
    ((organization,),) = store.query("SELECT DISTINCT organization_id FROM events WHERE organization_id != ''")
    cut = TimeRange(organisation.start + timedelta(minutes=17), organisation.end - timedelta(hours=5, minutes=23))
    assert cut.end - cut.start > timedelta(days=2)  # at least one whole day inside
    filters = [
        {},
        {"team": tuple(teams)},
        {"provider": ("bedrock", UNKNOWN)},  # the demo's payments team is on Bedrock; lines carry no model
        {"project": ("checkout",)},  # ... and tags its project
        {"organization": (organization,)},
    ]
    for query in (Query(cut, filters=Filters(f)) for f in filters):
        for tiers in (METRICS, EVENTS, SESSIONS):
            for rollup in tiers:
                if not query.filters.columns <= set(rollup.column_names):
                    continue  # this tier cannot apply the filter: a finer one answers (tests/analytics/test_rollup.py)
                # Using all of a tier's keys leaves only it and the (finer) tiers that have them all.
                mixed, params = rollup_rows(tiers, query, uses=rollup.keys)
                assert f"FROM {rollup.table} " in mixed, rollup.table
                assert f"FROM {tiers[-1].table} " in mixed or rollup.grain_s == tiers[-1].grain_s, rollup.table
                assert mixed.count("ts >=") == 2 * len(rollup.sources), rollup.table  # both edges from raw rows
                time_sql, _ = query.time_range.sql()
                filter_sql, _ = query.filters.sql()
                expected = store.query(_grouped(rollup, _raw(rollup, f"{time_sql} AND {filter_sql}")), params)
                actual: list[tuple[Any, ...]] = store.query(_grouped(rollup, mixed), params)
                assert len(expected) > 20 and actual == expected, rollup.table
