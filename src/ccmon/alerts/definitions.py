"""Rules, silences, budgets and model policies are definitions: JSON objects keyed by id in a table of
`ccmon.store.alert_tables`, each change a new version (`ReplacingMergeTree` by `updated_at`), a deletion a version
with `deleted = 1`. `Definitions` is that table for one kind, typed by the kind's own parse and dump functions.

Reads go to the store every time (a few hundred rows at most), so several ccmon processes sharing one ClickHouse
server see each other's changes at once and a process holds nothing it cannot lose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

import orjson
import pyarrow as pa

from ccmon.store.facade import Store
from ccmon.store.records import TIMESTAMP, VersionClock, insert_rows


class HasId(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def source(self) -> str: ...


T = TypeVar("T", bound=HasId)

_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("definition", pa.string()),
        ("source", pa.string()),
        ("deleted", pa.bool_()),
        ("updated_by", pa.string()),
        ("updated_at", TIMESTAMP),
    ]
)


class Definitions(Generic[T]):
    """One table of definitions: `parse` turns a stored JSON object back into a `T` (raising ValueError when it no
    longer validates, in which case the row is skipped and reported by `invalid()`), `dump` turns a `T` into one."""

    def __init__(
        self,
        store: Store,
        table: str,
        parse: Callable[[Mapping[str, Any]], T],
        dump: Callable[[T], Mapping[str, Any]],
        clock: VersionClock | None = None,
    ) -> None:
        self._store = store
        self._table = table
        self._parse = parse
        self._dump = dump
        self._clock = clock or VersionClock()

    def _rows(self) -> list[tuple[str, str]]:
        return [
            (str(row[0]), str(row[1]))
            for row in self._store.query(
                f"SELECT id, definition FROM {self._table} FINAL WHERE NOT deleted ORDER BY id"
            )
        ]

    def items(self) -> list[T]:
        items = []
        for _, definition in self._rows():
            try:
                items.append(self._parse(orjson.loads(definition)))
            except (ValueError, TypeError):
                continue  # reported by invalid()
        return items

    def invalid(self) -> list[tuple[str, str]]:
        """Stored definitions that no longer validate: (id, reason)."""
        problems = []
        for item_id, definition in self._rows():
            try:
                self._parse(orjson.loads(definition))
            except (ValueError, TypeError) as exc:
                problems.append((item_id, str(exc)))
        return problems

    def get(self, item_id: str) -> T | None:
        return next((item for item in self.items() if item.id == item_id), None)

    def put(self, item: T, actor: str = "") -> None:
        self.put_many([item], actor)

    def put_many(self, items: list[T], actor: str = "") -> None:
        rows: list[Mapping[str, Any]] = [
            {
                "id": item.id,
                "definition": orjson.dumps(self._dump(item)).decode(),
                "source": item.source,
                "deleted": False,
                "updated_by": actor,
                "updated_at": self._clock.version(),
            }
            for item in items
        ]
        insert_rows(self._store, self._table, _SCHEMA, rows)

    def delete(self, item_id: str, actor: str = "") -> bool:
        """Delete one definition; False when there was none."""
        if self.get(item_id) is None:
            return False
        row: Mapping[str, Any] = {
            "id": item_id,
            "definition": "{}",
            "source": "",
            "deleted": True,
            "updated_by": actor,
            "updated_at": self._clock.version(),
        }
        insert_rows(self._store, self._table, _SCHEMA, [row])
        return True

    def replace_source(self, source: str, items: list[T], actor: str = "") -> None:
        """Make the definitions from `source` (e.g. the alerts file) exactly `items`: those no longer given are
        deleted, the others written."""
        keep = {item.id for item in items}
        for stale in self.items():
            if stale.source == source and stale.id not in keep:
                self.delete(stale.id, actor)
        self.put_many(items, actor)
