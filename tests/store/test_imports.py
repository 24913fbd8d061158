"""`imported_usage` keeps one row per key: keys stored or repeated are left out, in lookups of any size."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccmon.store import imports
from ccmon.store.erase import erase_person
from ccmon.store.facade import Store
from ccmon.store.imports import ImportedUsage, ImportedUsageTable

TS = datetime(2026, 11, 19, 23, 59, tzinfo=UTC)


def _row(key: int, source: str = "transcripts") -> ImportedUsage:
    return ImportedUsage(ts=TS, source=source, dedup_key=key, person="ada@example.com", input_tokens=key)


def test_stored_and_repeated_keys_are_left_out(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "_KEY_BATCH", 2)  # lookups over several batches
    table = ImportedUsageTable(store)
    assert table.add([_row(1), _row(2), _row(1), _row(2**64 - 1)]) == (3, 1)
    assert table.add([_row(1), _row(2), _row(3), _row(4), _row(5)]) == (3, 2)
    assert table.known_keys(range(10)) == {1, 2, 3, 4, 5}
    assert table.count() == 6
    assert table.count("admin-api") == 0
    assert store.query("SELECT DISTINCT day FROM imported_usage") == [(TS.date(),)]  # the UTC day of `ts`
    assert store.query("SELECT max(dedup_key) FROM imported_usage") == [(2**64 - 1,)]


def test_an_empty_batch_stores_nothing(store: Store) -> None:
    assert ImportedUsageTable(store).add([]) == (0, 0)


def test_forgetting_a_person_erases_their_imported_history(store: Store) -> None:
    table = ImportedUsageTable(store)
    table.add([_row(1), ImportedUsage(ts=TS, source="admin-api", dedup_key=2, person="bob@example.com")])
    erase_person(store, ["Ada@example.com"], alias="erased-1")
    assert store.query("SELECT person FROM imported_usage") == [("bob@example.com",)]
