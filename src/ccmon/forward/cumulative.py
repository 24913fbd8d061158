"""Delta sums turned into cumulative sums, for backends that reject delta (Prometheus's OTLP receiver, Mimir,
Grafana Cloud). Claude Code exports delta by default.

A series is the resource's attributes + the metric's name + the point's attributes. Each delta point adds its value
to the series' running total; the point goes out with the total as its value, the series' start (the start time of
its first delta point) as `start_time_unix_nano`, and the metric's temporality set to cumulative. Integer sums stay
integers. Gauges, cumulative sums and other kinds pass unchanged.

The totals are saved in the endpoint's folder after every converted request (`DeltaToCumulative`), so a restart
continues each series rather than starting it again from zero (which a backend would read as a counter reset at an
unchanged start time: a wrong value). A series idle for `idle_s` is forgotten: if it comes back it starts again with
a new start time, which is a correct reset, and it leaves the saved state at the next compaction. Claude Code's
metrics carry `session.id`, so without this the state would grow with every session ever seen.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xxhash
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from ccmon.forward.private import replace_private, write_private

log = logging.getLogger(__name__)

DELTA = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
IDLE_S = 86_400.0
COMPACT_MIN_LINES = 10_000


@dataclass
class Series:
    total: int | float
    start_ns: int
    seen_s: float


def _attributes_key(hasher: Any, attributes: Any) -> None:
    for kv in sorted(attributes, key=lambda kv: kv.key):
        hasher.update(kv.key.encode("utf-8", "surrogatepass"))
        hasher.update(b"\x1f")
        hasher.update(kv.value.SerializeToString(deterministic=True))
        hasher.update(b"\x1e")


class DeltaToCumulative:
    """Running totals per series; see the module docstring.

    Persisted as a snapshot (`path`, JSON) and a journal beside it (`.log`, one JSON line per series updated: its
    absolute total, so replaying a line twice is harmless). Each converted request appends only the series it touched,
    so saving costs what the request holds, not what the state holds; when the journal outgrows the state it is folded
    into a new snapshot (temporary file + rename), then emptied. A line cut short by a crash is skipped (the others
    still count) and the state rewritten at once, so the next append does not join the cut line."""

    def __init__(self, path: Path, idle_s: float = IDLE_S) -> None:
        self.path = path
        self.journal = path.with_suffix(".log")
        self.idle_s = idle_s
        self.series: dict[str, Series] = {}
        self._changed: dict[str, Series] = {}
        self._journal_lines = 0

    def load(self) -> None:
        """The totals a previous run saved; an unreadable snapshot is logged and ignored (series start again)."""
        self.series = {}
        try:
            raw = json.loads(self.path.read_text())
            self.series = {key: Series(total, int(start), float(seen)) for key, (total, start, seen) in raw.items()}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError) as exc:
            log.warning("cumulative totals in %s unreadable (%s): series start again", self.path, exc)
        self._journal_lines = 0
        damaged = False
        try:
            with self.journal.open() as lines:
                for line in lines:
                    try:
                        key, total, start, seen = json.loads(line)
                    except (ValueError, TypeError):
                        damaged = True  # a line cut short by a crash: each line is a whole total, the rest still count
                        continue
                    self.series[key] = Series(total, int(start), float(seen))
                    self._journal_lines += 1
        except FileNotFoundError:
            pass
        if damaged:  # a fresh snapshot and journal, so the next append does not start on the cut line
            self._write_snapshot()

    def save(self, now_s: float) -> None:
        """Journal the series changed since the last save; compact when the journal outgrows the state."""
        if self._changed:
            text = "".join(json.dumps([k, s.total, s.start_ns, s.seen_s]) + "\n" for k, s in self._changed.items())
            write_private(self.journal, text.encode(), append=True)
            self._journal_lines += len(self._changed)
            self._changed.clear()
        if self._journal_lines > max(COMPACT_MIN_LINES, 2 * len(self.series)):
            self.compact(now_s)

    def compact(self, now_s: float) -> None:
        """Forget the series idle for `idle_s`, write the snapshot, empty the journal."""
        self.series = {k: s for k, s in self.series.items() if now_s - s.seen_s < self.idle_s}
        self._write_snapshot()

    def _write_snapshot(self) -> None:
        self._changed.clear()
        snapshot = {k: [s.total, s.start_ns, s.seen_s] for k, s in self.series.items()}
        replace_private(self.path, json.dumps(snapshot).encode())
        write_private(self.journal)
        self._journal_lines = 0

    def convert(self, payload: bytes, now_s: float) -> bytes:
        """The metrics request with its delta sums made cumulative (the bytes unchanged when it holds none)."""
        request = ExportMetricsServiceRequest.FromString(payload)
        changed = False
        for resource_metrics in request.resource_metrics:
            resource = xxhash.xxh3_128()
            _attributes_key(resource, resource_metrics.resource.attributes)
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.WhichOneof("data") != "sum" or metric.sum.aggregation_temporality != DELTA:
                        continue
                    changed = True
                    metric.sum.aggregation_temporality = CUMULATIVE
                    for point in metric.sum.data_points:
                        hasher = resource.copy()
                        hasher.update(metric.name.encode("utf-8", "surrogatepass"))
                        hasher.update(b"\x1d")
                        _attributes_key(hasher, point.attributes)
                        self._accumulate(hasher.hexdigest(), point, now_s)
        return request.SerializeToString() if changed else payload

    def _accumulate(self, key: str, point: Any, now_s: float) -> None:
        is_int = point.WhichOneof("value") == "as_int"
        value: int | float = point.as_int if is_int else point.as_double
        series = self.series.get(key)
        if series is None or now_s - series.seen_s >= self.idle_s:  # idle: forgotten, even if not compacted away yet
            series = Series(0, point.start_time_unix_nano or point.time_unix_nano, now_s)
            self.series[key] = series
        series.total = series.total + value
        series.seen_s = now_s
        self._changed[key] = series
        point.start_time_unix_nano = series.start_ns
        if is_int and isinstance(series.total, int):
            point.as_int = series.total
        else:
            point.as_double = float(series.total)

    def __len__(self) -> int:
        return len(self.series)
