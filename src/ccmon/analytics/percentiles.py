"""Percentiles of durations (tool runs, API latency, time to first token): exact when few, else within 1 %.

Exact percentiles need every value of the range: 11M API requests in 30 days at 1,000 developers, a quarter of a
second to read however they are computed. So each answer first reads the durations rollups
(`store.rollups.DURATIONS`: per hour or day, group and dimension, the values' counts in log-spaced buckets), which
also say how many values the range holds:

- at most `EXACT_LIMIT` values: the percentiles are computed exactly from the raw rows, interpolated between the
  closest ranks (ClickHouse's `quantilesExactInclusive`, a spreadsheet's PERCENTILE.INC), so small samples give the
  numbers a person computes by hand;
- more: from the merged buckets, with the same interpolation between the buckets of the two closest ranks. Every
  value lies within `RELATIVE_ERROR` of its bucket's representative, and interpolation keeps that bound: the answer
  is within 1 % of the exact one.

Answers say which (`Precision`). Counts and means come from the same rollup rows either way, and are exact.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ccmon.analytics.query import Query
from ccmon.analytics.results import integer
from ccmon.analytics.rollup import rollup_rows
from ccmon.store.distribution import RELATIVE_ERROR, representative
from ccmon.store.facade import Store
from ccmon.store.rollups import DURATIONS

EXACT_LIMIT = 100_000
"""Up to this many values in an answer, percentiles are exact (read from raw rows)."""
LEVELS = (0.5, 0.95, 0.99)
EXACT_SQL = f"quantilesExactInclusive({', '.join(map(str, LEVELS))})"
"""The exact percentiles of `LEVELS`, over raw rows."""


class Precision(BaseModel):
    """How the percentiles of an answer were computed."""

    exact: bool
    """True: from every raw value. False: from the durations rollup's buckets."""
    relative_error: float
    """The most an approximate percentile may differ from the exact one, as a fraction of it (0.01: 1 %); 0 when
    exact."""


EXACT = Precision(exact=True, relative_error=0.0)
APPROXIMATE = Precision(exact=False, relative_error=RELATIVE_ERROR)


@dataclass(frozen=True)
class Distribution:
    """Counts of values per bucket key (`store.distribution`), keys ascending as `sumMap` returns them."""

    keys: Sequence[int]
    counts: Sequence[int]

    @property
    def values(self) -> int:
        return sum(self.counts)

    def quantiles(self, levels: Sequence[float] = LEVELS) -> list[float] | None:
        """The percentiles at `levels`, interpolated between the two closest ranks as `quantilesExactInclusive`
        does, each rank's value being its bucket's representative; None when there are no values."""
        total = self.values
        if not total:
            return None
        ends = list(itertools.accumulate(self.counts))

        def at(rank: int) -> float:
            return representative(self.keys[bisect.bisect_right(ends, rank)])

        answers = []
        for level in levels:
            position = (total - 1) * level
            below = math.floor(position)
            low, high = at(below), at(min(below + 1, total - 1))
            answers.append(low + (position - below) * (high - low))
        return answers


@dataclass(frozen=True)
class Timed:
    """One group's timed events, from the durations rollups."""

    events: int
    duration_us: int
    """The exact sum of the events' durations, in microseconds."""
    durations: Distribution
    ttfts: Distribution


MEASURES = ("durations", "ttfts")


@dataclass(frozen=True)
class TimedAnswer:
    """The timed events of a query per group, and whether their percentiles are exact."""

    groups: dict[Any, Timed]
    precision: Precision


def timed(
    store: Store,
    query: Query,
    event_name: str,
    group: str,
    *,
    uses: Sequence[str] = (),
    bucket: str | None = None,
    measures: Sequence[str] = MEASURES,
) -> TimedAnswer:
    """Per value of the SQL expression `group` (over the rollup's columns `uses`), the events named `event_name`
    within `query` (range, scope, filters) with the distributions of `measures` (the others are left empty).

    Exact when the range holds at most `EXACT_LIMIT` such events of anyone: that is what an exact answer reads from
    the raw rows, which are ordered by event and time, so a person's or a team's answer reads everyone's events of
    the range. The reads run side by side; the buckets are summed per group and key by the engine (`ARRAY JOIN`:
    three times faster than merging the maps with `sumMap`)."""
    source, params = rollup_rows(
        DURATIONS, query, uses=("event_name", *uses), bucket=bucket, where="event_name = {timed_event:String}"
    )
    everyone, everyone_params = rollup_rows(
        DURATIONS, Query(query.time_range), uses=("event_name",), where="event_name = {timed_event:String}"
    )
    params |= {"timed_event": event_name}
    everyone_params |= {"timed_event": event_name}
    reads = [
        lambda: store.query(f"SELECT sum(events) FROM ({everyone})", everyone_params),
        lambda: store.query(f"SELECT {group} AS g, sum(events), sum(duration_us) FROM ({source}) GROUP BY g", params),
        *(
            lambda measure=measure: store.query(
                f"SELECT g, k, sum(c) FROM (SELECT {group} AS g, {measure}.1 AS keys, {measure}.2 AS counts "
                f"FROM ({source})) ARRAY JOIN keys AS k, counts AS c GROUP BY g, k ORDER BY g, k",
                params,
            )
            for measure in measures
        ),
    ]
    (((in_range,),), totals, *buckets) = store.parallel(*reads)
    by_measure = {measure: _distributions(rows) for measure, rows in zip(measures, buckets, strict=True)}
    empty = Distribution((), ())
    groups = {
        g: Timed(
            integer(events),
            integer(total),
            *(by_measure[m].get(g, empty) if m in by_measure else empty for m in MEASURES),
        )
        for g, events, total in totals
    }
    return TimedAnswer(groups, EXACT if integer(in_range) <= EXACT_LIMIT else APPROXIMATE)


def _distributions(rows: Sequence[tuple[Any, ...]]) -> dict[Any, Distribution]:
    """Rows (group, bucket key, count), ordered by group and key, as one distribution per group."""
    keys: dict[Any, list[int]] = {}
    counts: dict[Any, list[int]] = {}
    for g, key, count in rows:
        keys.setdefault(g, []).append(int(key))
        counts.setdefault(g, []).append(int(count))
    return {g: Distribution(keys[g], counts[g]) for g in keys}
