"""The summary on small hand-computed data: sources, time bounds, scope, empty ranges."""

from __future__ import annotations

from datetime import UTC, datetime

from ccmon.analytics import Query, Scope, TimeRange
from ccmon.analytics.summary import summary
from ccmon.ingest.writer import BatchWriter
from tests.analytics.data import FIRST_HOUR, T0


def test_first_hour(loaded: BatchWriter) -> None:
    result = summary(loaded.store, Query(FIRST_HOUR, Scope.everyone()))
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
    before = summary(loaded.store, Query(TimeRange(T0, at_90), Scope.everyone()))
    after = summary(loaded.store, Query(TimeRange(at_90, datetime(2026, 11, 21, tzinfo=UTC)), Scope.everyone()))
    assert before.cost_usd == 1.75
    assert after.cost_usd == 2.0
    assert after.api_requests == 1


def test_scope_restricts_to_persons_and_teams(loaded: BatchWriter) -> None:
    alice = summary(loaded.store, Query(FIRST_HOUR, Scope(persons=("alice@example.com",))))
    assert (alice.cost_usd, alice.users, alice.api_requests, alice.tool_decisions.reject) == (1.25, 1, 2, 0)
    data_team = summary(loaded.store, Query(FIRST_HOUR, Scope(teams=("data",))))
    # Bob has no email: his person key is his account uuid.
    assert (data_team.cost_usd, data_team.users, data_team.commits) == (0.5, 1, 2)
    assert summary(loaded.store, Query(FIRST_HOUR, Scope(persons=()))).cost_usd == 0


def test_an_empty_range_is_all_zeros(loaded: BatchWriter) -> None:
    empty = summary(loaded.store, Query(TimeRange(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC))))
    assert empty.cost_usd == 0 and empty.sessions == 0 and empty.tokens.input == 0 and empty.active_time_s.user == 0
