"""Claude Code's counters as Prometheus series: one cumulative value per label set, for `/metrics/claude-code`.

Claude Code sends its counters as deltas (or cumulatives that ingest turns into increments); the Collector's
`prometheus` exporter sums them in memory and forgets a series it has not seen for 5 minutes, so a counter recorded
once (a session's `session.count`, a commit) vanishes from Prometheus. Here a series' value is the sum of every stored
increment of its label set since the start of retention, and a series never expires.

Where it is read from (the scrape must stay cheap as the store grows):
- without session labels, from the smallest rollup that keeps every label column (`analytics.rollup`): the hourly
  metrics rollup when the person is a label (no daily rollup keeps both the person and the model), the daily one for
  a caller who sees aggregates only (no person label). Rollups keep their own, usually longer, retention.
- with session labels (`prometheus_session_labels`, for a caller who may see them), from the raw data points: no
  rollup keeps the session id.
Sums are exact decimals either way (`store.rollups.exact`), so the same data gives the same digits however it is
read and added up. `claude_code_series` computes the series from everything stored; a server keeps them up to date
between scrapes instead (`prom_cache`), at the cost of what arrived since the last scrape (bench/prometheus.py).

The cardinality guard keeps the `max_series` most recently active series (latest increment first); how many were
left out is reported with the series (`Exposition.dropped`), which the exposition carries as a gauge.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ccmon.analytics.prom_names import CLAUDE_CODE_METRICS, PromMetric, label_columns
from ccmon.analytics.query import Query
from ccmon.analytics.results import number
from ccmon.analytics.rollup import rollup_rows
from ccmon.analytics.scope import Scope
from ccmon.analytics.timerange import ALL_TIME
from ccmon.store.facade import Store
from ccmon.store.rollups import METRICS, Rollup, exact

_BY_OTEL_NAME = {metric.otel_name: metric for metric in CLAUDE_CODE_METRICS}
_ORDER = {metric.otel_name: index for index, metric in enumerate(CLAUDE_CODE_METRICS)}
_METRICS_SQL = "metric_name IN {prom_metrics:Array(String)}"


@dataclass(frozen=True)
class PromSeries:
    metric: PromMetric
    labels: tuple[tuple[str, str], ...]
    """(label, value) in exposition order; empty values left out (to Prometheus an empty label is no label)."""
    value: float
    rendered: str = field(default="", compare=False, repr=False)
    """The sample's name and labels in the text format, when known already (`sample` makes it otherwise):
    rendering every label set at every scrape costs more than the rest of a scrape kept up to date."""

    @property
    def sample(self) -> str:
        return self.rendered or f"{self.metric.name}{_labels(self.labels)}"


@dataclass(frozen=True)
class Exposition:
    series: Sequence[PromSeries]
    """The series kept, grouped by metric in `CLAUDE_CODE_METRICS` order."""
    dropped: int
    """Series left out by the cardinality guard."""


@dataclass(frozen=True)
class SeriesSource:
    """Where one caller's series are read from: rows of `keys` (the metric name, then the label columns) with an
    exact decimal `value` (sums of decimals do not depend on the order rows are added in, so the same data always
    gives the same digits, however it is read), `points` (how many data points) and `latest`, the row's time as an
    integer (the rollup's hour in seconds, or a raw point's time in nanoseconds) for the cardinality guard."""

    columns: Mapping[str, str]
    """Column -> Prometheus label, in exposition order."""
    query: Query
    tier: Rollup | None
    """The metrics rollup read; None: the raw points (session labels)."""

    @property
    def keys(self) -> tuple[str, ...]:
        return ("metric_name", *self.columns)

    def stored(self) -> tuple[str, dict[str, Any]]:
        """Every stored row of the caller's series."""
        if self.tier is None:
            return self.raw("1")
        sql, params = rollup_rows(METRICS, self.query, uses=self.keys, where=_METRICS_SQL)
        return self._rows(f"({sql})"), params | {"prom_metrics": list(_BY_OTEL_NAME)}

    def raw(self, condition: str) -> tuple[str, dict[str, Any]]:
        """The raw points matching `condition` (on `metric_points`) as the rows `stored` reads: through the tier's
        own SELECT (its materialized view's query) when a rollup is read, so both add up to the digit."""
        where, params = self.query.where()
        where = f"{where} AND {_METRICS_SQL} AND {condition}"
        params |= {"prom_metrics": list(_BY_OTEL_NAME)}
        if self.tier is not None:
            return self._rows(f"({self.tier.select('metric_points', None, where)})"), params
        measures = f"{exact('value')} AS value, toInt64(1) AS points, toUnixTimestamp64Nano(ts) AS latest"
        return f"SELECT {', '.join(self.keys)}, {measures} FROM metric_points WHERE {where}", params

    def _rows(self, rollup_rows: str) -> str:
        measures = "value, toInt64(points) AS points, toUnixTimestamp(hour) AS latest"
        return f"SELECT {', '.join(self.keys)}, {measures} FROM {rollup_rows}"


