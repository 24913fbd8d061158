"""The events explorer: any event, filtered by name, column or attribute, or by text in its error; newest first.

Paging is by cursor (the last row's time and key), so new events arriving between pages never shift a page.

Newest first over millions of rows: the events table is ordered by (event name, time), so "the latest 100" would
read the whole range and sort it. Instead the range is read in windows walking back from its end, an hour first and
eight times longer each time, until the page is full: the primary key confines each read to its window.

Events are rows of individual people and sessions: a scope of aggregates only is refused (403). A scope without
content gets no error text or content attributes (`content.py`), and may neither search the error text nor filter on a
content attribute: a filter that returns a row or not would tell what the hidden text says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from ccmon.analytics.content import is_content_key
from ccmon.analytics.event_rows import COLUMNS as EVENT_COLUMNS
from ccmon.analytics.event_rows import EventView, event_view
from ccmon.analytics.paging import check_limit
from ccmon.analytics.query import Query
from ccmon.analytics.scope import Forbidden
from ccmon.analytics.timerange import InvalidQuery, TimeRange
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
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST_WINDOW = timedelta(hours=1)


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
    query.scope.require_per_person("the events explorer")
    if not query.scope.content:
        if text:
            raise Forbidden("text: searching the error text needs a role that may read it")
        if any(is_content_key(key) for key in attributes or {}):
            raise Forbidden("attr: filtering on an attribute that may hold content needs a role that may read it")
    _, params = query.where()
    clauses = []
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
    upper = query.time_range.end
    if cursor:
        match = _CURSOR.match(cursor)
        if match is None:
            raise InvalidQuery(f"cursor: {cursor[:64]!r} is not a cursor this API gave")
        cursor_ns, cursor_key = int(match[1]), int(match[2])
        if cursor_ns >= 2**63 or cursor_key >= 2**64:
            raise InvalidQuery(f"cursor: {cursor[:64]!r} is not a cursor this API gave")
        clauses.append("(toUnixTimestamp64Nano(ts), dedup_key) < ({cursor_ts:Int64}, {cursor_key:UInt64})")
        params |= {"cursor_ts": cursor_ns, "cursor_key": cursor_key}
        # Just after the cursor's instant (microseconds, rounded up): rows at that instant with a smaller key remain.
        after_cursor_us = cursor_ns // 1000 + 1
        if after_cursor_us < (upper - _EPOCH) // timedelta(microseconds=1):
            upper = _EPOCH + timedelta(microseconds=after_cursor_us)
    rows: list[tuple[Any, ...]] = []
    span = _FIRST_WINDOW
    while len(rows) <= limit and upper > query.time_range.start:
        lower = max(query.time_range.start, upper - span)
        where, window_params = query.with_range(TimeRange(lower, upper)).where()
        rows += store.query(
            f"SELECT {EVENT_COLUMNS}, toUnixTimestamp64Nano(ts), dedup_key FROM events "
            f"WHERE {' AND '.join([where, *clauses])} ORDER BY ts DESC, dedup_key DESC LIMIT {{limit:UInt32}}",
            params | window_params | {"limit": limit + 1 - len(rows)},
        )
        upper, span = lower, span * 8
    page = rows[:limit]
    events = [event_view(row[:-2], content=query.scope.content) for row in page]
    next_cursor = f"{page[-1][-2]}.{page[-1][-1]}" if len(rows) > limit else None
    return EventPage(rows=events, next_cursor=next_cursor)
