"""The wire format: Claude Code's event and counter names, attribute keys and value types, and temporalities."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest

from ccmon import demo
from ccmon.demo.telemetry import (
    ACTIVE_TIME,
    COMMITS,
    COST,
    EDIT_DECISIONS,
    INSTRUMENTS,
    LINES,
    PULL_REQUESTS,
    SESSION_COUNT,
    TOKENS,
    Point,
    SessionTelemetry,
    iso_ms,
    resource_attributes,
)

IDENTITY = {
    "team", "department", "cost_center", "user.id", "session.id", "organization.id", "user.email", "user.account_uuid",
    "terminal.type", "vcs.repository.name",
}  # fmt: skip
ENVELOPE = {"event.name", "event.timestamp", "event.sequence", "prompt.id"}


def _events(d: demo.Demo, name: str) -> list[dict[str, Any]]:
    return [dict(e.attributes) for t in d.telemetry for e in t.events if e.body == f"claude_code.{name}"]


def test_event_envelope(small: demo.Demo) -> None:
    for part in small.telemetry:
        assert [e.attributes["event.sequence"] for e in part.events] == list(range(len(part.events)))
        times = [e.time_ns for e in part.events]
        assert times == sorted(times)
        for event in part.events:
            assert event.body == f"claude_code.{event.attributes['event.name']}"
            assert event.attributes["event.timestamp"] == iso_ms(event.time_ns // 1_000_000)
            assert event.time_ns % 1_000_000 == 0
            assert set(event.attributes) >= IDENTITY | ENVELOPE
            assert event.attributes["session.id"] == part.session.id
    names = Counter(e.body for t in small.telemetry for e in t.events)
    assert set(names) == {
        "claude_code.user_prompt", "claude_code.api_request", "claude_code.api_error", "claude_code.tool_decision",
        "claude_code.tool_result", "claude_code.assistant_response",
    }  # fmt: skip


def test_event_value_types(small: demo.Demo) -> None:
    """Numbers on api_request/api_error are numbers; tool_result and user_prompt keep Claude Code's strings."""
    for event in _events(small, "api_request"):
        for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "duration_ms"):
            assert type(event[key]) is int
        assert type(event["ttft_ms"]) is int
        assert type(event["cost_usd"]) is float
        assert event["speed"] in {"normal", "fast"}
        assert event["query_source"] in {"repl_main_thread", "Explore", "general-purpose"}
    for event in _events(small, "api_error"):
        assert type(event["attempt"]) is int and type(event["duration_ms"]) is int
        assert "status_code" not in event or type(event["status_code"]) is int
        assert isinstance(event["error"], str) and event["error"]
    for event in _events(small, "tool_result"):
        assert event["success"] in {"true", "false"}
        assert event["duration_ms"].isdigit()
    for event in _events(small, "tool_decision"):
        assert event["decision"] in {"accept", "reject"}
        assert event["source"] in {"config", "hook", "user_permanent", "user_temporary", "user_abort", "user_reject"}
    for event in _events(small, "user_prompt"):
        assert event["prompt"] == "<REDACTED>"
        assert event["prompt_length"].isdigit()


def test_resource(small: demo.Demo) -> None:
    person = small.organisation.people[0]
    resource = resource_attributes(person)
    assert resource["service.name"] == "claude-code"
    assert resource["service.version"] == person.version
    assert {"os.type", "os.version", "host.arch", "team", "department", "cost_center"} <= set(resource)
    assert not any(key.startswith("telemetry.sdk") for key in resource)


def test_counter_names_and_labels(full: demo.Demo) -> None:
    points = [p for t in full.telemetry for p in t.points]
    assert {p.metric for p in points} == set(INSTRUMENTS)
    assert {p.attributes["type"] for p in points if p.metric == TOKENS} == {
        "input", "output", "cacheRead", "cacheCreation",
    }  # fmt: skip
    assert {p.attributes["type"] for p in points if p.metric == LINES} == {"added", "removed"}
    assert {p.attributes["type"] for p in points if p.metric == ACTIVE_TIME} == {"user", "cli"}
    assert {p.attributes["start_type"] for p in points if p.metric == SESSION_COUNT} == {"fresh", "resume", "continue"}
    decisions = [p for p in points if p.metric == EDIT_DECISIONS]
    assert {p.attributes["tool_name"] for p in decisions} == {"Edit", "Write", "NotebookEdit"}
    assert {p.attributes["decision"] for p in decisions} == {"accept", "reject"}
    assert any("language" not in p.attributes for p in decisions)  # unknown extensions: no language
    assert all(set(p.attributes) >= IDENTITY and "prompt.id" not in p.attributes for p in points)
    assert all(type(p.value) is float and p.time_ns > p.start_ns for p in points)


