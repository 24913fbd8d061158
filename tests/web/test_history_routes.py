"""`POST /api/v1/imports` takes bounded, validated records and stores them once; `GET /api/v1/history` shows them
with their source. (Who may call them: tests/web/test_roles.py.)"""

from __future__ import annotations

from typing import Any

import orjson

from ccmon.imports.model import SOURCES
from ccmon.web.history_routes import MAX_BODY_BYTES, MAX_RECORDS, RecordIn
from tests.support import RunningServer

RANGE = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


def _record(key: str = "m:r", **more: Any) -> dict[str, Any]:
    return {
        "source": "transcripts",
        "key": key,
        "ts": "2026-11-19T10:00:00Z",
        "user_email": "ada@example.com",
        "model": "claude-sonnet-4-5",
        "input_tokens": 100,
        "output_tokens": 20,
    } | more


def _post(server: RunningServer, body: object) -> Any:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return server.http.post(
        f"{server.api_url}/api/v1/imports", content=content, headers={"content-type": "application/json"}
    )


def test_records_are_stored_once_and_shown_with_their_source(server: RunningServer) -> None:
    body = {"records": [_record("a"), _record("b", source="admin-api", cost_usd=2.5, model="x"), _record("a")]}
    first = _post(server, body)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 3, "imported": 2, "duplicates": 1, "unpriced": 0}
    assert _post(server, body).json()["imported"] == 0
    history = server.http.get(f"{server.api_url}/api/v1/history", params={**RANGE, "by": "person"}).json()
    (row,) = history["people"]
    assert (row["day"], row["person"], row["source"], row["shadowed"]) == (
        "2026-11-19",
        "ada@example.com",
        "transcripts",
        ["admin-api"],
    )
    assert history["shadowed_cost_usd"]["admin-api"] == 2.5
    totals = server.http.get(f"{server.api_url}/api/v1/history", params=RANGE).json()
    assert totals["people"] is None
    assert [(d["day"], d["source"]) for d in totals["days"]] == [("2026-11-19", "transcripts")]
    csv = server.http.get(f"{server.api_url}/api/v1/history", params={**RANGE, "by": "person", "format": "csv"})
    header, line = csv.text.splitlines()
    assert header.startswith("cost_usd,") and "source" in header.split(",")
    assert "2026-11-19,ada@example.com,transcripts" in line


HOSTILE: list[tuple[object, int, str]] = [
    (b"{not json", 400, "not JSON"),
    ({"records": "all"}, 422, "records"),
    ({"rows": []}, 422, "records"),
    ({"records": [_record(source="elsewhere")]}, 422, "records.0.source"),
    ({"records": [_record(source=7)]}, 422, "records.0.source"),
    ({"records": [_record(ts="2026-11-19T10:00:00")]}, 422, "records.0.ts"),
    ({"records": [_record(ts="yesterday")]}, 422, "records.0.ts"),
    ({"records": [_record(ts="9999-12-31T00:00:00Z")]}, 422, "in the future"),
    ({"records": [_record(ts="1900-01-01T00:00:00+05:00")]}, 422, "before 2000"),
    ({"records": [_record(input_tokens=-1)]}, 422, "records.0.input_tokens"),
    ({"records": [_record(output_tokens=10**13)]}, 422, "records.0.output_tokens"),
    ({"records": [_record(key="")]}, 422, "records.0.key"),
    ({"records": [_record(key="k" * 600)]}, 422, "records.0.key"),
    ({"records": [_record(model="m" * 5000)]}, 422, "records.0.model"),
    ({"records": [_record(cost_usd="NaN")]}, 422, "records.0.cost_usd"),
    ({"records": [_record(extra="field")]}, 422, "records.0.extra"),
    ({"records": [_record(str(n)) for n in range(MAX_RECORDS + 1)]}, 422, "records"),
]


def test_the_sources_accepted_are_the_importers_and_documented() -> None:
    assert RecordIn.model_json_schema()["properties"]["source"]["enum"] == list(SOURCES) == ["transcripts", "admin-api"]


def test_hostile_bodies_are_refused_and_store_nothing(server: RunningServer) -> None:
    for body, status, message in HOSTILE:
        answer = _post(server, body)
        assert answer.status_code == status, answer.text
        assert message in answer.json()["detail"]
    history = server.http.get(f"{server.api_url}/api/v1/history", params=RANGE).json()
    assert history["days"] == []


def test_a_body_over_the_cap_is_refused_unread(server: RunningServer) -> None:
    answer = _post(server, b"[" + b" " * MAX_BODY_BYTES + b"]")
    assert answer.status_code == 413

    def chunks() -> Any:  # no declared length: refused while it streams
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    streamed = server.http.post(
        f"{server.api_url}/api/v1/imports", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


def test_history_refuses_unknown_groupings(server: RunningServer) -> None:
    answer = server.http.get(f"{server.api_url}/api/v1/history", params={**RANGE, "by": "team"})
    assert answer.status_code == 422
