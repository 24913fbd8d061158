"""The one writer: a bounded queue, group commit, and an answer only after commit.

Both receivers `submit` a request (`IngestBatch`) and wait on the returned future. A single thread takes whatever is
queued, up to `max_rows` rows or after waiting `max_delay_s` for more, and commits it:

- a request whose digest (its bytes) was committed in the last `dedup_window_s`, or that repeats an earlier one of
  the batch, is an exporter's retry: it is answered OK and stored once;
- logs and traces: the request bodies, each followed by the attributes its ingest token pins
  (`otlp_schema.pins_field`), are concatenated, length-delimited, and inserted in one statement in which the
  engine parses them and builds the rows, pins and privacy settings applied (`ccmon.ingest.engine_rows`);
- metric points (rows built in Python, and sealed as a request is submitted: pins and privacy settings applied by
  `ccmon.ingest.rows.seal_points`): rows whose key is already stored are dropped, cumulative points become
  increments, and one Arrow table is inserted.

Only then are the futures resolved, so an exporter is told OK only for what is committed, and the digests recorded
(in memory and in the store, so a restart still knows them). When the queue is full `submit` raises `QueueFull` at
once: the receiver answers 429 / RESOURCE_EXHAUSTED and the exporter retries later, rather than ccmon dropping data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field

from ccmon.ingest import otlp_schema
from ccmon.ingest.attribution import Attribution
from ccmon.ingest.cumulative import CumulativeState
from ccmon.ingest.engine_rows import EngineRows, events_sql, spans_sql
from ccmon.ingest.pings import record_pings
from ccmon.ingest.privacy import Privacy
from ccmon.ingest.recent import RecentKeys
from ccmon.ingest.rows import IngestBatch, Row, check_pins, seal_points
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.vocabulary import METRICS
from ccmon.settings import ConfigError, default
from ccmon.store.facade import Store

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """The write queue cannot take this request now; retry after a short wait."""


class WriterClosed(Exception):
    """The server is shutting down and takes no more writes."""


class CommitFailed(Exception):
    """The store refused the batch holding this request's rows; nothing of it is acknowledged."""


def length_delimited(bodies: list[bytes], suffixes: list[bytes] | None = None) -> bytes:
    """Messages each preceded by its length as a varint: how ClickHouse's Protobuf format reads many. A message's
    suffix (fields appended to it: `otlp_schema.pins_field`) is counted in its length, without copying the body."""
    parts: list[bytes] = []
    for number, body in enumerate(bodies):
        suffix = suffixes[number] if suffixes is not None else b""
        size = len(body) + len(suffix)
        prefix = bytearray()
        while size > 0x7F:
            prefix.append((size & 0x7F) | 0x80)
            size >>= 7
        prefix.append(size)
        parts += (bytes(prefix), body, suffix)
    return b"".join(parts)


@dataclass
class _Pending:
    batch: IngestBatch
    future: Future[None] = field(default_factory=Future)


def _settle(future: Future[None], failure: Exception | None) -> None:
    """Resolve a request's future, unless its client gave up and cancelled it meanwhile."""
    try:
        if failure is None:
            future.set_result(None)
        else:
            future.set_exception(failure)
    except InvalidStateError:
        pass


