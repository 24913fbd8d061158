"""Sessions: the list (paged, sortable) and one session's timeline, grouped by prompt, with its spans.

Both show individual sessions and whose they are: a scope of aggregates only is refused (403). The timeline of a
scope without content has no error text and no content attributes on its events and spans (`content.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from ccmon.analytics.content import without_content
from ccmon.analytics.cost_check import CostCheck
from ccmon.analytics.event_rows import COLUMNS, EventView, event_view
from ccmon.analytics.paging import Page, fetch_page
from ccmon.analytics.query import Query, label
from ccmon.analytics.results import integer, number, utc
from ccmon.analytics.session_totals import COLUMNS as TOTALS
from ccmon.analytics.session_totals import session_totals
from ccmon.analytics.timerange import InvalidQuery
from ccmon.store.facade import Store
from ccmon.store.rollups import SESSIONS_BY_DAY

SORTABLE = ("started", "duration_s", "prompts", "api_requests", "errors", "tool_calls", "cost_usd", "tokens")


class SessionRow(BaseModel):
    session_id: str
    """`(unknown)`: the data that carries no session id (not a session: it has no duration)."""
    person: str
    team: str
    repository: str
    """The `vcs.repository.name` Claude Code sends when asked to."""
    project: str
    """The project (the `project_attributes` setting; by default a `project` attribute, else the repository)."""
    started: datetime
    ended: datetime
    duration_s: float | None
    prompts: int
    api_requests: int
    errors: int
    tool_calls: int
    cost_usd: float
    tokens: int


class Sessions(BaseModel):
    total: int
    """Rows across all pages (the sessions, and the `(unknown)` row when data came without a session id)."""
    rows: list[SessionRow]


def sessions(
    store: Store, query: Query, *, sort: str = "started", descending: bool = True, limit: int = 50, offset: int = 0
) -> Sessions:
    """Sessions active in the range (by their events and data points in it), with their totals in the range."""
    query.scope.require_per_person("the session list")
    if sort not in SORTABLE:
        raise InvalidQuery(f"sort: {sort!r} is not one of {', '.join(SORTABLE)}")
    page = Page(limit, offset)
    totals, params = session_totals(query)
    rows, total = fetch_page(
        store,
        totals,
        params,
        order_by=f"{sort} {'DESC' if descending else 'ASC'} NULLS LAST, session_id",
        page=page,
    )
    return Sessions(total=total, rows=[_session_row(row) for row in rows])


def _session_row(row: tuple[Any, ...]) -> SessionRow:
    totals = dict(zip(TOTALS, row, strict=True))
    return SessionRow(
        session_id=label(totals["session_id"]),
        person=label(totals["person"]),
        team=label(totals["team"]),
        repository=label(totals["repository"]),
        project=label(totals["project"]),
        started=utc(totals["started"]),
        ended=utc(totals["ended"]),
        duration_s=None if totals["duration_s"] is None else number(totals["duration_s"]),
        prompts=integer(totals["prompts"]),
        api_requests=integer(totals["api_requests"]),
        errors=integer(totals["errors"]),
        tool_calls=integer(totals["tool_calls"]),
        cost_usd=number(totals["cost_usd"]),
        tokens=integer(totals["tokens"]),
    )


class Prompt(BaseModel):
    prompt_id: str
    """Empty for events outside any prompt (start-up events)."""
    started: datetime
    cost_usd: float
    tokens: int
    api_requests: int
    tool_calls: int
    events: list[EventView]


class Span(BaseModel):
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start: datetime
    end: datetime
    duration_ms: float
    status_code: int
    attributes: dict[str, str]


class SessionDetail(BaseModel):
    session_id: str
    person: str
    prompts: list[Prompt]
    spans: list[Span]
    cost_check: CostCheck | None = None
    """Claude Code's reported cost of the session's requests next to the cost recomputed by the price table."""


_FIRST = "fromUnixTimestamp64Nano({first:Int64}, 'UTC')"
_LAST = "fromUnixTimestamp64Nano({last:Int64}, 'UTC')"


def session_detail(store: Store, query: Query, session_id: str) -> SessionDetail:
    """One session's events in order (event time, then sequence), grouped by prompt; its spans when traced.

    The caller's scope and filters apply; the time range does not (a session is shown whole). A session outside the
    scope is an empty one.
    """
    query.scope.require_per_person("a session's timeline")
    scope_sql, scope_params = query.scope.sql()
    filter_sql, filter_params = query.filters.sql()
    # The session's first and last instants, from the rollup, let the primary key find its rows among millions (the
    # rollup has the scope's columns, not every filter's).
    ((first_ns, last_ns),) = store.query(
        "SELECT toUnixTimestamp64Nano(min(first_ts)), toUnixTimestamp64Nano(max(last_ts)) "
        f"FROM {SESSIONS_BY_DAY.table} WHERE session_id = {{session:String}} AND {scope_sql}",
        {"session": session_id} | scope_params,
    )
    params = scope_params | filter_params | {"session": session_id, "first": first_ns, "last": last_ns}
    rows = store.query(
        f"SELECT {COLUMNS} FROM events WHERE session_id = {{session:String}} AND {scope_sql} AND {filter_sql} "
        f"AND ts BETWEEN {_FIRST} AND {_LAST} ORDER BY ts, event_sequence",
        params,
    )
    prompts: dict[str, Prompt] = {}
    for event in (event_view(row, content=query.scope.content) for row in rows):
        prompt = prompts.get(event.prompt_id)
        if prompt is None:
            prompt = prompts[event.prompt_id] = Prompt(
                prompt_id=event.prompt_id,
                started=event.ts,
                cost_usd=0,
                tokens=0,
                api_requests=0,
                tool_calls=0,
                events=[],
            )
        prompt.events.append(event)
        prompt.cost_usd += event.cost_usd
        prompt.tokens += event.tokens
        prompt.api_requests += event.name == "api_request"
        prompt.tool_calls += event.name == "tool_result"
    spans = store.query(
        "SELECT trace_id, span_id, parent_span_id, name, start_ts, end_ts, "
        "dateDiff('microsecond', start_ts, end_ts) / 1000, status_code, attrs FROM spans "
        f"WHERE session_id = {{session:String}} AND {scope_sql} AND {filter_sql} "
        f"AND start_ts BETWEEN {_FIRST} - INTERVAL 1 HOUR AND {_LAST} + INTERVAL 1 HOUR ORDER BY start_ts, span_id",
        params,
    )
    return SessionDetail(
        session_id=session_id,
        person=next((e.person for p in prompts.values() for e in p.events if e.person), ""),
        prompts=sorted(prompts.values(), key=lambda p: p.started),
        spans=[
            Span(
                trace_id=trace,
                span_id=span,
                parent_span_id=parent,
                name=name,
                start=utc(start),
                end=utc(end),
                duration_ms=number(duration),
                status_code=integer(status),
                attributes=dict(attrs) if query.scope.content else without_content(attrs),
            )
            for trace, span, parent, name, start, end, duration, status, attrs in spans
        ],
    )
