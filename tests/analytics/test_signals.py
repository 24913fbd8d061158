"""The alerting signals: exact numbers on crafted telemetry, sent through the real ingest path (OTLP/JSON decoded and
written by the `BatchWriter`), with the scope and filters applied.

`send` and the builders here are also what the alert tests (tests/alerts/) craft their data with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from ccmon.analytics import Filters, InvalidQuery, Query, Scope, TimeRange
from ccmon.analytics.signals import Point, Signals
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import LOGS, METRICS, Encoding
from ccmon.store.facade import Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Who:
    """The identity a record carries."""

    person: str = "ann@example.com"
    session: str = "s-ann"
    team: str = "api"
    model: str = "claude-sonnet-4-5"
    extra: dict[str, str] = field(default_factory=dict)

    def attributes(self) -> dict[str, str]:
        identity = {"user.email": self.person, "session.id": self.session, "team": self.team, "model": self.model}
        return {key: value for key, value in {**identity, **self.extra}.items() if value}


@dataclass(frozen=True)
class Event:
    at: datetime
    name: str
    who: Who = Who()
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Measure:
    """A delta data point of a Claude Code counter."""

    at: datetime
    metric: str
    value: float
    who: Who = Who()
    attributes: dict[str, Any] = field(default_factory=dict)


def cost(at: datetime, usd: float, who: Who = Who()) -> Measure:
    return Measure(at, "claude_code.cost.usage", usd, who)


def tokens(at: datetime, count: float, token_type: str = "input", who: Who = Who()) -> Measure:
    return Measure(at, "claude_code.token.usage", count, who, {"type": token_type})


def session_start(at: datetime, who: Who = Who()) -> Measure:
    return Measure(at, "claude_code.session.count", 1, who)


def _ns(at: datetime) -> str:
    return str(int(at.timestamp() * 1_000_000) * 1000)


def _attrs(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"key": k, "value": {"doubleValue": v} if isinstance(v, float) else {"stringValue": str(v)}}
        for k, v in values.items()
    ]


def logs_body(events: Sequence[Event]) -> bytes:
    records = [
        {
            "timeUnixNano": _ns(event.at),
            "body": {"stringValue": f"claude_code.{event.name}"},
            "attributes": _attrs(
                {**event.who.attributes(), **event.attributes, "event.name": event.name, "event.sequence": i}
            ),
        }
        for i, event in enumerate(events)
    ]
    return orjson.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]})


def metrics_body(measures: Sequence[Measure]) -> bytes:
    metrics = [
        {
            "name": m.metric,
            "sum": {
                "aggregationTemporality": 1,
                "isMonotonic": True,
                "dataPoints": [
                    {
                        "asDouble": float(m.value),
                        "startTimeUnixNano": _ns(m.at - timedelta(seconds=1)),
                        "timeUnixNano": _ns(m.at),
                        "attributes": _attrs({**m.who.attributes(), **m.attributes}),
                    }
                ],
            },
        }
        for m in measures
    ]
    return orjson.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": metrics}]}]})


def send(store: Store, *records: Event | Measure) -> None:
    """Ingest `records` as Claude Code would send them (OTLP/JSON, decoded and written by the batch writer)."""
    writer = BatchWriter(store, IngestStats(), max_delay_s=0.01)
    writer.start()
    try:
        measures = [r for r in records if isinstance(r, Measure)]
        events = [r for r in records if isinstance(r, Event)]
        if measures:
            writer.submit(METRICS.decode(metrics_body(measures), Encoding.JSON, 1 << 24)).result(timeout=30)
        if events:
            writer.submit(LOGS.decode(logs_body(events), Encoding.JSON, 1 << 24)).result(timeout=30)
    finally:
        writer.close()


def over(span: timedelta, *, scope: Scope | None = None, **filters: tuple[str, ...]) -> Query:
    return Query(TimeRange(NOW - span, NOW), scope or Scope.everyone(), Filters(filters))


def values(points: list[Point]) -> dict[tuple[str, ...], float]:
    return {tuple(p.labels.values()): round(p.value, 9) for p in points}


ANN = Who()
BEN = Who("ben@example.com", "s-ben", "web")
CAT = Who("cat@example.com", "s-cat", "web", model="claude-opus-4-5")


def test_no_data_answers_no_point_and_zero_is_a_point(store: Store) -> None:
    signals = Signals(store)
    assert signals.cost(over(DAY)) == []
    assert signals.active_people(over(DAY)) == []
    send(store, cost(NOW - timedelta(hours=1), 0.0))
    assert signals.cost(over(DAY)) == [Point({}, 0.0)]


def test_cost_and_tokens_by_any_dimension_with_scope_and_filters(store: Store) -> None:
    hour = timedelta(hours=1)
    send(
        store,
        cost(NOW - hour, 1.25, ANN),
        cost(NOW - 2 * hour, 2.5, BEN),
        cost(NOW - 3 * hour, 4.0, CAT),
        cost(NOW - 2 * DAY, 100.0, ANN),  # before the window
        tokens(NOW - hour, 1000, "input", ANN),
        tokens(NOW - hour, 300, "output", ANN),
        tokens(NOW - hour, 50_000, "cacheRead", ANN),
    )
    signals = Signals(store)
    assert values(signals.cost(over(DAY))) == {(): 7.75}
    assert values(signals.cost(over(DAY), ["person"])) == {
        ("ann@example.com",): 1.25,
        ("ben@example.com",): 2.5,
        ("cat@example.com",): 4.0,
    }
    assert values(signals.cost(over(DAY), ["team", "model"])) == {
        ("api", "claude-sonnet-4-5"): 1.25,
        ("web", "claude-sonnet-4-5"): 2.5,
        ("web", "claude-opus-4-5"): 4.0,
    }
    assert values(signals.cost(over(DAY, scope=Scope(teams=("web",))), ["team"])) == {("web",): 6.5}
    assert values(signals.cost(over(DAY, model=("claude-opus-4-5",)))) == {(): 4.0}
    assert values(signals.cost(over(3 * DAY))) == {(): 107.75}
    assert values(signals.tokens(over(DAY))) == {(): 51_300}
    assert values(signals.tokens(over(DAY), token_types=["input", "output"])) == {(): 1300}
    with pytest.raises(InvalidQuery, match="type: cacheRead is not one of"):
        signals.tokens(over(DAY), token_types=["cacheRead"])
    with pytest.raises(InvalidQuery, match="group_by: colour is not one of"):
        signals.cost(over(DAY), ["colour"])


def test_tokens_per_session_of_every_type_or_some(store: Store) -> None:
    hour = timedelta(hours=1)
    send(
        store,
        tokens(NOW - hour, 700_000, "input", ANN),
        tokens(NOW - 2 * hour, 400_000, "output", ANN),
        tokens(NOW - hour, 5_000_000, "cacheRead", ANN),
        tokens(NOW - hour, 10_000, "input", BEN),
        tokens(NOW - 3 * DAY, 9_000_000, "input", BEN),  # before the window
    )
    signals = Signals(store)
    every = {("s-ann", "ann@example.com"): 6_100_000, ("s-ben", "ben@example.com"): 10_000}
    assert values(signals.tokens_per_session(over(DAY))) == every
    assert values(signals.tokens_per_session(over(DAY), token_types=["input", "output"])) == {
        ("s-ann", "ann@example.com"): 1_100_000,
        ("s-ben", "ben@example.com"): 10_000,
    }
    assert values(signals.tokens_per_session(over(DAY), ["team"], ["input"])) == {
        ("s-ann", "ann@example.com", "api"): 700_000,
        ("s-ben", "ben@example.com", "web"): 10_000,
    }
    assert values(signals.tokens_per_session(over(DAY, scope=Scope(persons=("ben@example.com",))))) == {
        ("s-ben", "ben@example.com"): 10_000
    }


def test_sessions_and_active_people(store: Store) -> None:
    starts = [session_start(NOW - timedelta(minutes=10 * i + 1), Who(session=f"s-ann-{i}")) for i in range(5)]
    send(store, *starts, session_start(NOW - timedelta(hours=2), BEN), session_start(NOW - 3 * DAY, CAT))
    signals = Signals(store)
    assert values(signals.sessions(over(DAY), ["person"])) == {("ann@example.com",): 5, ("ben@example.com",): 1}
    assert values(signals.sessions(over(DAY))) == {(): 6}
    assert values(signals.active_people(over(DAY))) == {(): 2}
    assert values(signals.active_people(over(7 * DAY), ["team"])) == {("api",): 1, ("web",): 2}


def test_api_error_rate_in_percent_with_a_minimum_of_requests(store: Store) -> None:
    minute = timedelta(minutes=1)
    requests = [Event(NOW - (i + 1) * minute, "api_request", ANN) for i in range(18)]
    errors = [Event(NOW - 3 * minute, "api_error", ANN, {"status_code": 529}) for _ in range(2)]
    lone = [Event(NOW - 2 * minute, "api_error", BEN, {"status_code": 500})]
    send(store, *requests, *errors, *lone)
    signals = Signals(store)
    window = timedelta(minutes=30)
    assert values(signals.api_error_rate(over(window), ["person"])) == {
        ("ann@example.com",): 10.0,
        ("ben@example.com",): 100.0,
    }
    assert values(signals.api_error_rate(over(window), ["person"], min_requests=20)) == {("ann@example.com",): 10.0}
    assert values(signals.api_error_rate(over(window), min_requests=22)) == {}
    assert values(signals.api_error_rate(over(window), min_requests=21)) == {(): pytest.approx(3 / 21 * 100)}


def test_silence_hours_per_team_within_the_lookback(store: Store) -> None:
    send(
        store,
        cost(NOW - timedelta(hours=30), 1.0, ANN),
        Event(NOW - timedelta(hours=80), "user_prompt", ANN),
        Event(NOW - timedelta(minutes=90), "user_prompt", BEN),
        cost(NOW - 9 * DAY, 1.0, Who("dan@example.com", "s-dan", "ops")),  # beyond the look-back: forgotten
    )
    signals = Signals(store)
    assert values(signals.silence_hours(over(7 * DAY), ["team"])) == {("api",): 30.0, ("web",): 1.5}
    assert values(signals.silence_hours(over(7 * DAY), ["person"])) == {
        ("ann@example.com",): 30.0,
        ("ben@example.com",): 1.5,
    }
    with pytest.raises(InvalidQuery, match="group_by must name"):
        signals.silence_hours(over(DAY), [])


def test_cost_anomaly_against_the_trailing_average(store: Store) -> None:
    baseline = [cost(NOW - DAY - timedelta(days=d, hours=3), 20.0, ANN) for d in range(7)]
    small = [cost(NOW - DAY - timedelta(days=d, hours=3), 0.5, BEN) for d in range(7)]
    send(store, *baseline, *small, cost(NOW - timedelta(hours=2), 100.0, ANN), cost(NOW - timedelta(hours=2), 9.0, BEN))
    signals = Signals(store)
    assert values(signals.cost_anomaly(over(DAY))) == {(): pytest.approx(109 / 20.5)}
    # Ben's baseline of $0.50 a day is under the minimum: 18x of it means nothing.
    assert values(signals.cost_anomaly(over(DAY), ["person"])) == {("ann@example.com",): 5.0}
    assert values(signals.cost_anomaly(over(DAY), ["person"], min_baseline_usd=0.1)) == {
        ("ann@example.com",): 5.0,
        ("ben@example.com",): 18.0,
    }
    # A shorter baseline: the 2 days before the window, as 2 windows of 1 day.
    assert values(signals.cost_anomaly(over(DAY), baseline_days=2)) == {(): pytest.approx(109 / 20.5)}
    with pytest.raises(InvalidQuery, match="at least as long"):
        signals.cost_anomaly(over(7 * DAY), baseline_days=2)
