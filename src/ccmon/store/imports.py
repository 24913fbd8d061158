"""Writing `imported_usage` (migration 12): usage imported from history, one row per transcript message or per
Admin API (day, actor, model), each with its `source` and a `dedup_key`.

A second import of the same history adds nothing: the keys already stored are looked up before the INSERT and left
out (the table is a ReplacingMergeTree on the key too, a safety net for two imports racing each other).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields

import pyarrow as pa

from ccmon.store.facade import Store

_KEY_BATCH = 10_000
"""Keys per lookup query (bound as one array parameter)."""


@dataclass(frozen=True)
class ImportedUsage:
    """One stored row of imported history, attributed and priced."""

    ts: dt.datetime
    source: str
    """One of `ccmon.imports.model.SOURCES` (checked by the records that rows are made from)."""
    dedup_key: int
    person: str = ""
    user_email: str = ""
    team: str = ""
    department: str = ""
    cost_center: str = ""
    project: str = ""
    terminal_type: str = ""
    repository: str = ""
    version: str = ""
    provider: str = ""
    organization_id: str = ""
    session_id: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    cost_usd: float = 0.0
    priced: bool = True
    """False: no price is known for the model (cost 0, flagged, never counted as free)."""
    sessions: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    commits: int = 0
    pull_requests: int = 0


_TYPES: dict[str, pa.DataType] = {
    "ts": pa.timestamp("ms", tz="UTC"),
    "dedup_key": pa.uint64(),
    "cost_usd": pa.float64(),
    "priced": pa.bool_(),
    "sessions": pa.uint32(),
    "commits": pa.uint32(),
    "pull_requests": pa.uint32(),
}
SCHEMA = pa.schema(
    [pa.field("day", pa.date32())]
    + [
        pa.field(f.name, _TYPES.get(f.name, pa.uint64() if f.type in (int, "int") else pa.string()))
        for f in fields(ImportedUsage)
    ]
)


class ImportedUsageTable:
    """`imported_usage` behind two calls: which keys are stored, and store rows whose keys are not."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def known_keys(self, keys: Iterable[int]) -> set[int]:
        """Of `keys`, those already stored (whatever their source)."""
        wanted = sorted(set(keys))
        known: set[int] = set()
        for start in range(0, len(wanted), _KEY_BATCH):
            rows = self._store.query(
                "SELECT DISTINCT dedup_key FROM imported_usage WHERE dedup_key IN {keys:Array(UInt64)}",
                {"keys": wanted[start : start + _KEY_BATCH]},
            )
            known.update(int(row[0]) for row in rows)
        return known

    def add(self, rows: Sequence[ImportedUsage]) -> tuple[int, int]:
        """Store the rows whose key is neither stored nor repeated earlier in `rows`; (stored, duplicates)."""
        known = self.known_keys(row.dedup_key for row in rows)
        fresh: list[ImportedUsage] = []
        for row in rows:
            if row.dedup_key not in known:
                known.add(row.dedup_key)
                fresh.append(row)
        if fresh:
            records = [{"day": row.ts.astimezone(dt.UTC).date(), **asdict(row)} for row in fresh]
            self._store.insert("imported_usage", pa.Table.from_pylist(records, schema=SCHEMA))
        return len(fresh), len(rows) - len(fresh)

    def count(self, source: str | None = None) -> int:
        """Rows stored (of one source), each key once."""
        where = "WHERE source = {source:String}" if source else ""
        rows = self._store.query(
            f"SELECT uniqExact(dedup_key) FROM imported_usage {where}", {"source": source} if source else {}
        )
        return int(rows[0][0])
