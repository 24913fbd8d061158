"""Offset paging, the same for every paged list: the limits, and a `total` that never depends on the page.

`total` is the number of rows matching the query across all pages, also for a page past the last row (a client that
jumps beyond the end learns how far it may go). The row count comes from a window over the same subquery as the rows,
so it cannot disagree with them; only an empty page past the start costs a second, counting query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ccmon.analytics.results import integer
from ccmon.analytics.timerange import InvalidQuery
from ccmon.store.facade import Store

MAX_LIMIT = 1000
"""The most rows one page (or one cursor page of the events explorer) may hold."""


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be 1..{MAX_LIMIT}")


@dataclass(frozen=True)
class Page:
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        check_limit(self.limit)
        if self.offset < 0:
            raise InvalidQuery("offset must be >= 0")


def fetch_page(
    store: Store, rows_sql: str, params: Mapping[str, Any], *, order_by: str, page: Page
) -> tuple[list[tuple[Any, ...]], int]:
    """One page of the rows of `rows_sql` (a SELECT without ORDER BY or LIMIT) in `order_by` order, and the total.

    `order_by` is SQL over the subquery's columns: callers build it from whitelisted column names only, and should end
    it with a unique column so pages neither overlap nor skip rows.
    """
    rows = store.query(
        f"SELECT *, count() OVER () FROM ({rows_sql}) ORDER BY {order_by} "
        "LIMIT {page_limit:UInt32} OFFSET {page_offset:UInt32}",
        {**params, "page_limit": page.limit, "page_offset": page.offset},
    )
    if rows:
        return [row[:-1] for row in rows], integer(rows[0][-1])
    if page.offset == 0:  # the first page is empty: nothing matches, no need to count
        return [], 0
    ((total,),) = store.query(f"SELECT count() FROM ({rows_sql})", params)
    return [], integer(total)
