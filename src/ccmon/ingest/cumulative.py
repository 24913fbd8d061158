"""Cumulative counters become increments, per series, so raw cumulative values are never summed.

Claude Code exports deltas by default, but with `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative` every
series is re-sent at every interval with its running total. A series is identified by resource, scope, metric name and
all point attributes (`series_id`); its start time tells process restarts apart. The increment of a point is its value
minus the previous value of the series, unless the series was reset (a new start time, or a lower value on a monotonic
sum), in which case the whole value is new. The state is rebuilt from the store at start-up (each stored point keeps
its raw value), so a restart of ccmon neither loses nor double-counts.
"""

from __future__ import annotations

from ccmon.ingest.rows import Row
from ccmon.ingest.vocabulary import METRICS
from ccmon.store.series import SeriesPoint

CUMULATIVE = 2

_TS = METRICS.index["ts"]
_START = METRICS.index["start_ts"]
_VALUE = METRICS.index["value"]
_RAW = METRICS.index["raw_value"]
_SERIES = METRICS.index["series_id"]
_TEMPORALITY = METRICS.index["temporality"]
_MONOTONIC = METRICS.index["monotonic"]


def _end_ns(row: Row) -> int:
    end = row[_TS]
    assert isinstance(end, int)
    return end


class CumulativeState:
    """The latest point per cumulative series; `convert` proposes changes, `commit` keeps them once stored."""

    def __init__(self, seed: dict[int, SeriesPoint] | None = None) -> None:
        self._latest: dict[int, SeriesPoint] = dict(seed or {})

    def __len__(self) -> int:
        return len(self._latest)

    def get(self, series_id: int) -> SeriesPoint | None:
        return self._latest.get(series_id)

    def convert(self, rows: list[Row]) -> tuple[dict[int, SeriesPoint], int]:
        """Set each cumulative row's `value` to its increment; returns the new latest points and the stale count.

        Rows are visited in time order so that a batch holding several exports of one series chains them correctly.
        A point no newer than the series' latest (a late or replayed export) is stale: it is kept with increment 0.
        """
        pending: dict[int, SeriesPoint] = {}
        stale = 0
        cumulative = sorted((r for r in rows if r[_TEMPORALITY] == CUMULATIVE), key=_end_ns)
        for row in cumulative:
            series = row[_SERIES]
            start, end, value = row[_START], row[_TS], row[_RAW]
            assert isinstance(series, int) and isinstance(start, int) and isinstance(end, int)
            assert isinstance(value, float)
            previous = pending.get(series) or self._latest.get(series)
            if previous is None or start > previous.start_ns:
                increment = value
            elif start < previous.start_ns or end <= previous.end_ns:
                row[_VALUE] = 0.0
                stale += 1
                continue
            elif row[_MONOTONIC] and value < previous.value:
                increment = value  # the counter restarted without a new start time
            else:
                increment = value - previous.value
            row[_VALUE] = increment
            pending[series] = SeriesPoint(start, end, value)
        return pending, stale

    def commit(self, pending: dict[int, SeriesPoint]) -> None:
        self._latest.update(pending)
