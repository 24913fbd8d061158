"""A real Prometheus scraping `/metrics/claude-code` of a ccmon fed by the demo: the seeds' PromQL answers what the
API answers, and `increase()` behaves as docs/interop.md#prometheus says (a new series' first value is not in it;
the difference of two sums is exact)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ccmon import demo
from tests.analytics.test_signals import Who, cost, metrics_body
from tests.demo.conftest import NOW, SMALL
from tests.e2e.prometheus_server import Prometheus, expected_increase, running_prometheus
from tests.support import RunningServer, in_process_server, make_config

pytestmark = pytest.mark.slow

COST = "claude_code_cost_usage_USD_total"
TOKENS = "claude_code_token_usage_tokens_total"
SESSIONS = "claude_code_session_count_total"
EXISTING = Who("prom-existing@example.com", "s-prom-1", "prom-team")
NEWCOMER = Who("prom-new@example.com", "s-prom-2", "prom-team")


@pytest.fixture(scope="module")
def scraped(
    tmp_path_factory: pytest.TempPathFactory, chdb_path: Path, _dropper: Any
) -> Iterator[tuple[RunningServer, Prometheus]]:
    folder = tmp_path_factory.mktemp("prometheus-scrape")
    database = f"prometheus_scrape_{uuid.uuid4().hex[:12]}"
    tokens = {"scrape_tokens": ("prometheus-token",), "api_tokens": ("api-token",)}
    config = make_config(chdb_path, database=database, **tokens)
    with contextlib.ExitStack() as cleanup, in_process_server(config) as server:
        cleanup.callback(_dropper.command, f"DROP DATABASE IF EXISTS `{database}` SYNC")
        server.http.headers["authorization"] = "Bearer api-token"
        developers, teams, days = SMALL
        demo.run(f"http://{server.otlp_grpc_target}", "grpc", developers=developers, teams=teams, days=days, now=NOW)
        target = f"127.0.0.1:{config.port}"
        with running_prometheus(target, "/metrics/claude-code", folder / "prom", bearer="prometheus-token") as prom:
            yield server, prom


def test_the_seeds_queries_answer_what_the_api_answers(scraped: tuple[RunningServer, Prometheus]) -> None:
    server, prom = scraped
    at = prom.wait_for_scrape(time.time())
    summary = server.summary()
    assert summary["cost_usd"] > 10
    assert prom.scalar(f"sum({COST})", at) == pytest.approx(summary["cost_usd"], rel=1e-12)
    by_model = prom.by(f"sum by (model) ({TOKENS})", "model", at)
    assert len(by_model) >= 2
    for model, total in by_model.items():
        assert total == sum(server.summary(model=model)["tokens"].values()), model
    assert sum(by_model.values()) == sum(summary["tokens"].values())
    assert prom.scalar(f"count(count by (user_email) ({SESSIONS}))", at) == summary["users"]
    # session.count counts starts (a resumed session starts again): at least one per session.
    assert prom.scalar(f"sum({SESSIONS})", at) >= summary["sessions"] > 0
    assert prom.scalar("sum(claude_code_commit_count_total)", at) == summary["commits"]
    assert prom.scalar("sum(claude_code_pull_request_count_total)", at) == summary["pull_requests"] > 0
    lines = prom.by("sum by (type) (claude_code_lines_of_code_count_total)", "type", at)
    assert lines == {"added": summary["lines_added"], "removed": summary["lines_removed"]}
    decisions = prom.by("sum by (decision) (claude_code_code_edit_tool_decision_total)", "decision", at)
    assert decisions == summary["edit_decisions"]
    active = prom.by("sum by (type) (claude_code_active_time_seconds_total)", "type", at)
    assert active == pytest.approx(summary["active_time_s"], rel=1e-12)
    assert prom.scalar("ccmon_prometheus_series_dropped", at) == 0


def test_increase_counts_what_arrives_to_a_known_series_but_not_a_new_series_first_value(
    scraped: tuple[RunningServer, Prometheus],
) -> None:
    server, prom = scraped
    now = datetime.now(UTC)
    assert server.post("metrics", metrics_body([cost(now, 1.5, EXISTING)]), "application/json").status_code == 200
    before = prom.wait_for_scrape(time.time())
    time.sleep(2)  # a few samples of the known series' value
    before_total = server.summary()["cost_usd"]
    later = datetime.now(UTC)  # (the same point again, same times, would be a duplicate: ingest drops it)
    body = metrics_body([cost(later, 0.25, EXISTING), cost(later, 4.0, NEWCOMER)])
    assert server.post("metrics", body, "application/json").status_code == 200
    prom.wait_for_scrape(time.time())
    time.sleep(2)
    at = prom.wait_for_scrape(time.time())
    added = server.summary()["cost_usd"] - before_total
    assert added == pytest.approx(4.25)
    # The exact change: two sums (the `@` modifier here; `offset 1h` on a dashboard).
    assert prom.scalar(f"sum({COST}) - sum({COST} @ {before:.3f})", at) == pytest.approx(added, rel=1e-9)
    # increase(): the known series' change, extrapolated by Prometheus's rule; the newcomer's 4.0 is missing.
    increase = prom.scalar(f"sum(increase({COST}[1h]))", at)
    raw = prom.query(f'{COST}{{user_email="{EXISTING.person}"}}[1h]', at)
    assert len(raw) == 1
    points = [(float(t), float(v)) for t, v in raw[0]["values"]]
    assert increase == pytest.approx(expected_increase(points, at - 3600, at), rel=1e-9)
    assert 0.25 <= increase < 0.5 and increase < added - 3.75  # extrapolated a little; 4.0 missing
    newcomer = prom.query(f'increase({COST}{{user_email="{NEWCOMER.person}"}}[1h])', at)
    assert [float(r["value"][1]) for r in newcomer] == [0.0]
