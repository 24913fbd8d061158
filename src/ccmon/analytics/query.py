"""What every analytics query takes: a time range, the caller's scope, dimension filters and a time bucket.

`Query.where()` renders all of it as one WHERE fragment with bound parameters, so no query can forget the scope or a
filter, and no user input is ever pasted into SQL: filter values are bound, and column names come from `DIMENSIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ccmon.analytics.scope import Forbidden, Scope
from ccmon.analytics.timerange import InvalidQuery, TimeRange

# Filterable dimensions: API name -> column, present in `events`, `metric_points` and `spans` alike.
DIMENSIONS: Mapping[str, str] = {
    "person": "person",
    "team": "team",
    "department": "department",
    "cost_center": "cost_center",
    "model": "model",
    "repository": "repository",
    "terminal": "terminal_type",
    "version": "version",
    "project": "project",
    "provider": "provider",
    "organization": "organization_id",
}

# Bucket sizes, smallest first. Weeks start on Monday; the others are aligned on the Unix epoch, i.e. UTC midnight.
BUCKETS: Mapping[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "1h": 3600,
    "6h": 21_600,
    "1d": 86_400,
    "1w": 604_800,
}
AUTO_BUCKET_TARGET = 240
"""An automatic bucket is the smallest that gives at most this many points."""
MAX_POINTS = 5000
"""A requested bucket giving more points than this is refused (422)."""


def choose_bucket(time_range: TimeRange, requested: str | None = None) -> str:
    seconds = (time_range.end - time_range.start).total_seconds()
    if requested is None:
        return next((b for b, s in BUCKETS.items() if seconds / s <= AUTO_BUCKET_TARGET), "1w")
    if requested not in BUCKETS:
        raise InvalidQuery(f"bucket: {requested!r} is not one of {', '.join(BUCKETS)}")
    points = seconds / BUCKETS[requested]
    if points > MAX_POINTS:
        raise InvalidQuery(
            f"bucket: {requested} over this range gives {points:,.0f} points, more than {MAX_POINTS}; "
            "use a larger bucket or a shorter range"
        )
    return requested


UNKNOWN = "(unknown)"
"""How a group whose dimension is empty (the attribute was not sent) is labelled, in every answer; as a filter value
it selects those rows."""


def label_sql(column: str) -> str:
    """A dimension as a group label: its value, or `(unknown)` when empty."""
    return f"if({column} = '', '{UNKNOWN}', {column})"


def label(value: str) -> str:
    """`label_sql` for a value already read."""
    return value or UNKNOWN


def latest_sql(column: str, time: str) -> str:
    """Of a group's rows, the latest non-empty value of `column` ('' when none has one). Rows of the same `time` are
    ordered by a hash of the value, so the answer never depends on the order rows are read in; the time and the
    hash are packed in one UInt128 because comparing tuples costs 50 times more."""
    instant = f"toUInt128(toUnixTimestamp64Nano(toDateTime64({time}, 9, 'UTC')))"
    order = f"bitOr(bitShiftLeft({instant}, 64), toUInt128(cityHash64({column})))"
    return f"argMaxIf({column}, {order}, {column} != '')"


def bucket_sql(bucket: str, column: str = "ts") -> str:
    """The SQL expression of a row's bucket start (a DateTime in UTC)."""
    if bucket == "1w":
        return f"toDateTime(toMonday({column}, 'UTC'), 'UTC')"
    return f"toStartOfInterval({column}, INTERVAL {BUCKETS[bucket]} SECOND, 'UTC')"


@dataclass(frozen=True)
class Filters:
    """Dimension filters: each named dimension must take one of the given values."""

    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.values) - set(DIMENSIONS))
        if unknown:
            raise InvalidQuery(f"unknown filter {', '.join(unknown)}; filters are {', '.join(DIMENSIONS)}")

    @property
    def columns(self) -> frozenset[str]:
        """The dimension columns the filters restrict."""
        return frozenset(DIMENSIONS[name] for name, allowed in self.values.items() if allowed)

    def sql(self) -> tuple[str, dict[str, Any]]:
        clauses, params = ["1"], {}
        for name, allowed in sorted(self.values.items()):
            if allowed:
                clauses.append(f"{DIMENSIONS[name]} IN {{filter_{name}:Array(String)}}")
                params[f"filter_{name}"] = ["" if value == UNKNOWN else value for value in allowed]
        return " AND ".join(clauses), params


@dataclass(frozen=True)
class Query:
    """The parameters every analytics query shares."""

    time_range: TimeRange
    scope: Scope = field(default_factory=Scope.everyone)
    filters: Filters = field(default_factory=Filters)
    bucket: str | None = None

    def __post_init__(self) -> None:
        # A filter on one person turns any total into that person's: a scope of aggregates only may not name people
        # (the rows without a person, `(unknown)`, are nobody's).
        if not self.scope.per_person and any(value != UNKNOWN for value in self.filters.values.get("person", ())):
            raise Forbidden("person: this role sees organisation-wide totals only, not one person's")

    def where(self, time_column: str = "ts") -> tuple[str, dict[str, Any]]:
        """Time range, scope and filters as one WHERE fragment, with its bound parameters."""
        time_sql, params = self.time_range.sql(time_column)
        scope_sql, scope_params = self.scope.sql()
        filter_sql, filter_params = self.filters.sql()
        return f"{time_sql} AND {scope_sql} AND {filter_sql}", params | scope_params | filter_params

    def with_range(self, time_range: TimeRange) -> Query:
        return Query(time_range, self.scope, self.filters, self.bucket)

    def with_filter(self, name: str, *values: str) -> Query:
        """The same query with the filter on dimension `name` replaced by these values."""
        return Query(self.time_range, self.scope, Filters({**self.filters.values, name: values}), self.bucket)

    @property
    def chosen_bucket(self) -> str:
        return choose_bucket(self.time_range, self.bucket)

    def previous(self) -> Query:
        """The same query over the period of equal length just before this one."""
        span = self.time_range.end - self.time_range.start
        return self.with_range(TimeRange(self.time_range.start - span, self.time_range.start))
