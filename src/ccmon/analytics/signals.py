"""Alerting's questions about telemetry: each a number per label set over a query's range, scope and filters.

The alert rules (`ccmon.alerts.signals`) ask these on an interval, so each is one or two aggregate reads of the
smallest rollup that has the columns it needs (`analytics.rollup`), never of the raw tables (but for the partial
hours at the range's ends, as every rollup read). Every answer is a list of `Point`s, one per group of the asked
`group_by` labels; a question over no rows at all answers no point (so a rule can tell "no data" from "zero").

Labels are dimension names (`person`, `team`, ... as `ccmon.analytics.DIMENSIONS`, plus `session_id`); a group whose
dimension is empty is labelled `(unknown)`, as everywhere in analytics. `analytics` cannot import `alerts`, hence a
`Point` of its own, which `ccmon.alerts.signals` turns into the rule engine's `Sample`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ccmon.analytics.cost import COST, TOKENS
from ccmon.analytics.query import DIMENSIONS, Query, label_sql
from ccmon.analytics.results import number
from ccmon.analytics.rollup import rollup_rows
from ccmon.analytics.timerange import InvalidQuery, TimeRange
from ccmon.store.facade import Store
from ccmon.store.rollups import EVENTS, METRICS, SESSIONS, Rollup

LABEL_COLUMNS = {**DIMENSIONS, "session_id": "session_id"}
"""Every label a signal can split by, and its column."""
TOKEN_TYPES = {"input": "input", "output": "output", "cache_read": "cacheRead", "cache_creation": "cacheCreation"}
"""Token types as the API names them (`cost.tokens_over_time`), and as Claude Code sends them."""


@dataclass(frozen=True)
class Point:
    """One answer of a signal: its labels (a value per `group_by` label) and its value."""

    labels: dict[str, str]
    value: float


class Signals:
    """The questions, over one store. Each takes a `Query` (so the range, the caller's scope and the filters apply)
    and the labels to split by."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def cost(self, query: Query, group_by: Sequence[str] = ()) -> list[Point]:
        """USD spent over the range (the `claude_code.cost.usage` counter)."""
        return self._metric_sum(query, group_by, COST)

    def tokens(self, query: Query, group_by: Sequence[str] = (), token_types: Sequence[str] = ()) -> list[Point]:
        """Tokens used over the range, of every type or of the given ones (`input`, `output`, `cache_read`,
        `cache_creation`)."""
        if not token_types:
            return self._metric_sum(query, group_by, TOKENS)
        return self._metric_sum(
            query,
            group_by,
            TOKENS,
            uses=("type",),
            where="type IN {token_types:Array(String)}",
            token_types=_stored_types(token_types),
        )

    def tokens_per_session(
        self, query: Query, group_by: Sequence[str] = (), token_types: Sequence[str] = ()
    ) -> list[Point]:
        """Each session's tokens within the range, of every type (cache included) or of the given ones, labelled
        with its `session_id` and `person` besides `group_by`; data without a session id is left out.

        Every type: from the sessions rollups. Some types: no rollup keeps both the session and the token type, so
        from the raw data points, read by their sort key (the metric, then the time) and so only the window's."""
        labels = _unique(("session_id", "person", *group_by))
        if not token_types:
            return self._grouped(SESSIONS, query, labels, "sum(tokens)", where="session_id != ''")
        columns = _columns(labels)
        where, params = query.where()
        rows = self._store.query(
            f"SELECT {_select_labels(columns)} sum(value) AS value, count() AS n FROM metric_points "
            f"WHERE metric_name = {{metric:String}} AND type IN {{token_types:Array(String)}} AND session_id != '' "
            f"AND {where} {_group_clause(columns)}",
            params | {"metric": TOKENS, "token_types": _stored_types(token_types)},
        )
        return [Point(_labels(labels, row), number(row[-2])) for row in rows if row[-1]]

    def sessions(self, query: Query, group_by: Sequence[str] = ()) -> list[Point]:
        """Distinct sessions with any data in the range (by person: each person's sessions)."""
        return self._grouped(SESSIONS, query, group_by, "uniqExactIf(session_id, session_id != '')")

    def active_people(self, query: Query, group_by: Sequence[str] = ()) -> list[Point]:
        """Distinct people with any event or data point in the range."""
        return self._grouped(SESSIONS, query, group_by, "uniqExactIf(person, person != '')")

    def api_error_rate(self, query: Query, group_by: Sequence[str] = (), min_requests: float = 0) -> list[Point]:
        """api_error events / (api_request + api_error events), in percent (0-100), as `engineering.errors` counts
        them. Groups with fewer than `min_requests` requests (both kinds) are left out: one failed request out of
        one is no spike."""
        columns = _columns(group_by)
        source, params = rollup_rows(
            EVENTS, query, uses=("event_name", *columns), where="event_name IN ('api_request', 'api_error')"
        )
        rows = self._store.query(
            f"SELECT {_select_labels(columns)} sumIf(events, event_name = 'api_error') AS failed, "
            f"sum(events) AS total FROM ({source}) {_group_clause(columns)}",
            params,
        )
        points = []
        for row in rows:
            failed, total = number(row[-2]), number(row[-1])
            if total > 0 and total >= min_requests:
                points.append(Point(_labels(group_by, row), 100 * failed / total))
        return points

    def silence_hours(self, query: Query, group_by: Sequence[str]) -> list[Point]:
        """For each group (e.g. each team) that sent anything in the range: hours from its last event or data point
        to the range's end (the evaluation's `now`). The range is the look-back: a group silent for longer is
        forgotten, not alerted on forever."""
        if not group_by:
            raise InvalidQuery("silence_hours: group_by must name what goes silent (e.g. team or person)")
        now = query.time_range.end
        columns = _columns(group_by)
        source, params = rollup_rows(SESSIONS, query, uses=columns)
        rows = self._store.query(
            f"SELECT {_select_labels(columns)} toUnixTimestamp64Nano(max(last_ts)) AS last, count() AS n "
            f"FROM ({source}) {_group_clause(columns)}",
            params,
        )
        now_ns = (now - _EPOCH) // timedelta(microseconds=1) * 1000
        return [Point(_labels(group_by, row), max(0.0, (now_ns - int(row[-2])) / 3.6e12)) for row in rows if row[-1]]

    def cost_anomaly(
        self,
        query: Query,
        group_by: Sequence[str] = (),
        baseline_days: float = 7,
        min_baseline_usd: float = 1,
    ) -> list[Point]:
        """Cost over the range divided by the average cost of a range of the same length over the `baseline_days`
        before it (3: three times the usual spend). Groups whose average baseline is below `min_baseline_usd` are
        left out: from nearly nothing, any spend is a large multiple."""
        if baseline_days <= 0:
            raise InvalidQuery("baseline_days: must be positive")
        span = query.time_range.end - query.time_range.start
        baseline_span = timedelta(days=baseline_days)
        if baseline_span < span:
            raise InvalidQuery("baseline_days: the baseline must be at least as long as the window")
        start = query.time_range.start
        baseline = query.with_range(TimeRange(start - baseline_span, start))
        windows = baseline_span / span
        usual = {_key(p.labels): p.value / windows for p in self.cost(baseline, group_by)}
        now = {_key(p.labels): p for p in self.cost(query, group_by)}
        points = []
        for key, average in sorted(usual.items()):
            if average >= min_baseline_usd and average > 0:
                current = now.get(key)
                points.append(Point(dict(key), (current.value if current else 0.0) / average))
        return points

    def _metric_sum(
        self,
        query: Query,
        group_by: Sequence[str],
        metric: str,
        *,
        uses: tuple[str, ...] = (),
        where: str = "1",
        **extra: Any,
    ) -> list[Point]:
        return self._grouped(
            METRICS,
            query,
            group_by,
            "sum(value)",
            uses=("metric_name", *uses),
            where=f"metric_name = {{metric:String}} AND {where}",
            metric=metric,
            **extra,
        )

    def _grouped(
        self,
        tiers: Sequence[Rollup],
        query: Query,
        group_by: Sequence[str],
        measure: str,
        *,
        uses: tuple[str, ...] = (),
        where: str = "1",
        **extra: Any,
    ) -> list[Point]:
        """`measure` per group of `group_by` over the rollup rows of `query`; no point where no row was read."""
        columns = _columns(group_by)
        source, params = rollup_rows(tiers, query, uses=(*uses, *columns), where=where)
        rows = self._store.query(
            f"SELECT {_select_labels(columns)} {measure} AS value, count() AS n FROM ({source}) "
            f"{_group_clause(columns)}",
            params | extra,
        )
        return [Point(_labels(group_by, row), number(row[-2])) for row in rows if row[-1]]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _stored_types(token_types: Sequence[str]) -> list[str]:
    unknown = [name for name in token_types if name not in TOKEN_TYPES]
    if unknown:
        raise InvalidQuery(f"type: {', '.join(unknown)} is not one of {', '.join(TOKEN_TYPES)}")
    return [TOKEN_TYPES[name] for name in token_types]


def _unique(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def _columns(group_by: Sequence[str]) -> tuple[str, ...]:
    unknown = [name for name in group_by if name not in LABEL_COLUMNS]
    if unknown:
        raise InvalidQuery(f"group_by: {', '.join(unknown)} is not one of {', '.join(LABEL_COLUMNS)}")
    return tuple(LABEL_COLUMNS[name] for name in group_by)


def _select_labels(columns: Sequence[str]) -> str:
    return "".join(f"{label_sql(column)} AS g{i}, " for i, column in enumerate(columns))


def _group_clause(columns: Sequence[str]) -> str:
    """Grouped: by the labels, every group with a row; ungrouped: the one aggregate row (`count()` tells whether
    any row was read)."""
    return f"GROUP BY {', '.join(f'g{i}' for i in range(len(columns)))}" if columns else ""


def _labels(group_by: Sequence[str], row: Sequence[Any]) -> dict[str, str]:
    return {name: str(row[i]) for i, name in enumerate(group_by)}


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))
