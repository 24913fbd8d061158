"""Does the generated organisation behave like one: working hours, weekdays, models, rejections, errors, heavy users."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from statistics import median

import pytest

from ccmon import demo
from ccmon.demo.org import HAIKU, OPUS, SONNET
from ccmon.demo.sessions import ApiError, ApiRequest, Session, ToolUse, to_ms, window
from tests.demo.conftest import NOW


def _local_start(session: Session) -> datetime:
    utc = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=session.start_ms)
    return utc + timedelta(hours=session.person.team.utc_offset_h)


def _steps(sessions: list[Session]) -> list[ApiRequest | ApiError | ToolUse]:
    return [step for s in sessions for p in s.prompts for step in p.steps]


def test_working_hours_and_weekdays(full: demo.Demo) -> None:
    starts = [_local_start(s) for s in full.sessions]
    weekday = [t for t in starts if t.weekday() < 5]
    assert len(weekday) >= 0.95 * len(starts)
    assert len(weekday) < len(starts)  # someone works on a weekend now and then
    in_hours = [t for t in weekday if 8 <= t.hour < 19]
    assert len(in_hours) >= 0.85 * len(weekday)
    hours = Counter(t.hour for t in weekday)
    assert hours[12] < hours[11] and hours[12] < hours[15]  # lunch
    assert hours[10] > 2 * hours[8] and hours[15] > 2 * hours[18]


def test_window_and_cut_at_now(full: demo.Demo) -> None:
    start, end = window(21, NOW)
    assert (full.start, full.end) == (start, end) == (datetime(2026, 10, 30, tzinfo=UTC), NOW)
    assert all(to_ms(start) <= s.start_ms for s in full.sessions)
    assert all(p.export_ms < to_ms(end) for s in full.sessions for p in s.prompts)
    assert max(p.export_ms for s in full.sessions for p in s.prompts) > to_ms(end - timedelta(hours=3))


def test_model_mix(full: demo.Demo) -> None:
    requests = [s for s in _steps(full.sessions) if isinstance(s, ApiRequest)]
    by_model = Counter(r.model for r in requests)
    assert set(by_model) == {SONNET, OPUS, HAIKU}
    assert by_model[SONNET] > by_model[OPUS] > 0
    assert {r.query_source for r in requests} == {"main", "subagent"}
    assert all(r.model == HAIKU for r in requests if r.agent == "Explore")
    assert all(r.effort is None for r in requests if r.model == HAIKU)
    assert {r.speed for r in requests} == {"normal", "fast"}
    # Claude Code's usage shape: most input comes from the cache.
    assert sum(r.cache_read_tokens for r in requests) > 10 * sum(r.cache_creation_tokens for r in requests)


def test_rejections_and_tools(full: demo.Demo) -> None:
    tools = [s for s in _steps(full.sessions) if isinstance(s, ToolUse)]
    names = Counter(t.tool_name for t in tools)
    assert {"Read", "Edit", "Write", "Bash", "Grep", "Task"} <= set(names)
    edits = [t for t in tools if t.edit]
    rejected = [t for t in edits if not t.accepted]
    assert 0.03 < len(rejected) / len(edits) < 0.2
    assert {t.source for t in rejected} >= {"user_reject", "user_abort"}
    assert {t.source for t in tools if t.accepted} >= {"config", "user_temporary", "user_permanent", "hook"}
    assert all(t.result_ms is None for t in tools if not t.accepted)
    assert any(not t.success for t in tools if t.accepted)
    assert {t.language for t in edits} >= {"Python", "Markdown", None}


def test_api_errors(full: demo.Demo) -> None:
    steps = _steps(full.sessions)
    errors = [s for s in steps if isinstance(s, ApiError)]
    requests = [s for s in steps if isinstance(s, ApiRequest)]
    assert 0.005 < len(errors) / len(requests) < 0.05
    assert {e.status_code for e in errors} >= {429, 500, 529, None}
    assert {e.attempt for e in errors} >= {1, 11}


def test_output(full: demo.Demo) -> None:
    totals = full.totals()
    assert totals.commits > totals.pull_requests > 0
    assert totals.lines_added > totals.lines_removed > 0
    assert totals.users == 24


def test_heavy_users(full: demo.Demo) -> None:
    cost: dict[str, float] = defaultdict(float)
    for session in full.sessions:
        cost[session.person.email] += sum(
            s.cost_usd for p in session.prompts for s in p.steps if isinstance(s, ApiRequest)
        )
    heavy = [cost[p.email] for p in full.organisation.people if p.heavy]
    others = [cost[p.email] for p in full.organisation.people if not p.heavy]
    assert heavy
    assert min(heavy) > 3 * median(others)


def test_resumed_sessions_keep_their_id(full: demo.Demo) -> None:
    processes = Counter(s.id for s in full.sessions)
    resumed = [s for s in full.sessions if s.start_type != "fresh"]
    assert resumed
    assert any(processes[s.id] > 1 for s in resumed)
    by_id: dict[str, list[Session]] = defaultdict(list)
    for session in full.sessions:
        by_id[session.id].append(session)
    for runs in by_id.values():  # one session id is never used by two processes at once
        runs.sort(key=lambda s: s.start_ms)
        assert all(a.end_ms < b.start_ms for a, b in itertools.pairwise(runs))
        assert len({s.person for s in runs}) == 1


@pytest.mark.parametrize("days", [0, -1])
def test_window_needs_days(days: int) -> None:
    with pytest.raises(ValueError, match="day"):
        window(days, NOW)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        demo.generate(developers=2, teams=1, days=1, now=datetime(2026, 11, 19, 12))
