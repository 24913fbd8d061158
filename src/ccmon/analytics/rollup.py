"""A query's rows from the rollups: the smallest tier that can answer it, its edges from finer tiers and raw rows.

Each family of rollups (`store.rollups.METRICS`, `EVENTS`, `SESSIONS`) is a list of tiers, smallest first. For a
query, the tier read is the first that has every column the query uses, filters on or is scoped by, and whose time
grain divides the query's bucket: a leaderboard reads the daily per-person rollup; a model filter on it, which that
rollup cannot apply, moves it to the next tier that has the model.

Dashboards ask for ranges like "the last 30 days" that rarely start or end on a day or an hour. The days wholly
inside the range are read from a daily tier, the whole hours around them from an hourly tier, and the minutes at
either end from the raw tables through the chosen tier's own SELECT (its materialized view's query,
`Rollup.select`), so every part has the same columns and meaning and the answer is exact. A bucket finer than an
hour reads raw rows only, bucketed at that grain.

The result is a subquery with the chosen tier's columns (`hour` is the row's time bucket: an hour or a day, so
callers group by buckets of the query, never by `hour` itself) with the range, the caller's scope and the filters
already applied; rows are not unique per key, so queries over it always aggregate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ccmon.analytics.query import BUCKETS, Query
from ccmon.analytics.timerange import RANGE_END_SQL, RANGE_START_SQL
from ccmon.store.rollups import Rollup

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rollup_rows(
    tiers: Sequence[Rollup], query: Query, *, uses: Iterable[str], bucket: str | None = None, where: str = "1"
) -> tuple[str, dict[str, Any]]:
    """A SELECT for `query` (time range, scope, filters) from the smallest of `tiers` that can answer it, and its
    bound parameters.

    `uses`: every column the caller refers to, in `where` and in its own SQL over the result, besides `hour` and
    the measures. `bucket`: the finest time bucket the caller will group by. `where`: a further condition (e.g. the
    metric name), applied inside each part so it narrows what is read.
    """
    scope_sql, scope_params = query.scope.sql()
    filter_sql, filter_params = query.filters.sql()
    time_sql, params = query.time_range.sql("ts")
    params |= scope_params | filter_params
    rows_filter = f"{scope_sql} AND {filter_sql} AND {where}"
    needed = frozenset(uses) | query.scope.columns | query.filters.columns
    able = [tier for tier in tiers if needed <= set(tier.column_names)]
    if not able:
        raise ValueError(f"no rollup among {[t.table for t in tiers]} has all of {sorted(needed)}")
    seconds = BUCKETS[bucket] if bucket else None
    fitting = [tier for tier in able if seconds is None or seconds % tier.grain_s == 0]
    if not fitting:
        # Finer than any rollup: raw rows only, at the bucket's grain.
        chosen = able[0]
        hour = f"toStartOfInterval(ts, INTERVAL {seconds} SECOND, 'UTC')"
        return _raw(chosen, hour, f"{time_sql} AND {rows_filter}"), params
    chosen = fitting[0]
    # Finer tiers for the edges, each with all of the chosen tier's columns (the hourly tiers have every column).
    chain = [chosen]
    for tier in able:
        if tier.grain_s < chain[-1].grain_s and set(chosen.column_names) <= set(tier.column_names):
            chain.append(tier)
    parts = _Parts(query)
    parts.add(chain, query.time_range.start, query.time_range.end)
    return parts.sql(chosen, rows_filter), params | parts.params


def _raw(rollup: Rollup, hour: str, where: str) -> str:
    return " UNION ALL ".join(
        f"SELECT {rollup.names} FROM ({rollup.select(source, hour, where)})" for source, _ in rollup.sources
    )


def _floor(instant: datetime, grain_s: int) -> datetime:
    seconds = (instant - _EPOCH) // timedelta(seconds=1)
    return _EPOCH + timedelta(seconds=seconds - seconds % grain_s)


def _ceil(instant: datetime, grain_s: int) -> datetime:
    floor = _floor(instant, grain_s)
    return floor if floor == instant else floor + timedelta(seconds=grain_s)


class _Parts:
    """The time ranges a range is cut into: for each tier of a chain, its whole buckets, the rest from the next tier
    and finally from raw rows. The ranges read from one table are read by one SELECT (a read of a large table costs
    its index analysis even when nothing matches)."""

    def __init__(self, query: Query) -> None:
        self.query = query
        self.ranges: dict[str, list[tuple[datetime, datetime]]] = {}
        """Per tier table ('' for raw rows), the ranges read from it."""
        self.params: dict[str, Any] = {}

    def add(self, chain: list[Rollup], start: datetime, end: datetime) -> None:
        if not chain:
            self.ranges.setdefault("", []).append((start, end))
            return
        tier, finer = chain[0], chain[1:]
        whole_from, whole_to = _ceil(start, tier.grain_s), _floor(end, tier.grain_s)
        if whole_from >= whole_to:
            self.add(finer, start, end)
            return
        self.ranges.setdefault(tier.table, []).append((whole_from, whole_to))
        if start < whole_from:
            self.add(finer, start, whole_from)
        if whole_to < end:
            self.add(finer, whole_to, end)

    def sql(self, chosen: Rollup, rows_filter: str) -> str:
        parts = []
        for table, ranges in self.ranges.items():
            column = "hour" if table else "ts"
            times = " OR ".join(f"({column} >= {self._at(a)} AND {column} < {self._at(b)})" for a, b in ranges)
            where = f"({times}) AND {rows_filter}"
            if table:
                parts.append(f"SELECT {chosen.names} FROM {table} WHERE {where}")
            else:
                parts.append(_raw(chosen, "toStartOfHour(ts)", where))
        return " UNION ALL ".join(parts)

    def _at(self, instant: datetime) -> str:
        """An instant: an end of the query's range (at its precision), or a bucket boundary inside it, bound as a
        parameter named by its value so that two reads of one query agree."""
        if instant == self.query.time_range.start:
            return RANGE_START_SQL
        if instant == self.query.time_range.end:
            return RANGE_END_SQL
        seconds = (instant - _EPOCH) // timedelta(seconds=1)
        name = f"cut_{seconds}".replace("-", "m")
        self.params[name] = seconds
        return f"toDateTime({{{name}:Int64}}, 'UTC')"
