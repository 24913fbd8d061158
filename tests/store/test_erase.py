"""Erasing a person: real Claude Code telemetry of two people goes in, one is forgotten, and no table keeps a trace
of them while the other's numbers and the rollups' agreement with the raw rows stay as they were."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ccmon.analytics import Filters, Query, Scope
from ccmon.analytics.summary import summary
from ccmon.analytics.timerange import ALL_TIME
from ccmon.store.erase import ErasureError, erase_person, personal_tables
from ccmon.store.facade import Store
from ccmon.store.rollups import ROLLUPS
from tests.store.test_rollups import assert_rollups_equal_raw
from tests.support import RunningServer, payloads

ALICE = "alice@example.com"
BOB = "bob@example.com"


@dataclass(frozen=True)
class Person:
    email: str
    user_id: str
    session_id: str


def with_email(body: bytes, email: str) -> bytes:
    """A captured JSON export as if Claude Code had been logged in as `email` (it sends `user.email` then)."""
    attribute = '{"key":"user.email","value":{"stringValue":"%s"}},{"key":"user.id",' % email  # noqa: UP031
    return body.replace(b'{"key":"user.id",', attribute.encode())


def send_run(server: RunningServer, run: str, email: str) -> None:
    for payload in payloads(run):
        assert payload.is_json
        response = server.post(payload.signal, with_email(payload.read(), email), payload.content_type)
        assert response.status_code == 200, response.text


def identity(store: Store, email: str) -> Person:
    [(user_id, session_id)] = store.query(
        "SELECT DISTINCT user_id, session_id FROM events WHERE user_email = {e:String}", {"e": email}
    )
    return Person(email, user_id, session_id)


def add_state(store: Store, email: str) -> None:
    """A login, a login session, an API key, a directory entry and audit entries for `email`."""
    now = "now64(6)"
    store.command(
        f"INSERT INTO users (email, name, role, team, department, password_hash, source, disabled, deleted, "
        f"updated_at) VALUES ({{e:String}}, 'Someone', 'developer', 'platform', 'eng', 'x', 'local', 0, 0, {now})",
        {"e": email},
    )
    store.command(
        "INSERT INTO login_sessions (id_hash, email, role, person, team, department, via, csrf, created_at, "
        f"expires_at, last_seen, revoked, updated_at) VALUES (concat('h-', {{e:String}}), {{e:String}}, 'developer', "
        f"{{e:String}}, 'platform', 'eng', 'session', 'c', {now}, {now} + INTERVAL 1 DAY, {now}, 0, {now})",
        {"e": email},
    )
    store.command(
        "INSERT INTO api_keys (id, name, key_hash, role, person, team, department, created_by, created_at, "
        f"expires_at, revoked, updated_at) VALUES (concat('k-', {{e:String}}), 'laptop', 'h', 'developer', "
        f"{{e:String}}, '', '', 'admin@example.com', {now}, NULL, 0, {now})",
        {"e": email},
    )
    store.command(
        "INSERT INTO directory_people (email, name, team, department, cost_center, manager, deleted, updated_at) "
        f"VALUES ({{e:String}}, 'Someone', 'platform', 'eng', 'ENG-001', 'boss@example.com', 0, {now})",
        {"e": email},
    )
    store.command(
        "INSERT INTO audit_log (ts, actor, action, target, outcome, address, detail) VALUES "
        f"({now}, {{e:String}}, 'login.ok', {{e:String}}, 'ok', '127.0.0.1', ''), "
        f"({now}, 'admin@example.com', 'user.update', {{e:String}}, 'ok', '', concat('role of ', upper({{e:String}})))",
        {"e": email},
    )
    # Alerting: an alert about them, its history, a budget naming them, a notification listing them.
    store.command(
        "INSERT INTO alert_instances (rule_id, fingerprint, labels, state, severity, value, summary, last_eval, "
        f"deleted, updated_at) VALUES ('spend', {{e:String}}, map('person', {{e:String}}), 'firing', 'info', 60, "
        f"'over', {now}, 0, {now})",
        {"e": email},
    )
    store.command(
        "INSERT INTO alert_history (ts, rule_id, fingerprint, labels, from_state, to_state, severity, value, summary) "
        f"VALUES ({now}, 'spend', 'f', map('person', upper({{e:String}})), 'pending', 'firing', 'info', 60, '')",
        {"e": email},
    )
    store.command(
        "INSERT INTO budgets (id, definition, source, deleted, updated_by, updated_at) VALUES (concat('b-', "
        f'{{e:String}}), concat(\'{{"scope": "person", "scope_value": "\', {{e:String}}, \'"}}\'), \'api\', 0, '
        f"'admin@example.com', {now})",
        {"e": email},
    )
    store.command(
        "INSERT INTO alert_deliveries (id, channel, kind, rule_id, group_key, status, notification, state, attempts, "
        f"last_status, last_error, next_attempt_at, created_at, updated_at) VALUES (concat('d-', {{e:String}}), "
        f"'ops', 'slack', 'spend', 'g', 'firing', concat('{{\"person\": \"', {{e:String}}, '\"}}'), 'sent', 1, 200, "
        f"'', {now}, {now}, {now})",
        {"e": email},
    )


def traces(store: Store, needles: list[str]) -> dict[str, int]:
    """Rows of every table of the database whose text, all columns together, contains one of `needles`."""
    tables = [
        row[0]
        for row in store.query(
            "SELECT name FROM system.tables WHERE database = {db:String} AND engine NOT LIKE '%View'",
            {"db": store.database},
        )
    ]
    assert len(tables) > 20
    found = {}
    for table in tables:
        [(count,)] = store.query(
            f"SELECT count() FROM {table} WHERE multiSearchAnyCaseInsensitive(toString(tuple(*)), {{n:Array(String)}})",
            {"n": needles},
        )
        if count:
            found[table] = int(count)
    return found


def totals(store: Store, person: str) -> Any:
    return summary(store, Query(ALL_TIME, Scope.everyone(), Filters({"person": (person,)})))


@pytest.fixture
def two_people(server: RunningServer, store: Store) -> tuple[Person, Person]:
    send_run(server, "writefile-http-json", ALICE)  # traces, logs and metrics
    send_run(server, "tool-rejected", BOB)
    alice, bob = identity(store, ALICE), identity(store, BOB)
    for email in (ALICE, BOB):
        add_state(store, email)
    return alice, bob


def test_a_forgotten_person_leaves_no_trace_and_the_other_keeps_their_numbers(
    two_people: tuple[Person, Person], store: Store
) -> None:
    alice, bob = two_people
    needles = [alice.email, alice.user_id, alice.session_id]
    before = traces(store, needles)
    # Every kind of table holds Alice before: raw rows, rollups, logins, sessions, keys, directory, audit.
    assert {"events", "metric_points", "spans", "users", "login_sessions", "api_keys", "directory_people"} <= set(
        before
    )
    assert {"alert_instances", "alert_history", "budgets", "alert_deliveries"} <= set(before)
    assert {r.table for r in ROLLUPS if "person" in r.column_names} <= set(before)
    assert before["audit_log"] == 2
    bob_before = totals(store, BOB)
    bob_traces = traces(store, [bob.email, bob.user_id, bob.session_id])
    assert bob_before.cost_usd > 0 and bob_before.sessions == 1

    erased = erase_person(store, ["Alice@Example.COM"], alias="forgotten:abc")

    assert traces(store, needles) == {}
    assert erased.sessions == 1
    for table in ("events", "metric_points", "spans", "users", "login_sessions", "api_keys", "directory_people"):
        assert erased.removed[table] == before[table], table
    assert erased.audit_entries_renamed == 2
    assert store.query("SELECT actor, target, detail FROM audit_log WHERE action = 'login.ok' ORDER BY actor") == [
        ("bob@example.com", "bob@example.com", ""),
        ("forgotten:abc", "forgotten:abc", ""),
    ]
    assert store.query("SELECT detail FROM audit_log WHERE action = 'user.update' ORDER BY detail") == [
        ("role of BOB@EXAMPLE.COM",),
        ("role of forgotten:abc",),
    ]
    assert totals(store, BOB) == bob_before
    assert totals(store, ALICE).cost_usd == 0
    assert traces(store, [bob.email, bob.user_id, bob.session_id]) == bob_traces
    # The rollups without a person (events_by_day, metrics_by_day) were rebuilt: they too equal the raw rows.
    assert {"events_by_day", "metrics_by_day"} <= set(erased.removed)
    assert_rollups_equal_raw(store, min_rows=0)
    assert {row[0] for row in store.query("SELECT DISTINCT person FROM events_by_day_and_person")} == {BOB}


def test_forgetting_someone_unknown_removes_nothing(two_people: tuple[Person, Person], store: Store) -> None:
    rows = {t: store.query(f"SELECT count() FROM {t}")[0][0] for t in personal_tables(store)}
    erased = erase_person(store, ["nobody@example.com", "'; DROP TABLE events; --"], alias="forgotten:x")
    assert set(erased.removed.values()) == {0} and erased.sessions == 0
    assert {t: store.query(f"SELECT count() FROM {t}")[0][0] for t in personal_tables(store)} == rows


def test_a_table_it_does_not_know_how_to_erase_from_stops_it(store: Store) -> None:
    store.command("CREATE TABLE costs_by_week (week Date, cost Float64) ENGINE = MergeTree ORDER BY week")
    with pytest.raises(ErasureError, match="costs_by_week"):
        erase_person(store, [ALICE], alias="forgotten:x")
    store.command("DROP TABLE costs_by_week")
    # A new table keyed by person needs no declaration: it is found and erased from like the others.
    store.command("CREATE TABLE cost_by_person (person String, cost Float64) ENGINE = MergeTree ORDER BY person")
    store.command("INSERT INTO cost_by_person VALUES ('alice@example.com', 1), ('bob@example.com', 2)")
    assert erase_person(store, [ALICE], alias="forgotten:x").removed["cost_by_person"] == 1
    assert store.query("SELECT person FROM cost_by_person") == [(BOB,)]


def test_no_key_is_refused(store: Store) -> None:
    with pytest.raises(ErasureError):
        erase_person(store, ["", "  "], alias="forgotten:x")
