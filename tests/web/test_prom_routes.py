"""`GET /metrics/claude-code`: who may scrape it (as `/metrics`), what each caller's scope lets through, and the
series of data sent through the real OTLP receiver, equal to the API's totals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from ccmon.auth.principal import Role
from ccmon.web.prom_routes import PATH
from tests.analytics.test_signals import ANN, BEN, NOW, cost, metrics_body, session_start, tokens
from tests.support import in_process_server, make_config
from tests.web import roles_data as org
from tests.web.roles_data import PEOPLE, ROLE_HEADER, in_scope


@pytest.fixture(scope="module")
def roles_app(chdb_path: Path, clickhouse_url: str | None) -> Iterator[FastAPI]:
    with org.loaded_store(chdb_path, clickhouse_url, "test_prom_routes_module") as store:
        yield org.build_app(store)


def samples(text: str, metric: str) -> dict[str, float]:
    """Sample lines of `metric`: labels text -> value."""
    out = {}
    for line in text.splitlines():
        if line.startswith(metric + "{") or line.startswith(metric + " "):
            labels, _, value = line[len(metric) :].rpartition(" ")
            out[labels] = float(value)
    return out


def test_scraping_is_guarded_as_metrics_is(chdb_path: Path, database: str) -> None:
    config = make_config(chdb_path, database=database, api_tokens=("reader-1",), scrape_tokens=("prometheus",))
    with in_process_server(config) as running:

        def status(path: str, token: str | None = None) -> int:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            return httpx.get(f"{running.api_url}{path}", headers=headers).status_code

        for path in ("/metrics", PATH):
            assert [status(path, t) for t in (None, "nope", "reader-1", "prometheus")] == [401, 401, 200, 200]
        assert status("/api/v1/summary", "prometheus") == 401


def test_scrape_tokens_alone_close_the_path_to_callers_without_one(chdb_path: Path, database: str) -> None:
    config = make_config(chdb_path, database=database, scrape_tokens=("prometheus",))
    with in_process_server(config) as running:
        assert httpx.get(f"{running.api_url}{PATH}").status_code == 401
        scraped = httpx.get(f"{running.api_url}{PATH}", headers={"authorization": "Bearer prometheus"})
        assert scraped.status_code == 200


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_its_scope_only(roles_app: FastAPI, role: Role) -> None:
    with org.serving(roles_app) as client:
        response = client.get(PATH, headers={ROLE_HEADER: role.value})
    assert response.status_code == 200
    text = response.text
    cost_samples = samples(text, "claude_code_cost_usage_USD_total")
    visible = in_scope(role)
    assert sum(cost_samples.values()) == pytest.approx(sum(0.5 + PEOPLE.index(p) for p in visible))
    for person in PEOPLE:
        shown = person.email in text
        assert shown == (person in visible and role is not Role.VIEWER), (role, person)
        assert person.session not in text  # session labels are off by default
    if role is Role.VIEWER:
        assert "user_email=" not in text and cost_samples


def test_series_sent_over_otlp_equal_the_apis_totals(chdb_path: Path, database: str) -> None:
    config = make_config(chdb_path, database=database, prometheus_session_labels=True)
    with in_process_server(config) as running:
        body = metrics_body([cost(NOW, 0.125), cost(NOW, 2.5, BEN), tokens(NOW, 40), session_start(NOW, ANN)])
        assert running.post("metrics", body, "application/json").status_code == 200
        response = running.http.get(f"{running.api_url}{PATH}")
        summary = running.summary()
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    costs = samples(response.text, "claude_code_cost_usage_USD_total")
    assert sum(costs.values()) == pytest.approx(summary["cost_usd"]) == pytest.approx(2.625)
    assert costs['{user_email="ben@example.com",team="web",model="claude-sonnet-4-5",session_id="s-ben"}'] == 2.5
    tokens_total = sum(samples(response.text, "claude_code_token_usage_tokens_total").values())
    assert tokens_total == summary["tokens"]["input"] == 40
    assert "ccmon_prometheus_series_dropped 0" in response.text
