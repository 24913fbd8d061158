"""Rollups: what dashboards read instead of raw rows, filled by materialized views as rows are inserted.

Rollups come in tiers (`METRICS`, `EVENTS`, `SESSIONS`), each ordered smallest first:
- the hourly rollups (schema version 2) keep the hour, all eight filterable dimensions and every column a query
  groups by, so any query can read them;
- the daily rollups (version 3) keep the day and fewer columns: one keeps the person and the org chart (a person's
  team, department and cost centre add no rows), another every dimension but the person. At 1,000 developers they
  hold 10-40 times fewer rows than the hourly ones.
The analytics layer reads, for each query, the smallest tier that has every column the query uses, filters or is
scoped by (`analytics.rollup`). Within a rollup, the WHERE fragment of `analytics.query.Query` means the same as on
raw rows. The raw-row equivalent of each rollup is its materialized view's own SELECT (`Rollup.select`), which the
analytics layer also runs on the raw rows at the partial hours at either end of a range, and which the tests compare
with the rollup on whole datasets.

A rollup's definition is part of the schema: changing one means a new migration that creates a new rollup (and
backfills it), never an edit here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DIMENSION_COLUMNS = (
    "person",
    "team",
    "department",
    "cost_center",
    "model",
    "repository",
    "terminal_type",
    "version",
)
"""The filterable dimensions, as columns of every raw table and every rollup."""


_TRUNCATE = {3600: "toStartOfHour", 86_400: "toStartOfDay"}
# Value columns are SimpleAggregateFunction(f, T): rows of the same key combine by f.
_AGGREGATE = re.compile(r"^(\w+) SimpleAggregateFunction\((\w+),")


@dataclass(frozen=True)
class Rollup:
    table: str
    columns: str
    """Column definitions of the rollup table."""
    order_by: str
    sources: tuple[tuple[str, str], ...]
    """(raw table, SELECT list over it); each becomes a materialized view. `{hour}` is the time column expression."""
    group_by: str
    grain_s: int = 3600
    """The time bucket of `hour`, in seconds: 3600 (hours) or 86,400 (UTC days)."""

    @property
    def definitions(self) -> list[str]:
        """One `name Type` per column, in table order."""
        return [line.strip() for line in self.columns.strip().rstrip(",").split(",\n")]

    @property
    def names(self) -> str:
        """The rollup's column names, in table order."""
        return ", ".join(self.column_names)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(definition.split()[0] for definition in self.definitions)

    def truncate(self, column: str) -> str:
        """The SQL of `column`'s start of this rollup's time bucket."""
        return f"{_TRUNCATE[self.grain_s]}({column})"

    def select(self, source: str, hour: str | None = None, where: str = "1") -> str:
        """The rollup's rows computed from raw table `source` (with `hour` as its time bucket, by default the
        rollup's own) for rows matching `where`: the materialized view's query, reused for raw-row answers."""
        columns = dict(self.sources)[source].format(hour=hour or self.truncate("ts"))
        return f"SELECT {columns} FROM {source} WHERE {where} GROUP BY {self.group_by}"

    @property
    def aggregates(self) -> dict[str, str]:
        """Each value column and the function that combines its rows (sum, min, max); the other columns are keys."""
        return {m.group(1): m.group(2) for definition in self.definitions if (m := _AGGREGATE.match(definition))}

    @property
    def keys(self) -> tuple[str, ...]:
        """The key columns but the time bucket, in table order."""
        return tuple(name for name in self.column_names if name != "hour" and name not in self.aggregates)

    def select_from(self, finer: Rollup) -> str:
        """The rollup's rows computed from a finer rollup that has all its columns: a backfill that reads the
        finer rollup instead of the raw rows (an order of magnitude fewer)."""
        aggregates = self.aggregates
        columns = [
            f"{self.truncate('hour')} AS hour"
            if name == "hour"
            else f"{aggregates[name]}({name}) AS {name}"
            if name in aggregates
            else name
            for name in self.column_names
        ]
        return f"SELECT {', '.join(columns)} FROM {finer.table} GROUP BY {self.group_by}"

    def statements(self, backfill_from: Rollup | None = None) -> tuple[str, ...]:
        create = (
            f"CREATE TABLE IF NOT EXISTS {self.table} ({self.columns}\n)\nENGINE = AggregatingMergeTree\n"
            f"PARTITION BY toYYYYMM(hour)\nORDER BY ({self.order_by})"
        )
        views = tuple(
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {self.table}_from_{source} TO {self.table} AS "
            f"{self.select(source)}"
            for source, _ in self.sources
        )
        # Migrations run before the receivers start, so nothing is inserted between the views' creation and the
        # backfill; emptying the rollup first keeps a migration that was interrupted and runs again exact.
        if backfill_from is None:
            backfill = tuple(f"INSERT INTO {self.table} {self.select(source)}" for source, _ in self.sources)
        else:
            backfill = (f"INSERT INTO {self.table} {self.select_from(backfill_from)}",)
        return (create, *views, f"TRUNCATE TABLE {self.table}", *backfill)


