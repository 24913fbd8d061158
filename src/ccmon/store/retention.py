"""Retention: how long each kind of table keeps its rows, as ClickHouse TTLs set at start-up.

Each class of table has its own period in days (0 keeps rows forever): the raw telemetry (`events`, `metric_points`,
`spans`: prompt text, tool parameters, error bodies live there), the rollups (numbers per hour or day, what the
dashboards read), and the audit log. A row goes once its time plus the period is past.

`apply_retention` runs at every start-up and changes only what differs from the TTL the table already has (read from
`system.tables`), so changing a setting and restarting is all it takes, and a restart with the same settings touches
nothing. It stays fast on a large table:

- `MODIFY TTL` runs with `materialize_ttl_after_modify = 0`: ClickHouse only records the new rule instead of
  rewriting every part before the statement returns.
- The partitioned tables (every table here but the audit log; partitions are months) get `ttl_only_drop_parts = 1`:
  expired data goes by dropping whole parts, never by rewriting a part to cut some rows out. A row therefore lives
  up to a month longer than its period: its part goes when the newest row of its month has expired.
- `materialize_ttl_recalculate_only = 1` and a background `MATERIALIZE TTL` (not waited for) compute the expiry of
  the parts written before the rule: reading only the time column, they then go at ClickHouse's next TTL merge (in
  seconds when idle). Without it, parts no merge touches again (old months) would never expire.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ccmon.store.facade import Store
from ccmon.store.rollups import ROLLUPS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    """Days kept per class of table; 0 keeps rows forever."""

    events: int = 0
    metrics: int = 0
    spans: int = 0
    rollups: int = 0
    audit: int = 0


@dataclass(frozen=True)
class RetentionTarget:
    table: str
    time: str
    """The SQL of a row's time as a DateTime (a TTL needs Date or DateTime, not DateTime64)."""
    policy_field: str
    """Which `RetentionPolicy` field sets its days."""
    partitioned: bool = True


TARGETS: tuple[RetentionTarget, ...] = (
    RetentionTarget("events", "toDateTime(ts)", "events"),
    RetentionTarget("metric_points", "toDateTime(ts)", "metrics"),
    RetentionTarget("spans", "toDateTime(start_ts)", "spans"),
    *(RetentionTarget(rollup.table, "hour", "rollups") for rollup in ROLLUPS),
    RetentionTarget("audit_log", "toDateTime(ts)", "audit", partitioned=False),
    RetentionTarget("rate_limits", "toDateTime(ts)", "metrics"),
)
"""Every table that keeps rows by time. State tables (users, keys, tokens, the directory) are kept until removed. The
statusline's usage-limit reports (`rate_limits`) are a raw series like the metric points, and kept as long."""

_TTL = re.compile(r"\bTTL (.+?)(?: SETTINGS |$)")
_DROP_PARTS = ("ttl_only_drop_parts", "materialize_ttl_recalculate_only")


@dataclass(frozen=True)
class RetentionChange:
    table: str
    before: str | None
    """The TTL expression the table had; None for none."""
    after: str | None


def ttl_expression(target: RetentionTarget, days: int) -> str | None:
    """The TTL for `days` (as ClickHouse writes it back in `system.tables`); None for keep forever."""
    return f"{target.time} + toIntervalDay({days})" if days > 0 else None


def current_ttl(store: Store, table: str) -> tuple[str | None, str]:
    """The table's TTL expression (None for none) and its whole engine clause."""
    rows = store.query(
        "SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {table:String}",
        {"db": store.database, "table": table},
    )
    if not rows:
        raise LookupError(f"no table {table} in database {store.database}")
    engine = str(rows[0][0])
    found = _TTL.search(engine)
    return (found.group(1).strip() if found else None), engine


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").replace(" ", "") == (b or "").replace(" ", "")


def apply_retention(store: Store, policy: RetentionPolicy) -> list[RetentionChange]:
    """Set every table's TTL to `policy`; returns (and logs) what changed. Idempotent."""
    changes = []
    for target in TARGETS:
        days = getattr(policy, target.policy_field)
        wanted = ttl_expression(target, days)
        before, engine = current_ttl(store, target.table)
        if _same(before, wanted):
            continue
        if wanted is None:
            store.command(f"ALTER TABLE {target.table} REMOVE TTL")
        else:
            if target.partitioned and not all(f"{name} = 1" in engine for name in _DROP_PARTS):
                store.command(f"ALTER TABLE {target.table} MODIFY SETTING {', '.join(f'{n} = 1' for n in _DROP_PARTS)}")
            store.command(f"ALTER TABLE {target.table} MODIFY TTL {wanted} SETTINGS materialize_ttl_after_modify = 0")
            # In the background: start-up does not wait for it (`mutations_sync = 0`).
            store.command(f"ALTER TABLE {target.table} MATERIALIZE TTL SETTINGS mutations_sync = 0")
        log.info(
            "retention of %s: %s",
            target.table,
            f"{days} days" if days else "kept forever",
            extra={"table": target.table, "ttl_before": before, "ttl_after": wanted},
        )
        changes.append(RetentionChange(target.table, before, wanted))
    return changes
