from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest

from ccmon.ingest import vocabulary
from ccmon.ingest.rows import IngestBatch
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.writer import BatchWriter, CommitFailed, QueueFull, WriterClosed
from ccmon.otlp.signals import LOGS, METRICS, Encoding
from ccmon.store.facade import Store
from tests.otlp_payloads import api_request_logs
from tests.support import payloads


def _logs(session: str, first: int, count: int) -> IngestBatch:
    return LOGS.decode(api_request_logs(session, first, count), Encoding.PROTOBUF, 65536)


def _metrics() -> IngestBatch:
    """The metrics export of a captured run (points are built in Python, each with its dedup key)."""
    payload = next(p for p in payloads("writefile-http-json") if p.signal == "metrics")
    return METRICS.decode(payload.read(), Encoding.JSON, 65536)


def _cumulative_points() -> IngestBatch:
    """The metrics export of another captured run (other series, other keys than `_metrics`)."""
    payload = next(p for p in payloads("cumulative-http-json") if p.signal == "metrics")
    return METRICS.decode(payload.read(), Encoding.JSON, 65536)


def _count(store: Store, table: str = "events") -> int:
    return int(store.query(f"SELECT count() FROM {table}")[0][0])


def _stored(stats: IngestStats, table: str) -> float:
    value = stats.registry.get_sample_value("ccmon_stored_rows_total", {"table": table})
    return value or 0.0


def test_requests_are_committed_together_and_acknowledged_after_commit(store: Store) -> None:
    stats = IngestStats()
    writer = BatchWriter(store, stats, max_rows=1000, max_delay_s=0.5)
    writer.start()
    try:
        futures = [writer.submit(_logs(f"s{i}", 0, 10)) for i in range(5)]
        for future in futures:
            future.result(timeout=10)
            # Acknowledged means the rows are readable from the store.
            assert _count(store) == 50
        assert stats.registry.get_sample_value("ccmon_batch_rows_count") == 1  # one group commit for 5 requests
    finally:
        writer.close()


def test_a_full_batch_is_committed_without_waiting_for_the_delay(store: Store) -> None:
    writer = BatchWriter(store, IngestStats(), max_rows=20, max_delay_s=60)
    writer.start()
    try:
        writer.submit(_logs("s", 0, 20)).result(timeout=10)
    finally:
        writer.close()


def test_duplicates_within_and_across_batches_are_stored_once(store: Store) -> None:
    """An exporter's retry repeats a request's bytes: logs are recognised by the request's digest (within a batch and
    across batches), metric points by their own keys."""
    stats = IngestStats()
    writer = BatchWriter(store, stats, max_delay_s=0.05)
    writer.start()
    try:
        first, again = writer.submit(_logs("s", 0, 10)), writer.submit(_logs("s", 0, 10))  # one batch
        first.result(timeout=10)
        again.result(timeout=10)
        writer.submit(_logs("s", 0, 10)).result(timeout=10)  # a later batch
        # Requests are the unit of dedup now: one that overlaps a stored one without repeating it is stored whole.
        writer.submit(_logs("s", 5, 10)).result(timeout=10)
        points = _metrics()
        writer.submit(points).result(timeout=10)
        writer.submit(_metrics()).result(timeout=10)  # the same request again
        other = _metrics()
        other.digest += 1  # a different request carrying the same points
        writer.submit(other).result(timeout=10)
    finally:
        writer.close()
    assert _count(store) == 20
    assert stats.registry.get_sample_value("ccmon_duplicate_rows_total", {"table": "events"}) == 20
    assert _count(store, "metric_points") == len(points.points) > 0
    duplicates = stats.registry.get_sample_value("ccmon_duplicate_rows_total", {"table": "metric_points"})
    assert duplicates == 2 * len(points.points)


def test_a_restarted_writer_recognises_rows_stored_before(store: Store) -> None:
    first = BatchWriter(store, IngestStats(), max_delay_s=0.01)
    first.start()
    first.submit(_logs("s", 0, 10)).result(timeout=10)
    first.close()
    second = BatchWriter(store, IngestStats(), max_delay_s=0.01)
    second.start()
    try:
        second.submit(_logs("s", 0, 10)).result(timeout=10)
    finally:
        second.close()
    assert _count(store) == 10


