"""The store facade: every blocking call to ClickHouse goes through here.

One engine, one dialect. By default ClickHouse runs embedded in this process through chDB, in a data folder; with a
URL it is a ClickHouse server or cluster. Both are reached through clickhouse-connect, so the schema and SQL are the
same. Each thread gets its own client handle (chDB allows many handles on its one data path; HTTP clients must not be
shared by concurrent queries), so the writer thread and the API's worker threads never wait on each other here.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import clickhouse_connect
import pyarrow as pa

from ccmon.store.dimensions import sql_literal
from ccmon.store.migrations import MIGRATIONS, MIGRATIONS_TABLE, RAW_TABLES, Migration
from ccmon.store.series import SeriesPoint

log = logging.getLogger(__name__)

Client = Any  # clickhouse_connect.driver.Client; untyped upstream


T = TypeVar("T")
READERS = 4
"""Threads that run a request's independent reads side by side (`Store.parallel`), shared by all requests."""


class StoreError(RuntimeError):
    """The store could not be opened, migrated, written or read; the message says which and why."""


class Store:
    """ClickHouse, embedded or remote, behind one small synchronous API."""

    def __init__(
        self,
        connect: Callable[[str | None], Client],
        database: str,
        description: str,
        ingest_dir: Path | None = None,
    ) -> None:
        self._connect = connect
        self._ingest_dir = ingest_dir
        self.database = database
        self.description = description
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()
        self._closed = False
        self._readers: ThreadPoolExecutor | None = None
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

            ingest_dir = _staging_folder(path) / database
            ingest_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            _remove_orphans(ingest_dir)
            return cls(connect_embedded, database, f"embedded ClickHouse in {path}", ingest_dir)
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
            began = time.monotonic()
            for step, statement in enumerate(migration.statements, 1):
                client.command(statement)
                # A migration that rebuilds rollups on a large store takes minutes: say how far it has got.
                log.info(
                    "migration %d: step %d of %d done (%.1f s)",
                    migration.version,
                    step,
                    len(migration.statements),
                    time.monotonic() - began,
                )
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

    def insert_encoded(
        self, sql: str, data: bytes, *, structure: str, schema: str, message: str, parameters: Mapping[str, Any]
    ) -> None:
        """Run `sql`, an `INSERT ... SELECT ... FROM {source}`, over `data`: `message`s of the protobuf `schema`,
        each preceded by its length, read by ClickHouse's Protobuf format as `structure`.

        Embedded, the bytes go through a file in shared memory (`_staging_folder`; `file()` reads 37 MB in ~50 ms;
        binding them as a query parameter is ~400x slower), removed once the INSERT returns and, if a crash left
        it, at the next start; the schema too is a file there (a schema given as a string would be cached by chDB in
        the working directory). A server reads the bytes as the body of the INSERT (`input()`) and the schema from
        the query."""
        settings = {"format_schema_message_name": message}
        if self._ingest_dir is None:
            settings |= {"format_schema_source": "string", "format_schema": schema}
            self.client().command(
                sql.replace("{source}", f"input({sql_literal(structure)})") + " FORMAT Protobuf",
                parameters=dict(parameters),
                data=data,
                settings=settings,
            )
            return
        settings["format_schema"] = str(self._schema_file(schema))
        path = self._ingest_dir / f"{os.getpid()}-{uuid.uuid4().hex}.pb"
        try:
            path.write_bytes(data)
            source = f"file({sql_literal(str(path))}, 'Protobuf', {sql_literal(structure)})"
            self.client().command(sql.replace("{source}", source), parameters=dict(parameters), settings=settings)
        finally:
            path.unlink(missing_ok=True)

    def _schema_file(self, schema: str) -> Path:
        assert self._ingest_dir is not None
        path = self._ingest_dir / f"{hashlib.sha256(schema.encode()).hexdigest()[:16]}.proto"
        if not path.exists():
            temporary = path.with_name(f"{os.getpid()}-{path.stem}.tmp")  # named like the request files
            temporary.write_text(schema)
            temporary.replace(path)
        return path

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

    def recent_request_digests(self, window_s: float, limit: int) -> list[int]:
        """Digests of the export requests committed in the last `window_s` seconds."""
        rows = self.query(
            "SELECT digest FROM ingest_requests WHERE ingested_at >= now() - toIntervalSecond({window:UInt32}) "
            "ORDER BY ingested_at DESC LIMIT {limit:UInt64}",
            {"window": int(window_s), "limit": limit},
        )
        return [int(row[0]) for row in rows]

    def collect_suspects(self, window_s: float) -> int:
        """Fill `ingest_suspects` with the keys of the event and span rows that may lack their request's digest:
        those stored since the latest recorded digest (in its second; or in the last `window_s` seconds when none
        is recorded). Returns how many."""
        self.forget_suspects()
        since = (
            "(SELECT if(count() = 0, now() - toIntervalSecond({window:UInt32}), max(ingested_at)) "
            "FROM ingest_requests WHERE ingested_at >= now() - toIntervalSecond({window:UInt32}))"
        )
        self.command(
            f"INSERT INTO ingest_suspects SELECT dedup_key FROM events WHERE ingested_at >= {since} "
            f"UNION ALL SELECT dedup_key FROM spans WHERE ingested_at >= {since}",
            {"window": int(window_s)},
        )
        return int(self.query("SELECT count() FROM ingest_suspects")[0][0])

    def forget_suspects(self) -> None:
        self.command("TRUNCATE TABLE ingest_suspects")

    def record_request_digests(self, digests: Sequence[int]) -> None:
        if digests:
            self.client().insert("ingest_requests", [[d] for d in digests], column_names=["digest"])

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

    def parallel(self, *calls: Callable[[], T]) -> list[T]:
        """The results of independent reads, run side by side, in order. A small read waits mostly on the engine's
        index analysis and a single thread's work, so two or three run together in about the time of the longest.
        Called from one of them, the calls run one after another (workers waiting for workers could starve the
        pool)."""
        if len(calls) < 2 or getattr(self._local, "reading", False):
            return [call() for call in calls]
        with self._lock:
            if self._readers is None:
                self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="ccmon-read")
            readers = self._readers
        return [future.result() for future in [readers.submit(self._read, call) for call in calls]]

    def _read(self, call: Callable[[], T]) -> T:
        self._local.reading = True
        return call()

    def close(self) -> None:
        self._closed = True
        with self._lock:
            clients, self._clients = self._clients, []
            readers, self._readers = self._readers, None
        if readers is not None:
            readers.shutdown(wait=True)
        for client in clients:
            try:
                client.close()
            except Exception:  # closing is best effort at shutdown
                log.debug("error closing a store client", exc_info=True)


SHARED_MEMORY = Path("/dev/shm")


def _staging_folder(path: Path) -> Path:
    """Where a commit's request bytes wait for the engine's INSERT: shared memory (`/dev/shm`, a tmpfs) where the
    machine has one, so raw telemetry (an address before it becomes a pseudonym, a prompt before its secrets are
    redacted) never reaches a disk; else the data folder. Private to this user (0700), one folder per data folder."""
    if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK | os.X_OK):
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        root = SHARED_MEMORY / f"ccmon-{os.getuid()}-{digest}"
    else:
        root = path / "ccmon-ingest"
    root.mkdir(exist_ok=True, mode=0o700)
    return root


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


def _remove_orphans(folder: Path) -> None:
    """Remove the request files of processes that are gone: a commit a crash interrupted was never acknowledged, so
    its exporters send it again."""
    for file in [*folder.glob("*.pb"), *folder.glob("*.tmp")]:
        pid = file.name.partition("-")[0]
        if not pid.isdigit() or not _alive(int(pid)):
            file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _redact(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
