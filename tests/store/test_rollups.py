"""Rollups cannot drift from the raw rows: checked on a demo organisation sent through the OpenTelemetry SDK.

Every analytics answer read from a rollup is the rollup's rows for the whole hours of its range plus its materialized
view's query over the raw rows at the partial hours (`analytics.rollup.rollup_rows`). So two checks cover them all:
each rollup table equals its view's query over all raw rows, and a range cut mid-hour, with filters, gives the same
rows through `rollup_rows` as from the raw rows alone.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from ccmon import demo
from ccmon.analytics import Filters, Query, TimeRange
from ccmon.analytics.rollup import rollup_rows
from ccmon.store.facade import Store
from ccmon.store.rollups import ROLLUPS, Rollup
from tests.demo.conftest import NOW
from tests.support import RunningServer

_MEASURE = re.compile(r"^(\w+) SimpleAggregateFunction\((\w+),")


def _grouped(rollup: Rollup, rows_sql: str) -> str:
    """`rows_sql` (rows with the rollup's columns) merged per key, measures rounded: comparable row for row."""
    keys, measures = [], []
    for definition in rollup.definitions:
        if match := _MEASURE.match(definition):
            name, function = match.groups()
            measures.append(f"round({function}({name}), 6)" if function == "sum" else f"{function}({name})")
        else:
            keys.append(definition.split()[0])
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


def test_rollups_equal_their_views_over_raw_rows(organisation: demo.Demo, store: Store) -> None:
    for rollup in ROLLUPS:
        rolled = store.query(_grouped(rollup, f"SELECT {rollup.names} FROM {rollup.table}"))
        assert len(rolled) > 50, rollup.table
        assert rolled == store.query(_grouped(rollup, _raw(rollup))), rollup.table


def test_a_range_cut_mid_hour_reads_the_same_rows(organisation: demo.Demo, store: Store) -> None:
    teams = [row[0] for row in store.query("SELECT DISTINCT team FROM events WHERE team != '' ORDER BY team LIMIT 2")]
    assert len(teams) == 2
    cut = TimeRange(organisation.start + timedelta(minutes=17), organisation.end - timedelta(hours=5, minutes=23))
    for query in (Query(cut), Query(cut, filters=Filters({"team": tuple(teams)}))):
        for rollup in ROLLUPS:
            mixed, params = rollup_rows(rollup, query)
            assert rollup.table in mixed and " OR " in mixed  # whole hours from the rollup, both edges from raw rows
            time_sql, _ = query.time_range.sql()
            filter_sql, _ = query.filters.sql()
            expected = store.query(_grouped(rollup, _raw(rollup, f"{time_sql} AND {filter_sql}")), params)
            actual: list[tuple[Any, ...]] = store.query(_grouped(rollup, mixed), params)
            assert len(expected) > 20 and actual == expected, rollup.table
