"""The summary on small hand-computed data: sources, time bounds, scope, empty ranges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from ccmon.analytics import Scope, TimeRange
from ccmon.analytics.summary import summary
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import LOGS, METRICS, Encoding

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ALICE = {"user.email": "alice@example.com", "user.id": "a1", "session.id": "s-a", "team": "platform"}
BOB = {"user.account_uuid": "bob-uuid", "user.id": "b1", "session.id": "s-b", "team": "data"}


def _ns(minutes: int) -> str:
    return str(int(T0.timestamp() + minutes * 60) * 10**9)


def _attrs(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": {"stringValue": str(v)}} for k, v in values.items()]


def _metrics(points: list[tuple[str, float, int, dict[str, Any]]]) -> bytes:
    metrics = [
        {
            "name": name,
            "sum": {
                "aggregationTemporality": 1,
                "isMonotonic": True,
                "dataPoints": [
                    {
                        "asDouble": value,
                        "startTimeUnixNano": _ns(minute - 1),
                        "timeUnixNano": _ns(minute),
                        "attributes": _attrs(attrs),
                    }
                ],
            },
        }
        for name, value, minute, attrs in points
    ]
    return orjson.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": metrics}]}]})


def _events(events: list[tuple[str, int, dict[str, Any]]]) -> bytes:
    records = [
        {
            "timeUnixNano": _ns(minute),
            "body": {"stringValue": f"claude_code.{name}"},
            "attributes": _attrs({**attrs, "event.name": name, "event.sequence": i}),
        }
        for i, (name, minute, attrs) in enumerate(events)
    ]
    return orjson.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]})


@pytest.fixture
def loaded(writer: BatchWriter) -> BatchWriter:
    metrics = _metrics(
        [
            ("claude_code.cost.usage", 1.25, 1, ALICE),
            ("claude_code.cost.usage", 0.50, 30, BOB),
            ("claude_code.cost.usage", 2.00, 90, ALICE),  # outside the first hour
            ("claude_code.token.usage", 1000, 1, {**ALICE, "type": "input"}),
            ("claude_code.token.usage", 200, 1, {**ALICE, "type": "output"}),
            ("claude_code.token.usage", 3000, 1, {**ALICE, "type": "cacheRead"}),
            ("claude_code.token.usage", 40, 30, {**BOB, "type": "cacheCreation"}),
            ("claude_code.lines_of_code.count", 12, 2, {**ALICE, "type": "added"}),
            ("claude_code.lines_of_code.count", 3, 2, {**ALICE, "type": "removed"}),
            ("claude_code.commit.count", 2, 5, BOB),
            ("claude_code.pull_request.count", 1, 5, BOB),
            ("claude_code.code_edit_tool.decision", 3, 2, {**ALICE, "decision": "accept", "tool_name": "Edit"}),
            ("claude_code.code_edit_tool.decision", 1, 2, {**BOB, "decision": "reject", "tool_name": "Write"}),
            ("claude_code.active_time.total", 30.5, 3, {**ALICE, "type": "user"}),
            ("claude_code.active_time.total", 12.0, 3, {**ALICE, "type": "cli"}),
        ]
    )
    events = _events(
        [
            ("api_request", 1, ALICE),
            ("api_request", 2, ALICE),
            ("api_request", 30, BOB),
            ("api_error", 31, BOB),
            ("tool_decision", 2, {**ALICE, "decision": "accept"}),
            ("tool_decision", 3, {**BOB, "decision": "reject"}),
            ("tool_result", 4, ALICE),
            ("api_request", 95, ALICE),
        ]
    )
    writer.submit(METRICS.decode(metrics, Encoding.JSON, 65536)).result(timeout=10)
    writer.submit(LOGS.decode(events, Encoding.JSON, 65536)).result(timeout=10)
    return writer


FIRST_HOUR = TimeRange(T0, datetime(2026, 11, 20, 11, 0, tzinfo=UTC))


def test_first_hour(loaded: BatchWriter) -> None:
    result = summary(loaded.store, FIRST_HOUR, Scope.everyone())
    assert result.model_dump() == {
        "cost_usd": 1.75,
        "tokens": {"input": 1000, "output": 200, "cache_read": 3000, "cache_creation": 40},
        "sessions": 2,
        "users": 2,
        "api_requests": 3,
        "api_errors": 1,
        "lines_added": 12,
        "lines_removed": 3,
        "commits": 2,
        "pull_requests": 1,
        "edit_decisions": {"accept": 3, "reject": 1},
        "tool_decisions": {"accept": 1, "reject": 1},
        "tool_calls": 1,
        "active_time_s": {"user": 30.5, "cli": 12.0},
    }


def test_ranges_are_half_open(loaded: BatchWriter) -> None:
    # The cost point at minute 90 is inside [T0+90m, ...) and outside [..., T0+90m).
    at_90 = datetime(2026, 11, 20, 11, 30, tzinfo=UTC)
    before = summary(loaded.store, TimeRange(T0, at_90), Scope.everyone())
    after = summary(loaded.store, TimeRange(at_90, datetime(2026, 11, 21, tzinfo=UTC)), Scope.everyone())
    assert before.cost_usd == 1.75
    assert after.cost_usd == 2.0
    assert after.api_requests == 1


def test_scope_restricts_to_persons_and_teams(loaded: BatchWriter) -> None:
    alice = summary(loaded.store, FIRST_HOUR, Scope(persons=("alice@example.com",)))
    assert (alice.cost_usd, alice.users, alice.api_requests, alice.tool_decisions.reject) == (1.25, 1, 2, 0)
    data_team = summary(loaded.store, FIRST_HOUR, Scope(teams=("data",)))
    # Bob has no email: his person key is his account uuid.
    assert (data_team.cost_usd, data_team.users, data_team.commits) == (0.5, 1, 2)
    assert summary(loaded.store, FIRST_HOUR, Scope(persons=())).cost_usd == 0


def test_an_empty_range_is_all_zeros(loaded: BatchWriter) -> None:
    empty = summary(
        loaded.store, TimeRange(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC)), Scope.everyone()
    )
    assert empty.cost_usd == 0 and empty.sessions == 0 and empty.tokens.input == 0 and empty.active_time_s.user == 0
