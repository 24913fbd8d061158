"""People analytics on the hand-computed dataset (tests/analytics/data.py)."""

from __future__ import annotations

from typing import Any

import pytest

from ccmon.analytics import InvalidQuery, Query
from ccmon.analytics.people import acceptance, leaderboard
from ccmon.ingest.writer import BatchWriter
from tests.analytics.data import FIRST_HOUR


def test_leaderboard_by_person(loaded: BatchWriter) -> None:
    board = leaderboard(loaded.store, Query(FIRST_HOUR))
    assert board.total == 2
    assert [r.model_dump() for r in board.rows] == [
        {
            "key": "alice@example.com",
            "team": "platform",
            "pull_requests": 0,
            "commits": 0,
            "lines_added": 12,
            "lines_removed": 3,
            "cost_usd": 1.25,
            "tokens": 4200,
            "cost_per_pull_request": None,
            "edit_decisions": {"accept": 3, "reject": 0},
            "accept_rate": 1.0,
            "sessions": 1,
            "active_time_s": 42.5,
        },
        {
            "key": "bob-uuid",
            "team": "data",
            "pull_requests": 1,
            "commits": 2,
            "lines_added": 0,
            "lines_removed": 0,
            "cost_usd": 0.5,
            "tokens": 40,
            "cost_per_pull_request": 0.5,
            "edit_decisions": {"accept": 0, "reject": 1},
            "accept_rate": 0.0,
            "sessions": 1,
            "active_time_s": 0.0,
        },
    ]


def test_leaderboard_sorts_and_pages(loaded: BatchWriter) -> None:
    by_commits = leaderboard(loaded.store, Query(FIRST_HOUR), sort="commits")
    assert [r.key for r in by_commits.rows] == ["bob-uuid", "alice@example.com"]
    ascending = leaderboard(loaded.store, Query(FIRST_HOUR), sort="commits", descending=False)
    assert [r.key for r in ascending.rows] == ["alice@example.com", "bob-uuid"]
    # Nulls last whichever the direction.
    by_tokens = leaderboard(loaded.store, Query(FIRST_HOUR), sort="tokens")
    assert [(r.key, r.tokens) for r in by_tokens.rows] == [("alice@example.com", 4200), ("bob-uuid", 40)]
    per_pr = leaderboard(loaded.store, Query(FIRST_HOUR), sort="cost_per_pull_request", descending=False)
    assert [r.key for r in per_pr.rows] == ["bob-uuid", "alice@example.com"]
    second = leaderboard(loaded.store, Query(FIRST_HOUR), limit=1, offset=1)
    assert (second.total, [r.key for r in second.rows]) == (2, ["bob-uuid"])
    beyond = leaderboard(loaded.store, Query(FIRST_HOUR), limit=1, offset=5)
    assert (beyond.total, beyond.rows) == (2, [])


def test_team_comparison(loaded: BatchWriter) -> None:
    teams = leaderboard(loaded.store, Query(FIRST_HOUR), group="team", sort="key", descending=False)
    assert [(r.key, r.cost_usd, r.commits, r.sessions) for r in teams.rows] == [
        ("data", 0.5, 2, 1),
        ("platform", 1.25, 0, 1),
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"group": "org"}, "group"), ({"sort": "salary"}, "sort: 'salary'"), ({"limit": 0}, "limit")],
)
def test_bad_leaderboard_parameters(loaded: BatchWriter, arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        leaderboard(loaded.store, Query(FIRST_HOUR), **arguments)


def test_acceptance_by_tool_and_person(loaded: BatchWriter) -> None:
    by_tool = acceptance(loaded.store, Query(FIRST_HOUR), "tool").rows
    assert [(r.key, r.accepted, r.rejected, r.accept_rate) for r in by_tool] == [
        ("Edit", 3, 0, 1.0),
        ("Write", 0, 1, 0.0),
    ]
    by_person = acceptance(loaded.store, Query(FIRST_HOUR), "person").rows
    assert [(r.key, r.accept_rate) for r in by_person] == [("alice@example.com", 1.0), ("bob-uuid", 0.0)]
    assert [r.key for r in acceptance(loaded.store, Query(FIRST_HOUR), "language").rows] == ["(unknown)"]
    with pytest.raises(InvalidQuery, match="by: 'mood'"):
        acceptance(loaded.store, Query(FIRST_HOUR), "mood")
