"""A small hand-computed dataset: two people in two teams, counters and events over two hours of one day."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from ccmon.analytics import TimeRange
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import LOGS, METRICS, Encoding

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ALICE = {"user.email": "alice@example.com", "user.id": "a1", "session.id": "s-a", "team": "platform"}
SONNET, OPUS, HAIKU = "claude-sonnet-4-5", "claude-opus-4-1[1m]", "claude-haiku-4-5"
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


def metrics_body() -> bytes:
    """The counters, as an OTLP/JSON metrics request."""
    return _metrics(
        [
            ("claude_code.cost.usage", 1.25, 1, {**ALICE, "model": SONNET}),
            ("claude_code.cost.usage", 0.50, 30, {**BOB, "model": OPUS}),
            ("claude_code.cost.usage", 2.00, 90, {**ALICE, "model": HAIKU}),  # outside the first hour
            ("claude_code.token.usage", 1000, 1, {**ALICE, "type": "input", "model": SONNET}),
            ("claude_code.token.usage", 200, 1, {**ALICE, "type": "output", "model": SONNET}),
            ("claude_code.token.usage", 3000, 1, {**ALICE, "type": "cacheRead", "model": SONNET}),
            ("claude_code.token.usage", 40, 30, {**BOB, "type": "cacheCreation", "model": OPUS}),
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


def events_body() -> bytes:
    """The events, as an OTLP/JSON logs request."""
    return _events(
        [
            ("api_request", 1, {**ALICE, "model": SONNET, "duration_ms": 1000, "ttft_ms": 100}),
            ("api_request", 2, {**ALICE, "model": SONNET, "duration_ms": 2000, "ttft_ms": 300}),
            ("api_request", 30, {**BOB, "model": OPUS, "duration_ms": 4000, "ttft_ms": 500}),
            ("api_error", 31, {**BOB, "model": OPUS, "status_code": 529, "attempt": 11}),
            ("api_retries_exhausted", 31, {**BOB, "model": OPUS, "status_code": 529, "total_attempts": 11}),
            ("tool_decision", 2, {**ALICE, "decision": "accept", "tool_name": "Edit"}),
            ("tool_decision", 3, {**BOB, "decision": "reject", "tool_name": "Bash"}),
            ("tool_result", 4, {**ALICE, "tool_name": "Edit", "success": "true", "duration_ms": "20"}),
            ("api_request", 95, {**ALICE, "model": HAIKU, "duration_ms": 500, "ttft_ms": 50}),
        ]
    )


def load(writer: BatchWriter) -> BatchWriter:
    writer.submit(METRICS.decode(metrics_body(), Encoding.JSON, 65536)).result(timeout=10)
    writer.submit(LOGS.decode(events_body(), Encoding.JSON, 65536)).result(timeout=10)
    return writer


FIRST_HOUR = TimeRange(T0, datetime(2026, 11, 20, 11, 0, tzinfo=UTC))

# The next day: four sessions in two repositories and one without, for the session analytics and lines by language.
DAY = 24 * 60
SECOND_DAY = TimeRange(datetime(2026, 11, 21, 10, 0, tzinfo=UTC), datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
S1 = {**ALICE, "session.id": "s1", "vcs.repository.name": "ccmon"}
S2 = {**ALICE, "session.id": "s2", "vcs.repository.name": "ccmon"}
S3 = {**BOB, "session.id": "s3", "vcs.repository.name": "web"}
S4 = {**BOB, "session.id": "s4"}


def second_day_metrics_body() -> bytes:
    """Cost and tokens of the sessions (s1's without a repository: its events and lines name it), and lines with
    and without a language."""
    s1 = {k: v for k, v in S1.items() if k != "vcs.repository.name"}
    return _metrics(
        [
            ("claude_code.token.usage", 1000, DAY + 1, {**s1, "type": "input"}),
            ("claude_code.cost.usage", 0.25, DAY + 1, s1),
            ("claude_code.token.usage", 100, DAY + 21, {**S2, "type": "input"}),
            ("claude_code.cost.usage", 0.5, DAY + 21, S2),
            ("claude_code.token.usage", 10000, DAY + 32, {**S3, "type": "cacheRead"}),
            ("claude_code.cost.usage", 1.0, DAY + 32, S3),
            ("claude_code.lines_of_code.count", 10, DAY + 6, {**S1, "type": "added", "language": "Python"}),
            ("claude_code.lines_of_code.count", 2, DAY + 6, {**S1, "type": "removed", "language": "Python"}),
            ("claude_code.lines_of_code.count", 5, DAY + 32, {**S3, "type": "added", "language": "TypeScript"}),
            ("claude_code.lines_of_code.count", 7, DAY + 32, {**S3, "type": "removed", "language": "TypeScript"}),
            ("claude_code.lines_of_code.count", 1, DAY + 40, {**S4, "type": "added"}),
        ]
    )


def second_day_events_body() -> bytes:
    """s1: 3 prompts over 10 min; s2: 1 prompt, 1 min; s3: 2 prompts, 2 min; s4: 1 prompt and nothing else."""
    return _events(
        [
            ("user_prompt", DAY + 0, S1),
            ("api_request", DAY + 1, S1),
            ("user_prompt", DAY + 5, S1),
            ("tool_result", DAY + 6, {**S1, "tool_name": "Edit", "success": "true"}),
            ("user_prompt", DAY + 10, S1),
            ("user_prompt", DAY + 20, S2),
            ("api_request", DAY + 21, S2),
            ("user_prompt", DAY + 30, S3),
            ("user_prompt", DAY + 31, S3),
            ("api_request", DAY + 32, S3),
            ("user_prompt", DAY + 40, S4),
        ]
    )


def load_second_day(writer: BatchWriter) -> BatchWriter:
    writer.submit(METRICS.decode(second_day_metrics_body(), Encoding.JSON, 65536)).result(timeout=10)
    writer.submit(LOGS.decode(second_day_events_body(), Encoding.JSON, 65536)).result(timeout=10)
    return writer
