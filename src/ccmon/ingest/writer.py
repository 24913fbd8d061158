"""The one writer: a bounded queue, group commit, and an answer only after commit.

Both receivers `submit` the rows of a request and wait on the returned future. A single thread takes whatever is
queued, up to `max_rows` rows or after waiting `max_delay_s` for more, drops rows whose key is already stored, turns
cumulative points into increments, and inserts one Arrow table per store table. Only then are the futures resolved,
so an exporter is told OK only for rows that are committed. When the queue is full `submit` raises `QueueFull` at
once: the receiver answers 429 / RESOURCE_EXHAUSTED and the exporter retries later, rather than ccmon dropping data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field

from ccmon.ingest.cumulative import CumulativeState
from ccmon.ingest.recent import RecentKeys
from ccmon.ingest.rows import IngestBatch, Row
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.vocabulary import EVENTS, METRICS, SPANS, Layout
from ccmon.settings import default
from ccmon.store.facade import Store

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """The write queue cannot take this request now; retry after a short wait."""


class WriterClosed(Exception):
    """The server is shutting down and takes no more writes."""


class CommitFailed(Exception):
    """The store refused the batch holding this request's rows; nothing of it is acknowledged."""


@dataclass(frozen=True)
class _Table:
    name: str
    layout: Layout
    rows: Callable[[IngestBatch], list[Row]]

    @property
    def key_index(self) -> int:
        return self.layout.index["dedup_key"]


TABLES = (
    _Table("events", EVENTS, lambda b: b.events),
    _Table("metric_points", METRICS, lambda b: b.points),
    _Table("spans", SPANS, lambda b: b.spans),
)


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
    ) -> None:
        self.store = store
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
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Rebuild the dedup keys and cumulative state from the store, then start the writer thread."""
        now = time.monotonic()
        for table in TABLES:
            self.recent.add(self.store.recent_dedup_keys(table.name, self.recent.window_s, self.recent.max_keys), now)
        self.cumulative = CumulativeState(self.store.cumulative_series())
        log.info("writer ready: %d recent keys, %d cumulative series", len(self.recent), len(self.cumulative))
        self._thread = threading.Thread(target=self._run, name="ccmon-writer", daemon=True)
        self._thread.start()

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    def submit(self, batch: IngestBatch) -> Future[None]:
        """Queue the rows of one request; the future resolves once they are committed."""
        pending = _Pending(batch)
        rows = batch.rows
        if rows == 0:
            pending.future.set_result(None)
            return pending.future
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
            while self._queued_rows < self.max_rows and not self._closing:
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
            self._commit_or_split(items)

    def _commit_or_split(self, items: list[_Pending]) -> None:
        """Commit a group; if the store refuses it, commit its requests one by one so only the bad one fails.

        Rows of tables already committed are skipped on the second try (their keys are remembered), so splitting
        never stores a row twice.
        """
        try:
            self._commit(items)
        except Exception as exc:
            if len(items) > 1:
                log.warning("commit of %d requests failed (%s); committing them one by one", len(items), exc)
                for item in items:
                    self._commit_or_split([item])
                return
            self.stats.commit_failures.inc()
            log.exception("commit failed")
            _settle(items[0].future, CommitFailed(f"the store could not commit the batch: {exc}"))
        else:
            for item in items:
                _settle(item.future, None)

    def _commit(self, items: list[_Pending]) -> None:
        started = time.perf_counter()
        total = 0
        for table in TABLES:
            rows = self._fresh(table, [row for item in items for row in table.rows(item.batch)])
            if not rows:
                continue
            pending, stale = self.cumulative.convert(rows) if table.layout is METRICS else ({}, 0)
            self.store.insert(table.name, table.layout.to_arrow(rows))
            # Remember keys per table as soon as that table is committed: if a later table fails, the exporter's
            # retry must not store these rows a second time.
            self.recent.add(row[table.key_index] for row in rows)
            self.cumulative.commit(pending)
            self.stats.stale_points.inc(stale)
            self.stats.stored.labels(table.name).inc(len(rows))
            total += len(rows)
        self.stats.batch_rows.observe(total)
        self.stats.batch_seconds.observe(time.perf_counter() - started)

    def _fresh(self, table: _Table, rows: list[Row]) -> list[Row]:
        """The rows whose key is neither stored recently nor repeated earlier in this batch."""
        recent = self.recent
        seen: set[object] = set()
        index = table.key_index
        fresh = []
        for row in rows:
            key = row[index]
            if key in seen or key in recent:
                continue
            seen.add(key)
            fresh.append(row)
        if len(fresh) != len(rows):
            self.stats.duplicates.labels(table.name).inc(len(rows) - len(fresh))
        return fresh