def test_rows_committed_just_before_a_crash_are_stored_once_when_their_request_is_resent(store: Store) -> None:
    # The crash between a commit and the record of its digests: the rows are stored, the digest is not, and the
    # exporter (never answered) sends the same request again to the restarted server.
    first = BatchWriter(store, IngestStats(), max_delay_s=0.01)
    first.start()
    first.submit(_logs("crash", 0, 10)).result(timeout=10)
    first.submit(_logs("before", 0, 5)).result(timeout=10)
    first.close()
    store.command("TRUNCATE TABLE ingest_requests")
    second = BatchWriter(store, IngestStats(), max_delay_s=0.01)
    second.start()
    try:
        second.submit(_logs("crash", 0, 10)).result(timeout=10)  # its rows are left out by their keys
        second.submit(_logs("after", 0, 3)).result(timeout=10)  # and new telemetry is stored as usual
    finally:
        second.close()
    assert _count(store) == 18
    assert store.query("SELECT count() FROM events FINAL") == [(18,)]  # no copy waiting for a merge either


def test_once_the_dedup_window_has_passed_the_suspects_are_forgotten(store: Store) -> None:
    first = BatchWriter(store, IngestStats(), max_delay_s=0.01)
    first.start()
    first.submit(_logs("old", 0, 4)).result(timeout=10)
    first.close()
    store.command("TRUNCATE TABLE ingest_requests")  # the crash: rows stored, their digest not recorded
    # A window of a few seconds, so a loaded machine's pause between the two writers does not already close it.
    second = BatchWriter(store, IngestStats(), max_delay_s=0.01, dedup_window_s=4)
    second.start()
    try:
        assert store.query("SELECT count() FROM ingest_suspects")[0][0] > 0
        threading.Event().wait(4.1)
        second.submit(_logs("new", 0, 2)).result(timeout=10)
    finally:
        second.close()
    assert store.query("SELECT count() FROM ingest_suspects") == [(0,)]
    assert _count(store) == 6


def test_cumulative_state_survives_a_restart(store: Store) -> None:
    run = next(p for p in payloads("cumulative-http-json") if p.signal == "metrics")

    index = vocabulary.METRICS.index
    # Moved to an hour ago: a restarted writer takes up the series seen in the last 7 days (`cumulative_series`), and
    # the capture's own times fall out of that window a week after it was made.
    captured = METRICS.decode(run.read(), Encoding.JSON, 65536)
    times = [row[index["ts"]] for row in captured.points]
    assert all(isinstance(ts, int) for ts in times)
    shift = time.time_ns() - 3600 * 10**9 - min(ts for ts in times if isinstance(ts, int))

    def cumulative_batch(scale: int) -> IngestBatch:
        """The captured cumulative export, as if sent again `scale` seconds later with totals `scale` times larger."""
        batch = METRICS.decode(run.read(), Encoding.JSON, 65536)
        for row in batch.points:
            raw, ts, start, key = (row[index[name]] for name in ("raw_value", "ts", "start_ts", "dedup_key"))
            assert isinstance(raw, float) and isinstance(ts, int) and isinstance(start, int) and isinstance(key, int)
            row[index["raw_value"]] = raw * scale
            row[index["ts"]] = ts + shift + scale * 10**9
            row[index["start_ts"]] = start + shift
            row[index["dedup_key"]] = key + scale
        batch.digest += scale  # a new request, not a retry of the captured one (which would be dropped whole)
        return batch

    def cost() -> float:
        return float(
            store.query("SELECT sum(value) FROM metric_points WHERE metric_name = 'claude_code.cost.usage'")[0][0]
        )

    first = BatchWriter(store, IngestStats(), max_delay_s=0.01)
    first.start()
    first.submit(cumulative_batch(1)).result(timeout=10)
    first.close()
    assert cost() == pytest.approx(0.0176)
    second = BatchWriter(store, IngestStats(), max_delay_s=0.01)
    second.start()
    try:
        second.submit(cumulative_batch(2)).result(timeout=10)  # the same series, its totals doubled later on
    finally:
        second.close()
    assert cost() == pytest.approx(0.0352)


