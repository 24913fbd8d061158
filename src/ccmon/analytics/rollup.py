"""A query's rows from an hourly rollup: whole hours from the rollup table, partial hours from the raw rows.

Dashboards ask for ranges like "the last 30 days" that rarely start or end on the hour. The hours wholly inside the
range are read from the rollup; the minutes before the first whole hour and after the last one are read from the raw
tables through the rollup's own SELECT (the materialized view's query, `Rollup.select`), so both parts have the same
columns and meaning and the answer is exact. A range inside one hour, or a bucket finer than an hour, reads raw rows
only, bucketed at that finer grain.

The result is a subquery with the rollup's columns (`hour` is the row's time bucket) with the range, the caller's
scope and the filters already applied: queries over it only group and sum.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ccmon.analytics.query import BUCKETS, Query
from ccmon.analytics.timerange import RANGE_END_SQL, RANGE_START_SQL
from ccmon.store.rollups import Rollup

_HOUR = timedelta(hours=1)
# The whole hours inside the range, as bound parameters.
_WHOLE_FROM = "toDateTime({whole_from:Int64}, 'UTC')"
_WHOLE_TO = "toDateTime({whole_to:Int64}, 'UTC')"


def _floor_hour(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(instant: datetime) -> datetime:
    floor = _floor_hour(instant)
    return floor if floor == instant else floor + _HOUR


def rollup_rows(
    rollup: Rollup, query: Query, *, bucket: str | None = None, where: str = "1"
) -> tuple[str, dict[str, Any]]:
    """A SELECT of `rollup`'s columns for `query` (time range, scope, filters), and its bound parameters.

    `bucket`: the finest time bucket the caller will group `hour` by; below an hour the rollup cannot serve it.
    `where`: a further condition on columns of both the rollup and its raw tables (e.g. the metric name), applied
    inside each part so it narrows what is read.
    """
    scope_sql, scope_params = query.scope.sql()
    filter_sql, filter_params = query.filters.sql()
    time_sql, params = query.time_range.sql("ts")
    params |= scope_params | filter_params
    rows_filter = f"{scope_sql} AND {filter_sql} AND {where}"
    seconds = BUCKETS[bucket] if bucket else 3600
    start, end = query.time_range.start, query.time_range.end
    whole_from, whole_to = _ceil_hour(start), _floor_hour(end)
    parts = []
    if seconds < 3600 or whole_from >= whole_to:
        hour = f"toStartOfInterval(ts, INTERVAL {min(seconds, 3600)} SECOND, 'UTC')"
        raw_where = f"{time_sql} AND {rows_filter}"
    else:
        hour = "toStartOfHour(ts)"
        parts.append(
            f"SELECT {rollup.names} FROM {rollup.table} "
            f"WHERE hour >= {_WHOLE_FROM} AND hour < {_WHOLE_TO} AND {rows_filter}"
        )
        params |= {"whole_from": int(whole_from.timestamp()), "whole_to": int(whole_to.timestamp())}
        edges = []
        if start < whole_from:
            edges.append(f"ts >= {RANGE_START_SQL} AND ts < {_WHOLE_FROM}")
        if whole_to < end:
            edges.append(f"ts >= {_WHOLE_TO} AND ts < {RANGE_END_SQL}")
        raw_where = f"({' OR '.join(edges)}) AND {rows_filter}" if edges else ""
    if raw_where:
        parts.extend(
            f"SELECT {rollup.names} FROM ({rollup.select(source, hour, raw_where)})" for source, _ in rollup.sources
        )
    return " UNION ALL ".join(parts), params
