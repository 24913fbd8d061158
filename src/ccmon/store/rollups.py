"""Hourly rollups: what dashboards read instead of raw rows, filled by materialized views as rows are inserted.

Every rollup keeps the hour, all eight filterable dimensions and the columns its queries group by, so any time range
on hour boundaries, scope and filter gives the same answer from the rollup as from the raw rows: the WHERE fragment
of `analytics.query.Query` applies to both unchanged. The raw-row equivalent of each rollup is its materialized
view's own SELECT (`Rollup.select`), which the analytics layer also runs on the raw rows at the partial hours at
either end of a range, and which the tests compare with the rollup on whole datasets.

A rollup's definition is part of the schema: changing one means a new migration that creates a new rollup (and
backfills it), never an edit here.
"""

from __future__ import annotations

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

_DIMENSION_TYPES = """
    person String,
    team LowCardinality(String),
    department LowCardinality(String),
    cost_center LowCardinality(String),
    model LowCardinality(String),
    repository LowCardinality(String),
    terminal_type LowCardinality(String),
    version LowCardinality(String),"""

_DIMENSIONS = ", ".join(DIMENSION_COLUMNS)


@dataclass(frozen=True)
class Rollup:
    table: str
    columns: str
    """Column definitions of the rollup table."""
    order_by: str
    sources: tuple[tuple[str, str], ...]
    """(raw table, SELECT list over it); each becomes a materialized view. `{hour}` is the time column expression."""
    group_by: str

    @property
    def definitions(self) -> list[str]:
        """One `name Type` per column, in table order."""
        return [line.strip() for line in self.columns.strip().rstrip(",").split(",\n")]

    @property
    def names(self) -> str:
        """The rollup's column names, in table order."""
        return ", ".join(definition.split()[0] for definition in self.definitions)

    def select(self, source: str, hour: str = "toStartOfHour(ts)", where: str = "1") -> str:
        """The rollup's rows computed from raw table `source` (with `hour` as its time bucket) for rows matching
        `where`: the materialized view's query, reused for raw-row answers."""
        columns = dict(self.sources)[source].format(hour=hour)
        return f"SELECT {columns} FROM {source} WHERE {where} GROUP BY {self.group_by}"

    def statements(self) -> tuple[str, ...]:
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
        backfill = tuple(f"INSERT INTO {self.table} {self.select(source)}" for source, _ in self.sources)
        return (create, *views, f"TRUNCATE TABLE {self.table}", *backfill)


METRICS_BY_HOUR = Rollup(
    table="metrics_by_hour",
    columns=f"""
    hour DateTime('UTC'),
    metric_name LowCardinality(String),
    type LowCardinality(String),{_DIMENSION_TYPES}
    tool_name LowCardinality(String),
    decision LowCardinality(String),
    decision_source LowCardinality(String),
    language LowCardinality(String),
    value SimpleAggregateFunction(sum, Float64),
    points SimpleAggregateFunction(sum, UInt64)""",
    order_by=f"metric_name, hour, type, {_DIMENSIONS}, tool_name, decision, decision_source, language",
    sources=(
        (
            "metric_points",
            "{hour} AS hour, metric_name, type, "
            f"{_DIMENSIONS}, tool_name, decision, decision_source, language, "
            "sum(value) AS value, toUInt64(count()) AS points",
        ),
    ),
    group_by=f"hour, metric_name, type, {_DIMENSIONS}, tool_name, decision, decision_source, language",
)

EVENTS_BY_HOUR = Rollup(
    table="events_by_hour",
    columns=f"""
    hour DateTime('UTC'),
    event_name LowCardinality(String),{_DIMENSION_TYPES}
    tool_name LowCardinality(String),
    decision LowCardinality(String),
    decision_source LowCardinality(String),
    outcome Int8,
    status_code Int32,
    events SimpleAggregateFunction(sum, UInt64),
    cost_usd SimpleAggregateFunction(sum, Float64),
    input_tokens SimpleAggregateFunction(sum, UInt64),
    output_tokens SimpleAggregateFunction(sum, UInt64),
    cache_read_tokens SimpleAggregateFunction(sum, UInt64),
    cache_creation_tokens SimpleAggregateFunction(sum, UInt64)""",
    order_by=f"event_name, hour, {_DIMENSIONS}, tool_name, decision, decision_source, outcome, status_code",
    sources=(
        (
            "events",
            # outcome: 1 success, 0 failure, -1 not reported (sorting keys cannot be Nullable).
            "{hour} AS hour, event_name, "
            f"{_DIMENSIONS}, tool_name, decision, decision_source, "
            "toInt8(ifNull(toInt8(success), -1)) AS outcome, toInt32(ifNull(status_code, 0)) AS status_code, "
            "toUInt64(count()) AS events, sum(cost_usd) AS cost_usd, sum(input_tokens) AS input_tokens, "
            "sum(output_tokens) AS output_tokens, sum(cache_read_tokens) AS cache_read_tokens, "
            "sum(cache_creation_tokens) AS cache_creation_tokens",
        ),
    ),
    group_by=f"hour, event_name, {_DIMENSIONS}, tool_name, decision, decision_source, outcome, status_code",
)

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

SESSIONS_BY_HOUR = Rollup(
    table="sessions_by_hour",
    columns=f"""
    hour DateTime('UTC'),
    session_id String,{_DIMENSION_TYPES}
    os_type LowCardinality(String),{_SESSION_MEASURES}""",
    order_by=f"hour, session_id, {_DIMENSIONS}, os_type",
    sources=(
        (
            "events",
            "{hour} AS hour, session_id, "
            f"{_DIMENSIONS}, resource['os.type'] AS os_type, min(ts) AS first_ts, max(ts) AS last_ts, "
            "toUInt64(count()) AS events, toUInt64(countIf(event_name = 'user_prompt')) AS prompts, "
            "toUInt64(countIf(event_name = 'api_request')) AS api_requests, "
            "toUInt64(countIf(event_name = 'api_error')) AS errors, "
            "toUInt64(countIf(event_name = 'tool_result')) AS tool_calls, toUInt64(0) AS points, "
            "toFloat64(0) AS cost_usd, toFloat64(0) AS tokens",
        ),
        (
            "metric_points",
            "{hour} AS hour, session_id, "
            f"{_DIMENSIONS}, resource['os.type'] AS os_type, min(ts) AS first_ts, max(ts) AS last_ts, "
            "toUInt64(0) AS events, toUInt64(0) AS prompts, toUInt64(0) AS api_requests, toUInt64(0) AS errors, "
            "toUInt64(0) AS tool_calls, toUInt64(count()) AS points, "
            "sumIf(value, metric_name = 'claude_code.cost.usage') AS cost_usd, "
            "sumIf(value, metric_name = 'claude_code.token.usage') AS tokens",
        ),
    ),
    group_by=f"hour, session_id, {_DIMENSIONS}, os_type",
)

ROLLUPS = (METRICS_BY_HOUR, EVENTS_BY_HOUR, SESSIONS_BY_HOUR)