def series_source(scope: Scope, *, session_labels: bool) -> SeriesSource:
    """The source of `scope`'s series: the raw points when they carry the session (no rollup keeps it), otherwise
    the smallest metrics rollup with every label column (the one `rollup_rows` reads for the whole range)."""
    columns = label_columns(session_labels=session_labels, per_person=scope.per_person)
    query = Query(ALL_TIME, scope)
    if "session_id" in columns:  # (not for a viewer, who gets no session label: the rollups answer)
        return SeriesSource(columns, query, None)
    needed = {"metric_name", *columns} | scope.columns
    return SeriesSource(columns, query, next(tier for tier in METRICS if needed <= set(tier.column_names)))


def claude_code_series(store: Store, scope: Scope, *, session_labels: bool, max_series: int) -> Exposition:
    """Every series of Claude Code's counters the caller's `scope` may see, cumulative since the start of
    retention, the `max_series` most recently active ones when there are more: computed from everything stored
    (what `prom_cache.PromSeriesCache` keeps up to date between scrapes, and what it must always equal)."""
    if max_series < 1:
        raise ValueError("max_series: at least one series")
    source = series_source(scope, session_labels=session_labels)
    sql, params = source.stored()
    keys = ", ".join(source.keys)
    # `count() OVER ()` counts the groups before LIMIT: the kept and the dropped in one read.
    rows = store.query(
        f"SELECT {keys}, sum(value) AS total, max(latest) AS last, count() OVER () AS groups "
        f"FROM ({sql}) GROUP BY {keys} ORDER BY last DESC, {keys} LIMIT {{prom_limit:UInt64}}",
        params | {"prom_limit": max_series},
    )
    groups = int(rows[0][-1]) if rows else 0
    width = len(source.keys)
    return exposition(source, ((tuple(row[:width]), row[width]) for row in rows), groups - len(rows))


def exposition(source: SeriesSource, kept: Iterable[tuple[tuple[str, ...], Decimal]], dropped: int) -> Exposition:
    """The series of (keys, total) pairs, in exposition order."""
    series = [valued(shown(source, key), number(total)) for key, total in kept]
    series.sort(key=exposition_order)
    return Exposition(series, dropped)


def shown(source: SeriesSource, key: tuple[str, ...]) -> PromSeries:
    """The series of `source.keys` values `key`, rendered, without a value yet."""
    labels = source.columns.values()
    metric = _BY_OTEL_NAME[key[0]]
    kept = tuple((label, value) for label, value in zip(labels, key[1:], strict=True) if value)
    return PromSeries(metric, kept, 0.0, f"{metric.name}{_labels(kept)}")


def valued(series: PromSeries, value: float) -> PromSeries:
    return PromSeries(series.metric, series.labels, value, series.rendered)


def exposition_order(series: PromSeries) -> tuple[int, str]:
    """Metrics in `CLAUDE_CODE_METRICS` order (each family's samples together, as the text format requires), then
    by the rendered sample (comparing strings is what makes sorting 20,000 series cheap)."""
    return _ORDER[series.metric.otel_name], series.sample


DROPPED_GAUGE = "ccmon_prometheus_series_dropped"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus's text exposition format 0.0.4: what every Prometheus scrapes. No OpenMetrics (its `_created` series
would let Prometheus 2.50+ count a new series' first value in `increase()`, but Debian's Prometheus is 2.42)."""


def render(exposition: Exposition) -> str:
    """The series in Prometheus's text format: each metric's HELP and TYPE (every metric, even one without a series
    yet), its series, then the guard's gauge."""
    by_metric: dict[str, list[PromSeries]] = {}
    for one in exposition.series:
        by_metric.setdefault(one.metric.otel_name, []).append(one)
    lines: list[str] = []
    for metric in CLAUDE_CODE_METRICS:
        lines += [f"# HELP {metric.name} {_escape_help(metric.help)}", f"# TYPE {metric.name} counter"]
        lines += [f"{one.sample} {format_value(one.value)}" for one in by_metric.get(metric.otel_name, ())]
    lines += [
        f"# HELP {DROPPED_GAUGE} Series of /metrics/claude-code left out by the cardinality guard "
        "(prometheus_max_series), the least recently active first.",
        f"# TYPE {DROPPED_GAUGE} gauge",
        f"{DROPPED_GAUGE} {exposition.dropped}",
    ]
    return "\n".join(lines) + "\n"


def format_value(value: float) -> str:
    """A sample value as Prometheus reads it (Go's ParseFloat): whole numbers without a fraction, others in Python's
    shortest round-trip form."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_escape_value(value)}"' for name, value in labels) + "}"


def _escape_value(value: str) -> str:
    """A label value in the text format: backslash, double quote and line feed escaped, nothing else (any other
    character, a carriage return included, is taken as it is)."""
    if "\\" not in value and '"' not in value and "\n" not in value:
        return value  # (nearly every value: a scrape escapes hundreds of thousands)
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")
