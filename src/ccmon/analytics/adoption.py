"""Adoption: who is active when, how often, on which versions, terminals and operating systems.

A person is active on a day (UTC) when any of their events or data points falls on it. WAU and MAU on a day count
people active in the 7 or 30 days ending that day; a person is new on the first day they are ever seen (within the
caller's scope and filters), returning on later days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel

from ccmon.analytics.query import UNKNOWN, Query, label_sql
from ccmon.analytics.results import integer, ratio
from ccmon.analytics.rollup import rollup_rows
from ccmon.analytics.timerange import InvalidQuery, TimeRange
from ccmon.directory.people import Person
from ccmon.store.facade import Store
from ccmon.store.rollups import SESSIONS

_DAY = timedelta(days=1)


class DayActivity(BaseModel):
    day: date
    dau: int
    wau: int
    mau: int
    new_users: int
    returning_users: int
    sessions: int
    sessions_per_user: float | None
    """Sessions that day / people active that day."""


class Activity(BaseModel):
    rows: list[DayActivity]


def activity(store: Store, query: Query) -> Activity:
    """One row per day of the range (days with nobody active included, as zeros)."""
    first_day = query.time_range.start.date()
    last_day = (query.time_range.end - timedelta(microseconds=1)).date()
    window = query.with_range(
        TimeRange(datetime.combine(first_day - 29 * _DAY, datetime.min.time(), UTC), query.time_range.end)
    )
    source, params = rollup_rows(SESSIONS, window, uses=("person",), bucket="1d")
    # Sessions of the range's days, whole (as DAU counts the first day whole), not of the 29 days before.
    days = query.with_range(TimeRange(datetime.combine(first_day, datetime.min.time(), UTC), query.time_range.end))
    in_range, range_params = rollup_rows(SESSIONS, days, uses=("session_id",), bucket="1d")
    ever, ever_params = rollup_rows(
        SESSIONS,
        query.with_range(TimeRange(datetime(2000, 1, 1, tzinfo=UTC), query.time_range.end)),
        uses=("person",),
        bucket="1d",
    )
    # Three independent reads, side by side.
    active_days, session_counts, first_days = store.parallel(
        lambda: store.query(
            f"SELECT DISTINCT toDate(hour, 'UTC') AS day, person FROM ({source}) WHERE person != ''", params
        ),
        lambda: store.query(
            f"SELECT toDate(hour, 'UTC') AS day, uniqExact(session_id) FROM ({in_range}) "
            "WHERE session_id != '' GROUP BY day",
            range_params,
        ),
        lambda: store.query(
            f"SELECT person, toDate(min(hour), 'UTC') FROM ({ever}) WHERE person != '' GROUP BY person", ever_params
        ),
    )
    # Each person's active days as bits of an integer (bit i: `first_day - 29 + i`), so WAU and MAU are a mask
    # test per person and day rather than unions of sets of names.
    origin = first_day - 29 * _DAY
    days_active: dict[str, int] = defaultdict(int)
    for day, person in active_days:
        days_active[person] |= 1 << (day - origin).days
    sessions = dict(session_counts)
    first_seen = dict(first_days)
    new_by_day: dict[date, int] = defaultdict(int)
    for day in first_seen.values():
        new_by_day[day] += 1
    masks = list(days_active.values())
    rows = []
    day = first_day
    while day <= last_day:
        bit = (day - origin).days
        dau = sum(1 for m in masks if m >> bit & 1)
        wau = sum(1 for m in masks if m >> (bit - 6) & 0x7F)
        mau = sum(1 for m in masks if m >> (bit - 29) & 0x3FFFFFFF)
        count = integer(sessions.get(day, 0))
        rows.append(
            DayActivity(
                day=day,
                dau=dau,
                wau=wau,
                mau=mau,
                new_users=new_by_day[day],
                returning_users=dau - new_by_day[day],
                sessions=count,
                sessions_per_user=ratio(count, dau),
            )
        )
        day += _DAY
    return Activity(rows=rows)


class Share(BaseModel):
    key: str
    users: int
    sessions: int


class Shares(BaseModel):
    dimension: str
    rows: list[Share]


_SHARE_COLUMNS = {
    "version": "version",
    "terminal": "terminal_type",
    "os": "os_type",
}


def shares(store: Store, query: Query, dimension: str) -> Shares:
    """People and sessions per Claude Code version, terminal or operating system, most people first."""
    if dimension not in _SHARE_COLUMNS:
        raise InvalidQuery(f"by: {dimension!r} is not one of {', '.join(_SHARE_COLUMNS)}")
    column = _SHARE_COLUMNS[dimension]
    source, params = rollup_rows(SESSIONS, query, uses=(column, "person", "session_id"))
    rows = store.query(
        f"SELECT {label_sql(column)} AS key, uniqExactIf(person, person != '') AS users, "
        f"uniqExactIf(session_id, session_id != '') AS sessions FROM ({source}) "
        "GROUP BY key ORDER BY users DESC, sessions DESC, key",
        params,
    )
    return Shares(dimension=dimension, rows=[Share(key=k, users=integer(u), sessions=integer(s)) for k, u, s in rows])


class TeamHeadcount(BaseModel):
    team: str
    headcount: int
    active: int
    share: float | None


class Headcount(BaseModel):
    """Seed 000's success metric: the share of the directory active in the last `days` days."""

    configured: bool
    """Whether a directory lists anyone; without one, headcount is 0 and share null."""
    days: int
    headcount: int
    active: int
    share: float | None
    teams: list[TeamHeadcount]


def headcount(
    store: Store,
    query: Query,
    people: Iterable[Person],
    person_key: Callable[[str], str] = lambda email: email,
) -> Headcount:
    """The directory's people within the caller's scope, and how many of them were active in `query`'s range (any
    event or data point), in all and per directory team. `person_key` maps a directory email to the person key rows
    carry (its pseudonym with `hash_emails`).

    The scope narrows the headcount as it narrows rows: a team lead counts their team, a manager their department,
    a developer themselves; a viewer gets these aggregates too (no row here is one person's)."""
    scope = query.scope
    everyone = list(people)
    listed = {
        person_key(person.email): person
        for person in everyone
        if (scope.teams is None or person.team in scope.teams)
        and (scope.departments is None or person.department in scope.departments)
    }
    if scope.persons is not None:
        listed = {key: person for key, person in listed.items() if key in scope.persons}
    active: set[str] = set()
    if listed:
        source, params = rollup_rows(SESSIONS, query, uses=("person",), bucket="1d")
        params = {**params, "headcount_people": list(listed)}
        rows = store.query(
            f"SELECT DISTINCT person FROM ({source}) WHERE person IN {{headcount_people:Array(String)}}", params
        )
        active = {row[0] for row in rows}
    per_team: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, person in listed.items():
        counts = per_team[person.team or UNKNOWN]
        counts[0] += 1
        counts[1] += key in active
    days = max(1, round((query.time_range.end - query.time_range.start) / _DAY))
    return Headcount(
        configured=bool(everyone),
        days=days,
        headcount=len(listed),
        active=len(active),
        share=ratio(len(active), len(listed)),
        teams=[
            TeamHeadcount(team=team, headcount=total, active=on, share=ratio(on, total))
            for team, (total, on) in sorted(per_team.items())
        ],
    )
