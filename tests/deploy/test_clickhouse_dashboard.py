"""The ClickHouse dashboard's SQL runs on ccmon's own tables: every panel and variable query, with the plugin's
macros expanded as it expands them, over a store holding a demo organisation; its totals equal /api/v1/summary's
for the same range, and a variable's value narrows what the panels show."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from ccmon import demo
from ccmon.store.facade import Store
from tests.demo.conftest import NOW
from tests.deploy.grafana import (
    CLICKHOUSE,
    Json,
    dashboard_for,
    expand_macros,
    substitute,
    targets,
    variables,
)
from tests.support import RunningServer

START = NOW - timedelta(days=4)
"""Whole hours on both sides: the hourly rollups' `$__timeFilter(hour)` then covers the summary's range exactly."""

pytestmark = pytest.mark.slow


@pytest.fixture
def organisation(server: RunningServer, store: Store) -> RunningServer:
    sent = demo.run(f"http://{server.otlp_grpc_target}", "grpc", developers=8, teams=3, days=3, now=NOW, processes=1)
    assert sent.metric_points > 1000
    return server


def _run(store: Store, sql: str, board: Json, chosen: dict[str, list[str]] | None = None) -> list[tuple[Any, ...]]:
    expanded = substitute(expand_macros(sql, START, NOW), board, chosen)
    assert "$" not in expanded, expanded
    return store.query(expanded)


def _panels(store: Store, board: Json, chosen: dict[str, list[str]] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    return {target.panel: _run(store, target.query["rawSql"], board, chosen) for target in targets(board)}


def _number(rows: list[tuple[Any, ...]]) -> float:
    (row,) = rows
    value = row[0]
    assert isinstance(value, int | float | Decimal), rows
    return float(value)


def test_every_panel_runs_and_agrees_with_the_summary(organisation: RunningServer, store: Store) -> None:
    board = dashboard_for(CLICKHOUSE)
    answers = _panels(store, board)
    empty = [panel for panel, rows in answers.items() if not rows]
    assert not empty, f"panels without data on the demo: {empty}"
    summary = organisation.summary(**{"from": f"{START:%Y-%m-%dT%H:%M:%SZ}", "to": f"{NOW:%Y-%m-%dT%H:%M:%SZ}"})
    assert _number(answers["Total cost"]) == pytest.approx(summary["cost_usd"], abs=1e-6)
    assert _number(answers["Sessions"]) == summary["sessions"]
    assert _number(answers["Active users"]) == summary["users"]
    assert _number(answers["Pull requests"]) == summary["pull_requests"]
    assert _number(answers["Commits"]) == summary["commits"]
    assert _number(answers["Lines added"]) == summary["lines_added"]
    assert _number(answers["API requests"]) == summary["api_requests"]
    assert _number(answers["Active time (you)"]) == pytest.approx(summary["active_time_s"]["user"], abs=1e-6)
    decisions = summary["edit_decisions"]
    assert _number(answers["Edit accept rate"]) == pytest.approx(
        decisions["accept"] / (decisions["accept"] + decisions["reject"])
    )
    leaderboard = answers["Leaderboard"]
    assert sum(row[1] for row in leaderboard) == pytest.approx(summary["cost_usd"], abs=1e-6)


def test_the_variables_list_values_that_narrow_the_panels(organisation: RunningServer, store: Store) -> None:
    board = dashboard_for(CLICKHOUSE)
    listed = {
        name: [row[0] for row in _run(store, variable["query"], board)]
        for name, variable in variables(board).items()
        if variable["type"] == "query"
    }
    assert set(listed) == {"person", "team", "model"} and all(len(values) >= 2 for values in listed.values())
    everyone = _number(_panels(store, board)["Total cost"])
    for name, values in listed.items():
        # Every panel runs with two values chosen; each value's share of the total adds up to the total.
        assert _number(_panels(store, board, {name: values[:2]})["Total cost"]) <= everyone
        total_cost = next(target for target in targets(board) if target.panel == "Total cost").query["rawSql"]
        each = [_number(_run(store, total_cost, board, {name: [value]})) for value in values]
        assert sum(each) == pytest.approx(everyone, abs=1e-6), name
        assert len([cost for cost in each if 0 < cost < everyone]) >= 2, (name, each)
    quoted = _panels(store, board, {"person": ["o'brien@example.com"]})
    assert _number(quoted["Total cost"]) == 0
