"""Reported vs recomputed cost per model and per session: agreement, a flagged difference (a prompt-length tier
Claude Code did not apply), a model the price table does not know (listed with its tokens, never free), scope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccmon.analytics import Query, Scope, TimeRange
from ccmon.analytics.cost_check import cost_check, session_cost_check
from ccmon.analytics.scope import Forbidden
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import LOGS, SIGNALS, Encoding
from ccmon.pricing.table import load_prices
from tests.analytics.data import ALICE, BOB, T0, _events
from tests.support import claude_result, fixture_runs, payloads

HOUR = Query(TimeRange(T0, datetime(2026, 11, 20, 11, tzinfo=UTC)))
PRICES = load_prices()
# Each request of the fixture runs (tests/fixtures/claude-code-2.1.330): Claude Code reported 0.0088 USD.
FIXTURE_REQUEST = {
    "input_tokens": 1200,
    "output_tokens": 85,
    "cache_read_tokens": 4000,
    "cache_creation_tokens": 300,
    "cost_usd": 0.0088,
}
LONG_PROMPT = {
    "input_tokens": 250_000,
    "output_tokens": 1000,
    "cache_read_tokens": 0,
    "cache_creation_tokens": 0,
    "cost_usd": 0.765,
}  # priced without Sonnet 4.5's long-context tier


@pytest.fixture
def requests(writer: BatchWriter) -> BatchWriter:
    body = _events(
        [
            ("api_request", 1, {**ALICE, "model": "claude-opus-5-5[1m]", **FIXTURE_REQUEST}),
            ("api_request", 2, {**ALICE, "model": "claude-opus-5-5[1m]", **FIXTURE_REQUEST}),
            ("api_request", 3, {**ALICE, "model": "claude-sonnet-4-5-20250929", **LONG_PROMPT}),
            (
                "api_request",
                4,
                {**BOB, "model": "acme-coder", "input_tokens": 1000, "output_tokens": 10, "cost_usd": 0.01},
            ),
            ("api_request", 5, {**BOB, "model": "claude-haiku-4-5", "input_tokens": 1_000_000, "cost_usd": 1.004}),
            ("tool_result", 6, {**BOB, "model": "claude-haiku-4-5", "cost_usd": 5}),  # not a request
        ]
    )
    writer.submit(LOGS.decode(body, Encoding.JSON, 65536)).result(timeout=10)
    return writer


def test_reported_and_recomputed_cost_per_model(requests: BatchWriter) -> None:
    check = cost_check(requests.store, HOUR, PRICES)
    assert check.prices_checked == PRICES.checked and check.threshold_pct == 1
    rows = {row.model: row for row in check.rows}
    assert list(rows) == ["claude-haiku-4-5", "claude-sonnet-4-5-20250929", "claude-opus-5-5[1m]"]

    opus = rows["claude-opus-5-5[1m]"]
    assert (opus.requests, opus.priced_as, opus.input_tokens, opus.cache_read_tokens) == (2, "Opus 5.5", 2400, 8000)
    assert opus.reported_cost_usd == pytest.approx(0.0176)
    assert opus.recomputed_cost_usd == pytest.approx(0.0176, abs=1e-12)
    assert not opus.flagged

    sonnet = rows["claude-sonnet-4-5-20250929"]
    assert sonnet.recomputed_cost_usd == pytest.approx(1.5225)
    assert sonnet.difference_usd == pytest.approx(0.7575)
    assert sonnet.difference_pct == pytest.approx(99.0196, abs=1e-3)
    assert sonnet.flagged

    haiku = rows["claude-haiku-4-5"]  # 0.4 % off: under the 1 % threshold
    assert haiku.recomputed_cost_usd == pytest.approx(1.0) and not haiku.flagged
    assert cost_check(requests.store, HOUR, PRICES, threshold=0.001).rows[0].flagged

    (unknown,) = check.unknown_models
    assert (unknown.model, unknown.priced_as, unknown.recomputed_cost_usd) == ("acme-coder", None, None)
    assert (unknown.input_tokens, unknown.output_tokens, unknown.unpriced_requests) == (1000, 10, 1)
    assert unknown.flagged
    assert check.reported_cost_usd == pytest.approx(0.0176 + 0.765 + 0.01 + 1.004)
    assert check.recomputed_cost_usd == pytest.approx(0.0176 + 1.5225 + 1.0)  # the unknown model is not in it


def test_the_scope_and_range_apply(requests: BatchWriter) -> None:
    platform = Query(HOUR.time_range, Scope(teams=("platform",)))
    check = cost_check(requests.store, platform, PRICES)
    assert {row.model for row in check.rows} == {"claude-opus-5-5[1m]", "claude-sonnet-4-5-20250929"}
    assert check.unknown_models == []
    later = Query(TimeRange(datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)))
    assert cost_check(requests.store, later, PRICES).rows == []


def test_per_session(requests: BatchWriter) -> None:
    alice = session_cost_check(requests.store, HOUR, PRICES, "s-a")
    assert alice.reported_cost_usd == pytest.approx(0.0176 + 0.765)
    assert alice.recomputed_cost_usd == pytest.approx(0.0176 + 1.5225)
    bob = session_cost_check(requests.store, HOUR, PRICES, "s-b")
    assert [row.model for row in bob.unknown_models] == ["acme-coder"]
    # Another team's session is an empty one; a viewer may not ask.
    assert session_cost_check(requests.store, Query(HOUR.time_range, Scope(teams=("data",))), PRICES, "s-a").rows == []
    with pytest.raises(Forbidden):
        session_cost_check(requests.store, Query(HOUR.time_range, Scope(per_person=False)), PRICES, "s-a")


@pytest.mark.parametrize("run", fixture_runs())
def test_recomputed_cost_equals_claude_codes_own_for_the_recorded_runs(writer: BatchWriter, run: str) -> None:
    # tests/fixtures/claude-code-2.1.330: the real CLI's telemetry and its own `--output-format json` result.
    for payload in payloads(run):
        encoding = Encoding.JSON if payload.is_json else Encoding.PROTOBUF
        writer.submit(SIGNALS[payload.signal].decode(payload.read(), encoding, 65536)).result(timeout=30)
    result = claude_result(run)
    everything = Query(TimeRange(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)))
    check = cost_check(writer.store, everything, PRICES)
    assert check.unknown_models == []
    assert {row.model: row.recomputed_cost_usd for row in check.rows} == pytest.approx(
        {model: usage["costUSD"] for model, usage in result["modelUsage"].items()}, abs=1e-12
    )
    assert check.recomputed_cost_usd == pytest.approx(result["total_cost_usd"], abs=1e-12)
    assert not any(row.flagged for row in check.rows)
