"""Adoption analytics on a few people active on chosen days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import orjson
import pytest

from ccmon.analytics import Filters, InvalidQuery, Query, TimeRange
from ccmon.analytics.adoption import activity, headcount, shares
from ccmon.analytics.scope import Scope
from ccmon.directory.people import Person
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import LOGS, Encoding

DAY0 = datetime(2026, 11, 1, tzinfo=UTC)


def _event(person: str, day: int, session: str, sequence: int, **extra: str) -> dict[str, object]:
    ns = int((DAY0 + timedelta(days=day, hours=9)).timestamp()) * 10**9 + sequence
    attributes = {"user.email": person, "session.id": session, "event.name": "user_prompt", "event.sequence": sequence}
    attributes |= extra
    return {
        "timeUnixNano": str(ns),
        "attributes": [{"key": k, "value": {"stringValue": str(v)}} for k, v in attributes.items()],
    }


def _load(writer: BatchWriter, events: list[dict[str, object]], os_type: str = "linux") -> None:
    resource = {"attributes": [{"key": "os.type", "value": {"stringValue": os_type}}]}
    body = orjson.dumps({"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": events}]}]})
    writer.submit(LOGS.decode(body, Encoding.JSON, 65536)).result(timeout=10)


@pytest.fixture
def people(writer: BatchWriter) -> BatchWriter:
    # ann: days 0, 1 and 9 (two sessions on day 1); ben: day 1; cy: day 9, on a Mac.
    _load(
        writer,
        [
            _event("ann", 0, "a0", 0, **{"terminal.type": "vscode", "app.version": "2.1.300"}),
            _event("ann", 1, "a1", 1, **{"terminal.type": "vscode", "app.version": "2.1.300"}),
            _event("ann", 1, "a2", 2, **{"terminal.type": "iTerm.app", "app.version": "2.1.330"}),
            _event("ann", 9, "a3", 3, **{"app.version": "2.1.330"}),
            _event("ben", 1, "b1", 0, **{"terminal.type": "vscode", "team": "data"}),
        ],
    )
    _load(writer, [_event("cy", 9, "c1", 0, **{"app.version": "2.1.330"})], os_type="darwin")
    return writer


def test_daily_activity(people: BatchWriter) -> None:
    rows = activity(people.store, Query(TimeRange(DAY0, DAY0 + timedelta(days=10)))).rows
    assert len(rows) == 10 and rows[0].day == date(2026, 11, 1)
    summary = {r.day.day: (r.dau, r.wau, r.mau, r.new_users, r.returning_users, r.sessions) for r in rows}
    assert summary[1] == (1, 1, 1, 1, 0, 1)
    assert summary[2] == (2, 2, 2, 1, 1, 3)
    assert summary[5] == (0, 2, 2, 0, 0, 0)
    assert summary[9] == (0, 0, 2, 0, 0, 0)  # day 1 has left the 7-day window
    assert summary[10] == (2, 2, 3, 1, 1, 2)
    assert rows[1].sessions_per_user == 1.5
    assert rows[4].sessions_per_user is None


def test_windows_reach_before_the_range_and_new_means_first_ever(people: BatchWriter) -> None:
    rows = activity(people.store, Query(TimeRange(DAY0 + timedelta(days=9), DAY0 + timedelta(days=10)))).rows
    assert [(r.dau, r.wau, r.mau, r.new_users, r.returning_users) for r in rows] == [(2, 2, 3, 1, 1)]


def test_filters_apply_to_activity(people: BatchWriter) -> None:
    query = Query(TimeRange(DAY0, DAY0 + timedelta(days=10)), filters=Filters({"team": ("data",)}))
    assert sum(r.dau for r in activity(people.store, query).rows) == 1


def test_versions_terminals_and_operating_systems(people: BatchWriter) -> None:
    query = Query(TimeRange(DAY0, DAY0 + timedelta(days=10)))
    versions = shares(people.store, query, "version").rows
    # most people first, then most sessions
    assert [(r.key, r.users, r.sessions) for r in versions] == [
        ("2.1.330", 2, 3),
        ("2.1.300", 1, 2),
        ("(unknown)", 1, 1),
    ]
    terminals = shares(people.store, query, "terminal").rows
    assert [(r.key, r.users, r.sessions) for r in terminals] == [
        ("vscode", 2, 3),
        ("(unknown)", 2, 2),
        ("iTerm.app", 1, 1),
    ]
    assert [(r.key, r.users) for r in shares(people.store, query, "os").rows] == [("linux", 2), ("darwin", 1)]
    with pytest.raises(InvalidQuery, match="by: 'shell'"):
        shares(people.store, query, "shell")


DIRECTORY = (
    Person("ann@example.com", team="core", department="eng"),
    Person("ben@example.com", team="data", department="eng"),
    Person("dan@example.com", team="core", department="ops"),
)


def _local(email: str) -> str:
    """The person key rows carry, as `hash_emails` would map an email to its pseudonym: here its local part."""
    return email.partition("@")[0]


@pytest.mark.parametrize(
    ("scope", "expected", "teams"),
    [
        (Scope.everyone(), (3, 2), [("core", 2, 1), ("data", 1, 1)]),
        (Scope(per_person=False, content=False), (3, 2), [("core", 2, 1), ("data", 1, 1)]),  # viewer: aggregates
        (Scope(teams=("data",)), (1, 1), [("data", 1, 1)]),  # a team lead: their team
        (Scope(departments=("ops",)), (1, 0), [("core", 1, 0)]),  # a manager: their department
        (Scope(persons=("ann",)), (1, 1), [("core", 1, 1)]),  # a developer: themselves
        (Scope(teams=()), (0, 0), []),
    ],
)
def test_headcount_within_the_scope(
    people: BatchWriter, scope: Scope, expected: tuple[int, int], teams: list[tuple[str, int, int]]
) -> None:
    query = Query(TimeRange(DAY0, DAY0 + timedelta(days=10)), scope)
    result = headcount(people.store, query, DIRECTORY, _local)
    assert (result.headcount, result.active) == expected
    assert result.share == (expected[1] / expected[0] if expected[0] else None)
    assert [(t.team, t.headcount, t.active) for t in result.teams] == teams
    assert result.configured and result.days == 10


def test_headcount_counts_activity_in_the_range_only(people: BatchWriter) -> None:
    query = Query(TimeRange(DAY0 + timedelta(days=2), DAY0 + timedelta(days=9)))
    assert headcount(people.store, query, DIRECTORY, _local).active == 0
    assert not headcount(people.store, query, (), _local).configured
