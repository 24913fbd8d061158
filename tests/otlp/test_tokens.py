"""Ingest tokens at the receivers, over real HTTP and gRPC against an in-process server: a token from the store turns
authentication on, revoked, rotated-out and expired secrets are refused, a token's rate limit answers 429 /
RESOURCE_EXHAUSTED with nothing stored, its last use is listed, and its pins reach the batch (and the stored rows)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from concurrent.futures import Future
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from ccmon.ingest.rows import IngestBatch
from ccmon.ingest.stats import IngestStats
from ccmon.otlp.receiver import Receiver
from ccmon.otlp.signals import LOGS, Encoding
from tests.otlp.helpers import (
    JSON,
    PROTOBUF,
    client,
    custom_server,
    data_point,
    event,
    logs_request,
    metrics_request,
    post,
    query,
    session,
    sum_metric,
    to_json,
    to_protobuf,
    wait_for,
)
from tests.support import RunningServer

WIDE = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}


def create(server: RunningServer, **body: Any) -> dict[str, Any]:
    response = client().post(f"{server.api_url}/api/v1/ingest-tokens", json={"name": "test", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def listed(server: RunningServer) -> dict[str, dict[str, Any]]:
    response = client().get(f"{server.api_url}/api/v1/ingest-tokens")
    response.raise_for_status()
    return {t["id"]: t for t in response.json()["tokens"]}


def logs(session_id: str, count: int = 1, **resource: object) -> bytes:
    records = [event("api_request", session_id, i, cost_usd=0.5, model="claude-sonnet-5") for i in range(count)]
    return to_protobuf("logs", logs_request(records, resource or None))


def send_http(server: RunningServer, body: bytes, token: str | None) -> int:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return post(server, "logs", body, PROTOBUF, **headers).status_code


def send_grpc(server: RunningServer, body: bytes, token: str | None) -> grpc.StatusCode:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    with grpc.insecure_channel(server.otlp_grpc_target) as channel:
        stub = logs_service_pb2_grpc.LogsServiceStub(channel)  # type: ignore[no-untyped-call]
        try:
            stub.Export(ExportLogsServiceRequest.FromString(body), metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            code: grpc.StatusCode = exc.code()
            return code
    return grpc.StatusCode.OK


def stored_events(server: RunningServer, session_id: str) -> int:
    rows = query(server, "SELECT count() FROM events WHERE session_id = {s:String}", {"s": session_id})
    return int(rows[0][0])


def test_a_stored_token_turns_authentication_on_for_both_receivers(server: RunningServer) -> None:
    sid = session()
    assert send_http(server, logs(sid), None) == 200  # loopback, nothing configured: open, as before
    token = create(server, team="platform")["token"]
    assert token.startswith("ccmi_")
    assert send_http(server, logs(sid, 2), None) == 401
    assert send_http(server, logs(sid, 2), "ccmi_wrong") == 401
    assert send_grpc(server, logs(sid, 2), None) == grpc.StatusCode.UNAUTHENTICATED
    assert send_http(server, logs(session(), 2), token) == 200
    assert send_grpc(server, logs(session(), 3), token) == grpc.StatusCode.OK
    assert stored_events(server, sid) == 1


def test_static_tokens_keep_working_next_to_stored_ones(chdb_path: Any) -> None:
    with custom_server(chdb_path, ingest_tokens=("static-secret",)) as server:
        token = create(server)["token"]
        assert send_http(server, logs(session()), "static-secret") == 200
        assert send_grpc(server, logs(session()), "static-secret") == grpc.StatusCode.OK
        assert send_http(server, logs(session()), token) == 200
        assert send_http(server, logs(session()), None) == 401


def test_revoked_and_rotated_out_secrets_fail(server: RunningServer) -> None:
    keep = create(server, name="keep")  # auth stays required after the revoke below
    made = create(server, name="ci")
    assert send_http(server, logs(session()), made["token"]) == 200
    rotated = client().post(f"{server.api_url}/api/v1/ingest-tokens/{made['id']}/rotate").json()
    assert rotated["id"] == made["id"] and rotated["token"] != made["token"]
    assert send_http(server, logs(session()), made["token"]) == 401
    assert send_grpc(server, logs(session()), made["token"]) == grpc.StatusCode.UNAUTHENTICATED
    assert send_http(server, logs(session()), rotated["token"]) == 200
    revoked = client().delete(f"{server.api_url}/api/v1/ingest-tokens/{made['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert send_http(server, logs(session()), rotated["token"]) == 401
    assert send_grpc(server, logs(session()), rotated["token"]) == grpc.StatusCode.UNAUTHENTICATED
    assert send_http(server, logs(session()), keep["token"]) == 200


def test_expired_tokens_fail(server: RunningServer) -> None:
    create(server, name="forever")
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    made = create(server, name="brief", expires_at=expires.isoformat())
    assert send_http(server, logs(session()), made["token"]) == 200
    time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)
    assert send_http(server, logs(session()), made["token"]) == 401
    assert send_grpc(server, logs(session()), made["token"]) == grpc.StatusCode.UNAUTHENTICATED


def test_rate_limit_answers_429_and_stores_nothing(server: RunningServer) -> None:
    token = create(server, rate_limit_per_s=0.2, rate_limit_burst=1)["token"]
    first, refused_http, refused_grpc = session(), session(), session()
    assert send_http(server, logs(first, 5), token) == 200  # a full bucket lets a larger batch in...
    response = post(
        server,
        "logs",
        to_json(logs_request([event("api_request", refused_http, 0)])),
        JSON,
        authorization=f"Bearer {token}",
    )
    assert response.status_code == 429  # ...and its debt holds the next ones back
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["code"] == 8
    assert send_grpc(server, logs(refused_grpc), token) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert stored_events(server, first) == 5
    assert stored_events(server, refused_http) == 0
    assert stored_events(server, refused_grpc) == 0


def test_last_seen_is_listed_after_use(server: RunningServer) -> None:
    made = create(server)
    assert listed(server)[made["id"]]["last_seen"] is None
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    assert send_http(server, logs(session()), made["token"]) == 200
    seen = listed(server)[made["id"]]["last_seen"]
    assert seen is not None
    assert dt.datetime.fromisoformat(seen.replace("Z", "+00:00")) >= before


class _Capture:
    """A writer that keeps what it is given (the receiver's output, before any storage)."""

    def __init__(self) -> None:
        self.batches: list[IngestBatch] = []

    def submit(self, batch: IngestBatch) -> Future[None]:
        self.batches.append(batch)
        done: Future[None] = Future()
        done.set_result(None)
        return done


def test_a_tokens_pins_are_set_on_the_batch(server: RunningServer) -> None:
    """The registry's grant becomes `batch.pins` (the rows are built from them by the ingest engine)."""
    create(server)  # so that auth is required
    made = create(server, team="platform", department="eng", cost_center="ENG-1", organization="acme")
    from ccmon.ingest.tokens import IngestTokens
    from ccmon.store.facade import Store

    store = Store.open(data_dir=server.config.data_dir, database=server.config.database)
    try:
        registry = IngestTokens(store)
        registry.refresh()
        writer = _Capture()
        receiver = Receiver(writer, IngestStats(), registry=registry)
        grant = receiver.authorize(f"Bearer {made['token']}")
        assert grant is not None and grant.token == made["id"]
        asyncio.run(receiver.export(LOGS, Encoding.PROTOBUF, logs(session(), team="forged"), "test", grant))
        assert writer.batches[0].pins == (
            ("organization_id", "acme"),
            ("team", "platform"),
            ("department", "eng"),
            ("cost_center", "ENG-1"),
        )
        assert receiver.authorize(None) is None
        assert receiver.authorize("Basic abc") is None
    finally:
        store.close()


def test_a_pinned_team_wins_over_a_forged_resource_attribute(server: RunningServer) -> None:
    """End to end: rows sent with `team=forged` by a token pinned to `platform` are platform's, in the API."""
    token = create(server, team="platform")["token"]
    sid = session()
    assert send_http(server, logs(sid, 2, team="forged"), token) == 200
    points = [data_point(1.25, {"session.id": sid, "user.email": "x@example.com", "team": "forged"})]
    metrics = to_protobuf(
        "metrics", metrics_request([sum_metric("claude_code.cost.usage", points)], {"team": "forged"})
    )
    assert post(server, "metrics", metrics, PROTOBUF, authorization=f"Bearer {token}").status_code == 200
    wait_for(lambda: stored_events(server, sid) == 2, what="events stored")
    response = client().get(f"{server.api_url}/api/v1/cost/breakdown", params={"by": "team", **WIDE})
    teams = {row["key"]: row["cost_usd"] for row in response.json()["rows"]}
    assert "forged" not in teams
    assert teams.get("platform") == pytest.approx(1.25)
    event_teams = query(server, "SELECT DISTINCT team FROM events WHERE session_id = {s:String}", {"s": sid})
    assert event_teams == [("platform",)]


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x" * 10_000},
        {"name": "ok", "team": "t" * 1000},
        {"name": "ok", "rate_limit_per_s": -1},
        {"name": "ok", "rate_limit_per_s": "lots"},
        {"name": "ok", "expires_at": "yesterday"},
        {"name": "ok", "expires_at": "2001-01-01T00:00:00Z"},
        {"name": "ok", "unknown": 1},
        {"name": "a\u0000b"},
    ],
)
def test_invalid_token_requests_get_4xx(server: RunningServer, body: dict[str, Any]) -> None:
    response = client().post(f"{server.api_url}/api/v1/ingest-tokens", json=body)
    assert response.status_code == 422, response.text
    assert listed(server) == {}
