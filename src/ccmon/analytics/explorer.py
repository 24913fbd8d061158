"""The events explorer: any event, filtered by name, column or attribute, or by text in its error; newest first.

Paging is by cursor (the last row's time and key), so new events arriving between pages never shift a page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel

from ccmon.analytics.event_rows import COLUMNS as EVENT_COLUMNS
from ccmon.analytics.event_rows import EventView, event_view
from ccmon.analytics.paging import check_limit
from ccmon.analytics.query import Query
from ccmon.analytics.timerange import InvalidQuery
from ccmon.store.facade import Store

# Event columns the explorer filters on by their attribute names; any other name is looked up in `attrs`.
FILTER_COLUMNS: Mapping[str, str] = {
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


class EventPage(BaseModel):
    rows: list[EventView]
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
    check_limit(limit)
    where, params = query.where()
    clauses = [where]
    if names:
        clauses.append("event_name IN {names:Array(String)}")
        params["names"] = list(names)
    for i, (key, value) in enumerate(sorted((attributes or {}).items())):
        column = FILTER_COLUMNS.get(key, f"attrs[{{attr_key_{i}:String}}]")
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
        f"SELECT {EVENT_COLUMNS}, toUnixTimestamp64Nano(ts), dedup_key FROM events "
        f"WHERE {' AND '.join(clauses)} ORDER BY ts DESC, dedup_key DESC LIMIT {{limit:UInt32}}",
        params | {"limit": limit + 1},
    )
    page = rows[:limit]
    events = [event_view(row[:-2]) for row in page]
    next_cursor = f"{page[-1][-2]}.{page[-1][-1]}" if len(rows) > limit else None
    return EventPage(rows=events, next_cursor=next_cursor)
