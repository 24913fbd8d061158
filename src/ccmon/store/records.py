"""Writing ccmon's mutable state records (logins, tokens, alerting's definitions): one row per version, in a
`ReplacingMergeTree` versioned by `updated_at`.

Two changes of one record in the same microsecond would tie, and ClickHouse would keep either; the clock here never
returns the same instant twice in a process, so the later change wins. (Two processes changing one record in the
same microsecond remain a tie: rare, and either answer is a change someone made.)
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa

from ccmon.store.facade import Store

Clock = Callable[[], dt.datetime]

TIMESTAMP = pa.timestamp("us", tz="UTC")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class VersionClock:
    """`now()` from an injectable clock, strictly increasing across calls."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._last = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._lock = threading.Lock()

    def wall(self) -> dt.datetime:
        return self._clock()

    def version(self) -> dt.datetime:
        with self._lock:
            now = max(self._clock(), self._last + dt.timedelta(microseconds=1))
            self._last = now
            return now


def insert_rows(store: Store, table: str, schema: pa.Schema, rows: list[Mapping[str, Any]]) -> None:
    if rows:
        store.insert(table, pa.Table.from_pylist([dict(r) for r in rows], schema=schema))


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime read from the store (naive UTC or aware) as an aware UTC one."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
