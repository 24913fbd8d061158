"""Every captured Claude Code run, decoded and stored, totals what Claude Code itself reported."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccmon.analytics import Query, Scope, TimeRange
from ccmon.analytics.summary import summary
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import SIGNALS, Encoding
from tests.support import claude_result, fixture_runs, payloads

ALL_TIME = TimeRange(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def _ingest(writer: BatchWriter, run: str) -> None:
    for payload in payloads(run):
        encoding = Encoding.JSON if payload.is_json else Encoding.PROTOBUF
        batch = SIGNALS[payload.signal].decode(payload.read(), encoding, 65536)
        assert batch.rejected == 0, batch.errors
        writer.submit(batch).result(timeout=30)


@pytest.mark.parametrize("run", fixture_runs())
def test_stored_totals_equal_claude_result(writer: BatchWriter, run: str) -> None:
    _ingest(writer, run)
    result = claude_result(run)
    usage = result["usage"]
    totals = summary(writer.store, Query(ALL_TIME, Scope.everyone()))
    assert totals.cost_usd == pytest.approx(result["total_cost_usd"], abs=1e-9)
    assert totals.tokens.model_dump() == {
        "input": usage["input_tokens"],
        "output": usage["output_tokens"],
        "cache_read": usage["cache_read_input_tokens"],
        "cache_creation": usage["cache_creation_input_tokens"],
    }
    assert totals.sessions == 1
    assert totals.users == 1
    if result.get("is_error"):
        assert totals.api_errors >= 1
        assert totals.api_requests == 0
    else:
        assert totals.api_requests == result["num_turns"]


def test_ingesting_a_run_twice_changes_nothing(writer: BatchWriter) -> None:
    _ingest(writer, "writefile-grpc")
    once = summary(writer.store, Query(ALL_TIME, Scope.everyone()))
    _ingest(writer, "writefile-grpc")
    assert summary(writer.store, Query(ALL_TIME, Scope.everyone())) == once
