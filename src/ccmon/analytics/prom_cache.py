"""`/metrics/claude-code` at the cost of what arrived since the last scrape: cumulative totals kept in memory up to
an ingestion watermark, brought up to it by the raw points ingested since, plus the last seconds read afresh.

A series is a sum since the start of retention, so computing it afresh reads the whole hourly rollup (or every raw
point, with session labels): seconds per scrape at 100 developers, every 15-60 s. Instead, per caller variant
(scope and session labels; process memory only, rebuilt on demand; see `PromSeriesCache` for which are kept):

- the totals of every label set (the dropped ones too: one of them may become active) up to a watermark `W`, a
  whole second of the engine's clock `LAG_S` behind its `now()`. Rows are stamped `ingested_at DEFAULT now()` by
  the engine when the batch writer inserts them (the only writer of `metric_points`; imports go to
  `imported_usage`), so every row stamped before `W` has committed by the time it is read;
- each scrape adds the raw points stamped in [old W, new W) (`metric_points` has a minmax index on `ingested_at`)
  to the totals, and shows the points stamped since the new W on top of them without keeping them: a scrape sees
  everything committed, as a computation from everything stored would. Raw points are read through the rollup's
  own SELECT (its materialized view's query), so the sums are the rollup's exact decimals, digit for digit;
- the guard's choice changes only for label sets that received points (their latest time only moves forward), so
  the kept series are the best of the previously kept and the touched ones: no sort of every label set. Rendered
  label sets are kept too (rendering 20,000 of them cost 0.2 s).

What the increments cannot see makes a full rebuild: every `REBUILD_S` for totals read from a rollup (retention of
the rollups, which drops old hours without touching the raw points, shows up then: a delay of at most 10 minutes;
it also ends the race below), a mutation of the raw points
or of a metrics rollup (`ccmon privacy` erasure, directory re-attribution), and any change in the number of raw
points stamped before the watermark that the increments did not bring (retention or deduplication of raw points, a
row that committed later than `LAG_S` after its stamp).

A rebuild from a rollup reads the rollup (everything committed) less the raw points stamped at or after `W`, in one
statement. An insert committing between the two tables' reads would be counted wrongly, so both tables' row counts
are compared before and after the read, which is retried when they moved. Left: an insert whose raw part committed
before the read and whose rollup part after it (its two writes are milliseconds apart), until the next rebuild.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any

from ccmon.analytics.prom_series import (
    Exposition,
    PromSeries,
    SeriesSource,
    exposition_order,
    series_source,
    shown,
    valued,
)
from ccmon.analytics.scope import Scope
from ccmon.store.facade import Store
from ccmon.store.rollups import EXACT_SCALE, METRICS

LAG_S = 2
"""How far behind the engine's `now()` the watermark stays: longer than an insert takes to commit (one that takes
longer costs a rebuild, not a wrong total: see the count check)."""
REBUILD_S = 600.0
CAPACITY = 16
"""Variants kept besides the organisation's (pinned, see `PromSeriesCache`), the least recently scraped evicted
first. A variant costs 0.5-1 KiB per label set of its scope (docs/performance.md): the organisation's 55 MiB at 100
developers x 30 days without session labels, 210 MiB with them; a developer's own ~1/100 of that. The scopes of one
role (`Principal.scope`) are disjoint parts of the organisation (departments, teams, persons) or all of it (finance;
the viewer's, summed over persons, is far smaller): whatever their number, the kept variants hold at most about the
organisation's label sets once per role, and typically far less (16 developers of 100: ~1/6 of the organisation's)."""
_BUILD_ATTEMPTS = 3
_NANOS = 10**EXACT_SCALE
_SINCE = "ingested_at >= toDateTime({prom_high:UInt32})"
_MUTATED_TABLES = ("metric_points", *(tier.table for tier in METRICS))

Key = tuple[str, ...]


@dataclass
class _Totals:
    """One variant's totals up to `watermark` (exclusive, engine seconds)."""

    source: SeriesSource
    watermark: int
    rows_below: int
    """Raw points (all of them, any scope) stamped before the watermark: a change nobody added means a rebuild."""
    mutations: tuple[Any, ...]
    built_at: float
    groups: dict[Key, list[int]] = field(default_factory=dict)
    """Label set -> [total in nano-units, latest]."""
    kept: list[Key] = field(default_factory=list)
    kept_for: int = 0
    """The guard's limit `kept` was chosen with (0: not chosen yet)."""
    shown: dict[Key, PromSeries] = field(default_factory=dict)
    """Each label set ever kept, rendered (once, not at every scrape)."""
    ordered: list[Key] = field(default_factory=list)
    """`kept` in exposition order."""
    position: dict[Key, int] = field(default_factory=dict)
    """Where each of `ordered` is."""
    last: Exposition | None = None
    last_recent: dict[Key, list[int]] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    """Each label value once: hundreds of thousands of label sets share a few thousand values."""
    ranked: bool = True
    """`groups` is in the guard's order (latest first, then by keys): as a build reads them, before any increment."""

    def grouped(self, rows: list[tuple[Any, ...]], width: int) -> dict[Key, list[int]]:
        """Rows of (keys..., sum, latest) as label set -> [total in nano-units, latest], in the rows' order."""
        if "session_id" not in self.source.keys:
            return {row[:width]: [_nanos(row[width]), int(row[width + 1])] for row in rows}
        # The driver shares the strings of LowCardinality columns, not those of the session ids: each session id
        # is kept once (a session has dozens of label sets).
        at, same = self.source.keys.index("session_id"), self.values.setdefault
        return {
            (*row[:at], same(row[at], row[at]), *row[at + 1 : width]): [_nanos(row[width]), int(row[width + 1])]
            for row in rows
        }

    def _shown(self, key: Key) -> PromSeries:
        shown_before = self.shown.get(key)
        if shown_before is None:
            shown_before = self.shown[key] = shown(self.source, key)
        return shown_before

    def add(self, groups: dict[Key, list[int]]) -> None:
        if not self.groups:
            self.groups = groups  # (a build's, ranked)
            return
        self.ranked = False
        for key, (nanos, latest) in groups.items():
            group = self.groups.get(key)
            if group is None:
                self.groups[key] = [nanos, latest]
            else:
                group[0] += nanos
                group[1] = max(group[1], latest)

    def choose(self, max_series: int, touched: set[Key], recent: dict[Key, list[int]]) -> Exposition:
        """The `max_series` most recently active label sets (latest first, then by keys, as the SQL orders them) of
        the totals with the `recent` points (stamped since the watermark) added; the previous answer when nothing
        arrived.

        The kept label sets are chosen among the previously kept and those that received points: any other was
        ranked below every kept one, and a label set's latest time only moves forward."""
        if self.last is not None and not touched and self.kept_for == max_series and recent == self.last_recent:
            return self.last
        groups = self.groups
        merged = {
            key: [groups[key][0] + nanos, max(groups[key][1], latest)] if key in groups else [nanos, latest]
            for key, (nanos, latest) in recent.items()
        }

        def current(key: Key) -> list[int]:
            return merged.get(key) or groups[key]

        latest = (lambda key: (-current(key)[1], key)) if merged else (lambda key: (-groups[key][1], key))

        if self.kept_for == max_series:
            candidates = {key for key in self.kept if key in groups or key in merged} | touched | merged.keys()
        elif self.ranked:  # (as the build read them: the first are the most recently active)
            candidates = set(islice(groups, max_series)) | merged.keys()
        else:
            candidates = groups.keys() | merged.keys()
        self.kept = sorted(candidates, key=latest)[:max_series]
        changed = touched | recent.keys() | self.last_recent.keys()
        self.kept_for, self.last_recent = max_series, recent
        # (int / int is correctly rounded, as float() of the Decimal SQL returns: the same float.)
        if self.last is not None and set(self.kept) == set(self.ordered):
            series = list(self.last.series)  # the same series in the same order: new values of some only
            for key in changed:
                if (index := self.position.get(key)) is not None:
                    series[index] = valued(self._shown(key), current(key)[0] / _NANOS)
        else:
            self.ordered = sorted(self.kept, key=lambda key: exposition_order(self._shown(key)))
            self.position = {key: index for index, key in enumerate(self.ordered)}
            series = [valued(self._shown(key), current(key)[0] / _NANOS) for key in self.ordered]
        every = len(groups) + sum(1 for key in merged if key not in groups)
        self.last = Exposition(series, every - len(self.kept))
        return self.last


