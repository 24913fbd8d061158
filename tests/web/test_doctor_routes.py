"""`GET /api/v1/client/ping/{ping_id}` on a real server asking for ingest tokens: who may ask, hostile ids refused
before the store is asked, and a ping sent over OTLP found (and a never-sent one not)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

from ccmon.onboarding.ping import PingTarget, ping_request, send_ping
from ccmon.store.records import utc_now
from tests.alerts.telemetry import Usage, logs_body
from tests.support import RunningServer, in_process_server, make_config

TOKEN = "cc-doctor-route-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(chdb_path: Path) -> Iterator[RunningServer]:
    config = make_config(chdb_path, database=f"test_{uuid.uuid4().hex[:12]}", ingest_tokens=(TOKEN,))
    with in_process_server(config) as running:
        yield running


def ask(server: RunningServer, ping_id: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    response = server.http.get(
        f"{server.api_url}/api/v1/client/ping/{ping_id}", headers=AUTH if headers is None else headers
    )
    return response.status_code, response.json()


def test_a_sent_ping_is_found_and_an_unsent_one_is_not(server: RunningServer) -> None:
    ping_id = secrets.token_hex(16)
    assert ask(server, ping_id) == (200, {"ping_id": ping_id, "stored": False, "received_at": None})
    target = PingTarget("http/protobuf", f"{server.otlp_http_url}/v1/logs", {"Authorization": f"Bearer {TOKEN}"})
    assert send_ping(target, ping_id, 15.0).ok
    status, answer = ask(server, ping_id)
    assert status == 200 and answer["stored"] is True
    assert isinstance(answer["received_at"], str) and answer["received_at"].startswith("20")
    assert ask(server, secrets.token_hex(16))[1]["stored"] is False


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong"}, {"authorization": "Basic " + TOKEN}])
def test_callers_without_the_token_are_refused(server: RunningServer, headers: dict[str, str]) -> None:
    status, _ = ask(server, secrets.token_hex(16), headers)
    assert status == 401


@pytest.mark.parametrize(
    "ping_id",
    [
        "xyz",
        "A" * 32,
        "0" * 31,
        "0" * 33,
        "0" * 10_000,
        "%27%20OR%201%3D1%20--%20" + "0" * 10,
        "g" * 32,
        "０" * 32,
        "0" * 31 + "%0A",
        "0" * 31 + "'",
    ],
)
def test_hostile_ping_ids_are_refused_before_the_store(server: RunningServer, ping_id: str) -> None:
    response = server.http.get(f"{server.api_url}/api/v1/client/ping/{ping_id}", headers=AUTH)
    assert response.status_code == 422
    assert "ping_id" in response.text


def test_path_tricks_do_not_reach_the_route(server: RunningServer) -> None:
    for path in ("../../server", "%2e%2e%2fserver", "0" * 32 + "/x"):
        response = server.http.get(f"{server.api_url}/api/v1/client/ping/{path}", headers=AUTH)
        assert response.status_code in {401, 404, 422}  # `..` is resolved by the client: another route
        assert "stored" not in response.text


def test_a_ping_beside_real_events_keeps_them_and_adds_none(server: RunningServer) -> None:
    """Ingest takes the ping record out of a request and stores the rest as usual."""
    ping_id = secrets.token_hex(16)
    request = logs_service_pb2.ExportLogsServiceRequest.FromString(ping_request(ping_id, {}))
    usage = Usage(person="eve@example.com", at=utc_now(), cost=1.5, session="s-eve", requests=2)
    events = json_format.Parse(logs_body([usage]), logs_service_pb2.ExportLogsServiceRequest())
    request.resource_logs.extend(events.resource_logs)
    response = server.post("logs", request.SerializeToString(), "application/x-protobuf", **AUTH)
    assert response.status_code == 200
    assert ask(server, ping_id)[1]["stored"] is True
    rows = server.http.get(
        f"{server.api_url}/api/v1/events", params={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
    ).json()["rows"]
    assert sorted(row["name"] for row in rows) == ["api_request", "api_request"]
    assert server.summary()["users"] == 1
