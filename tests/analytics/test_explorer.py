"""The events explorer on a real captured Claude Code run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccmon.analytics import InvalidQuery, Query, TimeRange
from ccmon.analytics.explorer import explore
from ccmon.ingest.rows import IngestBatch
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import SIGNALS, Encoding
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
    assert len(everything) == sum(len(b.events) for b in _log_batches())
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
