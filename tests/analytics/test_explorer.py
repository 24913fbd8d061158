"""The events explorer on a real captured Claude Code run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccmon.analytics import InvalidQuery, Query, TimeRange
from ccmon.analytics.explorer import explore
from ccmon.analytics.results import utc
from ccmon.ingest.rows import IngestBatch
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import SIGNALS, Encoding
from tests.analytics.data import SECOND_DAY, load, load_second_day
from tests.support import payloads

ALL_TIME = Query(TimeRange(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)))


RUNS = ("writefile-http-json", "api-error-500")


def _log_batches() -> list[IngestBatch]:
    return [
        SIGNALS["logs"].decode(p.read(), Encoding.JSON, 65536)
        for run in RUNS
        for p in payloads(run)
        if p.signal == "logs"
    ]


@pytest.fixture
def runs(writer: BatchWriter) -> BatchWriter:
    for batch in _log_batches():
        writer.submit(batch).result(timeout=10)
    return writer


def test_newest_first_with_cursor_paging(runs: BatchWriter) -> None:
    everything = explore(runs.store, ALL_TIME, limit=1000).rows
    assert len(everything) == sum(b.records for b in _log_batches())
    assert [e.ts for e in everything] == sorted((e.ts for e in everything), reverse=True)
    seen, cursor = [], None
    while True:
        page = explore(runs.store, ALL_TIME, limit=4, cursor=cursor)
        seen += page.rows
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == everything


def test_filters_by_name_column_attribute_and_error_text(runs: BatchWriter) -> None:
    requests = explore(runs.store, ALL_TIME, names=("api_request",)).rows
    assert len(requests) == 2 and {e.cost_usd for e in requests} == {0.0088}
    writes = explore(runs.store, ALL_TIME, attributes={"tool_name": "Write", "decision": "accept"}).rows
    assert [e.name for e in writes] == ["tool_decision"]
    plugins = explore(runs.store, ALL_TIME, attributes={"plugin.name": "cc-plugin-privacy"}).rows
    assert [e.attributes["plugin.name"] for e in plugins] == ["cc-plugin-privacy"] * len(RUNS)  # loaded by each run
    errors = explore(runs.store, ALL_TIME, text="internal SERVER error").rows
    assert errors and all("internal server error" in e.error.lower() for e in errors)
    assert explore(runs.store, ALL_TIME, text="no such text anywhere").rows == []


def test_bad_cursor_and_limit(runs: BatchWriter) -> None:
    with pytest.raises(InvalidQuery, match="cursor"):
        explore(runs.store, ALL_TIME, cursor="1; DROP TABLE events")
    with pytest.raises(InvalidQuery, match="limit"):
        explore(runs.store, ALL_TIME, limit=0)


def test_paging_walks_back_across_days_to_the_range_start(writer: BatchWriter) -> None:
    # Two days of events: the explorer reads windows back from the range's end (1 h, 8 h, 64 h...), so pages must
    # continue across the empty night and stop at the range's start.
    load_second_day(load(writer))
    expected = [
        (utc(ts), name)
        for ts, name in writer.store.query("SELECT ts, event_name FROM events ORDER BY ts DESC, dedup_key DESC")
    ]
    assert len({ts.date() for ts, _ in expected}) == 2
    seen, cursor = [], None
    while True:
        page = explore(writer.store, ALL_TIME, limit=3, cursor=cursor)
        seen += [(e.ts, e.name) for e in page.rows]
        if (cursor := page.next_cursor) is None:
            break
    assert seen == expected
    second_day_only = explore(writer.store, Query(SECOND_DAY), limit=1000).rows
    assert [(e.ts, e.name) for e in second_day_only] == [row for row in expected if row[0] >= SECOND_DAY.start]


def test_cursor_beyond_any_instant_is_refused(runs: BatchWriter) -> None:
    with pytest.raises(InvalidQuery, match="cursor"):
        explore(runs.store, ALL_TIME, cursor="99999999999999999999.1")
    assert explore(runs.store, ALL_TIME, cursor="1.1").rows == []  # older than everything: an empty last page
