"""The Grafana dashboards of deploy/: each passes the schema check, the check catches what it is for, and the
Prometheus dashboard shows the seeds' panels with the metric names the contract gives (`/metrics/claude-code`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tests.deploy.grafana import (
    CLICKHOUSE,
    DASHBOARDS,
    PROMETHEUS,
    PROVISIONING,
    Json,
    dashboard_files,
    dashboard_for,
    dashboard_problems,
    expand_macros,
    load,
    panels,
    plugin_of,
    provisioned_datasources,
    substitute,
    targets,
)

CLAUDE_CODE_SERIES = {
    "claude_code_session_count_total",
    "claude_code_lines_of_code_count_total",
    "claude_code_pull_request_count_total",
    "claude_code_commit_count_total",
    "claude_code_cost_usage_USD_total",
    "claude_code_token_usage_tokens_total",
    "claude_code_code_edit_tool_decision_total",
    "claude_code_active_time_seconds_total",
}


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda path: path.name)
def test_every_dashboard_passes_the_schema_check(path: Path) -> None:
    board = load(path)
    assert dashboard_problems(board, provisioned_datasources()) == []
    assert path.parent.name == {PROMETHEUS: "prometheus", CLICKHOUSE: "clickhouse"}[plugin_of(board)]
    assert sum(1 for panel in panels(board) if panel["type"] != "row") >= 20


def test_one_dashboard_per_datasource_with_distinct_uids() -> None:
    boards = [load(path) for path in dashboard_files()]
    assert sorted(plugin_of(board) for board in boards) == sorted([PROMETHEUS, CLICKHOUSE])
    assert len({board["uid"] for board in boards}) == len({board["title"] for board in boards}) == len(boards)


def _break(change: Callable[[Json], None]) -> list[str]:
    board = copy.deepcopy(dashboard_for(PROMETHEUS))
    change(board)
    return dashboard_problems(board, provisioned_datasources())


def _first_chart(board: Json) -> Json:
    return next(panel for panel in board["panels"] if panel["type"] != "row")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda b: b.update(schemaVersion=38), "schemaVersion 38"),
        (lambda b: b.pop("uid"), "missing 'uid'"),
        (lambda b: b["panels"][2].update(title=b["panels"][1]["title"]), "used twice"),
        (lambda b: b["panels"][2].update(id=b["panels"][1]["id"]), "not unique"),
        (lambda b: _first_chart(b).update(targets=[]), "no targets"),
        (lambda b: _first_chart(b)["gridPos"].update(x=20, w=8), "outside the 24-column grid"),
        (lambda b: _first_chart(b)["gridPos"].pop("y"), "lacks integer"),
        (lambda b: b["panels"][2]["gridPos"].update(x=b["panels"][1]["gridPos"]["x"]), "overlaps"),
        (lambda b: _first_chart(b).update(datasource={"type": "prometheus", "uid": "elsewhere"}), "'elsewhere'"),
        (lambda b: _first_chart(b)["targets"][0]["datasource"].update(type="loki"), "no loki datasource"),
        (lambda b: _first_chart(b)["targets"][0].update(expr='sum(x{a=~"$nope"})'), "undefined variable $nope"),
        (lambda b: b["templating"]["list"][0]["current"].update(value="gone"), "not a provisioned prometheus"),
    ],
)
def test_the_schema_check_finds_what_grafana_would_trip_on(change: Callable[[Json], None], problem: str) -> None:
    problems = _break(change)
    assert any(problem in found for found in problems), problems


def test_the_prometheus_dashboard_uses_the_contract_names_and_the_seeds_queries() -> None:
    board = dashboard_for(PROMETHEUS)
    expressions = " ".join(target.query["expr"] for target in targets(board))
    for series in CLAUDE_CODE_SERIES:
        assert series in expressions, series
    # Seed 000's executive overview, as written there (over the dashboard's range instead of 30 days).
    assert "sum(increase(claude_code_cost_usage_USD_total{" in expressions
    assert "count(count by (user_email) (claude_code_session_count_total{" in expressions
    assert "sum by (team) (increase(claude_code_cost_usage_USD_total{" in expressions
    titles = {panel["title"] for panel in panels(board)}
    assert {
        "Total cost",
        "Active users",
        "Cost by model",
        "Tokens by type",
        "Sessions",
        "Lines of code",
        "Commits and pull requests",
        "Edit decisions by tool and decision",
        "Active time by type",
        "Leaderboard",
    } <= titles
    names = {variable["name"] for variable in board["templating"]["list"]}
    assert names == {"datasource", "user_email", "model", "team"}


def test_the_provisioning_loads_the_dashboard_folders() -> None:
    (provider,) = yaml.safe_load((PROVISIONING / "dashboards" / "ccmon.yaml").read_text())["providers"]
    assert provider["type"] == "file" and provider["options"]["foldersFromFilesStructure"] is True
    assert {path.parent.name for path in dashboard_files()} == {"prometheus", "clickhouse"}
    assert all(path.parent.parent == DASHBOARDS for path in dashboard_files())


def test_macros_expand_as_the_plugin_expands_them() -> None:
    start, end = datetime.fromtimestamp(1_700_000_000, UTC), datetime.fromtimestamp(1_700_003_600, UTC)
    assert expand_macros("WHERE $__timeFilter(hour) AND $__fromTime < $__toTime", start, end) == (
        "WHERE hour >= toDateTime(1700000000) AND hour <= toDateTime(1700003600) "
        "AND toDateTime(1700000000) < toDateTime(1700003600)"
    )
    assert expand_macros("$__timeInterval(ts) $__interval_s", start, end, 60) == (
        "toStartOfInterval(toDateTime(ts), INTERVAL 60 second) 60"
    )


def test_variables_are_formatted_as_grafana_formats_them() -> None:
    board = dashboard_for(CLICKHOUSE)
    sql = "team IN (${team:singlequote}) AND $__interval_s"
    assert substitute(sql, board) == "team IN ('__all') AND 3600"
    assert substitute(sql, board, {"team": ["a'b", "c"]}) == "team IN ('a\\'b','c') AND 3600"
    promql = 'x{user_email=~"$user_email"}[$__range]'
    prometheus = dashboard_for(PROMETHEUS)
    assert substitute(promql, prometheus, range_s=60) == 'x{user_email=~".*"}[60s]'
    chosen = substitute(promql, prometheus, {"user_email": ["a.b@c", "d"]})
    assert chosen == 'x{user_email=~"(a\\\\.b@c|d)"}[604800s]'
