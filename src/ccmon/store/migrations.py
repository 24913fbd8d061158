"""Versioned schema migrations, applied in order at start-up.

A migration is never edited once released: a change to the schema is a new migration. Every statement is idempotent
(`IF NOT EXISTS`), so a start-up interrupted half-way through a migration simply runs it again.

Table design, for time-bounded dashboard queries:
- `events` (one row per log record), `metric_points` (one row per data point, stored as an increment) and `spans`
  are MergeTree tables partitioned by month and ordered by (kind, time, key). They are ReplacingMergeTree on the dedup
  key as a safety net; the writer already drops rows whose key it has stored.
- Version 1's `metrics_hourly` and `events_hourly` rollups (hour, person, team, model) could not answer the other
  filters; version 2 replaces them with `metrics_by_hour`, `events_by_hour` and `sessions_by_hour`
  (`ccmon.store.rollups`), keyed by every filterable dimension, and backfills them from the raw rows.
- Version 3 adds the daily rollups, backfilled from the hourly ones.
- Version 4 adds the derived dimensions `project` and `provider` to the raw tables (`ccmon.store.dimensions`: derived
  here for the rows already stored, by ingest for new ones) and replaces every rollup by one that also keys them and
  the organisation, with exact decimal sums.
- Version 5 remembers the digests of committed export requests (retries after a restart count once).
- Versions 6-8 add ccmon's own state: logins, sessions, API keys, audit log, ingest tokens and the directory
  (`ccmon.store.state_tables`).
- Version 9 adds alerting's state: rules, instances, history, silences, deliveries, budgets, model policies and the
  lease that picks the one evaluating process (`ccmon.store.alert_tables`).
- Version 10 adds `rate_limits`: the 5 h / 7 d usage-limit reports of `ccmon statusline` (Claude Code's telemetry does
  not carry them), one row per report and window, kept like the raw metrics (`ccmon.store.retention`).
- Version 11 keeps the ids of `ccmon doctor`'s test signals for a day (`ccmon.ingest.pings`).
- Version 12 adds `imported_usage`: history imported from Claude Code's transcripts and Anthropic's Admin API
  (`ccmon.imports`), one row per message or per person, day and model, with its source.
- Version 13 adds `report_runs`: the scheduled reports sent (`ccmon.reports.schedule`).
- Version 14 adds the durations rollups (`ccmon.store.rollups.DURATIONS`): per hour or day, the distributions of
  tool durations, API latency and time to first token in log-spaced buckets (`ccmon.store.distribution`), so
  percentiles over long ranges read kilobytes instead of every raw value.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccmon.store.alert_tables import ALERT_TABLES
from ccmon.store.dimensions import project_sql, provider_sql
from ccmon.store.rollups import VERSION_2, VERSION_3, VERSION_4, VERSION_14, Rollup
from ccmon.store.state_tables import AUTH_TABLES, DIRECTORY_TABLES, TOKEN_TABLES

RAW_TABLES = ("events", "metric_points", "spans")


def _create(rollups: tuple[tuple[Rollup, Rollup | None], ...]) -> tuple[str, ...]:
    return tuple(statement for rollup, source in rollups for statement in rollup.statements(backfill_from=source))


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


_IDENTITY = """
    session_id String,
    person String,
    user_email String,
    user_account_uuid String,
    user_id String,
    organization_id LowCardinality(String),
    terminal_type LowCardinality(String),
    service_name LowCardinality(String),
    version LowCardinality(String),
    repository LowCardinality(String),
    team LowCardinality(String),
    department LowCardinality(String),
    cost_center LowCardinality(String),"""

_TAIL = """
    attrs Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    resource Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    dedup_key UInt64,
    ingested_at DateTime('UTC') DEFAULT now(),
    INDEX idx_ingested_at ingested_at TYPE minmax GRANULARITY 1,
    INDEX idx_session_id session_id TYPE bloom_filter GRANULARITY 4"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "events, metric points, spans and hourly rollups",
        (
            f"""
CREATE TABLE IF NOT EXISTS events (
    ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    event_name LowCardinality(String),
    prompt_id String,
    event_sequence Int64,{_IDENTITY}
    model LowCardinality(String),
    tool_name LowCardinality(String),
    decision LowCardinality(String),
    decision_source LowCardinality(String),
    success Nullable(Bool),
    duration_ms Nullable(Float64),
    ttft_ms Nullable(Float64),
    cost_usd Float64,
    input_tokens UInt64,
    output_tokens UInt64,
    cache_read_tokens UInt64,
    cache_creation_tokens UInt64,
    status_code Nullable(Int32),
    attempt Nullable(Int32),
    error String,
    query_source LowCardinality(String),
    speed LowCardinality(String),
    effort LowCardinality(String),
    trace_id String,
    span_id String,
    body String CODEC(ZSTD(3)),{_TAIL}
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (event_name, ts, dedup_key)
""",
            f"""
CREATE TABLE IF NOT EXISTS metric_points (
    ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    start_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    metric_name LowCardinality(String),
    temporality UInt8,
    monotonic Bool,
    value Float64,
    raw_value Float64,
    series_id UInt64,
    type LowCardinality(String),{_IDENTITY}
    model LowCardinality(String),
    tool_name LowCardinality(String),
    decision LowCardinality(String),
    decision_source LowCardinality(String),
    language LowCardinality(String),
    query_source LowCardinality(String),
    speed LowCardinality(String),
    effort LowCardinality(String),{_TAIL}
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (metric_name, ts, dedup_key)
""",
            f"""
CREATE TABLE IF NOT EXISTS spans (
    start_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    end_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    trace_id String,
    span_id String,
    parent_span_id String,
    name LowCardinality(String),
    kind UInt8,
    status_code UInt8,
    status_message String,
    span_type LowCardinality(String),{_IDENTITY}
    model LowCardinality(String),
    tool_name LowCardinality(String),{_TAIL},
    INDEX idx_trace_id trace_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(start_ts)
ORDER BY (start_ts, dedup_key)
""",
            """
CREATE TABLE IF NOT EXISTS metrics_hourly (
    hour DateTime('UTC'),
    metric_name LowCardinality(String),
    type LowCardinality(String),
    team LowCardinality(String),
    person String,
    model LowCardinality(String),
    value SimpleAggregateFunction(sum, Float64),
    points SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, metric_name, type, team, person, model)
""",
            """
CREATE MATERIALIZED VIEW IF NOT EXISTS metrics_hourly_mv TO metrics_hourly AS
SELECT toStartOfHour(ts) AS hour, metric_name, type, team, person, model,
       sum(value) AS value, toUInt64(count()) AS points
FROM metric_points
GROUP BY hour, metric_name, type, team, person, model
""",
            """
CREATE TABLE IF NOT EXISTS events_hourly (
    hour DateTime('UTC'),
    event_name LowCardinality(String),
    team LowCardinality(String),
    person String,
    model LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    cost_usd SimpleAggregateFunction(sum, Float64),
    input_tokens SimpleAggregateFunction(sum, UInt64),
    output_tokens SimpleAggregateFunction(sum, UInt64),
    cache_read_tokens SimpleAggregateFunction(sum, UInt64),
    cache_creation_tokens SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, event_name, team, person, model)
""",
            """
CREATE MATERIALIZED VIEW IF NOT EXISTS events_hourly_mv TO events_hourly AS
SELECT toStartOfHour(ts) AS hour, event_name, team, person, model,
       toUInt64(count()) AS events, sum(cost_usd) AS cost_usd,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(cache_read_tokens) AS cache_read_tokens, sum(cache_creation_tokens) AS cache_creation_tokens
FROM events
GROUP BY hour, event_name, team, person, model
""",
        ),
    ),
    Migration(
        2,
        "rollups by hour and every filterable dimension: metrics_by_hour, events_by_hour, sessions_by_hour",
        (
            "DROP VIEW IF EXISTS metrics_hourly_mv",
            "DROP VIEW IF EXISTS events_hourly_mv",
            "DROP TABLE IF EXISTS metrics_hourly",
            "DROP TABLE IF EXISTS events_hourly",
            *_create(VERSION_2),
        ),
    ),
    Migration(
        3,
        "daily rollups: metrics and events per person or per other dimensions, sessions without the model",
        _create(VERSION_3),
    ),
    Migration(
        4,
        "project and provider dimensions; rollups keyed by them and the organisation, with exact decimal sums",
        (
            *(
                f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS project LowCardinality(String) AFTER repository, "
                "ADD COLUMN IF NOT EXISTS provider LowCardinality(String) AFTER project"
                for table in RAW_TABLES
            ),
            # Rows stored before: derived from what they kept (the default project keys; their attribute maps).
            *(
                f"ALTER TABLE {table} UPDATE project = {project_sql()}, provider = {provider_sql()} WHERE 1 "
                "SETTINGS mutations_sync = 2"
                for table in RAW_TABLES
            ),
            *(statement for rollup, _ in VERSION_4 for statement in rollup.drop_statements()),
            *_create(VERSION_4),
        ),
    ),
    Migration(
        5,
        "digests of the export requests committed, so an exporter's retry is recognised also after a restart",
        (
            """
CREATE TABLE IF NOT EXISTS ingest_requests (
    digest UInt64,
    ingested_at DateTime('UTC') DEFAULT now()
)
ENGINE = MergeTree
ORDER BY ingested_at
TTL ingested_at + INTERVAL 1 DAY
""",
            "CREATE TABLE IF NOT EXISTS ingest_suspects (dedup_key UInt64) ENGINE = MergeTree ORDER BY dedup_key",
        ),
    ),
    Migration(6, "logins, sessions, API keys, the audit log and the server's secrets", AUTH_TABLES),
    Migration(7, "ingest tokens, hashed, with their pinned attributes", TOKEN_TABLES),
    Migration(8, "the directory of people", DIRECTORY_TABLES),
    Migration(
        9,
        "alert rules and their state, silences, deliveries, budgets, model policies, the evaluation lease",
        ALERT_TABLES,
    ),
    Migration(
        10,
        "usage-limit reports of the statusline (5 h / 7 d windows), per person and session",
        (
            """
CREATE TABLE IF NOT EXISTS rate_limits (
    ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    person String,
    session_id String,
    team LowCardinality(String),
    department LowCardinality(String),
    cost_center LowCardinality(String),
    window LowCardinality(String),
    used_pct Float64,
    resets_at Nullable(DateTime('UTC')),
    model LowCardinality(String),
    source LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (person, window, ts)
""",
        ),
    ),
    Migration(
        11,
        "the ids of `ccmon doctor`'s test signals, kept a day",
        (
            """
CREATE TABLE IF NOT EXISTS client_pings (
    ping_id String,
    received_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (ping_id, received_at)
TTL toDateTime(received_at) + INTERVAL 1 DAY
""",
        ),
    ),
    Migration(
        12,
        "usage imported from history (Claude Code's transcripts, Anthropic's Admin API), with its source",
        (
            """
CREATE TABLE IF NOT EXISTS imported_usage (
    day Date,
    ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    source LowCardinality(String),
    person String,
    user_email String,
    team LowCardinality(String),
    department LowCardinality(String),
    cost_center LowCardinality(String),
    project LowCardinality(String),
    terminal_type LowCardinality(String),
    repository LowCardinality(String),
    version LowCardinality(String),
    provider LowCardinality(String),
    organization_id LowCardinality(String),
    session_id String,
    model LowCardinality(String),
    input_tokens UInt64,
    output_tokens UInt64,
    cache_read_tokens UInt64,
    cache_creation_tokens UInt64,
    cache_creation_1h_tokens UInt64,
    cost_usd Float64,
    priced Bool,
    sessions UInt32,
    lines_added UInt64,
    lines_removed UInt64,
    commits UInt32,
    pull_requests UInt32,
    dedup_key UInt64,
    imported_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (day, person, source, dedup_key)
""",
        ),
    ),
    Migration(
        13,
        "the scheduled reports sent, so a report goes out once per period whichever process sends it",
        (
            """
CREATE TABLE IF NOT EXISTS report_runs (
    report LowCardinality(String),
    period_start DateTime('UTC'),
    sent_at DateTime64(3, 'UTC'),
    holder String,
    outcome String
)
ENGINE = MergeTree
ORDER BY (report, period_start, sent_at)
""",
        ),
    ),
    Migration(
        14,
        "durations rollups: tool durations, API latency and time to first token as log-spaced distributions",
        _create(VERSION_14),
    ),
)

MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    description String,
    applied_at DateTime('UTC') DEFAULT now()
)
ENGINE = MergeTree
ORDER BY version
"""