def test_a_full_queue_refuses_at_once(store: Store) -> None:
    writer = BatchWriter(store, IngestStats(), max_rows=10_000, max_delay_s=60, queue_max_rows=15)
    writer.start()
    try:
        queued = writer.submit(_logs("s", 0, 10))
        with pytest.raises(QueueFull):
            writer.submit(_logs("s", 10, 10))
    finally:
        writer.close()  # shutdown commits what was queued
    queued.result(timeout=1)
    assert _count(store) == 10


def test_a_closed_writer_refuses_writes(store: Store) -> None:
    writer = BatchWriter(store, IngestStats())
    writer.start()
    writer.close()
    with pytest.raises(WriterClosed):
        writer.submit(_logs("s", 0, 1))


def test_a_store_failure_fails_the_requests_and_the_writer_goes_on(store: Store) -> None:
    writer = BatchWriter(store, IngestStats(), max_delay_s=0.01)
    writer.start()
    try:
        store.command("RENAME TABLE events TO events_away")
        failed: Future[None] = writer.submit(_logs("s", 0, 5))
        with pytest.raises(CommitFailed, match="could not commit"):
            failed.result(timeout=10)
        store.command("RENAME TABLE events_away TO events")
        writer.submit(_logs("s", 0, 5)).result(timeout=10)  # the exporter's retry is stored
    finally:
        writer.close()
    assert _count(store) == 5


def test_empty_requests_are_acknowledged_immediately(store: Store) -> None:
    writer = BatchWriter(store, IngestStats())
    assert writer.submit(IngestBatch()).result(timeout=0) is None


def test_concurrent_submitters(store: Store) -> None:
    writer = BatchWriter(store, IngestStats(), max_rows=500, max_delay_s=0.02)
    writer.start()
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            for i in range(10):
                writer.submit(_logs(f"c{n}", i * 10, 10)).result(timeout=30)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    assert errors == []
    assert _count(store) == 800


def test_a_bad_request_fails_alone_and_its_batch_neighbours_are_stored(store: Store) -> None:
    writer = BatchWriter(store, IngestStats(), max_rows=1000, max_delay_s=0.3)
    writer.start()
    try:
        poisoned = _logs("bad", 0, 3)
        # A body the receiver's validation (upb) did not see, cut short: the engine refuses the INSERT it is part of.
        poisoned.body = poisoned.body[:-5]
        bad_points = _metrics()
        bad_points.points[0][vocabulary.METRICS.index["temporality"]] = "not a number"  # cannot become UInt8
        good_before, bad, bad_metrics, good_points, good_after = (
            writer.submit(_logs("a", 0, 5)),
            writer.submit(poisoned),
            writer.submit(bad_points),
            writer.submit(_cumulative_points()),
            writer.submit(_logs("b", 0, 5)),
        )
        good_before.result(timeout=10)
        good_after.result(timeout=10)
        good_points.result(timeout=10)
        with pytest.raises(CommitFailed):
            bad.result(timeout=10)
        with pytest.raises(CommitFailed):
            bad_metrics.result(timeout=10)
    finally:
        writer.close()
    assert _count(store) == 10
    assert _count(store, "metric_points") == len(_cumulative_points().points)


def test_a_retry_in_the_batch_of_a_failing_request_fails_with_it(store: Store) -> None:
    writer = BatchWriter(store, IngestStats(), max_rows=1000, max_delay_s=0.3)
    writer.start()
    try:
        poisoned = _logs("bad", 0, 3)
        poisoned.body = poisoned.body[:-5]
        first, retry, good = writer.submit(poisoned), writer.submit(poisoned), writer.submit(_logs("good", 0, 2))
        for failing in (first, retry):
            with pytest.raises(CommitFailed):
                failing.result(timeout=10)
        good.result(timeout=10)
    finally:
        writer.close()
    assert _count(store) == 2


def test_a_cancelled_request_does_not_stop_the_writer(store: Store) -> None:
    writer = BatchWriter(store, IngestStats(), max_delay_s=0.2)
    writer.start()
    try:
        abandoned = writer.submit(_logs("gone", 0, 5))
        assert abandoned.cancel()  # the client hung up while its rows were queued
        writer.submit(_logs("next", 0, 5)).result(timeout=10)
    finally:
        writer.close()
    assert _count(store) == 10