# Key columns of rollups: their type, and their expression over raw rows where it is not the column itself.
_KEY_TYPES = {"person": "String", "session_id": "String", "outcome": "Int8", "status_code": "Int32"}
_KEY_EXPRESSIONS = {
    # 1 success, 0 failure, -1 not reported: sorting keys cannot be Nullable.
    "outcome": "toInt8(ifNull(toInt8(success), -1))",
    # 0 for none: never an HTTP status.
    "status_code": "toInt32(ifNull(status_code, 0))",
    "os_type": "resource['os.type']",
}
_ORG_CHART = ("person", "team", "department", "cost_center")
_NOT_PERSON = tuple(column for column in DIMENSION_COLUMNS if column != "person")


def _rollup(
    table: str,
    keys: tuple[str, ...],
    measures: str,
    sources: dict[str, str],
    *,
    grain_s: int,
    time_leads: bool = False,
) -> Rollup:
    """A rollup keyed by the time bucket and `keys`; `measures` are its value columns, `sources` their SELECT
    expressions per raw table. Its sort key leads with `keys[0]` (a name the queries filter on) then the time,
    unless `time_leads`."""
    key_list = ", ".join(keys)
    selected = ", ".join(f"{_KEY_EXPRESSIONS[key]} AS {key}" if key in _KEY_EXPRESSIONS else key for key in keys)
    columns = "".join(f"\n    {key} {_KEY_TYPES.get(key, 'LowCardinality(String)')}," for key in keys)
    return Rollup(
        table=table,
        columns=f"\n    hour DateTime('UTC'),{columns}{measures}",
        order_by=f"hour, {key_list}" if time_leads else f"{keys[0]}, hour, {', '.join(keys[1:])}",
        sources=tuple((source, f"{{hour}} AS hour, {selected}, {values}") for source, values in sources.items()),
        group_by=f"hour, {key_list}",
        grain_s=grain_s,
    )


_METRIC_MEASURES = """
    value SimpleAggregateFunction(sum, Float64),
    points SimpleAggregateFunction(sum, UInt64)"""
_METRIC_VALUES = {"metric_points": "sum(value) AS value, toUInt64(count()) AS points"}


def _metrics(table: str, keys: tuple[str, ...], grain_s: int) -> Rollup:
    return _rollup(table, ("metric_name", *keys), _METRIC_MEASURES, _METRIC_VALUES, grain_s=grain_s)


_EVENT_MEASURES = """
    events SimpleAggregateFunction(sum, UInt64),
    cost_usd SimpleAggregateFunction(sum, Float64),
    input_tokens SimpleAggregateFunction(sum, UInt64),
    output_tokens SimpleAggregateFunction(sum, UInt64),
    cache_read_tokens SimpleAggregateFunction(sum, UInt64),
    cache_creation_tokens SimpleAggregateFunction(sum, UInt64)"""
_EVENT_VALUES = {
    "events": "toUInt64(count()) AS events, sum(cost_usd) AS cost_usd, sum(input_tokens) AS input_tokens, "
    "sum(output_tokens) AS output_tokens, sum(cache_read_tokens) AS cache_read_tokens, "
    "sum(cache_creation_tokens) AS cache_creation_tokens"
}


def _events(table: str, keys: tuple[str, ...], grain_s: int) -> Rollup:
    return _rollup(table, ("event_name", *keys), _EVENT_MEASURES, _EVENT_VALUES, grain_s=grain_s)


_SESSION_MEASURES = """
    first_ts SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    last_ts SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
    events SimpleAggregateFunction(sum, UInt64),
    prompts SimpleAggregateFunction(sum, UInt64),
    api_requests SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    tool_calls SimpleAggregateFunction(sum, UInt64),
    points SimpleAggregateFunction(sum, UInt64),
    cost_usd SimpleAggregateFunction(sum, Float64),
    tokens SimpleAggregateFunction(sum, Float64)"""
