"""Rollups: what dashboards read instead of raw rows, filled by materialized views as rows are inserted.

Rollups come in tiers (`METRICS`, `EVENTS`, `SESSIONS`), each ordered smallest first:
- the hourly rollups keep the hour, every filterable dimension and every column a query groups by, so any query
  can read them;
- the daily rollups keep the day and fewer columns: one keeps the person and the org chart (a person's team,
  department, cost centre and organisation add no rows), another every dimension but the person. At 1,000
  developers they hold 10-40 times fewer rows than the hourly ones.
The analytics layer reads, for each query, the smallest tier that has every column the query uses, filters or is
scoped by (`analytics.rollup`). Within a rollup, the WHERE fragment of `analytics.query.Query` means the same as on
raw rows. The raw-row equivalent of each rollup is its materialized view's own SELECT (`Rollup.select`), which the
analytics layer also runs on the raw rows at the partial hours at either end of a range, and which the tests compare
with the rollup on whole datasets.

Sums of values that are not whole (cost, active time; all of a metric's values, for simplicity) are exact decimals
(`exact`): each value is rounded to 9 decimal places once, and sums of decimals do not depend on the order rows are
added in, which merges and parallel reads change. So the same question always gets the same answer, to the digit.

A rollup's definition is part of the schema: changing one means a new migration that replaces it (and backfills
it). The definitions of earlier schema versions are kept (`VERSION_2`, `VERSION_3`) to build the migrations that
created them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

from ccmon.store.dimensions import DIMENSION_COLUMNS
from ccmon.store.distribution import BUCKETS_TYPE, bucket_sql

EXACT_SCALE = 9
EXACT_TYPE = f"Decimal(38, {EXACT_SCALE})"
"""Sums of up to 10^29 with 9 decimal places: nano-dollars and nanoseconds, and any count of tokens."""


EXACT_ZERO = f"toDecimal128(0, {EXACT_SCALE})"
EXACT_MAX = 1e15
"""The largest magnitude `exact` converts: 10^15 times 10^9 nano-units leaves room for 10^5 times as many rows in a
sum (29 integer digits). Ingest refuses data points beyond it."""


def exact(expression: str) -> str:
    """A Float64 as the decimal of `EXACT_SCALE` places nearest to it. Its whole part is exact as it is; only the
    fraction is rounded, so the nano-units never lose a digit (a float times 10^9 would, beyond 9 million), and the
    decimal is built from them directly, 4 times cheaper than through its text (casting a float truncates: 2.675 would
    become 2.674999999). Magnitudes beyond `EXACT_MAX`, which ingest refuses for data points, become 0 rather than
    fail the insert."""
    whole = f"trunc({expression})"
    nanos = f"toInt128({whole}) * {10**EXACT_SCALE} + toInt128(round(({expression} - {whole}) * {10**EXACT_SCALE}))"
    return f"reinterpret(if(abs({expression}) <= {EXACT_MAX:.0e}, {nanos}, toInt128(0)), '{EXACT_TYPE}')"


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
    rows_where: str = "1"
    """Which raw rows the rollup counts (its views' WHERE): the durations rollups keep the events that have one."""
    fed_by: Rollup | None = None
    """A finer rollup whose inserted rows feed this one's only view: it then aggregates that rollup's rows of each
    insert instead of every raw row again (an insert of events pays for one view over the raw rows, not four).
    None: one view per raw table. The raw-row SELECT (`select`) is the same either way."""

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
        # Only a rollup with a row filter adds it: the others' SQL stays what their released migrations ran.
        if self.rows_where != "1":
            where = f"({self.rows_where}) AND {where}"
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

    def drop_statements(self) -> tuple[str, ...]:
        """Remove the rollup (of this name, whatever its earlier definition) and its views."""
        views = tuple(f"DROP VIEW IF EXISTS {name}" for name, _ in self.views)
        return (*views, f"DROP TABLE IF EXISTS {self.table}")

    @property
    def views(self) -> tuple[tuple[str, str], ...]:
        """The rollup's materialized views: (name, SELECT)."""
        if self.fed_by is not None:
            return ((f"{self.table}_from_{self.fed_by.table}", self.select_from(self.fed_by)),)
        return tuple((f"{self.table}_from_{source}", self.select(source)) for source, _ in self.sources)

    def statements(self, backfill_from: Rollup | None = None) -> tuple[str, ...]:
        create = (
            f"CREATE TABLE IF NOT EXISTS {self.table} ({self.columns}\n)\nENGINE = AggregatingMergeTree\n"
            f"PARTITION BY toYYYYMM(hour)\nORDER BY ({self.order_by})"
        )
        views = tuple(
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {name} TO {self.table} AS {select}" for name, select in self.views
        )
        # Migrations run before the receivers start, so nothing is inserted between the views' creation and the
        # backfill; emptying the rollup first keeps a migration that was interrupted and runs again exact (also for
        # a rollup fed by another: refilling that one feeds this one too, before this one is emptied).
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


def _rollup(
    table: str,
    keys: tuple[str, ...],
    measures: str,
    sources: dict[str, str],
    *,
    grain_s: int,
    time_leads: bool = False,
    rows_where: str = "1",
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
        rows_where=rows_where,
    )


@dataclass(frozen=True)
class _Number:
    """How a rollup sums the values that are not whole: the column type, a raw value as that type, and zero."""

    type: str
    of: Callable[[str], str]
    zero: str


_FLOAT = _Number("Float64", lambda expression: expression, "toFloat64(0)")
"""Schema versions 2 and 3: float sums, whose last digits depend on the order rows are added in (merges change it)."""
_EXACT = _Number(EXACT_TYPE, exact, EXACT_ZERO)
"""Schema version 4: exact decimal sums, the same whatever the order."""


def _metrics(table: str, keys: tuple[str, ...], grain_s: int, number: _Number = _EXACT) -> Rollup:
    measures = f"""
    value SimpleAggregateFunction(sum, {number.type}),
    points SimpleAggregateFunction(sum, UInt64)"""
    values = {"metric_points": f"sum({number.of('value')}) AS value, toUInt64(count()) AS points"}
    return _rollup(table, ("metric_name", *keys), measures, values, grain_s=grain_s)


def _events(table: str, keys: tuple[str, ...], grain_s: int, number: _Number = _EXACT) -> Rollup:
    measures = f"""
    events SimpleAggregateFunction(sum, UInt64),
    cost_usd SimpleAggregateFunction(sum, {number.type}),
    input_tokens SimpleAggregateFunction(sum, UInt64),
    output_tokens SimpleAggregateFunction(sum, UInt64),
    cache_read_tokens SimpleAggregateFunction(sum, UInt64),
    cache_creation_tokens SimpleAggregateFunction(sum, UInt64)"""
    values = {
        "events": f"toUInt64(count()) AS events, sum({number.of('cost_usd')}) AS cost_usd, "
        "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
        "sum(cache_read_tokens) AS cache_read_tokens, sum(cache_creation_tokens) AS cache_creation_tokens"
    }
    return _rollup(table, ("event_name", *keys), measures, values, grain_s=grain_s)


def _sessions(table: str, keys: tuple[str, ...], grain_s: int, number: _Number = _EXACT) -> Rollup:
    measures = f"""
    first_ts SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    last_ts SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
    events SimpleAggregateFunction(sum, UInt64),
    prompts SimpleAggregateFunction(sum, UInt64),
    api_requests SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    tool_calls SimpleAggregateFunction(sum, UInt64),
    points SimpleAggregateFunction(sum, UInt64),
    cost_usd SimpleAggregateFunction(sum, {number.type}),
    tokens SimpleAggregateFunction(sum, {number.type})"""
    values = {
        "events": "min(ts) AS first_ts, max(ts) AS last_ts, "
        "toUInt64(count()) AS events, toUInt64(countIf(event_name = 'user_prompt')) AS prompts, "
        "toUInt64(countIf(event_name = 'api_request')) AS api_requests, "
        "toUInt64(countIf(event_name = 'api_error')) AS errors, "
        "toUInt64(countIf(event_name = 'tool_result')) AS tool_calls, toUInt64(0) AS points, "
        f"{number.zero} AS cost_usd, {number.zero} AS tokens",
        "metric_points": "min(ts) AS first_ts, max(ts) AS last_ts, "
        "toUInt64(0) AS events, toUInt64(0) AS prompts, toUInt64(0) AS api_requests, toUInt64(0) AS errors, "
        "toUInt64(0) AS tool_calls, toUInt64(count()) AS points, "
        f"sumIf({number.of('value')}, metric_name = 'claude_code.cost.usage') AS cost_usd, "
        f"sumIf({number.of('value')}, metric_name = 'claude_code.token.usage') AS tokens",
    }
    return _rollup(table, ("session_id", *keys, "os_type"), measures, values, grain_s=grain_s, time_leads=True)


_DURATION_US = "ifNull(sum(toInt64(round(if(abs({column}) < 1e12, {column}, 0) * 1000))), 0)"
"""A sum of durations in milliseconds, exact, as whole microseconds (a float sum's last digits depend on the order of
the rows; a sum of `exact` decimals costs 20 times more over millions of raw rows). No tool runs for 31 years: such
values count as 0. `{column}` is the Float64 column."""
TIMED_EVENTS = ("tool_result", "api_request")
"""The events whose durations the durations rollups keep (tool runs; API requests, with their time to first token)."""


def _durations(table: str, keys: tuple[str, ...], grain_s: int, fed_by: Rollup | None = None) -> Rollup:
    """Per time bucket and `keys`: the events, their durations' exact sum, and the distributions of their durations
    and times to first token in log-spaced buckets (`store.distribution`), from which percentiles are read."""
    # The codecs halve the rollup's size (docs/performance.md, "Storage"): bucket maps compress well with ZSTD, counts
    # and sums are small integers that T64 packs.
    measures = f"""
    events SimpleAggregateFunction(sum, UInt64) CODEC(T64, ZSTD(1)),
    duration_us SimpleAggregateFunction(sum, Int64) CODEC(T64, ZSTD(1)),
    durations SimpleAggregateFunction(sumMap, {BUCKETS_TYPE}) CODEC(ZSTD(3)),
    ttfts SimpleAggregateFunction(sumMap, {BUCKETS_TYPE}) CODEC(ZSTD(3))"""

    def distribution(column: str) -> str:
        key = bucket_sql(f"assumeNotNull({column})")
        return f"sumMapIf([{key}], [toUInt64(1)], {column} IS NOT NULL)"

    values = {
        "events": f"toUInt64(count()) AS events, {_DURATION_US.format(column='duration_ms')} AS duration_us, "
        f"{distribution('duration_ms')} AS durations, {distribution('ttft_ms')} AS ttfts"
    }
    timed = ", ".join(f"'{name}'" for name in TIMED_EVENTS)
    rollup = _rollup(
        table, ("event_name", *keys), measures, values, grain_s=grain_s, rows_where=f"event_name IN ({timed})"
    )
    return dataclasses.replace(rollup, fed_by=fed_by)


_HOUR, _DAY = 3600, 86_400
_BREAKDOWNS = ("tool_name", "decision", "decision_source")
"""What a tool, its decisions and their sources add to the keys of metric and event rollups."""


def _schema(dimensions: tuple[str, ...], org_chart: tuple[str, ...], number: _Number) -> tuple[Rollup, ...]:
    """The rollups of one schema version, hourly first: every dimension by hour; by day, per person with the org
    chart (a person's team, department, cost centre and organisation add no rows) or per every dimension but the
    person; sessions by day without the model and what follows from it (a session uses several models, and each
    would be a row of its own)."""
    not_person = tuple(c for c in dimensions if c != "person")
    per_model = {"model", "provider"}
    return (
        _metrics("metrics_by_hour", ("type", *dimensions, *_BREAKDOWNS, "language"), _HOUR, number),
        _events("events_by_hour", (*dimensions, *_BREAKDOWNS, "outcome", "status_code"), _HOUR, number),
        _sessions("sessions_by_hour", dimensions, _HOUR, number),
        _metrics("metrics_by_day_and_person", ("type", "decision", *org_chart), _DAY, number),
        _metrics("metrics_by_day", ("type", *not_person, *_BREAKDOWNS, "language"), _DAY, number),
        _events("events_by_day_and_person", ("decision", *org_chart), _DAY, number),
        _events(
            "events_by_day",
            (*org_chart[1:], *(c for c in dimensions if c in per_model), *_BREAKDOWNS, "outcome", "status_code"),
            _DAY,
            number,
        ),
        _sessions("sessions_by_day", tuple(c for c in dimensions if c not in per_model), _DAY, number),
    )


def _backfilled(rollups: tuple[Rollup, ...]) -> tuple[tuple[Rollup, Rollup | None], ...]:
    """Each rollup of a schema with the one it is backfilled from: hourly ones from raw rows (None), daily ones from
    the hourly rollup of their family (an order of magnitude fewer rows)."""
    hourly = {rollup.table.split("_by_")[0]: rollup for rollup in rollups if rollup.grain_s == _HOUR}
    return tuple(
        (rollup, None if rollup.grain_s == _HOUR else hourly[rollup.table.split("_by_")[0]]) for rollup in rollups
    )


# Earlier schemas, frozen: their migrations are built from them.
_DIMENSIONS_V2 = ("person", "team", "department", "cost_center", "model", "repository", "terminal_type", "version")
_ORG_CHART_V3 = ("person", "team", "department", "cost_center")
_VERSION_3 = _schema(_DIMENSIONS_V2, _ORG_CHART_V3, _FLOAT)
VERSION_2 = _backfilled(_VERSION_3[:3])
"""Schema version 2: the hourly rollups, with eight dimensions and float sums."""
VERSION_3 = _backfilled(_VERSION_3)[3:]
"""Schema version 3: the daily rollups next to them."""
_VERSION_4 = _schema(DIMENSION_COLUMNS, (*_ORG_CHART_V3, "organization_id"), _EXACT)
(
    METRICS_BY_HOUR,
    EVENTS_BY_HOUR,
    SESSIONS_BY_HOUR,
    METRICS_BY_DAY_AND_PERSON,
    METRICS_BY_DAY,
    EVENTS_BY_DAY_AND_PERSON,
    EVENTS_BY_DAY,
    SESSIONS_BY_DAY,
) = _VERSION_4
VERSION_4 = _backfilled(_VERSION_4)
"""Schema version 4: every dimension (project, provider and organisation too), exact sums."""

_TIMED = ("tool_name", "model", "provider")
_ORG_CHART = ("team", "department", "cost_center", "organization_id")
DURATIONS_BY_HOUR = _durations("durations_by_hour", ("tool_name", *DIMENSION_COLUMNS), _HOUR)
DURATIONS_BY_HOUR_AND_TEAM = _durations(
    "durations_by_hour_and_team", (*_TIMED, *_ORG_CHART), _HOUR, fed_by=DURATIONS_BY_HOUR
)
DURATIONS_BY_DAY_AND_PERSON = dataclasses.replace(
    _durations("durations_by_day_and_person", (*_TIMED, "person", *_ORG_CHART), _DAY, fed_by=DURATIONS_BY_HOUR),
    # It is read for one person (or a few): their rows first, not every person's rows of the range.
    order_by=f"event_name, person, hour, {', '.join((*_TIMED, *_ORG_CHART))}",
)
DURATIONS_BY_DAY = _durations("durations_by_day", (*_TIMED, *_ORG_CHART), _DAY, fed_by=DURATIONS_BY_HOUR)
VERSION_14 = (
    (DURATIONS_BY_HOUR, None),
    (DURATIONS_BY_HOUR_AND_TEAM, DURATIONS_BY_HOUR),
    (DURATIONS_BY_DAY_AND_PERSON, DURATIONS_BY_HOUR),
    (DURATIONS_BY_DAY, DURATIONS_BY_HOUR),
)
"""Schema version 14: the durations rollups, each with the one it is backfilled from: the hourly one, with every
column, from raw rows; the others from it (which also rebuilds them when a person is erased). Only the hourly one
keeps every dimension: a filter on the repository, project, terminal or version reads it; the others keep what the
dashboards group and are scoped by."""
CURRENT = (*VERSION_4, *VERSION_14)
"""Every rollup of today's schema and the one it is rebuilt from (None: the raw rows)."""
ROLLUPS = tuple(rollup for rollup, _ in CURRENT)

# The tiers the analytics layer chooses from, smallest first; the last of each has every column.
METRICS = (METRICS_BY_DAY_AND_PERSON, METRICS_BY_DAY, METRICS_BY_HOUR)
EVENTS = (EVENTS_BY_DAY_AND_PERSON, EVENTS_BY_DAY, EVENTS_BY_HOUR)
SESSIONS = (SESSIONS_BY_DAY, SESSIONS_BY_HOUR)
DURATIONS = (DURATIONS_BY_DAY, DURATIONS_BY_DAY_AND_PERSON, DURATIONS_BY_HOUR_AND_TEAM, DURATIONS_BY_HOUR)
