"""The directory over HTTP on a running server: load (admins only, hostile bodies refused whole), attribution at
ingest, re-application to stored rows, and headcount within each role's scope."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccmon.directory.people import MAX_BYTES
from ccmon.store.facade import Store
from tests.otlp.helpers import JSON, log_record, logs_request, post, to_json
from tests.store.test_rollups import assert_rollups_equal_raw
from tests.support import RunningServer, in_process_server, make_config

ADMIN = {"authorization": "Bearer admin-token"}
CSV = """email,name,team,department,cost_center,manager
ada@example.com,Ada,payments,eng,CC-1,
bob@example.com,Bob,platform,eng,CC-2,ada@example.com
cy@example.com,Cy,payments,eng,CC-1,ada@example.com
"""


@pytest.fixture
def running(chdb_path: Path, database: str, store: Store) -> Iterator[RunningServer]:
    config = make_config(chdb_path, database=database, api_tokens=("admin-token",))
    with in_process_server(config) as server:
        yield server


def _url(server: RunningServer, path: str) -> str:
    return f"{server.api_url}/api/v1/{path}"


def _put(server: RunningServer, body: bytes | str, media: str, **headers: str) -> httpx.Response:
    return server.http.put(_url(server, "directory"), content=body, headers={"content-type": media, **ADMIN, **headers})


def _key(server: RunningServer, role: str, **fields: str) -> dict[str, str]:
    response = server.http.post(_url(server, "api-keys"), json={"name": role, "role": role, **fields}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return {"authorization": f"Bearer {response.json()['key']}"}


def _people(server: RunningServer) -> list[dict[str, Any]]:
    response = server.http.get(_url(server, "directory"), headers=ADMIN)
    assert response.status_code == 200
    people: list[dict[str, Any]] = response.json()["people"]
    return people


def test_load_list_and_hostile_bodies(running: RunningServer, store: Store) -> None:
    assert running.http.get(_url(running, "directory")).status_code == 401
    loaded = _put(running, CSV, "text/csv")
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["added"] == ["ada@example.com", "bob@example.com", "cy@example.com"]
    assert [p["email"] for p in _people(running)] == ["ada@example.com", "bob@example.com", "cy@example.com"]

    refused = [
        (
            _put(running, CSV + "ada@example.com,Again,x,x,x,\n", "text/csv"),
            400,
            "line 5: ada@example.com is listed twice",
        ),
        (_put(running, "people: [", "application/yaml"), 400, "the YAML does not parse"),
        (_put(running, '{"people": [{"name": "no email"}]}', JSON), 400, r"people[0]: the email is missing"),
        (_put(running, b"\x89PNG", "image/png"), 415, "text/csv"),
        (_put(running, b"email\n" + b"a" * (MAX_BYTES + 1), "text/csv"), 413, "larger than the limit"),
    ]
    for response, status, message in refused:
        assert response.status_code == status, response.text
        assert message in response.json()["detail"]
    assert len(_people(running)) == 3  # nothing half-applied

    hostile = "x'); DROP TABLE events; --<script>"
    merged = running.http.put(
        _url(running, "directory"),
        params={"mode": "merge"},
        json={"people": [{"email": "eve@x.io", "team": hostile}]},
        headers=ADMIN,
    )
    assert merged.status_code == 200 and merged.json()["added"] == ["eve@x.io"]
    assert {p["email"]: p["team"] for p in _people(running)}["eve@x.io"] == hostile
    actions = store.query("SELECT action, outcome FROM audit_log WHERE action = 'directory.load' ORDER BY ts")
    assert ("directory.load", "ok") in actions and ("directory.load", "failed") in actions

    developer = _key(running, "developer", person="ada@example.com")
    for response in (
        running.http.get(_url(running, "directory"), headers=developer),
        running.http.put(_url(running, "directory"), json={"people": []}, headers=developer),
        running.http.post(_url(running, "directory/apply"), headers=developer),
    ):
        assert response.status_code == 403
    assert len(_people(running)) == 4


def _event(email: str, minutes_ago: int) -> bytes:
    record = log_record(
        {"user.email": email, "event.name": "api_request", "session.id": f"s-{email}", "cost_usd": 1.0},
        time_ns=time.time_ns() - minutes_ago * 60 * 10**9,
    )
    return to_json(logs_request([record], {"team": "forged"}))


def test_ingest_apply_and_headcount_by_role(running: RunningServer, store: Store) -> None:
    # Stored before the directory: the sent (forged) team.
    assert post(running, "logs", _event("ada@example.com", 90), JSON).status_code == 200
    assert _put(running, CSV, "text/csv").status_code == 200
    # Received after it: the directory's team wins.
    assert post(running, "logs", _event("bob@example.com", 60), JSON).status_code == 200
    assert store.query("SELECT person, team FROM events ORDER BY ts") == [
        ("ada@example.com", "forged"),
        ("bob@example.com", "platform"),
    ]

    dry = running.http.post(_url(running, "directory/apply"), params={"dry_run": "true"}, headers=ADMIN)
    assert dry.status_code == 200, dry.text
    assert dry.json()["tables"]["events"] == 1
    assert dry.json()["people"] == [
        {
            "person": "ada@example.com",
            "email": "ada@example.com",
            "old": {"team": "forged", "department": "", "cost_center": ""},
            "new": {"team": "payments", "department": "eng", "cost_center": "CC-1"},
        }
    ]
    applied = running.http.post(_url(running, "directory/apply"), params={"dry_run": "false"}, headers=ADMIN)
    assert applied.json()["rows"] == 1
    assert store.query("SELECT person, team FROM events ORDER BY ts")[0] == ("ada@example.com", "payments")
    assert_rollups_equal_raw(store, min_rows=-1)  # events only: the metric rollups are empty, and equal
    assert store.query("SELECT count() FROM audit_log WHERE action = 'directory.apply'") == [(1,)]

    def headcount(headers: dict[str, str]) -> dict[str, Any]:
        response = running.http.get(_url(running, "adoption/headcount"), headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    everyone = headcount(ADMIN)
    assert (everyone["headcount"], everyone["active"]) == (3, 2)
    assert everyone["share"] == pytest.approx(2 / 3)
    assert [(t["team"], t["headcount"], t["active"]) for t in everyone["teams"]] == [
        ("payments", 2, 1),
        ("platform", 1, 1),
    ]
    lead = headcount(_key(running, "team_lead", team="payments"))
    assert (lead["headcount"], lead["active"], [t["team"] for t in lead["teams"]]) == (2, 1, ["payments"])
    own = headcount(_key(running, "developer", person="cy@example.com"))
    assert (own["headcount"], own["active"], own["share"]) == (1, 0, 0.0)
    viewer = headcount(_key(running, "viewer"))
    assert (viewer["headcount"], viewer["active"]) == (3, 2)
    old = running.http.get(
        _url(running, "adoption/headcount"),
        params={"from": "2000-01-01T00:00:00Z", "to": "2000-02-01T00:00:00Z"},
        headers=ADMIN,
    )
    assert old.json()["active"] == 0
    assert (
        running.http.get(_url(running, "adoption/headcount"), params={"bogus": "1"}, headers=ADMIN).status_code == 422
    )
