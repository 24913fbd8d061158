"""What budgets and model policies ask of the telemetry: spend and tokens of a scope (or per person, team, ...) over a
range, who a person is in the org chart, whose a session or an account is, and which models were used by whom.

Spend and tokens are read from the metric rollups, as `cost.total_cost` does (exact decimal sums): `usage` of a range
is the summary's cost of that range to the digit. Models come from the `api_request` events (one per request to the
model), read raw: they are keyed by session, which no event rollup keeps, and the events table is sorted by event
name and time, so a range of `api_request` events is what is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ccmon.analytics.cost import COST, TOKENS
from ccmon.analytics.query import DIMENSIONS, Query, label_sql, latest_sql
from ccmon.analytics.results import integer, number, utc
from ccmon.analytics.rollup import rollup_rows
from ccmon.analytics.timerange import ALL_TIME, InvalidQuery, TimeRange
from ccmon.store.facade import Store
from ccmon.store.rollups import METRICS, SESSIONS

API_REQUEST = "api_request"
"""The event of one request to the model (`claude_code.api_request`, stored without its prefix)."""
UNITS = {"usd": COST, "tokens": TOKENS}
"""Budget units and the counter each sums (tokens: every type, input, output and cache alike)."""
USAGE_BY = ("person", "team", "department", "cost_center")
TOTAL = ""
"""The key of `usage`'s answer without `by`."""


@dataclass(frozen=True)
class PersonDims:
    """Where a person sits in the org chart ('' where unknown)."""

    team: str = ""
    department: str = ""
    cost_center: str = ""


@dataclass(frozen=True)
class ModelUse:
    """One person's requests to one model in one session."""

    person: str
    team: str
    department: str
    cost_center: str
    model: str
    session_id: str
    requests: int
    first_seen: datetime
    last_seen: datetime


def usage(store: Store, query: Query, unit: str, by: str | None = None) -> dict[str, float]:
    """Spend in USD (`unit="usd"`) or tokens of the query's range, scope and filters: `{TOTAL: value}`, or, with `by`
    (person, team, department or cost_center), the value per key (`(unknown)` for rows without one), zeros left
    out."""
    if unit not in UNITS:
        raise InvalidQuery(f"unit: {unit!r} is not one of {', '.join(UNITS)}")
    if by is None:
        source, params = rollup_rows(METRICS, query, uses=("metric_name",), where="metric_name = {metric:String}")
        rows = store.query(f"SELECT sum(value) FROM ({source})", params | {"metric": UNITS[unit]})
        return {TOTAL: number(rows[0][0])}
    if by not in USAGE_BY:
        raise InvalidQuery(f"by: {by!r} is not one of {', '.join(USAGE_BY)}")
    if by == "person":
        query.scope.require_per_person("usage by person")
    column = DIMENSIONS[by]
    source, params = rollup_rows(METRICS, query, uses=("metric_name", column), where="metric_name = {metric:String}")
    rows = store.query(
        f"SELECT {label_sql(column)} AS key, sum(value) AS total FROM ({source}) GROUP BY key HAVING total != 0",
        params | {"metric": UNITS[unit]},
    )
    return {str(key): number(total) for key, total in rows}


def dims_by_person(store: Store, query: Query) -> dict[str, PersonDims]:
    """Each person's latest non-empty team, department and cost center among their cost rows of the query (one
    grouped read of the daily per-person rollup); people without a person key are left out."""
    query.scope.require_per_person("people's teams")
    columns = ("person", "team", "department", "cost_center")
    source, params = rollup_rows(METRICS, query, uses=("metric_name", *columns), where="metric_name = {metric:String}")
    latest = ", ".join(latest_sql(column, "hour") for column in columns[1:])
    rows = store.query(
        f"SELECT person, {latest} FROM ({source}) WHERE person != '' GROUP BY person", params | {"metric": COST}
    )
    return {str(person): PersonDims(str(team), str(dept), str(center)) for person, team, dept, center in rows}


def person_dims(store: Store, person: str, since: datetime, until: datetime | None = None) -> PersonDims | None:
    """A person's latest team, department and cost center in their rows since `since`; None without rows."""
    query = Query(TimeRange(since, until or ALL_TIME.end)).with_filter("person", person)
    return dims_by_person(store, query).get(person)


