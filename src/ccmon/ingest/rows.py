"""What a receiver hands the writer (`IngestBatch`), and metric data points turned into table rows.

Events and spans are built by the engine from the request's protobuf (`ccmon.ingest.engine_rows`). Metric points
need per-series state (cumulative → increments), so the protobuf and JSON decoders walk their envelopes and hand
every point here, with its attributes as `(key, value)` pairs, and the Claude Code vocabulary (promotion, aliases,
coercion, identity, timestamps, dedup keys) is applied by the same layouts the engine's SQL is rendered from. Rows
are plain lists, transposed to Arrow columns once per committed batch.

A request's points are sealed when the writer takes them (`seal_points`): the ingest token's pins replace what the
client claimed, and the privacy settings (`ccmon.ingest.privacy`) apply, as the engine's SQL does for events and
spans; the attribution (directory, email rules) has read the raw email before.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import xxhash

from ccmon.ingest.attribution import Attribution, first_values
from ccmon.ingest.privacy import Privacy
from ccmon.ingest.values import to_text
from ccmon.ingest.vocabulary import METRICS, PERSON_COLUMNS, Column, Layout
from ccmon.settings import default
from ccmon.store.rollups import EXACT_MAX

Row = list[object]
Attributes = Iterable[tuple[str, object]]

# Timestamps outside [2000-01-01, now + 1 day] are replaced by the time of receipt (the original is kept in the
# row's attrs): ClickHouse's DateTime64(9) ends in 2262, and a clock in 1970 or 3000 would poison every time filter.
MIN_NS = 946_684_800 * 10**9
FUTURE_SLACK_NS = 86_400 * 10**9
ORIGINAL_TIME_KEY = "ccmon.original_time_unix_nano"
MAX_POINT_VALUE = EXACT_MAX
"""The largest magnitude a data point may have: far above any counter Claude Code keeps (tokens, dollars, seconds,
lines), and what the store's exact sums can take without overflowing."""

PINNABLE = ("organization_id", "team", "department", "cost_center")
"""The columns an ingest token can pin (`IngestBatch.pins`); the attributes that fill them are pinned alike."""


