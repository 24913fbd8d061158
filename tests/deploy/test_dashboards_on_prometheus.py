"""The Prometheus dashboard against a real Prometheus scraping a real ccmon: every panel's query runs as Grafana
runs it (instant queries for stats, tables and bars; range queries for time series) without an error, and the main
panels show the demo's data. Prometheus is H1's end-to-end helper (tests/e2e/prometheus_server.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccmon import demo
from tests.demo.conftest import NOW
from tests.deploy.grafana import (
    DEPLOY,
    PROMETHEUS,
    Json,
    dashboard_for,
    panels,
    substitute,
)
from tests.e2e.prometheus_server import Prometheus, running_prometheus
from tests.support import RunningServer, in_process_server, make_config

pytestmark = pytest.mark.slow

SCRAPE_TOKEN = "grafana-scrape-token"
RANGE_S = 600
"""The dashboard's time range: the minutes Prometheus has scraped."""


@pytest.fixture(scope="module")
def scraped(
    chdb_path: Path, _dropper: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, Prometheus, float]]:
    """A ccmon holding two days of demo data, scraped by Prometheus before and after two more days arrive (the same
    people: their series exist, so `increase()` sees the growth); the time of the last scrape. One per module, in a
    database of its own (tests/conftest.py's `database` is per test)."""
    database = f"test_{uuid.uuid4().hex[:12]}"
    config = make_config(chdb_path, database=database, scrape_tokens=(SCRAPE_TOKEN,), api_tokens=("api-token",))
    folder = tmp_path_factory.mktemp("grafana-on-prometheus")
    try:
        with in_process_server(config) as server:
            server.http.headers["authorization"] = "Bearer api-token"
            endpoint = f"http://{server.otlp_grpc_target}"
            demo.run(endpoint, "grpc", developers=6, teams=3, days=2, now=NOW, processes=1)
            target = f"127.0.0.1:{config.port}"
            with running_prometheus(target, "/metrics/claude-code", folder, bearer=SCRAPE_TOKEN) as prom:
                prom.wait_for_scrape(time.time())
                time.sleep(2)
                demo.run(endpoint, "grpc", developers=6, teams=3, days=2, now=datetime.now(UTC), processes=1)
                prom.wait_for_scrape(time.time())
                time.sleep(2)
                yield server, prom, prom.wait_for_scrape(time.time())
    finally:
        _dropper.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")


def _answers(prom: Prometheus, board: Json, at: float) -> dict[str, list[list[dict[str, Any]]]]:
    """Panel title -> each target's result, queried as Grafana queries it."""
    answers: dict[str, list[list[dict[str, Any]]]] = {}
    for panel in panels(board):
        for target in panel.get("targets", []):
            expr = substitute(target["expr"], board, range_s=RANGE_S)
            if target.get("instant"):
                result = prom.query(expr, at)
            else:
                response = prom.http.get(
                    f"{prom.url}/api/v1/query_range",
                    params={"query": expr, "start": at - RANGE_S, "end": at, "step": 15},
                )
                body = response.json()
                assert response.status_code == 200 and body["status"] == "success", (panel["title"], expr, body)
                result = body["data"]["result"]
            answers.setdefault(panel["title"], []).append(result)
    return answers


def _value(results: list[list[dict[str, Any]]]) -> float:
    ((only,),) = results
    return float(only["value"][1])


def test_every_panel_runs_and_the_main_ones_show_the_demo(scraped: tuple[RunningServer, Prometheus, float]) -> None:
    server, prom, at = scraped
    answers = _answers(prom, dashboard_for(PROMETHEUS), at)
    summary = server.summary()
    assert _value(answers["Users seen (all time)"]) == summary["users"] == 6
    assert _value(answers["Active users"]) == summary["users"]
    for title in ("Total cost", "Sessions", "Cost per active user"):
        assert _value(answers[title]) > 0, title
    for title in (
        "Cost by model",
        "Tokens by type",
        "Tokens by model",
        "Cost by team",
        "Top 10 users by cost",
        "Lines of code",
        "Active time by type",
        "Edit decisions by tool and decision",
    ):
        (result,) = answers[title]
        assert result and any(float(v) > 0 for series in result for v in _values(series)), title
    leaderboard = answers["Leaderboard"]
    assert {series["metric"]["user_email"] for series in leaderboard[0]} == {
        series["metric"]["user_email"] for series in leaderboard[1]
    }
    assert len(leaderboard[0]) == summary["users"]


def test_the_alert_rules_evaluate_on_ccmons_series(scraped: tuple[RunningServer, Prometheus, float]) -> None:
    _server, prom, at = scraped
    (group,) = yaml.safe_load((DEPLOY / "prometheus" / "ccmon-rules.yml").read_text(encoding="utf-8"))["groups"]
    for rule in group["rules"]:
        prom.query(rule["expr"], at)  # answers "success", or the helper fails the test with Prometheus's error
    # Seed 000's adoption alert fires: fewer than 10 people whose session counter grew this week (at most the 6
    # people, and only those already known when the second load arrived: increase() misses a series' first value).
    (adoption,) = [rule["expr"] for rule in group["rules"] if rule["alert"] == "LowClaudeAdoption"]
    ((sample,),) = [prom.query(adoption, at)]
    assert 1 <= float(sample["value"][1]) <= 6


def _values(series: dict[str, Any]) -> list[str]:
    return [series["value"][1]] if "value" in series else [value for _, value in series["values"]]
