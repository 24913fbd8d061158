"""Retention: each table's TTL follows the settings, changes with them, and drops the rows it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccmon.settings import ConfigError, load_config
from ccmon.store.facade import Store
from ccmon.store.retention import TARGETS, RetentionPolicy, apply_retention, current_ttl
from ccmon.store.rollups import ROLLUPS
from tests.support import in_process_server, make_config

EVERYTHING = RetentionPolicy(events=400, metrics=300, spans=200, rollups=1000, audit=30)


def _ttls(store: Store) -> dict[str, str | None]:
    return {target.table: current_ttl(store, target.table)[0] for target in TARGETS}


def test_every_time_kept_table_is_a_target() -> None:
    tables = {target.table for target in TARGETS}
    assert {"events", "metric_points", "spans", "audit_log", "rate_limits", *(r.table for r in ROLLUPS)} == tables


def test_settings_become_ttls_once_and_change_with_the_settings(store: Store) -> None:
    assert set(_ttls(store).values()) == {None}
    changed = apply_retention(store, EVERYTHING)
    assert {c.table for c in changed} == {t.table for t in TARGETS}
    ttls = _ttls(store)
    assert ttls["events"] == "toDateTime(ts) + toIntervalDay(400)"
    assert ttls["metric_points"] == ttls["rate_limits"] == "toDateTime(ts) + toIntervalDay(300)"
    assert ttls["spans"] == "toDateTime(start_ts) + toIntervalDay(200)"
    assert ttls["audit_log"] == "toDateTime(ts) + toIntervalDay(30)"
    assert all(ttls[r.table] == "hour + toIntervalDay(1000)" for r in ROLLUPS)
    # Partitioned tables drop whole parts rather than rewrite them; the audit log (one partition) does not.
    assert "ttl_only_drop_parts = 1" in current_ttl(store, "events")[1]
    assert "ttl_only_drop_parts" not in current_ttl(store, "audit_log")[1]

    assert apply_retention(store, EVERYTHING) == []  # a restart with the same settings touches nothing

    shorter = RetentionPolicy(events=90, metrics=300, spans=200, rollups=1000, audit=30)
    [change] = apply_retention(store, shorter)
    assert (change.table, change.before, change.after) == (
        "events",
        "toDateTime(ts) + toIntervalDay(400)",
        "toDateTime(ts) + toIntervalDay(90)",
    )

    forever = RetentionPolicy(events=0, metrics=300, spans=200, rollups=0, audit=30)
    assert {c.table for c in apply_retention(store, forever)} == {"events", *(r.table for r in ROLLUPS)}
    ttls = _ttls(store)
    assert ttls["events"] is None and ttls["metrics_by_hour"] is None
    assert ttls["metric_points"] == "toDateTime(ts) + toIntervalDay(300)"
    assert apply_retention(store, forever) == []


def _insert_at(store: Store, days_ago: int, key: int) -> None:
    store.command(
        "INSERT INTO events (ts, event_name, person, session_id, cost_usd, dedup_key) "
        "VALUES (now64(9) - toIntervalDay({d:UInt32}), 'api_request', 'p@example.com', 's', 1.5, {k:UInt64})",
        {"d": days_ago, "k": key},
    )
    store.command(
        "INSERT INTO metric_points (ts, start_ts, metric_name, value, person, dedup_key) "
        "VALUES (now64(9) - toIntervalDay({d:UInt32}), now64(9) - toIntervalDay({d:UInt32}), "
        "'claude_code.cost.usage', 2.0, 'p@example.com', {k:UInt64})",
        {"d": days_ago, "k": key},
    )
    store.command(
        "INSERT INTO spans (start_ts, end_ts, name, person, dedup_key) VALUES "
        "(now64(9) - toIntervalDay({d:UInt32}), now64(9) - toIntervalDay({d:UInt32}), 'x', 'p@example.com', "
        "{k:UInt64})",
        {"d": days_ago, "k": key},
    )
    store.command(
        "INSERT INTO audit_log (ts, actor, action, target, outcome, address, detail) "
        "VALUES (now64(6) - toIntervalDay({d:UInt32}), 'a', 'login.ok', 'a', 'ok', '', '')",
        {"d": days_ago},
    )


def _counts(store: Store) -> dict[str, int]:
    tables = ["events", "metric_points", "spans", "audit_log", "events_by_hour", "metrics_by_day", "sessions_by_day"]
    return {table: int(store.query(f"SELECT count() FROM {table}")[0][0]) for table in tables}


def _optimize(store: Store) -> None:
    for target in TARGETS:
        store.command(f"OPTIMIZE TABLE {target.table} FINAL")


def test_rows_older_than_their_period_go_and_the_rest_stay(store: Store) -> None:
    for key, days_ago in enumerate((900, 500, 100, 10, 1)):
        _insert_at(store, days_ago, key)
    _optimize(store)
    # No TTL: nothing goes. (Sessions by day: the metric points' session and the events' are two rows a day.)
    assert _counts(store) == {**{table: 5 for table in _counts(store)}, "sessions_by_day": 10}

    apply_retention(store, RetentionPolicy(events=400, metrics=50, spans=5, rollups=600, audit=200))
    _optimize(store)
    assert _counts(store) == {
        "events": 3,
        "metric_points": 2,
        "spans": 1,
        "audit_log": 3,
        "events_by_hour": 4,
        "metrics_by_day": 4,
        "sessions_by_day": 8,
    }

    apply_retention(store, RetentionPolicy())  # back to forever: what is left stays, what is new is kept
    _insert_at(store, 3000, 99)
    _optimize(store)
    assert _counts(store)["events"] == 4


def test_the_server_applies_the_settings_at_start_up(chdb_path: Path, database: str, store: Store) -> None:
    with in_process_server(make_config(chdb_path, database=database)):
        ttls = _ttls(store)
    assert ttls["audit_log"] == "toDateTime(ts) + toIntervalDay(400)"  # the default: the audit log 400 days
    assert ttls["events"] is None and ttls["metrics_by_hour"] is None  # telemetry: forever

    config = make_config(chdb_path, database=database, retention_days_events=90, retention_days_audit=0)
    with in_process_server(config):
        ttls = _ttls(store)
    assert ttls["events"] == "toDateTime(ts) + toIntervalDay(90)" and ttls["audit_log"] is None


def test_a_period_that_cannot_be_one_is_refused_at_start_up() -> None:
    for bad in ("-1", "soon", "36501", "1.5"):
        with pytest.raises(ConfigError, match="CCMON_RETENTION_DAYS_EVENTS"):
            load_config(environ={"CCMON_RETENTION_DAYS_EVENTS": bad})
    assert load_config(environ={"CCMON_RETENTION_DAYS_SPANS": "30"}).retention_days_spans == 30