def _hash(text: str) -> int:
    return int(xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass")))


def request_digest(signal: str, body: bytes) -> int:
    """What names an export request: an exporter's retry sends the same bytes (decompressed) to the same path."""
    hasher = xxhash.xxh3_64(signal.encode())
    hasher.update(body)
    return int(hasher.intdigest())


@dataclass
class IngestBatch:
    """One export request on its way to the store, and what had to be rejected or repaired on the way.

    Metric points arrive as rows built here (`points`). Logs and traces arrive as the request's protobuf `body`, which
    the engine turns into rows (`ccmon.ingest.engine_rows`), with the number of `records` it holds. `digest` names
    the request's content, so that an exporter's retry of it is stored once."""

    points: list[Row] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    truncated_values: int = 0
    repaired_times: int = 0
    signal: str = ""
    body: bytes = b""
    records: int = 0
    digest: int = 0
    pins: tuple[tuple[str, str], ...] = ()
    """Attributes the ingest token pins (column, value): they override whatever the client sent."""
    pings: tuple[str, ...] = ()
    """The ids of `ccmon doctor`'s test records, taken out of `body` (`ccmon.ingest.pings`)."""

    @property
    def rows(self) -> int:
        return len(self.points) + self.records + len(self.pings)

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
            for index, column in layout.resource_columns:
                value = _first_coerced(column, self.attributes)
                if value is not None:
                    row[index] = value
            self._defaults[id(layout)] = row
        return row


def _first_coerced(column: Column, values: Mapping[str, object]) -> object:
    """The value of the first of the column's keys present whose value coerces to something other than the
    column's default, or None (the rule `ccmon.ingest.engine_rows._best` states in SQL)."""
    for key in column.keys:
        if key in values:
            coerced = column.coerce(values[key])
            if coerced is not None and coerced != column.default:
                return coerced
    return None


_M = METRICS.index


def _set_person(row: Row, index: dict[str, int]) -> None:
    """One person key per record (`PERSON_COLUMNS`)."""
    row[index["person"]] = next((row[index[c]] for c in PERSON_COLUMNS if row[index[c]]), "")


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
        latest = self.now_ns + FUTURE_SLACK_NS
        for candidate in candidates:
            if MIN_NS <= candidate <= latest:
                return candidate
        self.batch.repaired_times += 1
        return self.now_ns

    def _fill(self, layout: Layout, row: Row, attrs: Attributes, extras: list[tuple[str, str]]) -> None:
        """Fill the columns the record's attributes name (over the resource's values) and collect, as text, the
        attributes no column takes: unclaimed keys, and values a column could not coerce."""
        keys = layout.record_keys
        limit = self.max_value_length
        first: dict[str, object] = {}
        for key, raw in attrs:
            value = raw
            if type(raw) is str and len(raw) > limit:
                value = raw[:limit]
                self.batch.truncated_values += 1
            first.setdefault(key, value)
            slot = keys.get(key)
            if slot is None or slot.coerce(value) is None:
                text = self.text(value)
                if text is not None:
                    extras.append((key if len(key) <= limit else self.key(key), text))
        for index, column in layout.keyed_columns:
            coerced = _first_coerced(column, first)
            if coerced is not None:
                row[index] = coerced

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


def check_pins(pins: Sequence[tuple[str, str]]) -> None:
    """Refuse pins of a column that cannot be pinned (a programming error, not a client's)."""
    for column, _ in pins:
        if column not in PINNABLE:
            raise ValueError(f"{column!r} cannot be pinned; the pinnable columns are {', '.join(PINNABLE)}")


_PIN_KEYS = {c.name: c.keys for c in METRICS.columns if c.name in PINNABLE}
_EMAIL, _PERSON, _ATTRS, _RESOURCE = _M["user_email"], _M["person"], _M["attrs"], _M["resource"]
Pairs = list[tuple[str, str]]


def seal_points(points: list[Row], pins: Sequence[tuple[str, str]], privacy: Privacy) -> list[Row]:
    """The points as they are stored: pinned columns and the attributes that fill them set to the pins; the
    privacy settings applied to the email columns and to `attrs` and `resource` (`Privacy.attribute`). Rows that
    change are copies (a decoded batch may be submitted again, as tests do), the others the same rows."""
    pinned = {column: value for column, value in pins if value}
    if not pinned and not privacy.hashing and not privacy.policies:
        return points
    by_key = {key: pinned[column] for column, keys in _PIN_KEYS.items() if column in pinned for key in keys}
    resources: dict[int, Pairs | None] = {}
    sealed = []
    for row in points:
        copy: Row | None = None
        if pinned or (privacy.hashing and row[_EMAIL]):
            copy = list(row)
            for column, value in pinned.items():
                copy[_M[column]] = value
            if privacy.hashing and row[_EMAIL]:
                copy[_EMAIL] = copy[_PERSON] = privacy.email(str(row[_EMAIL]))
        attrs = _sealed_pairs(row[_ATTRS], by_key, privacy)  # type: ignore[arg-type]
        resource = row[_RESOURCE]
        if id(resource) not in resources:  # one resource's pairs are shared by its points
            resources[id(resource)] = _sealed_pairs(resource, by_key, privacy)  # type: ignore[arg-type]
        new_resource = resources[id(resource)]
        if attrs is not None or new_resource is not None:
            copy = copy or list(row)
            copy[_ATTRS] = row[_ATTRS] if attrs is None else attrs
            copy[_RESOURCE] = resource if new_resource is None else new_resource
        sealed.append(row if copy is None else copy)
    return sealed


def _sealed_pairs(pairs: Pairs, pinned: Mapping[str, str], privacy: Privacy) -> Pairs | None:
    """The pairs as stored, or None when none changes."""
    changed: Pairs | None = None
    for number, (key, text) in enumerate(pairs):
        value = pinned[key] if key in pinned else privacy.attribute(key, text)
        if value != text:
            changed = changed or list(pairs)
            changed[number] = (key, value)
    return changed
