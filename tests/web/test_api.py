from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ccmon.analytics import DIMENSIONS
from tests.support import RunningServer, in_process_server, make_config


def test_health_readiness_and_metrics(server: RunningServer) -> None:
    assert httpx.get(f"{server.api_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.api_url}/readyz").json() == {"status": "ready", "demo": None}
    metrics = httpx.get(f"{server.api_url}/metrics")
    assert metrics.status_code == 200
    for name in ("ccmon_write_queue_rows", "ccmon_batch_commit_seconds", "ccmon_otlp_requests_total"):
        assert name in metrics.text


def test_summary_keys_are_exactly_the_documented_ones(server: RunningServer) -> None:
    body = server.summary()
    assert list(body) == [
        "cost_usd",
        "tokens",
        "sessions",
        "users",
        "api_requests",
        "api_errors",
        "lines_added",
        "lines_removed",
        "commits",
        "pull_requests",
        "edit_decisions",
        "tool_decisions",
        "tool_calls",
        "active_time_s",
    ]
    assert list(body["tokens"]) == ["input", "output", "cache_read", "cache_creation"]
    assert list(body["active_time_s"]) == ["user", "cli"]


def test_summary_defaults_to_the_last_24_hours(server: RunningServer) -> None:
    response = httpx.get(f"{server.api_url}/api/v1/summary")
    assert response.status_code == 200
    assert response.json()["cost_usd"] == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "must be before"),
        ({"from": "last tuesday"}, "not an RFC 3339 timestamp"),
        ({"from": "2026-11-01T00:00:00+05:30"}, "not in UTC"),
    ],
)
def test_bad_parameters_get_422_with_the_reason(server: RunningServer, params: dict[str, str], message: str) -> None:
    response = httpx.get(f"{server.api_url}/api/v1/summary", params=params)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_openapi_documents_the_summary(server: RunningServer) -> None:
    spec = httpx.get(f"{server.api_url}/openapi.json").json()
    assert "/api/v1/summary" in spec["paths"]
    parameters = {p["name"] for p in spec["paths"]["/api/v1/summary"]["get"]["parameters"]}
    assert parameters == {"from", "to", *DIMENSIONS}
    series = {p["name"] for p in spec["paths"]["/api/v1/cost/tokens"]["get"]["parameters"]}
    assert series == {"from", "to", "bucket", "format", *DIMENSIONS}
    whole = {p["name"] for p in spec["paths"]["/api/v1/cost/month-to-date"]["get"]["parameters"]}
    assert whole == {"as_of", *DIMENSIONS}


def test_api_tokens_guard_the_api_metrics_and_openapi_but_not_health(chdb_path: Path, database: str) -> None:
    config = make_config(chdb_path, database=database, api_tokens=("reader-1",), scrape_tokens=("prometheus",))
    with in_process_server(config) as running:

        def status(path: str, token: str | None = None) -> int:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            return httpx.get(f"{running.api_url}{path}", headers=headers).status_code

        for path in ("/api/v1/summary", "/openapi.json", "/metrics"):
            assert (status(path), status(path, "nope"), status(path, "reader-1")) == (401, 401, 200), path
        # The scrape token reads the metrics and nothing else.
        assert [status(p, "prometheus") for p in ("/metrics", "/api/v1/summary", "/openapi.json")] == [200, 401, 401]
        assert (status("/healthz"), status("/readyz")) == (200, 200)


def test_scrape_tokens_alone_guard_only_the_metrics(chdb_path: Path, database: str) -> None:
    config = make_config(chdb_path, database=database, scrape_tokens=("prometheus",))
    with in_process_server(config) as running:
        assert httpx.get(f"{running.api_url}/metrics").status_code == 401
        scraped = httpx.get(f"{running.api_url}/metrics", headers={"authorization": "Bearer prometheus"})
        assert scraped.status_code == 200 and "ccmon_otlp_requests_total" in scraped.text
        assert httpx.get(f"{running.api_url}/openapi.json").status_code == 200
