"""The `rate_limits` table (migration 10: the statusline's usage-limit reports) in a store that already holds data:
the migration adds it and touches nothing else; `ccmon forget` erases a person's reports (and those of their
sessions); retention keeps them as long as the raw metrics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccmon.ingest.limits import record_limits
from ccmon.onboarding.statusline import Limit, LimitReport
from ccmon.store.erase import erase_person
from ccmon.store.facade import Store
from ccmon.store.migrations import MIGRATIONS
from ccmon.store.retention import RetentionPolicy, apply_retention
from ccmon.store.rollups import DURATIONS

ANN, BOB = "ann@example.com", "bob@example.com"
LIMITS = {"five_hour": Limit(23.4, 1_796_003_600), "seven_day": Limit(61.2, None)}


@pytest.fixture
def version_9(chdb_path: Path) -> Iterator[Store]:
    """A store at schema version 9 holding telemetry of Ann and a budget."""
    database = f"test_{uuid.uuid4().hex[:12]}"
    store = Store.open(data_dir=str(chdb_path), database=database)
    try:
        assert store.migrate([m for m in MIGRATIONS if m.version <= 9]) == list(range(1, 10))
        store.command(
            "INSERT INTO metric_points (ts, start_ts, metric_name, value, person, session_id, dedup_key) VALUES "
            "(now64(9), now64(9), 'claude_code.cost.usage', 1.5, {p:String}, 's-ann', 1)",
            {"p": ANN},
        )
        store.command(
            "INSERT INTO budgets (id, definition, source, deleted, updated_by, updated_at) "
            "VALUES ('cap', '{}', 'api', 0, 'admin', now64(6))"
        )
        yield store
    finally:
        store.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
        store.close()


def _tables(store: Store) -> dict[str, int]:
    rows = store.query(
        "SELECT name, total_rows FROM system.tables WHERE database = {db:String} AND engine NOT LIKE '%View'",
        {"db": store.database},
    )
    return {str(name): int(count or 0) for name, count in rows}


def test_migrations_after_9_add_their_tables_to_a_store_with_data(version_9: Store) -> None:
    before = _tables(version_9)
    added = {"rate_limits": 0, "client_pings": 0, "imported_usage": 0, "report_runs": 0}
    # Migration 14's durations rollups: the store holds a metric point but no timed events.
    added |= {rollup.table: 0 for rollup in DURATIONS}
    assert not set(added) & set(before)
    latest = MIGRATIONS[-1].version
    assert version_9.migrate() == list(range(10, latest + 1))
    after = _tables(version_9)
    assert after == {**before, **added, "schema_migrations": latest}
    assert version_9.schema_version() == latest
    columns = version_9.query(
        "SELECT name FROM system.columns WHERE database = {db:String} AND table = 'rate_limits' ORDER BY position",
        {"db": version_9.database},
    )
    assert [name for (name,) in columns] == [
        "ts",
        "person",
        "session_id",
        "team",
        "department",
        "cost_center",
        "window",
        "used_pct",
        "resets_at",
        "model",
        "source",
    ]
    assert record_limits(version_9)(LimitReport(1_796_000_000.0, ANN, "s-ann", LIMITS, "opus")) == 2
    # Run again (a start-up interrupted half-way), it changes nothing.
    (migration,) = [m for m in MIGRATIONS if m.version == 10]
    for statement in migration.statements:
        version_9.command(statement)
    assert version_9.query("SELECT count() FROM rate_limits") == [(2,)]


def test_forgetting_a_person_erases_their_limit_reports(store: Store) -> None:
    record = record_limits(store)
    now = datetime.now(UTC).timestamp()
    record(LimitReport(now, ANN, "s-ann", LIMITS, "opus", "platform"))
    record(LimitReport(now, BOB, "s-bob", LIMITS, "opus", "platform"))
    # A report keyed to someone else but of one of Ann's sessions goes too: her sessions are erased whole.
    store.command(
        "INSERT INTO events (ts, event_name, person, session_id, dedup_key) "
        "VALUES (now64(9), 'api_request', {p:String}, 's-ann-2', 7)",
        {"p": ANN},
    )
    record(LimitReport(now, "someone-else-key", "s-ann-2", {"five_hour": Limit(1.0)}))
    erased = erase_person(store, [ANN], alias="forgotten:x")
    assert erased.removed["rate_limits"] == 3
    assert store.query("SELECT DISTINCT person FROM rate_limits") == [(BOB,)]


def test_limit_reports_are_kept_as_long_as_the_raw_metrics(store: Store) -> None:
    record = record_limits(store)
    for days_ago in (400, 100, 1):
        at = (datetime.now(UTC) - timedelta(days=days_ago)).timestamp()
        record(LimitReport(at, ANN, f"s-{days_ago}", {"five_hour": Limit(float(days_ago % 100))}))
    apply_retention(store, RetentionPolicy(metrics=50))
    store.command("OPTIMIZE TABLE rate_limits FINAL")
    assert store.query("SELECT session_id FROM rate_limits") == [("s-1",)]
