"""POST /api/v1/privacy/forget over real HTTP: admins erase a person, everyone else is refused, hostile input is a
4xx, and the audit log records the erasure without the address."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ccmon.directory.pseudonyms import pseudonym, pseudonym_secret
from ccmon.store.facade import Store
from tests.store.test_erase import ALICE, BOB, send_run, traces
from tests.support import RunningServer, in_process_server, make_config

FORGET = "/api/v1/privacy/forget"


def _cost(server: RunningServer, person: str, **headers: str) -> float:
    window = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "person": person}
    response = server.http.get(f"{server.api_url}/api/v1/summary", params=window, headers=headers)
    assert response.status_code == 200, response.text
    cost: float = response.json()["cost_usd"]
    return cost


def _forget(server: RunningServer, body: Any, **headers: str) -> Any:
    return server.http.post(f"{server.api_url}{FORGET}", json=body, headers=headers)


@pytest.fixture
def loaded(server: RunningServer) -> RunningServer:
    send_run(server, "writefile-http-json", ALICE)
    send_run(server, "tool-rejected", BOB)
    assert _cost(server, ALICE) > 0 and _cost(server, BOB) > 0
    return server


HOSTILE: list[Any] = [
    {},
    {"person": ""},
    {"person": "x" * 10_000},
    {"person": "alice@example.com\nbob@example.com"},
    {"person": ALICE, "and": "more"},
    {"person": ["alice@example.com"]},
    "alice@example.com",
]


def test_hostile_bodies_are_refused_and_erase_nothing(loaded: RunningServer) -> None:
    for body in HOSTILE:
        response = _forget(loaded, body)
        assert response.status_code == 422, (body, response.text)
    assert _cost(loaded, ALICE) > 0


def test_an_admin_erases_a_person_and_the_audit_log_keeps_only_an_alias(loaded: RunningServer, store: Store) -> None:
    bob_cost = _cost(loaded, BOB)
    injection = _forget(loaded, {"person": "'; DROP TABLE events; --"})
    assert injection.status_code == 200, injection.text
    assert set(injection.json()["removed"].values()) == {0}

    response = _forget(loaded, {"person": ALICE.upper()})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["removed"]["events"] > 0 and answer["removed"]["metric_points"] > 0
    assert answer["removed"]["spans"] > 0 and answer["removed"]["events_by_hour"] > 0
    assert answer["sessions"] == 1
    assert answer["person_alias"].startswith("forgotten:") and ALICE not in answer["person_alias"]
    assert _cost(loaded, ALICE) == 0
    assert _cost(loaded, BOB) == bob_cost

    entries = loaded.http.get(f"{loaded.api_url}/api/v1/audit").json()["entries"]
    [forget] = [e for e in entries if e["action"] == "privacy.forget" and e["target"] == answer["person_alias"]]
    assert (forget["actor"], forget["outcome"]) == ("local", "ok")
    assert forget["detail"].startswith(f"{sum(answer['removed'].values())} rows removed")
    assert not [e for e in entries if "alice" in str(e).lower()]
    # The same address gets the same alias: an admin can find the erasure of someone who asks.
    again = _forget(loaded, {"person": ALICE}).json()
    assert again["person_alias"] == answer["person_alias"] and set(again["removed"].values()) == {0}


def test_only_admins_may_erase(loaded: RunningServer) -> None:
    api_keys = f"{loaded.api_url}/api/v1/api-keys"
    created = loaded.http.post(api_keys, json={"name": "ops", "role": "admin"})
    assert created.status_code in (200, 201), created.text
    admin = {"authorization": f"Bearer {created.json()['key']}"}
    created = loaded.http.post(api_keys, json={"name": "bob", "role": "developer", "person": BOB}, headers=admin)
    assert created.status_code in (200, 201), created.text
    developer = {"authorization": f"Bearer {created.json()['key']}"}

    assert _forget(loaded, {"person": BOB}).status_code == 401  # keys exist now: no more anonymous admin
    refused = _forget(loaded, {"person": BOB}, **developer)
    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    assert _cost(loaded, BOB, **admin) > 0

    assert _forget(loaded, {"person": BOB}, **admin).status_code == 200
    assert _cost(loaded, BOB, **admin) == 0


def test_with_hash_emails_the_pseudonym_is_erased(chdb_path: Path, database: str, store: Store) -> None:
    with in_process_server(make_config(chdb_path, database=database, hash_emails=True)) as server:
        send_run(server, "writefile-http-json", ALICE)
        send_run(server, "tool-rejected", BOB)
        secret = pseudonym_secret(store, None)
        hashed = pseudonym(secret, ALICE)
        assert traces(store, [ALICE]) == {}  # stored as its pseudonym only
        assert _count(store, hashed) > 0
        response = _forget(server, {"person": ALICE})
        assert response.status_code == 200, response.text
        assert response.json()["removed"]["events"] > 0
        assert traces(store, [hashed, ALICE]) == {}
        assert _count(store, pseudonym(secret, BOB)) > 0


def _count(store: Store, person: str) -> int:
    return int(store.query("SELECT count() FROM events WHERE person = {p:String}", {"p": person})[0][0])
