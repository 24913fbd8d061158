"""Storing the 5 h / 7 d usage-limit reports `ccmon statusline` sends (`POST /api/v1/client/statusline`): one row of
the `rate_limits` table per report and window, written through the store facade.

A separate, clearly named series: Claude Code's telemetry does not carry these limits (reference §4), so they are
not mixed into the metric points; `ccmon.analytics.limits` reads them, `ccmon forget` erases them (their `person`
and `session_id` columns), and they are kept as long as the raw metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ccmon.onboarding.statusline import WINDOWS, LimitReport
from ccmon.store.facade import Store
from ccmon.store.records import insert_rows

TABLE = "rate_limits"
SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("ms", tz="UTC")),
        ("person", pa.string()),
        ("session_id", pa.string()),
        ("team", pa.string()),
        ("department", pa.string()),
        ("cost_center", pa.string()),
        ("window", pa.string()),
        ("used_pct", pa.float64()),
        ("resets_at", pa.timestamp("s", tz="UTC")),
        ("model", pa.string()),
        ("source", pa.string()),
    ]
)


def limit_rows(report: LimitReport) -> list[Mapping[str, Any]]:
    """The report's rows, one per window it holds (in `WINDOWS` order); none without a person."""
    if not report.person:
        return []
    at = datetime.fromtimestamp(report.at, UTC)
    return [
        {
            "ts": at,
            "person": report.person,
            "session_id": report.session_id,
            "team": report.team,
            "department": report.department,
            "cost_center": report.cost_center,
            "window": window,
            "used_pct": limit.used_pct,
            "resets_at": None if limit.resets_at is None else datetime.fromtimestamp(limit.resets_at, UTC),
            "model": report.model,
            "source": report.source,
        }
        for window in WINDOWS
        if (limit := report.limits.get(window)) is not None
    ]


def record_limits(store: Store) -> Callable[[LimitReport], int]:
    """What the statusline route calls with each report: stores its rows, returns how many."""

    def record(report: LimitReport) -> int:
        rows = limit_rows(report)
        insert_rows(store, TABLE, SCHEMA, rows)
        return len(rows)

    return record