@dataclass
class _Variant:
    """A variant's totals (None until built) and the lock its scrapes take in turn."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    totals: _Totals | None = None
    scrapes: int = 0
    """Scrapes holding or awaiting `lock` (counted under the cache's lock): the variant is not evicted meanwhile, so
    two scrapes of a variant always share one lock."""


Variant = tuple[Scope, bool]
"""A caller's scope and whether series carry session labels."""


class PromSeriesCache:
    """Per-variant cumulative totals for `/metrics/claude-code` (see the module's docstring). Thread-safe: scrapes
    of one variant are serialized, each bringing the totals up to date for the next; scrapes of different variants
    run concurrently (a build takes seconds: a developer's first scrape must not make Prometheus's time out). The
    cache's own lock is held only for bookkeeping: finding and evicting variants, counting rebuilds.

    The organisation's variants (`Scope.everyone()`: a scrape token's, as an admin's) are pinned: Prometheus scrapes
    them every 15-60 s and a rebuild costs seconds, so no number of other callers may evict them. The others (any
    credential the API accepts may scrape, with its role's scope) share `capacity` places, least recently scraped
    evicted first: beyond that many callers scraping in turn, each of their scrapes is a build of their own scope,
    which delays them, not Prometheus. Computing them afresh at every scrape instead would cost the same build each
    time: a few callers scraping every 15 s would keep the engine busy."""

    def __init__(
        self,
        *,
        capacity: int = CAPACITY,
        lag_s: int = LAG_S,
        rebuild_s: float = REBUILD_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity, self.lag_s, self.rebuild_s, self.clock = capacity, lag_s, rebuild_s, clock
        self.rebuilds = 0
        """Full rebuilds so far (for tests and the benchmark)."""
        self._variants: OrderedDict[Variant, _Variant] = OrderedDict()
        """Least recently scraped first; the pinned ones too (never evicted)."""
        self._lock = threading.Lock()

    def series(self, store: Store, scope: Scope, *, session_labels: bool, max_series: int) -> Exposition:
        """What `prom_series.claude_code_series` answers: the totals up to the watermark, brought up to it, plus
        the points stamped since (read at every scrape, the last `LAG_S` seconds: a scrape misses nothing)."""
        if max_series < 1:
            raise ValueError("max_series: at least one series")
        key = (scope, session_labels)
        with self._lock:
            variant = self._variants.get(key)
            if variant is None:
                variant = self._variants[key] = _Variant()
            self._variants.move_to_end(key)
            variant.scrapes += 1
        try:
            with variant.lock:
                return self._scrape(store, variant, series_source(scope, session_labels=session_labels), max_series)
        finally:
            with self._lock:
                variant.scrapes -= 1
                self._evict()

    def _scrape(self, store: Store, variant: _Variant, source: SeriesSource, max_series: int) -> Exposition:
        """Bring `variant` up to date and answer (under its lock)."""
        totals = variant.totals
        watermark = int(store.query(f"SELECT toUnixTimestamp(now()) - {int(self.lag_s)}")[0][0])
        touched: set[Key] = set()
        if totals is not None and totals.watermark < watermark:
            touched = self._advance(store, totals, watermark)
        if totals is None or self._expired(totals) or not self._valid(store, totals):
            totals, touched = self._build(store, source, watermark), set()
        variant.totals = totals
        recent, params = source.raw(_SINCE)
        rows = store.query(_aggregate(source, recent), params | {"prom_high": totals.watermark})
        return totals.choose(max_series, touched, totals.grouped(rows, len(source.keys)))

    def _evict(self) -> None:
        """Drop the least recently scraped variants beyond `capacity`, but neither a pinned one nor one being
        scraped (its scrape evicts when it ends). Under the cache's lock."""
        evictable = [key for key in self._variants if key[0] != Scope.everyone()]
        excess = len(evictable) - self.capacity
        for key in evictable:
            if excess <= 0:
                break
            if not self._variants[key].scrapes:
                del self._variants[key]
                excess -= 1

    def _advance(self, store: Store, totals: _Totals, watermark: int) -> set[Key]:
        """Add the points stamped in [totals.watermark, watermark)."""
        source = totals.source
        condition = "ingested_at >= toDateTime({prom_low:UInt32}) AND ingested_at < toDateTime({prom_high:UInt32})"
        bounds = {"prom_low": totals.watermark, "prom_high": watermark}
        sql, params = source.raw(condition)
        # Counted before the points are read: a row committing in between is read but not counted, and the count
        # check then rebuilds (counted but not read would be lost).
        added = store.query(f"SELECT count() FROM metric_points WHERE {condition}", bounds)[0][0]
        groups = totals.grouped(store.query(_aggregate(source, sql), params | bounds), len(source.keys))
        totals.watermark, totals.rows_below = watermark, totals.rows_below + int(added)
        totals.add(groups)
        return set(groups)

    def _expired(self, totals: _Totals) -> bool:
        """Totals from a rollup are rebuilt every `rebuild_s`: the rollup's retention drops hours the raw points
        (and so the checks) never see. Totals from the raw points see all that happens to them in the checks."""
        return totals.source.tier is not None and self.clock() - totals.built_at >= self.rebuild_s

    def _valid(self, store: Store, totals: _Totals) -> bool:
        return _counts(store, totals.watermark)[0] == totals.rows_below and _mutations(store) == totals.mutations

    def _build(self, store: Store, source: SeriesSource, watermark: int) -> _Totals:
        """Everything stamped before `watermark`: the raw points themselves, or the rollup less the points stamped
        since (the rollup has them already; the next scrapes add them)."""
        with self._lock:
            self.rebuilds += 1
        if source.tier is None:
            sql, params = source.raw(f"NOT ({_SINCE})")
        else:
            stored, params = source.stored()
            since, since_params = source.raw(_SINCE)
            keys = ", ".join(source.keys)
            sql = f"{stored} UNION ALL SELECT {keys}, -value, -points, latest FROM ({since})"
            params |= since_params
        for _attempt in range(_BUILD_ATTEMPTS):
            before = _counts(store, watermark, source.tier.table if source.tier else None), _mutations(store)
            rows = store.query(_aggregate(source, sql, ranked=True), params | {"prom_high": watermark})
            after = _counts(store, watermark, source.tier.table if source.tier else None), _mutations(store)
            if before == after or source.tier is None:
                break
        totals = _Totals(source, watermark, before[0][0], before[1], self.clock())
        totals.add(totals.grouped(rows, len(source.keys)))
        return totals


def _aggregate(source: SeriesSource, sql: str, *, ranked: bool = False) -> str:
    """Sum and latest time per label set; `ranked`: in the guard's order (ClickHouse sorts faster than Python)."""
    keys = ", ".join(source.keys)
    # (A label set whose every point is stamped after the watermark is not there yet: the next scrape adds it.)
    order = f" ORDER BY max(latest) DESC, {keys}" if ranked else ""
    return f"SELECT {keys}, sum(value), max(latest) FROM ({sql}) GROUP BY {keys} HAVING sum(points) > 0{order}"


def _counts(store: Store, watermark: int, rollup: str | None = None) -> tuple[int, int]:
    """Raw points stamped before `watermark` (every row counted from the parts' metadata, less the recent ones,
    which the minmax index finds), and the raw points `rollup` holds (0 without): its `points` sum, which an insert
    changes and a background merge does not (its row count would make a build on a busy store start over)."""
    rollup_rows = f"(SELECT sum(points) FROM {rollup})" if rollup else "0"
    row = store.query(
        "SELECT (SELECT count() FROM metric_points) - (SELECT count() FROM metric_points "
        f"WHERE ingested_at >= toDateTime({{prom_high:UInt32}})), {rollup_rows}",
        {"prom_high": watermark},
    )[0]
    return int(row[0]), int(row[1])


def _mutations(store: Store) -> tuple[Any, ...]:
    """A fingerprint of the mutations of the raw points and the metrics rollups (erasure, re-attribution)."""
    return tuple(
        store.query(
            "SELECT count(), max(create_time), groupBitXor(cityHash64(table, mutation_id)) FROM system.mutations "
            "WHERE database = currentDatabase() AND table IN {prom_tables:Array(String)}",
            {"prom_tables": list(_MUTATED_TABLES)},
        )[0]
    )


def _nanos(value: Decimal) -> int:
    """A sum ClickHouse returned (a Decimal of `EXACT_SCALE` places) in integer nano-units: Python's decimals round
    beyond 28 digits, integers never do."""
    return int(value.scaleb(EXACT_SCALE))
