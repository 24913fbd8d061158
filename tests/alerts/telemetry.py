"""Crafted Claude Code telemetry for the alerting tests: spend, tokens and API requests of given people, teams, models
and sessions at given times, sent through the real ingest path (OTLP/JSON decoded, committed by a `BatchWriter`).

    send(store, [Usage(person="ann@example.com", team="platform", model="claude-opus-4-5", session="s1",
                       cost=2.5, tokens=1000, at=datetime(2026, 11, 3, 10, tzinfo=UTC))])

Each `Usage` becomes a `claude_code.cost.usage` point (when `cost` is not 0), a `claude_code.token.usage` point of
type `input` (when `tokens` is not 0), both deltas over the minute before `at`, and `requests` `api_request` events
at `at`, `at` + 1 ms, ... (their `cost_usd` and `input_tokens` split the usage evenly). Ingest replaces times later
than now + 1 day by the time of receipt, so `at` must not be in the future.

Ingest deduplicates: two usages with the same person, session, model, account and `at` are one metric point, and a
request body identical to one sent in the last few minutes is a retry. Give each usage its own time (or session).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ccmon.ingest.stats import IngestStats
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import LOGS, METRICS, Encoding
from ccmon.store.facade import Store

DEFAULT_MODEL = "claude-sonnet-4-5"
_sequence = itertools.count(1)
"""Event sequence numbers, unique across sends, so no two crafted events are the same event to ingest."""


@dataclass(frozen=True)
class Usage:
    person: str
    """The person key: sent as `user.email` (ccmon's person is the email when there is one)."""
    at: datetime
    cost: float = 0.0
    tokens: int = 0
    model: str = DEFAULT_MODEL
    session: str = ""
    """Default: `sess-<person>`."""
    team: str = ""
    department: str = ""
    cost_center: str = ""
    account_uuid: str = ""
    """Sent as `user.account_uuid` when set."""
    requests: int = 1
    """How many `api_request` events (0: metrics only)."""

    @property
    def session_id(self) -> str:
        return self.session or f"sess-{self.person}"


def _ns(instant: datetime) -> str:
    delta = instant - datetime(1970, 1, 1, tzinfo=instant.tzinfo)
    return str((delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000)


def _attrs(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": {"stringValue": str(value)}} for key, value in values.items() if value != ""]


def _identity(usage: Usage) -> dict[str, Any]:
    return {
        "user.email": usage.person,
        "user.account_uuid": usage.account_uuid,
        "session.id": usage.session_id,
        "team": usage.team,
        "department": usage.department,
        "cost_center": usage.cost_center,
        "model": usage.model,
        "terminal.type": "vscode",
    }


def metrics_body(usages: Iterable[Usage]) -> bytes:
    """One OTLP/JSON metrics request: the cost and token points of `usages` (deltas)."""
    metrics = []
    for usage in usages:
        points = [
            ("claude_code.cost.usage", usage.cost, {}),
            ("claude_code.token.usage", usage.tokens, {"type": "input"}),
        ]
        for name, value, extra in points:
            if not value:
                continue
            point = {
                "asDouble": value,
                "startTimeUnixNano": _ns(usage.at - timedelta(minutes=1)),
                "timeUnixNano": _ns(usage.at),
                "attributes": _attrs({**_identity(usage), **extra}),
            }
            metrics.append(
                {"name": name, "sum": {"aggregationTemporality": 1, "isMonotonic": True, "dataPoints": [point]}}
            )
    return orjson.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": metrics}]}]})


def logs_body(usages: Iterable[Usage]) -> bytes:
    """One OTLP/JSON logs request: the `api_request` events of `usages`."""
    records = []
    for usage in usages:
        for i in range(usage.requests):
            attributes = {
                **_identity(usage),
                "event.name": "api_request",
                "event.sequence": next(_sequence),
                "cost_usd": usage.cost / usage.requests,
                "input_tokens": usage.tokens // usage.requests,
                "duration_ms": 1000,
            }
            records.append(
                {
                    "timeUnixNano": _ns(usage.at + timedelta(milliseconds=i)),
                    "body": {"stringValue": "claude_code.api_request"},
                    "attributes": _attrs(attributes),
                }
            )
    return orjson.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]})


def send(target: Store | BatchWriter, usages: Iterable[Usage]) -> None:
    """Commit `usages` through the ingest path: into a running `BatchWriter`, or a store (a writer started for it)."""
    items = list(usages)
    if isinstance(target, BatchWriter):
        _submit(target, items)
        return
    writer = BatchWriter(target, IngestStats(), max_delay_s=0.01)
    writer.start()
    try:
        _submit(writer, items)
    finally:
        writer.close()


def _submit(writer: BatchWriter, usages: list[Usage]) -> None:
    writer.submit(METRICS.decode(metrics_body(usages), Encoding.JSON, 1 << 20)).result(timeout=30)
    writer.submit(LOGS.decode(logs_body(usages), Encoding.JSON, 1 << 20)).result(timeout=30)


@contextmanager
def store_with(chdb_path: Path, clickhouse_url: str | None, usages: Iterable[Usage]) -> Iterator[Store]:
    """A migrated store in a database of its own holding `usages`, for a module's tests to share (a module-scoped
    fixture: `with store_with(chdb_path, clickhouse_url, USAGES) as store: yield store`)."""
    database = f"test_{uuid.uuid4().hex[:12]}"
    opened = Store.open(url=clickhouse_url, database=database) if clickhouse_url else None
    opened = opened or Store.open(data_dir=str(chdb_path), database=database)
    opened.migrate()
    try:
        send(opened, usages)
        yield opened
    finally:
        opened.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
        opened.close()
