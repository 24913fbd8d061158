"""Pinned attributes: what an ingest token pins overrides what the client claims, in the columns and in the `attrs` and
`resource` maps, for events and spans (in the engine's SQL, per request, though a group commit mixes requests of
different tokens) and metric points (in Python). A value a client forges, or smuggles in as ccmon's own pins field,
is stored nowhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ccmon.ingest import otlp_schema
from ccmon.ingest.attribution import Attribution, parse_team_rules
from ccmon.ingest.rows import IngestBatch
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import SIGNALS, Encoding
from ccmon.store.facade import Store
from tests.otlp.helpers import (
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
    span,
    sum_metric,
    to_protobuf,
    traces_request,
)
from tests.otlp.test_tokens import send_grpc

FORGED = {
    "organization.id": "forged-org",
    "team": "forged-team",
    "team.name": "forged-team",
    "department": "forged-dept",
    "dept": "forged-dept",
    "cost_center": "forged-cc",
    "costcenter": "forged-cc",
}
PINS = (
    ("organization_id", "pinned-org"),
    ("team", "pinned-team"),
    ("department", "pinned-dept"),
    ("cost_center", "pinned-cc"),
)
COLUMNS = ("organization_id", "team", "department", "cost_center")
TABLES = {"logs": "events", "traces": "spans", "metrics": "metric_points"}


def forged_request(signal: str, session_id: str, **extra: object) -> bytes:
    """A request whose resource and record both claim the forged organisation, team, department and cost center."""
    attrs = {"session.id": session_id, **FORGED, **extra}
    if signal == "logs":
        document = logs_request([event("api_request", session_id, 0, cost_usd=1.0, **attrs)], FORGED)
    elif signal == "traces":
        trace = session_id.replace("-", "")
        document = traces_request([span("claude_code.llm_request", trace, trace[:16], "", **attrs)], FORGED)
    else:
        document = metrics_request([sum_metric("claude_code.cost.usage", [data_point(1.0, attrs)])], FORGED)
    return to_protobuf(signal, document)


def decoded(
    signal: str, data: bytes, pins: tuple[tuple[str, str], ...] = (), attribution: Attribution | None = None
) -> IngestBatch:
    """The batch a receiver hands the writer, with the pins its token gave."""
    batch = SIGNALS[signal].decode(data, Encoding.PROTOBUF, 65536, attribution)
    batch.pins = pins
    return batch


def stored(store: Store, signal: str, session_id: str) -> dict[str, Any]:
    """The session's one row: its pinnable columns, the same-named attributes of `attrs` and `resource`, and the
    whole row as text."""
    keys = ", ".join(f"'{key}'" for key in FORGED)
    rows = store.query(
        f"SELECT {', '.join(COLUMNS)}, mapFilter((k, v) -> k IN ({keys}), attrs), "
        f"mapFilter((k, v) -> k IN ({keys}), resource), toString(tuple(*)) "
        f"FROM {TABLES[signal]} WHERE session_id = {{s:String}}",
        {"s": session_id},
    )
    assert len(rows) == 1, rows
    *columns, attrs, resource, text = rows[0]
    return {"columns": dict(zip(COLUMNS, columns, strict=True)), "attrs": attrs, "resource": resource, "text": text}


@pytest.fixture
def slow_writer(store: Store) -> Iterator[BatchWriter]:
    """A writer that waits long enough for every request submitted at once to go into one group commit."""
    writer = BatchWriter(store, IngestStats(), max_delay_s=0.5)
    writer.start()
    try:
        yield writer
    finally:
        writer.close()


def _commits(writer: BatchWriter) -> float:
    return writer.stats.registry.get_sample_value("ccmon_batch_rows_count") or 0.0


@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_each_request_of_a_group_commit_gets_its_own_pins(store: Store, slow_writer: BatchWriter, signal: str) -> None:
    smuggle = otlp_schema.pins_field((("team", "smuggled-team"),))
    sessions = [session() for _ in range(5)]
    batches = [
        decoded(signal, forged_request(signal, sessions[0]), PINS),
        decoded(signal, forged_request(signal, sessions[1]), (("team", "other-team"),)),
        decoded(signal, forged_request(signal, sessions[2])),
        # A client's own pins field is ignored: the writer's comes last, and is the one read.
        decoded(signal, forged_request(signal, sessions[3]) + smuggle) if signal != "metrics" else None,
        decoded(signal, forged_request(signal, sessions[4]) + smuggle, (("team", "pinned-team"),))
        if signal != "metrics"
        else None,
    ]
    futures = [slow_writer.submit(batch) for batch in batches if batch is not None]
    for future in futures:
        future.result(timeout=30)
    assert _commits(slow_writer) == 1

    everything = stored(store, signal, sessions[0])
    assert everything["columns"] == dict(PINS)
    pinned = {"organization.id": "pinned-org", "team": "pinned-team", "team.name": "pinned-team"}
    pinned |= {
        "department": "pinned-dept",
        "dept": "pinned-dept",
        "cost_center": "pinned-cc",
        "costcenter": "pinned-cc",
    }
    assert everything["resource"] == pinned
    assert everything["attrs"] == {}  # the columns claim these keys
    assert "forged" not in everything["text"]

    partly = stored(store, signal, sessions[1])
    assert partly["columns"] == {
        "organization_id": "forged-org",
        "team": "other-team",
        "department": "forged-dept",
        "cost_center": "forged-cc",
    }
    assert partly["resource"]["team"] == partly["resource"]["team.name"] == "other-team"
    assert partly["resource"]["dept"] == "forged-dept"
    assert "forged-team" not in partly["text"]

    unpinned = stored(store, signal, sessions[2])
    assert unpinned["columns"]["team"] == "forged-team"
    assert unpinned["resource"] == FORGED
    if signal == "metrics":
        return
    smuggled = stored(store, signal, sessions[3])
    assert smuggled["columns"]["team"] == "forged-team"
    assert "smuggled" not in smuggled["text"]
    both = stored(store, signal, sessions[4])
    assert both["columns"]["team"] == "pinned-team"
    assert "smuggled" not in both["text"] and "forged-team" not in both["text"]


@pytest.mark.parametrize("signal", ["logs", "metrics"])
def test_a_pin_beats_what_the_client_sent_which_beats_the_email_rules(store: Store, signal: str) -> None:
    attribution = Attribution(team_rules=parse_team_rules(["*@example.com=rule-team"]))
    writer = BatchWriter(store, IngestStats(), max_delay_s=0.01, attribution=attribution)
    writer.start()
    try:
        cases = []
        for pins, sent in [((), {}), ((), {"team": "sent-team"}), ((("team", "pin-team"),), {"team": "sent-team"})]:
            sid = session()
            attrs: dict[str, object] = {"session.id": sid, "user.email": "dev@example.com", **sent}
            if signal == "logs":
                document = logs_request([event("api_request", sid, 0, cost_usd=1.0, **attrs)])
            else:
                document = metrics_request([sum_metric("claude_code.cost.usage", [data_point(1.0, attrs)])])
            writer.submit(decoded(signal, to_protobuf(signal, document), pins, attribution)).result(timeout=30)
            cases.append(sid)
    finally:
        writer.close()
    teams = [stored(store, signal, sid)["columns"]["team"] for sid in cases]
    assert teams == ["rule-team", "sent-team", "pin-team"]


def test_pins_of_unknown_columns_are_refused(store: Store, slow_writer: BatchWriter) -> None:
    batch = decoded("logs", forged_request("logs", session()), (("model", "forged"),))
    with pytest.raises(ValueError, match="cannot be pinned"):
        slow_writer.submit(batch)


def test_a_pinned_token_wins_over_forged_attributes_everywhere_in_the_store(chdb_path: Path) -> None:
    """Through the real receivers (HTTP and gRPC) with a token made through the API: no table, rollups included,
    holds a forged value."""
    with custom_server(chdb_path) as server:
        made = client().post(
            f"{server.api_url}/api/v1/ingest-tokens",
            json={
                "name": "payments",
                "organization": "pinned-org",
                "team": "pinned-team",
                "department": "pinned-dept",
                "cost_center": "pinned-cc",
            },
        )
        assert made.status_code == 201, made.text
        token = made.json()["token"]
        sessions = {signal: session() for signal in TABLES}
        for signal, sid in sessions.items():
            response = post(server, signal, forged_request(signal, sid), PROTOBUF, authorization=f"Bearer {token}")
            assert response.status_code == 200, response.text
        grpc_session = session()
        assert send_grpc(server, forged_request("logs", grpc_session), token).name == "OK"
        for signal, sid in [*sessions.items(), ("logs", grpc_session)]:
            rows = query(
                server,
                f"SELECT {', '.join(COLUMNS)} FROM {TABLES[signal]} WHERE session_id = {{s:String}}",
                {"s": sid},
            )
            assert rows == [("pinned-org", "pinned-team", "pinned-dept", "pinned-cc")], signal
        tables = query(
            server,
            "SELECT name FROM system.tables WHERE database = currentDatabase() "
            "AND engine NOT IN ('MaterializedView', 'View')",
        )
        assert len(tables) > 10
        for (table,) in tables:
            found = query(server, f"SELECT count() FROM `{table}` WHERE position(toString(tuple(*)), 'forged') > 0")
            assert found == [(0,)], table