_SESSION_VALUES = {
    "events": "min(ts) AS first_ts, max(ts) AS last_ts, "
    "toUInt64(count()) AS events, toUInt64(countIf(event_name = 'user_prompt')) AS prompts, "
    "toUInt64(countIf(event_name = 'api_request')) AS api_requests, "
    "toUInt64(countIf(event_name = 'api_error')) AS errors, "
    "toUInt64(countIf(event_name = 'tool_result')) AS tool_calls, toUInt64(0) AS points, "
    "toFloat64(0) AS cost_usd, toFloat64(0) AS tokens",
    "metric_points": "min(ts) AS first_ts, max(ts) AS last_ts, "
    "toUInt64(0) AS events, toUInt64(0) AS prompts, toUInt64(0) AS api_requests, toUInt64(0) AS errors, "
    "toUInt64(0) AS tool_calls, toUInt64(count()) AS points, "
    "sumIf(value, metric_name = 'claude_code.cost.usage') AS cost_usd, "
    "sumIf(value, metric_name = 'claude_code.token.usage') AS tokens",
}


def _sessions(table: str, keys: tuple[str, ...], grain_s: int) -> Rollup:
    return _rollup(
        table, ("session_id", *keys, "os_type"), _SESSION_MEASURES, _SESSION_VALUES, grain_s=grain_s, time_leads=True
    )


_HOUR, _DAY = 3600, 86_400

# Schema version 2: every dimension, by hour.
METRICS_BY_HOUR = _metrics(
    "metrics_by_hour", ("type", *DIMENSION_COLUMNS, "tool_name", "decision", "decision_source", "language"), _HOUR
)
EVENTS_BY_HOUR = _events(
    "events_by_hour",
    (*DIMENSION_COLUMNS, "tool_name", "decision", "decision_source", "outcome", "status_code"),
    _HOUR,
)
SESSIONS_BY_HOUR = _sessions("sessions_by_hour", DIMENSION_COLUMNS, _HOUR)
HOURLY_ROLLUPS = (METRICS_BY_HOUR, EVENTS_BY_HOUR, SESSIONS_BY_HOUR)

# Schema version 3: by day, per person (with the org chart, which adds no rows) or per everything but the person.
METRICS_BY_DAY_AND_PERSON = _metrics("metrics_by_day_and_person", ("type", "decision", *_ORG_CHART), _DAY)
METRICS_BY_DAY = _metrics(
    "metrics_by_day", ("type", *_NOT_PERSON, "tool_name", "decision", "decision_source", "language"), _DAY
)
EVENTS_BY_DAY_AND_PERSON = _events("events_by_day_and_person", ("decision", *_ORG_CHART), _DAY)
EVENTS_BY_DAY = _events(
    "events_by_day",
    (*_ORG_CHART[1:], "model", "tool_name", "decision", "decision_source", "outcome", "status_code"),
    _DAY,
)
# Without the model: a session uses several, and each would be a row of its own.
SESSIONS_BY_DAY = _sessions("sessions_by_day", tuple(c for c in DIMENSION_COLUMNS if c != "model"), _DAY)
DAILY_ROLLUPS = (
    (METRICS_BY_DAY_AND_PERSON, METRICS_BY_HOUR),
    (METRICS_BY_DAY, METRICS_BY_HOUR),
    (EVENTS_BY_DAY_AND_PERSON, EVENTS_BY_HOUR),
    (EVENTS_BY_DAY, EVENTS_BY_HOUR),
    (SESSIONS_BY_DAY, SESSIONS_BY_HOUR),
)
"""Each daily rollup with the hourly one it is backfilled from."""

# The tiers the analytics layer chooses from, smallest first; the last of each has every column.
METRICS = (METRICS_BY_DAY_AND_PERSON, METRICS_BY_DAY, METRICS_BY_HOUR)
EVENTS = (EVENTS_BY_DAY_AND_PERSON, EVENTS_BY_DAY, EVENTS_BY_HOUR)
SESSIONS = (SESSIONS_BY_DAY, SESSIONS_BY_HOUR)
ROLLUPS = (*HOURLY_ROLLUPS, *(daily for daily, _ in DAILY_ROLLUPS))
