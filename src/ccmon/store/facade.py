"""The store facade: every blocking call to ClickHouse goes through here.

One engine, one dialect. By default ClickHouse runs embedded in this process through chDB, in a data folder; with a
URL it is a ClickHouse server or cluster. Both are reached through clickhouse-connect, so the schema and SQL are the
same. Each thread gets its own client handle (chDB allows many handles on its one data path; HTTP clients must not be
shared by concurrent queries), so the writer thread and the API's worker threads never wait on each other here.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import clickhouse_connect
import pyarrow as pa

from ccmon.store.migrations import MIGRATIONS, MIGRATIONS_TABLE, RAW_TABLES, Migration
from ccmon.store.series import SeriesPoint

log = logging.getLogger(__name__)

Client = Any  # clickhouse_connect.driver.Client; untyped upstream


class StoreError(RuntimeError):
    """The store could not be opened, migrated, written or read; the message says which and why."""


class Store:
    """ClickHouse, embedded or remote, behind one small synchronous API."""

    def __init__(self, connect: Callable[[str | None], Client], database: str, description: str) -> None:
        self._connect = connect
        self.database = database
        self.description = description
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()
        self._closed = False
        bootstrap = connect(None)
        try:
            bootstrap.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        finally:
            bootstrap.close()

    @classmethod
    def open(cls, *, data_dir: str | None = None, url: str | None = None, database: str = "ccmon") -> Store:
        """Open the embedded store in `data_dir`, or the ClickHouse server at `url`."""
        if not database.replace("_", "").isalnum():
            raise StoreError(f"database name {database!r} must be letters, digits and underscores")
        try:
            if url:

                def connect(db: str | None) -> Client:
                    return clickhouse_connect.get_client(dsn=url, database=db or "default")

                return cls(connect, database, f"ClickHouse server {_redact(url)}")
            if not data_dir:
                raise StoreError("either a data directory or a ClickHouse URL is needed")
            path = Path(data_dir).expanduser().resolve()
            path.mkdir(parents=True, exist_ok=True)
            _check_not_held(path)

            def connect_embedded(db: str | None) -> Client:
                return clickhouse_connect.get_client(interface="chdb", path=str(path), database=db or "default")

            return cls(connect_embedded, database, f"embedded ClickHouse in {path}")
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot open the store: {exc}") from exc

    def client(self) -> Client:
        if self._closed:
            raise StoreError("the store is closed")
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._connect(self.database)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def migrate(self, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
        """Apply the migrations not applied yet; returns the versions applied now."""
        client = self.client()
        client.command(MIGRATIONS_TABLE)
        done = {row[0] for row in client.query("SELECT version FROM schema_migrations").result_rows}
        applied = []
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version in done:
                continue
            log.info("applying migration %d: %s", migration.version, migration.description)
            for statement in migration.statements:
                client.command(statement)
            client.insert(
                "schema_migrations",
                [[migration.version, migration.description]],
                column_names=["version", "description"],
            )
            applied.append(migration.version)
        return applied

    def schema_version(self) -> int:
        rows = self.query("SELECT max(version) FROM schema_migrations")
        return int(rows[0][0]) if rows else 0

    def insert(self, table: str, data: pa.Table) -> None:
        if data.num_rows:
            # The writer already dropped duplicate keys, so ReplacingMergeTree need not look for them at insert
            # time (about a third of the insert's CPU, measured in docs/performance.md).
            self.client().insert_arrow(table, data, settings={"optimize_on_insert": 0})

    def has_events(self) -> bool:
        return bool(self.query("SELECT 1 FROM events LIMIT 1"))

    def recent_dedup_keys(self, table: str, window_s: float, limit: int) -> list[int]:
        """Keys of the rows `table` received in the last `window_s` seconds (to recognise exporter retries)."""
        if table not in RAW_TABLES:
            raise StoreError(f"no dedup keys in table {table!r}")
        rows = self.query(
            f"SELECT dedup_key FROM {table} WHERE ingested_at >= now() - toIntervalSecond({{window:UInt32}}) "
            "ORDER BY ingested_at DESC LIMIT {limit:UInt64}",
            {"window": int(window_s), "limit": limit},
        )
        return [int(row[0]) for row in rows]

    def cumulative_series(self, horizon_days: int = 7) -> dict[int, SeriesPoint]:
        """The latest stored point of every cumulative series seen in the last `horizon_days`."""
        rows = self.query(
            "SELECT series_id, argMax(toUnixTimestamp64Nano(start_ts), ts), "
            "toUnixTimestamp64Nano(max(ts)), argMax(raw_value, ts) "
            "FROM metric_points WHERE temporality = 2 AND ts >= now() - toIntervalDay({days:UInt32}) "
            "GROUP BY series_id",
            {"days": horizon_days},
        )
        return {int(s): SeriesPoint(int(start), int(end), float(value)) for s, start, end, value in rows}

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        result = self.client().query(sql, parameters=dict(parameters or {}))
        return [tuple(row) for row in result.result_rows]

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        self.client().command(sql, parameters=dict(parameters or {}))

    def close(self) -> None:
        self._closed = True
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            try:
                client.close()
            except Exception:  # closing is best effort at shutdown
                log.debug("error closing a store client", exc_info=True)


def _check_not_held(path: Path) -> None:
    """Refuse, with a message that says what to do, a data folder another process's engine holds.

    ClickHouse holds an exclusive `flock` on `<path>/status` while it runs there and names its process in it; chDB
    would print its own lock error and then fail with "Error initializing EmbeddedServer". A folder this process
    holds already is fine: chDB gives every handle in one process the same engine.
    """
    status = path / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except OSError:
        return  # no engine has run here, or it stopped cleanly
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = re.search(rb"^PID: (\d+)", os.pread(fd, 200, 0), re.MULTILINE)
        pid = int(holder.group(1)) if holder else None
        if pid != os.getpid():
            who = f"process {pid}" if pid else "another process"
            raise StoreError(
                f"the data folder {path} is in use by {who} (another `ccmon serve`?): stop it, or give this one "
                "another --data-dir; `ccmon report --url` asks a running server instead of opening its folder"
            ) from None
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _redact(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
