"""Upgrading a store that holds data: migration 4 derives the new dimensions for the rows stored before it and
rebuilds every rollup, exactly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccmon.store.facade import Store
from ccmon.store.migrations import MIGRATIONS, RAW_TABLES
from tests.store.test_rollups import assert_rollups_equal_raw

# Rows as schema version 3 stored them: (model, repository, attrs, resource), and the project and provider version 4
# derives for them.
OLD_ROWS = [
    ("claude-opus-5-5", "ccmon", {"anthropic.provider": "firstParty"}, {}, "ccmon", "anthropic"),
    ("claude-sonnet-4-5@20250929", "", {}, {"project": "mobile-apps"}, "mobile-apps", "vertex"),
    ("us.anthropic.claude-haiku-4-5-20251001-v1:0", "web", {"project": "checkout"}, {}, "checkout", "bedrock"),
    ("claude-sonnet-4-5", "", {}, {"provider": "subscription"}, "", "subscription"),
    ("", "", {}, {}, "", ""),
]


@pytest.fixture
def version_3(chdb_path: Path) -> Iterator[Store]:
    """A store at schema version 3 holding `OLD_ROWS` in every raw table, an hour apart."""
    database = f"test_{uuid.uuid4().hex[:12]}"
    store = Store.open(data_dir=str(chdb_path), database=database)
    try:
        assert store.migrate([m for m in MIGRATIONS if m.version <= 3]) == [1, 2, 3]
        for i, (model, repository, attrs, resource, _, _) in enumerate(OLD_ROWS):
            values = {"i": i, "model": model, "repository": repository}
            values |= {"ak": list(attrs), "av": list(attrs.values())}
            values |= {"rk": list(resource), "rv": list(resource.values())}
            at = "toDateTime64('2026-11-02 10:00:00', 9, 'UTC') + toIntervalHour({i:UInt32})"
            common = "session_id, person, model, repository, attrs, resource, dedup_key"
            own = "'s-' || toString({i:UInt32}), 'p@example.com', {model:String}, {repository:String}, "
            own += "mapFromArrays({ak:Array(String)}, {av:Array(String)}), "
            own += "mapFromArrays({rk:Array(String)}, {rv:Array(String)}), {i:UInt32}"
            store.command(f"INSERT INTO events (ts, event_name, {common}) SELECT {at}, 'api_request', {own}", values)
            store.command(
                f"INSERT INTO metric_points (ts, start_ts, metric_name, value, {common}) "
                f"SELECT {at}, {at}, 'claude_code.cost.usage', 0.1 + {{i:UInt32}} / 3, {own}",
                values,
            )
            store.command(
                f"INSERT INTO spans (start_ts, end_ts, span_id, {common}) SELECT {at}, {at}, 'x', {own}", values
            )
        yield store
    finally:
        store.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
        store.close()


def test_migration_4_derives_the_new_dimensions_of_stored_rows(version_3: Store) -> None:
    assert version_3.migrate() == [m.version for m in MIGRATIONS if m.version > 3]
    for table in RAW_TABLES:
        rows = version_3.query(f"SELECT project, provider FROM {table} ORDER BY dedup_key")
        assert rows == [(project, provider) for *_, project, provider in OLD_ROWS], table
    # The rollups, rebuilt from them, now key the new dimensions and sum exactly.
    assert version_3.query("SELECT DISTINCT provider FROM metrics_by_day ORDER BY provider") == [
        ("",),
        ("anthropic",),
        ("bedrock",),
        ("subscription",),
        ("vertex",),
    ]
    ((cost,),) = version_3.query("SELECT sum(value) FROM metrics_by_hour")
    assert str(cost) == "3.833333333"  # 0.1 * 5 + (0 + 1 + 2 + 3 + 4) / 3, each rounded to 9 places
    assert_rollups_equal_raw(version_3, min_rows=0)


def test_migration_4_run_again_changes_nothing(version_3: Store) -> None:
    version_3.migrate()
    before = {t: version_3.query(f"SELECT * FROM {t} ORDER BY ALL") for t in ("metrics_by_hour", "sessions_by_day")}
    (migration,) = [m for m in MIGRATIONS if m.version == 4]
    for statement in migration.statements:  # as after an interrupted start
        version_3.command(statement)
    assert {t: version_3.query(f"SELECT * FROM {t} ORDER BY ALL") for t in before} == before
