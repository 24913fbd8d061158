"""Two weeks of hand-computed telemetry for the weekly report: 2026-W46 (the week before) and 2026-W47.

W47 (Mon 16 Nov - Mon 23 Nov 2026): alice (platform, session s-a) spends $10 on Sonnet and changes 100 + 20 lines;
bob (data, s-b) spends $30 on Opus over 25 short requests, 6 of them followed by API errors (retries exhausted), and
makes 4 commits and 2 PRs; carol (data, s-c) spends $8 and produces nothing. W46: alice spends $20, 1 PR.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import LOGS, METRICS, Encoding
from ccmon.reports.weekly import Week
from tests.analytics.data import ALICE, BOB, OPUS, SONNET, _events, _metrics

WEEK = Week(datetime(2026, 11, 16, tzinfo=UTC))
"""T0 of tests/analytics/data.py (Fri 20 Nov 10:00) is in this week."""
BEFORE = -7 * 24 * 60
CAROL = {"user.email": "carol@example.com", "session.id": "s-c", "team": "data"}


def counters_body() -> bytes:
    return _metrics(
        [
            ("claude_code.cost.usage", 10.0, 1, {**ALICE, "model": SONNET}),
            ("claude_code.cost.usage", 30.0, 30, {**BOB, "model": OPUS}),
            ("claude_code.cost.usage", 8.0, 60, {**CAROL, "model": SONNET}),
            ("claude_code.lines_of_code.count", 100, 2, {**ALICE, "type": "added"}),
            ("claude_code.lines_of_code.count", 20, 2, {**ALICE, "type": "removed"}),
            ("claude_code.commit.count", 4, 40, BOB),
            ("claude_code.pull_request.count", 2, 40, BOB),
            ("claude_code.cost.usage", 20.0, BEFORE + 1, {**ALICE, "session.id": "s-old", "model": SONNET}),
            ("claude_code.pull_request.count", 1, BEFORE + 2, {**ALICE, "session.id": "s-old"}),
        ]
    )


def requests_body() -> bytes:
    opus = {**BOB, "model": OPUS, "cost_usd": 1.2, "input_tokens": 10_000, "output_tokens": 200}
    sonnet = {**ALICE, "model": SONNET, "cost_usd": 6.0, "input_tokens": 2_000_000, "output_tokens": 5_000}
    return _events(
        [
            *(("api_request", 30, opus) for _ in range(25)),
            *(("api_error", 31, {**BOB, "model": OPUS, "status_code": 529, "attempt": 10}) for _ in range(6)),
            ("api_retries_exhausted", 31, {**BOB, "model": OPUS, "status_code": 529, "total_attempts": 10}),
            ("api_request", 1, sonnet),
            ("tool_result", 3, {**ALICE, "tool_name": "Edit", "success": "true"}),
            ("tool_result", 4, {**ALICE, "tool_name": "Edit", "success": "true"}),
            ("tool_result", 5, {**ALICE, "tool_name": "Edit", "success": "true"}),
            ("tool_result", 6, {**ALICE, "tool_name": "Bash", "success": "true"}),
            ("user_prompt", 60, CAROL),
        ]
    )


def load_weeks(writer: BatchWriter) -> BatchWriter:
    writer.submit(METRICS.decode(counters_body(), Encoding.JSON, 65536)).result(timeout=10)
    writer.submit(LOGS.decode(requests_body(), Encoding.JSON, 65536)).result(timeout=10)
    return writer
