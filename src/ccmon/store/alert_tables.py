"""Tables of alerting's state (migration 9): rules, their instances and history, silences, notification deliveries,
budgets, model policies, and the lease that makes exactly one ccmon process evaluate.

Definitions (rules, budgets, policies, silences) are JSON in a `definition` column of a `ReplacingMergeTree`
versioned by `updated_at`, like the other state tables (`ccmon.store.state_tables`): a change is a new row read back
with `FINAL`, a deletion a row with `deleted = 1`. The JSON shape is the code's (`ccmon.alerts`), not the schema's.
"""

from __future__ import annotations


def _definitions(table: str) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS {table} (
    id String,
    definition String,
    source LowCardinality(String),
    deleted Bool,
    updated_by String,
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id
"""


ALERT_TABLES: tuple[str, ...] = (
    _definitions("alert_rules"),
    _definitions("alert_silences"),
    _definitions("budgets"),
    _definitions("model_policies"),
    """
CREATE TABLE IF NOT EXISTS alert_instances (
    rule_id String,
    fingerprint String,
    labels Map(String, String),
    state LowCardinality(String),
    severity LowCardinality(String),
    value Float64,
    summary String,
    active_since Nullable(DateTime64(6, 'UTC')),
    fired_at Nullable(DateTime64(6, 'UTC')),
    resolved_at Nullable(DateTime64(6, 'UTC')),
    last_eval DateTime64(6, 'UTC'),
    last_notified Nullable(DateTime64(6, 'UTC')),
    deleted Bool,
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (rule_id, fingerprint)
""",
    """
CREATE TABLE IF NOT EXISTS alert_history (
    ts DateTime64(6, 'UTC'),
    rule_id String,
    fingerprint String,
    labels Map(String, String),
    from_state LowCardinality(String),
    to_state LowCardinality(String),
    severity LowCardinality(String),
    value Float64,
    summary String
)
ENGINE = MergeTree
ORDER BY ts
TTL toDateTime(ts) + INTERVAL 400 DAY
""",
    """
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id String,
    channel String,
    kind LowCardinality(String),
    rule_id String,
    group_key String,
    status LowCardinality(String),
    notification String,
    state LowCardinality(String),
    attempts UInt16,
    last_status UInt16,
    last_error String,
    next_attempt_at DateTime64(6, 'UTC'),
    created_at DateTime64(6, 'UTC'),
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id
TTL toDateTime(created_at) + INTERVAL 90 DAY
""",
    """
CREATE TABLE IF NOT EXISTS leases (
    name String,
    holder String,
    term_start DateTime64(6, 'UTC'),
    expires_at DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (name, expires_at)
TTL toDateTime(expires_at) + INTERVAL 1 DAY
""",
)
"""Migration 9: alert rules, instances, history, silences, deliveries, budgets, model policies, the evaluation lease."""