def _series(part: SessionTelemetry, point: Point) -> tuple[object, ...]:
    return (part.session.person.index, point.metric, tuple(sorted(point.attributes.items())))


def _counter(point: Point) -> str:
    """`metric/type` (or `metric/decision`, or `metric/`): how the summary splits a counter."""
    kind = point.attributes.get("type", point.attributes.get("decision", ""))
    return f"{point.metric}/{kind}"


def _stored(parts: list[SessionTelemetry]) -> dict[str, float]:
    """What a receiver that gets temporality right adds up, per counter."""
    sums: dict[str, float] = defaultdict(float)
    for part in parts:
        if part.cumulative:  # the last value of each of the process's series is its total
            last = {_series(part, point): point for point in part.points}
            for point in last.values():
                sums[_counter(point)] += point.value
        else:
            for point in part.points:
                sums[_counter(point)] += point.value
    return sums


def test_counters_add_up_to_the_totals(full: demo.Demo) -> None:
    totals = full.totals()
    for subset in ([t for t in full.telemetry if t.cumulative], [t for t in full.telemetry if not t.cumulative]):
        assert subset
    sums = _stored(full.telemetry)
    assert sums[f"{COST}/"] == pytest.approx(totals.cost_usd, abs=1e-6)
    assert sums[f"{TOKENS}/input"] == totals.tokens["input"]
    assert sums[f"{TOKENS}/output"] == totals.tokens["output"]
    assert sums[f"{TOKENS}/cacheRead"] == totals.tokens["cache_read"]
    assert sums[f"{TOKENS}/cacheCreation"] == totals.tokens["cache_creation"]
    assert sums[f"{LINES}/added"] == totals.lines_added
    assert sums[f"{LINES}/removed"] == totals.lines_removed
    assert sums[f"{COMMITS}/"] == totals.commits
    assert sums[f"{PULL_REQUESTS}/"] == totals.pull_requests
    assert sums[f"{EDIT_DECISIONS}/accept"] == totals.edit_decisions["accept"]
    assert sums[f"{EDIT_DECISIONS}/reject"] == totals.edit_decisions["reject"]
    assert sums[f"{ACTIVE_TIME}/user"] == pytest.approx(totals.active_time_s["user"])
    assert sums[f"{ACTIVE_TIME}/cli"] == pytest.approx(totals.active_time_s["cli"])
    assert sums[f"{SESSION_COUNT}/"] == len(full.telemetry)  # one per process, resumes included
    assert len(_events(full, "api_request")) == totals.api_requests
    assert len(_events(full, "api_error")) == totals.api_errors
    assert len(_events(full, "tool_result")) == totals.tool_calls


def test_cumulative_series_are_resent_with_growing_values(full: demo.Demo) -> None:
    part = max((t for t in full.telemetry if t.cumulative), key=lambda t: len(t.session.prompts))
    exports = Counter(p.time_ns for p in part.points)
    assert len(exports) == len(part.session.prompts) > 2
    seen: dict[tuple[object, ...], list[Point]] = defaultdict(list)
    for point in part.points:
        seen[_series(part, point)].append(point)
    session_count = next(v for k, v in seen.items() if k[1] == SESSION_COUNT)
    assert len(session_count) == len(exports)  # re-sent at every export
    for points in seen.values():
        assert len({p.start_ns for p in points}) == 1
        assert [p.value for p in points] == sorted(p.value for p in points)


def test_delta_points_cover_their_interval_only(full: demo.Demo) -> None:
    part = max((t for t in full.telemetry if not t.cumulative), key=lambda t: len(t.session.prompts))
    by_export: dict[int, set[int]] = defaultdict(set)
    for point in part.points:
        by_export[point.time_ns].add(point.start_ns)
    ends = sorted(by_export)
    assert [min(by_export[end]) for end in ends[1:]] == ends[:-1]  # each interval starts where the last ended
    assert sum(p.value for p in part.points if p.metric == SESSION_COUNT) == 1


def test_dedup_keys_are_unique(full: demo.Demo) -> None:
    """ccmon's keys: an event is (session id, sequence, name, time); a point is (series, start, time)."""
    events = Counter(
        (e.attributes["session.id"], e.attributes["event.sequence"], e.attributes["event.name"], e.time_ns)
        for t in full.telemetry
        for e in t.events
    )
    assert max(events.values()) == 1
    points = Counter((*_series(t, p), p.start_ns, p.time_ns) for t in full.telemetry for p in t.points)
    assert max(points.values()) == 1
