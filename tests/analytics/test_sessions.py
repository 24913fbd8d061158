"""Sessions on the hand-computed dataset and on a real captured Claude Code run with traces."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccmon.analytics import InvalidQuery, Query, Scope, TimeRange
from ccmon.analytics.sessions import session_detail, sessions
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import SIGNALS, Encoding
from tests.analytics.data import FIRST_HOUR, SECOND_DAY
from tests.support import claude_result, payloads

ALL_TIME = Query(TimeRange(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)))
EMPTY = Query(TimeRange(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC)))


def test_session_list(loaded: BatchWriter) -> None:
    result = sessions(loaded.store, Query(FIRST_HOUR), sort="cost_usd")
    assert result.total == 2
    assert [
        (r.session_id, r.person, r.cost_usd, r.tokens, r.api_requests, r.errors, r.tool_calls) for r in result.rows
    ] == [
        ("s-a", "alice@example.com", 1.25, 4200, 2, 0, 1),
        ("s-b", "bob-uuid", 0.5, 40, 1, 1, 0),
    ]
    assert result.rows[0].duration_s == 180.0  # Alice's first row at 10:01 (api_request), last at 10:04 (tool_result)
    by_errors = sessions(loaded.store, Query(FIRST_HOUR), sort="errors")
    assert [r.session_id for r in by_errors.rows] == ["s-b", "s-a"]
    with pytest.raises(InvalidQuery, match="sort"):
        sessions(loaded.store, Query(FIRST_HOUR), sort="mood")


def test_session_pages_report_the_total_whatever_the_page(loaded: BatchWriter) -> None:
    second = sessions(loaded.store, Query(FIRST_HOUR), sort="cost_usd", limit=1, offset=1)
    assert (second.total, [r.session_id for r in second.rows]) == (2, ["s-b"])
    beyond = sessions(loaded.store, Query(FIRST_HOUR), limit=1, offset=5)
    assert (beyond.total, beyond.rows) == (2, [])
    assert sessions(loaded.store, EMPTY).total == 0
    assert sessions(loaded.store, EMPTY, offset=5).total == 0


@pytest.mark.parametrize(
    ("limit", "offset", "message"),
    [(0, 0, "limit must be 1..1000"), (1001, 0, "limit"), (1, -1, "offset must be >= 0")],
)
def test_bad_session_pages(loaded: BatchWriter, limit: int, offset: int, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        sessions(loaded.store, Query(FIRST_HOUR), limit=limit, offset=offset)


def test_session_rows_name_their_repository(second_day: BatchWriter) -> None:
    listed = sessions(second_day.store, Query(SECOND_DAY), sort="tokens")
    assert [(r.session_id, r.repository, r.tokens, r.prompts, r.duration_s) for r in listed.rows] == [
        ("s3", "web", 10000, 2, 120.0),
        ("s1", "ccmon", 1000, 3, 600.0),  # its cost and token points sent no repository, the rest did
        ("s2", "ccmon", 100, 1, 60.0),
        ("s4", "(unknown)", 0, 1, 0.0),
    ]


@pytest.fixture
def traced(writer: BatchWriter) -> BatchWriter:
    for payload in payloads("writefile-http-json"):
        batch = SIGNALS[payload.signal].decode(payload.read(), Encoding.JSON, 65536)
        writer.submit(batch).result(timeout=10)
    return writer


def test_session_detail_of_a_real_run(traced: BatchWriter) -> None:
    result = claude_result("writefile-http-json")
    detail = session_detail(traced.store, ALL_TIME, result["session_id"])
    start_up, prompt = detail.prompts
    assert start_up.prompt_id == "" and {e.name for e in start_up.events} == {
        "managed_settings_resolved",
        "plugin_loaded",
    }
    assert [e.name for e in prompt.events] == [
        "user_prompt",
        "api_request",
        "tool_decision",
        "tool_result",
        "api_request",
        "assistant_response",
    ]
    assert [e.sequence for e in prompt.events] == sorted(e.sequence for e in prompt.events)
    assert prompt.cost_usd == pytest.approx(result["total_cost_usd"])
    assert prompt.tokens == 2 * (1200 + 85 + 4000 + 300)
    assert (prompt.api_requests, prompt.tool_calls) == (2, 1)
    assert prompt.events[0].attributes["prompt"] == "<REDACTED>"
    names = sorted(s.name for s in detail.spans)
    assert names.count("claude_code.llm_request") == 2 and "claude_code.interaction" in names
    ids = {s.span_id for s in detail.spans}
    assert all(s.parent_span_id in ids for s in detail.spans if s.parent_span_id)


def test_session_detail_respects_the_scope(traced: BatchWriter) -> None:
    session = claude_result("writefile-http-json")["session_id"]
    hidden = session_detail(traced.store, Query(ALL_TIME.time_range, Scope(persons=("someone else",))), session)
    assert hidden.prompts == [] and hidden.spans == []