def person_of_session(store: Store, session_id: str, since: datetime) -> str | None:
    """The person of a session's rows since `since` (the latest, should a session have several); None when unknown."""
    if not session_id:
        return None
    query = Query(TimeRange(since, ALL_TIME.end))
    source, params = rollup_rows(
        SESSIONS, query, uses=("session_id", "person"), where="session_id = {session:String} AND person != ''"
    )
    rows = store.query(f"SELECT {latest_sql('person', 'last_ts')} FROM ({source})", params | {"session": session_id})
    return _found(rows)


def person_by_account(store: Store, account_uuid: str, since: datetime) -> str | None:
    """The person of the cost rows whose `user.account_uuid` is this since `since` (the latest); None when none."""
    return _latest_cost_value(store, "person", "user_account_uuid", account_uuid, since)


def person_by_user_id(store: Store, user_id: str, since: datetime) -> str | None:
    """The person of the cost rows whose `user.id` (Claude Code's installation id) is this since `since` (the
    latest); None when none. An API-key login sends neither email nor account, and then `user.id` is the person."""
    return _latest_cost_value(store, "person", "user_id", user_id, since)


def person_organization(store: Store, person: str, since: datetime) -> str | None:
    """The organisation (`organization_id`) of the person's latest cost rows since `since`; None without rows."""
    return _latest_cost_value(store, "organization_id", "person", person, since)


def _latest_cost_value(store: Store, column: str, key_column: str, key: str, since: datetime) -> str | None:
    """`column` of the latest cost rows since `since` whose `key_column` is `key` (raw rows: no rollup keeps the
    account or user id); None when there are none. Both column names are this module's own, never input."""
    if not key:
        return None
    time_sql, params = TimeRange(since, ALL_TIME.end).sql("ts")
    rows = store.query(
        f"SELECT {latest_sql(column, 'ts')} FROM metric_points WHERE metric_name = {{metric:String}} AND {time_sql} "
        f"AND {key_column} = {{key:String}}",
        params | {"metric": COST, "key": key},
    )
    return _found(rows)


def models(store: Store, query: Query) -> list[str]:
    """The models of the query's `api_request` events (empty names left out), sorted."""
    where, params = query.where()
    rows = store.query(
        f"SELECT DISTINCT model FROM events WHERE event_name = {{event:String}} AND model != '' AND {where} "
        "ORDER BY model",
        params | {"event": API_REQUEST},
    )
    return [str(row[0]) for row in rows]


def models_used(store: Store, query: Query) -> list[ModelUse]:
    """Requests per person, model and session in the query (its range, scope and filters, e.g. a `model` filter),
    with the person's latest team, department and cost center in those rows; by person, model, first request."""
    query.scope.require_per_person("models used per person and session")
    where, params = query.where()
    latest = ", ".join(latest_sql(column, "ts") for column in ("team", "department", "cost_center"))
    rows = store.query(
        f"SELECT person, {latest}, model, session_id, count(), min(ts), max(ts) FROM events "
        f"WHERE event_name = {{event:String}} AND {where} GROUP BY person, model, session_id "
        "ORDER BY person, model, min(ts), session_id",
        params | {"event": API_REQUEST},
    )
    return [
        ModelUse(
            person=str(person),
            team=str(team),
            department=str(department),
            cost_center=str(center),
            model=str(model),
            session_id=str(session),
            requests=integer(requests),
            first_seen=utc(first),
            last_seen=utc(last),
        )
        for person, team, department, center, model, session, requests, first, last in rows
    ]


def session_model(store: Store, session_id: str, since: datetime) -> str | None:
    """The model of a session's latest `api_request` since `since`; None when it made none."""
    if not session_id:
        return None
    time_sql, params = TimeRange(since, ALL_TIME.end).sql("ts")
    rows = store.query(
        f"SELECT {latest_sql('model', 'ts')} FROM events WHERE event_name = {{event:String}} AND {time_sql} "
        "AND session_id = {session:String}",
        params | {"event": API_REQUEST, "session": session_id},
    )
    return _found(rows)


def _found(rows: list[tuple[Any, ...]]) -> str | None:
    """The one value of a one-row answer, None when empty ('' is what `argMaxIf` gives over no row)."""
    value = str(rows[0][0]) if rows and rows[0][0] is not None else ""
    return value or None
