"""The events explorer: any event, filtered by name, column or attribute, or by text in its error; newest first.

Paging is by cursor (the last row's time and key), so new events arriving between pages never shift a page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from ccmon.analytics.query import Query
from ccmon.analytics.results import integer, number, utc
from ccmon.analytics.timerange import InvalidQuery
from ccmon.store.facade import Store

# Event columns the explorer filters on by their attribute names; any other name is looked up in `attrs`.
COLUMNS: Mapping[str, str] = {
    "session.id": "session_id",
    "prompt.id": "prompt_id",
    "tool_name": "tool_name",
    "decision": "decision",
    "decision_source": "decision_source",
    "query_source": "query_source",
    "speed": "speed",
    "effort": "effort",
    "status_code": "toString(status_code)",
    "event.sequence": "toString(event_sequence)",
}
_CURSOR = re.compile(r"^(\d{1,20})\.(\d{1,20})$")


class ExploredEvent(BaseModel):
    ts: datetime
    name: str
    session_id: str
    prompt_id: str
    sequence: int
    person: str
    model: str
    tool_name: str
    decision: str
    success: bool | None
    duration_ms: float | None
    cost_usd: float
    status_code: int | None
    error: str
    attributes: dict[str, str]
    """Attributes no column holds; telemetry text, to be shown escaped."""


class EventPage(BaseModel):
    rows: list[ExploredEvent]
    next_cursor: str | None
    """Pass as `cursor` for the next (older) page; null on the last page."""


def explore(
    store: Store,
    query: Query,
    *,
    names: tuple[str, ...] = (),
    attributes: Mapping[str, str] | None = None,
    text: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> EventPage:
    if not 1 <= limit <= 1000:
        raise InvalidQuery("limit must be 1..1000")
    where, params = query.where()
    clauses = [where]
    if names:
        clauses.append("event_name IN {names:Array(String)}")
        params["names"] = list(names)
    for i, (key, value) in enumerate(sorted((attributes or {}).items())):
        column = COLUMNS.get(key, f"attrs[{{attr_key_{i}:String}}]")
        clauses.append(f"{column} = {{attr_value_{i}:String}}")
        params |= {f"attr_key_{i}": key, f"attr_value_{i}": value}
    if text:
        clauses.append("positionCaseInsensitive(error, {text:String}) > 0")
        params["text"] = text
    if cursor:
        match = _CURSOR.match(cursor)
        if match is None:
            raise InvalidQuery(f"cursor: {cursor[:64]!r} is not a cursor this API gave")
        clauses.append("(toUnixTimestamp64Nano(ts), dedup_key) < ({cursor_ts:Int64}, {cursor_key:UInt64})")
        params |= {"cursor_ts": int(match[1]), "cursor_key": int(match[2])}
    rows = store.query(
        "SELECT ts, event_name, session_id, prompt_id, event_sequence, person, model, tool_name, decision, success, "
        "duration_ms, cost_usd, status_code, error, attrs, toUnixTimestamp64Nano(ts), dedup_key FROM events "
        f"WHERE {' AND '.join(clauses)} ORDER BY ts DESC, dedup_key DESC LIMIT {{limit:UInt32}}",
        params | {"limit": limit + 1},
    )
    page = rows[:limit]
    events = [_event(row[:-2]) for row in page]
    next_cursor = f"{page[-1][-2]}.{page[-1][-1]}" if len(rows) > limit else None
    return EventPage(rows=events, next_cursor=next_cursor)


def _event(row: Sequence[Any]) -> ExploredEvent:
    ts, name, session, prompt, seq, person, model, tool, decision, success, duration, cost, status, error, attrs = row
    return ExploredEvent(
        ts=utc(ts),
        name=name,
        session_id=session,
        prompt_id=prompt,
        sequence=integer(seq),
        person=person,
        model=model,
        tool_name=tool,
        decision=decision,
        success=success,
        duration_ms=duration,
        cost_usd=number(cost),
        status_code=status,
        error=error,
        attributes=dict(attrs),
    )