class BatchWriter:
    """Single writer thread with group commit; see the module docstring."""

    def __init__(
        self,
        store: Store,
        stats: IngestStats,
        *,
        max_rows: int = default("batch_max_rows"),
        max_delay_s: float = default("batch_max_delay_ms") / 1000,
        queue_max_rows: int = default("queue_max_rows"),
        dedup_window_s: float = default("dedup_window_s"),
        dedup_max_keys: int = default("dedup_max_keys"),
        attribution: Attribution | None = None,
        max_value_length: int = default("max_attribute_length"),
        privacy: Privacy | None = None,
    ) -> None:
        self.store = store
        attribution = attribution or Attribution()
        self.privacy = privacy or Privacy()
        self.engine_rows = {
            "logs": events_sql(attribution, max_value_length, self.privacy),
            "traces": spans_sql(attribution, max_value_length, self.privacy),
        }
        self.digests = RecentKeys(dedup_window_s, dedup_max_keys)
        self._suspects_until = 0.0
        self.stats = stats
        self.max_rows = max_rows
        self.max_delay_s = max_delay_s
        self.queue_max_rows = queue_max_rows
        self.recent = RecentKeys(dedup_window_s, dedup_max_keys)
        self.cumulative = CumulativeState()
        self._queue: deque[_Pending] = deque()
        self._queued_rows = 0
        self._cond = threading.Condition()
        self._closing = False
        self._hurry = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Check the redaction patterns with the engine, rebuild the dedup keys and cumulative state from the store,
        then start the writer thread."""
        self._check_patterns()
        now = time.monotonic()
        self.recent.add(self.store.recent_dedup_keys("metric_points", self.recent.window_s, self.recent.max_keys), now)
        self.digests.add(self.store.recent_request_digests(self.digests.window_s, self.digests.max_keys), now)
        # Rows committed just before a crash, whose digests may not have been recorded: their requests, resent,
        # are then recognised by the rows' own keys until the dedup window has passed.
        suspects = self.store.collect_suspects(self.digests.window_s)
        self._suspects_until = now + self.digests.window_s if suspects else 0.0
        self.cumulative = CumulativeState(self.store.cumulative_series())
        log.info(
            "writer ready: %d recent requests, %d recent points, %d cumulative series",
            len(self.digests),
            len(self.recent),
            len(self.cumulative),
        )
        self._thread = threading.Thread(target=self._run, name="ccmon-writer", daemon=True)
        self._thread.start()

    def _check_patterns(self) -> None:
        """Run the redaction once, so a configured pattern ClickHouse's RE2 refuses (Python's `re` took it) stops the
        start with a message naming it, rather than failing every commit."""
        for text in self.privacy.extra_patterns:
            try:
                self.store.query("SELECT replaceRegexpAll('', {pattern:String}, '')", {"pattern": text})
            except Exception as exc:
                raise ConfigError(
                    f"redact_patterns: the engine refuses {text!r} (RE2 syntax is needed): {exc}"
                ) from None

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    def submit(self, batch: IngestBatch) -> Future[None]:
        """Queue the rows of one request; the future resolves once they are committed. Metric points are sealed
        here, in the caller's thread (pins and privacy settings applied); logs and traces get theirs in the
        engine."""
        pending = _Pending(batch)
        rows = batch.rows
        if rows == 0:
            pending.future.set_result(None)
            return pending.future
        check_pins(batch.pins)
        if batch.points:
            batch.points = seal_points(batch.points, batch.pins, self.privacy)
        with self._cond:
            if self._closing:
                raise WriterClosed("ccmon is shutting down")
            if self._queued_rows and self._queued_rows + rows > self.queue_max_rows:
                self.stats.queue_full.inc()
                raise QueueFull(f"write queue full ({self._queued_rows} rows waiting)")
            self._queue.append(pending)
            self._queued_rows += rows
            self.stats.queue_rows.set(self._queued_rows)
            self._cond.notify()
        return pending.future

    def hurry(self) -> None:
        """Commit what is queued without waiting for batches to fill (shutdown has begun: the requests in flight
        must be answered before the receivers' grace period ends). Writes are still taken until `close`."""
        with self._cond:
            self._hurry = True
            self._cond.notify()

    def close(self, timeout: float = 30.0) -> None:
        """Stop taking writes, commit everything queued, and stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("writer did not drain within %.0f s; %d rows not committed", timeout, self._queued_rows)

    def _take(self) -> list[_Pending] | None:
        """Wait for a batch worth committing: `max_rows` rows, `max_delay_s` of waiting for more, or shutdown.

        The delay counts from when the writer is free and sees rows, not from the oldest row's arrival: rows that
        queued during a commit then form the next batch with what follows, so batches stay large under load
        (counting from the oldest row shrank them and cost a fifth of the throughput, docs/performance.md).
        """
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
            deadline = time.monotonic() + self.max_delay_s
            while self._queued_rows < self.max_rows and not (self._closing or self._hurry):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            items: list[_Pending] = []
            rows = 0
            while self._queue and (not items or rows + self._queue[0].batch.rows <= self.max_rows):
                item = self._queue.popleft()
                items.append(item)
                rows += item.batch.rows
            self._queued_rows -= rows
            self.stats.queue_rows.set(self._queued_rows)
            return items

    def _run(self) -> None:
        while (items := self._take()) is not None:
            fresh, repeats = self._fresh_requests(items)
            groups: dict[str, list[_Pending]] = {}
            for item in fresh:
                groups.setdefault(item.batch.signal or "metrics", []).append(item)
            failures: dict[int, Exception] = {}
            for group in groups.values():
                failures |= self._commit_or_split(group)
            for item in items:
                if id(item) in failures:
                    continue
                # A repeat of a request of this batch shares its fate; a repeat of one committed earlier is OK.
                failure = failures.get(repeats.get(id(item), 0))
                _settle(item.future, failure)

    def _fresh_requests(self, items: list[_Pending]) -> tuple[list[_Pending], dict[int, int]]:
        """The requests that are neither committed recently nor repeated earlier in this batch (an exporter's
        retry: stored once), and for each repeat of a request of this batch, that request's id."""
        first: dict[int, int] = {}
        fresh = []
        repeats: dict[int, int] = {}
        for item in items:
            digest = item.batch.digest
            if digest and (digest in first or digest in self.digests):
                self.stats.duplicates.labels(_table_of(item.batch)).inc(item.batch.rows)
                if digest in first:
                    repeats[id(item)] = first[digest]
                continue
            first[digest] = id(item)
            fresh.append(item)
        return fresh, repeats

    def _commit_or_split(self, items: list[_Pending]) -> dict[int, Exception]:
        """Commit a group of one signal; if the store refuses it, commit its requests one by one so only the bad one
        fails. Returns the items that failed (by id; their futures are settled with the error)."""
        try:
            self._commit(items)
        except Exception as exc:
            if len(items) > 1:
                name = type(exc).__name__  # not its message: see below
                log.warning("commit of %d requests failed (%s); committing them one by one", len(items), name)
                failures: dict[int, Exception] = {}
                for item in items:
                    failures |= self._commit_or_split([item])
                return failures
            self.stats.commit_failures.inc()
            # Not the engine's message: it may quote the query's parameters (the pseudonyms' key pads) and values of
            # other clients' requests in the same commit, and must reach neither an exporter nor the log.
            log.error("commit failed: %s", type(exc).__name__)
            failure = CommitFailed("the store could not commit the batch; see the server's log")
            _settle(items[0].future, failure)
            return {id(items[0]): failure}
        digests = [item.batch.digest for item in items if item.batch.digest]
        self.digests.add(digests)
        try:
            self.store.record_request_digests(digests)
        except Exception:  # the rows are committed; only a retry after a restart could be stored twice
            log.exception("could not record the digests of %d committed requests", len(digests))
        return {}

    def _commit(self, items: list[_Pending]) -> None:
        started = time.perf_counter()
        signal = items[0].batch.signal
        if signal:
            total = self._insert_encoded(self.engine_rows[signal], [item.batch for item in items])
            total += record_pings(self.store, [ping for item in items for ping in item.batch.pings])
        else:
            total = self._insert_points([row for item in items for row in item.batch.points])
        self.stats.batch_rows.observe(total)
        self.stats.batch_seconds.observe(time.perf_counter() - started)

    def _insert_encoded(self, rows: EngineRows, batches: list[IngestBatch]) -> int:
        records = sum(batch.records for batch in batches)
        if records:
            sql = rows.sql
            if self._suspects_until:
                if time.monotonic() < self._suspects_until:
                    sql = rows.sql_without_suspects
                else:
                    self._suspects_until = 0.0
                    self.store.forget_suspects()
            batches = [batch for batch in batches if batch.records]
            self.store.insert_encoded(
                sql,
                length_delimited([b.body for b in batches], [otlp_schema.pins_field(b.pins) for b in batches]),
                structure=rows.structure,
                schema=otlp_schema.PROTO,
                message=otlp_schema.MESSAGES[rows.signal],
                parameters={**rows.parameters, "now": time.time_ns()},
            )
            self.stats.stored.labels(rows.table).inc(records)
        return records

    def _insert_points(self, rows: list[Row]) -> int:
        rows = self._fresh_points(rows)
        if not rows:
            return 0
        pending, stale = self.cumulative.convert(rows)
        self.store.insert("metric_points", METRICS.to_arrow(rows))
        self.recent.add(row[_POINT_KEY] for row in rows)
        self.cumulative.commit(pending)
        self.stats.stale_points.inc(stale)
        self.stats.stored.labels("metric_points").inc(len(rows))
        return len(rows)

    def _fresh_points(self, rows: list[Row]) -> list[Row]:
        """The points whose key is neither stored recently nor repeated earlier in this batch."""
        recent = self.recent
        seen: set[object] = set()
        fresh = []
        for row in rows:
            key = row[_POINT_KEY]
            if key in seen or key in recent:
                continue
            seen.add(key)
            fresh.append(row)
        if len(fresh) != len(rows):
            self.stats.duplicates.labels("metric_points").inc(len(rows) - len(fresh))
        return fresh


_POINT_KEY = METRICS.index["dedup_key"]
_TABLES = {"logs": "events", "traces": "spans", "": "metric_points"}


def _table_of(batch: IngestBatch) -> str:
    return _TABLES[batch.signal]
