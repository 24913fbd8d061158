"""Turn decoded OTLP records into table rows, one list per record in `Layout` column order.

The protobuf and JSON decoders walk their own envelopes and hand every record here, with its attributes as
`(key, value)` pairs, so the Claude Code vocabulary (promotion, aliases, coercion, identity, timestamps, dedup keys)
is applied in exactly one place. Rows are plain lists, transposed to Arrow columns once per committed batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import xxhash

from ccmon.ingest.attribution import Attribution, first_values
from ccmon.ingest.values import to_text
from ccmon.ingest.vocabulary import EVENT_PREFIX, EVENTS, METRICS, SPANS, Layout
from ccmon.settings import default
from ccmon.store.rollups import EXACT_MAX

Row = list[object]
Attributes = Iterable[tuple[str, object]]

# Timestamps outside [2000-01-01, now + 1 day] are replaced by the time of receipt (the original is kept in the
# row's attrs): ClickHouse's DateTime64(9) ends in 2262, and a clock in 1970 or 3000 would poison every time filter.
_MIN_NS = 946_684_800 * 10**9
_FUTURE_SLACK_NS = 86_400 * 10**9
ORIGINAL_TIME_KEY = "ccmon.original_time_unix_nano"
MAX_POINT_VALUE = EXACT_MAX
"""The largest magnitude a data point may have: far above any counter Claude Code keeps (tokens, dollars, seconds,
lines), and what the store's exact sums can take without overflowing."""


def _hash(text: str) -> int:
    return int(xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass")))


@dataclass
class IngestBatch:
    """The rows decoded from one export request, and what had to be rejected or repaired on the way."""

    events: list[Row] = field(default_factory=list)
    points: list[Row] = field(default_factory=list)
    spans: list[Row] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    truncated_values: int = 0
    repaired_times: int = 0

    @property
    def rows(self) -> int:
        return len(self.events) + len(self.points) + len(self.spans)

    def reject(self, count: int, reason: str) -> None:
        self.rejected += count
        reason = reason if len(reason) <= 500 else reason[:500] + "..."  # it may quote a hostile name
        if reason not in self.errors:
            self.errors.append(reason)


class ResourceContext:
    """A resource's attributes, converted once and shared by every record under it."""

    __slots__ = ("_defaults", "attributes", "identity", "pairs")

    def __init__(self, builder: RowBuilder, attrs: Attributes) -> None:
        pairs: list[tuple[str, str]] = []
        for key, value in attrs:
            text = builder.text(value)
            if text is not None:
                pairs.append((builder.key(key), text))
        self.pairs = pairs
        self.attributes = first_values(pairs)
        self.identity = "\x1e".join(f"{k}\x1f{v}" for k, v in sorted(pairs))
        self._defaults: dict[int, Row] = {}

    def defaults(self, layout: Layout) -> Row:
        """The layout's default row with resource values filled in (cached per layout)."""
        row = self._defaults.get(id(layout))
        if row is None:
            row = list(layout.defaults)
            resource_keys = layout.resource_keys
            for key, text in self.pairs:
                slot = resource_keys.get(key)
                if slot is not None and not (slot.alias and row[slot.index] != layout.defaults[slot.index]):
                    coerced = slot.coerce(text)
                    if coerced is not None:
                        row[slot.index] = coerced
            self._defaults[id(layout)] = row
        return row


_E = EVENTS.index
_M = METRICS.index
_S = SPANS.index


def _set_person(row: Row, index: dict[str, int]) -> None:
    """One person key per record: user.email, else user.account_uuid, else user.id."""
    row[index["person"]] = row[index["user_email"]] or row[index["user_account_uuid"]] or row[index["user_id"]]


class RowBuilder:
    """Builds the rows of one `IngestBatch`; the single place the Claude Code vocabulary is applied."""

    def __init__(
        self,
        max_value_length: int = default("max_attribute_length"),
        now_ns: int | None = None,
        attribution: Attribution | None = None,
    ) -> None:
        self.batch = IngestBatch()
        self.max_value_length = max_value_length
        self.now_ns = time.time_ns() if now_ns is None else now_ns
        self.attribution = attribution or Attribution()

    def resource(self, attrs: Attributes) -> ResourceContext:
        return ResourceContext(self, attrs)

    def text(self, value: object) -> str | None:
        text = to_text(value)
        if text is not None and len(text) > self.max_value_length:
            self.batch.truncated_values += 1
            return text[: self.max_value_length]
        return text

    def key(self, key: str) -> str:
        """An attribute key kept in a map, cut like values are (keys are names, but hostile input is not)."""
        if len(key) > self.max_value_length:
            self.batch.truncated_values += 1
            return key[: self.max_value_length]
        return key

    def _time(self, *candidates: int) -> int:
        latest = self.now_ns + _FUTURE_SLACK_NS
        for candidate in candidates:
            if _MIN_NS <= candidate <= latest:
                return candidate
        self.batch.repaired_times += 1
        return self.now_ns

    def _fill(self, layout: Layout, row: Row, attrs: Attributes, extras: list[tuple[str, str]]) -> None:
        keys = layout.record_keys
        defaults = layout.defaults
        limit = self.max_value_length
        for key, raw in attrs:
            value = raw
            if type(raw) is str and len(raw) > limit:
                value = raw[:limit]
                self.batch.truncated_values += 1
            slot = keys.get(key)
            if slot is not None:
                if slot.alias and row[slot.index] != defaults[slot.index]:
                    continue
                coerced = slot.coerce(value)
                if coerced is not None:
                    row[slot.index] = coerced
                    continue
            text = self.text(value)
            if text is not None:
                extras.append((key if len(key) <= limit else self.key(key), text))

    def event(
        self,
        ctx: ResourceContext,
        *,
        time_ns: int,
        observed_ns: int,
        body: object,
        event_name: str,
        trace_id: str,
        span_id: str,
        attrs: Attributes,
    ) -> None:
        row = ctx.defaults(EVENTS).copy()
        extras: list[tuple[str, str]] = []
        self._fill(EVENTS, row, attrs, extras)
        body_text = self.text(body) or ""
        if not row[_E["event_name"]]:
            # Claude Code puts the name in the `event.name` attribute and in the body as `claude_code.<name>`;
            # the OTLP LogRecord.event_name field is the last resort.
            if body_text.startswith(EVENT_PREFIX):
                row[_E["event_name"]] = body_text[len(EVENT_PREFIX) :]
            else:
                row[_E["event_name"]] = self.text(event_name) or ""
        ts = self._time(time_ns, observed_ns)
        if ts != time_ns and time_ns:
            extras.append((ORIGINAL_TIME_KEY, str(time_ns)))
        row[_E["ts"]] = ts
        row[_E["trace_id"]] = trace_id
        row[_E["span_id"]] = span_id
        row[_E["body"]] = body_text
        _set_person(row, _E)
        session, sequence = row[_E["session_id"]], row[_E["event_sequence"]]
        if session and isinstance(sequence, int) and sequence >= 0:
            identity = f"{session}\x1f{sequence}\x1f{row[_E['event_name']]}\x1f{time_ns}"
        else:
            identity = f"{time_ns}\x1f{observed_ns}\x1f{body_text}\x1f{extras!r}\x1f{row[1:]!r}"
        row[_E["dedup_key"]] = _hash(identity)
        # After the key: a retry must be recognised even if the attribution settings changed in between.
        self.attribution.apply(row, _E, extras, ctx.attributes)
        row[_E["attrs"]] = extras
        row[_E["resource"]] = ctx.pairs
        self.batch.events.append(row)

    def point(
        self,
        ctx: ResourceContext,
        *,
        scope: str,
        metric_name: str,
        temporality: int,
        monotonic: bool,
        start_ns: int,
        time_ns: int,
        value: float,
        attrs: Attributes,
    ) -> None:
        if not math.isfinite(value):
            self.batch.reject(1, f"metric {metric_name!r}: a data point value is NaN or infinite")
            return
        if abs(value) > MAX_POINT_VALUE:
            self.batch.reject(1, f"metric {metric_name!r}: a data point value is beyond ±{MAX_POINT_VALUE:.0e}")
            return
        pairs = list(attrs)
        row = ctx.defaults(METRICS).copy()
        extras: list[tuple[str, str]] = []
        self._fill(METRICS, row, pairs, extras)
        labels = "\x1e".join(f"{k}\x1f{to_text(v)}" for k, v in sorted(pairs, key=lambda kv: kv[0]))
        series_id = _hash(f"{ctx.identity}\x1d{scope}\x1d{metric_name}\x1d{labels}")
        row[_M["ts"]] = self._time(time_ns)
        row[_M["start_ts"]] = self._time(start_ns, time_ns)
        row[_M["metric_name"]] = self.text(metric_name) or ""
        row[_M["temporality"]] = temporality
        row[_M["monotonic"]] = monotonic
        row[_M["value"]] = value
        row[_M["raw_value"]] = value
        row[_M["series_id"]] = series_id
        _set_person(row, _M)
        row[_M["dedup_key"]] = _hash(f"{series_id}\x1f{start_ns}\x1f{time_ns}")
        self.attribution.apply(row, _M, extras, ctx.attributes)
        row[_M["attrs"]] = extras
        row[_M["resource"]] = ctx.pairs
        self.batch.points.append(row)

    def span(
        self,
        ctx: ResourceContext,
        *,
        trace_id: str,
        span_id: str,
        parent_span_id: str,
        name: str,
        kind: int,
        start_ns: int,
        end_ns: int,
        status_code: int,
        status_message: str,
        attrs: Attributes,
    ) -> None:
        row = ctx.defaults(SPANS).copy()
        extras: list[tuple[str, str]] = []
        self._fill(SPANS, row, attrs, extras)
        start = self._time(start_ns)
        row[_S["start_ts"]] = start
        row[_S["end_ts"]] = max(start, self._time(end_ns, start))
        row[_S["trace_id"]] = trace_id
        row[_S["span_id"]] = span_id
        row[_S["parent_span_id"]] = parent_span_id
        row[_S["name"]] = self.text(name) or ""
        row[_S["kind"]] = kind if 0 <= kind <= 255 else 0
        row[_S["status_code"]] = status_code if 0 <= status_code <= 255 else 0
        row[_S["status_message"]] = self.text(status_message) or ""
        _set_person(row, _S)
        row[_S["dedup_key"]] = _hash(f"{trace_id}\x1f{span_id}")
        self.attribution.apply(row, _S, extras, ctx.attributes)
        row[_S["attrs"]] = extras
        row[_S["resource"]] = ctx.pairs
        self.batch.spans.append(row)
