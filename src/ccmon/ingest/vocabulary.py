"""Claude Code's telemetry vocabulary: which attributes become typed columns, under which names, with which type.

Each signal has a `Layout`: its columns in table order, the attribute keys that fill each one (the first key is the
current name, later ones are older aliases that only fill an empty column), and how a value is coerced. Attributes that
no column claims are kept, as text, in the row's `attrs` map; resource attributes are kept in `resource`. The layouts
are the single source of the column lists: the decoders fill rows by slot, the writer turns rows into Arrow by layout,
and a test checks that the store's tables have exactly these columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from ccmon.ingest.values import BOOL, COUNT, FLOAT, INT, STATUS, TEXT, Coercion

EVENT_PREFIX = "claude_code."

PERSON_COLUMNS = ("user_email", "user_account_uuid", "user_id")
"""Who a record is about, the first of these columns that is set: `person` (email, else account uuid, else user id)."""

TS = pa.timestamp("ns", tz="UTC")
TEXT_MAP = pa.map_(pa.string(), pa.string())


@dataclass(frozen=True)
class Column:
    name: str
    arrow_type: pa.DataType
    default: object = ""
    keys: tuple[str, ...] = ()
    coerce: Coercion = TEXT
    resource_fallback: bool = False
    """Also filled from resource attributes (record attributes win): `OTEL_RESOURCE_ATTRIBUTES` keys such as `team`
    reach the data points only since Claude Code 2.1.161, and only the resource carries `service.version`."""


@dataclass(frozen=True)
class Slot:
    index: int
    coerce: Coercion


class Layout:
    """The columns of one table and the lookup tables the decoders use to fill a row."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = tuple(columns)
        self.names = tuple(c.name for c in self.columns)
        self.index = {c.name: i for i, c in enumerate(self.columns)}
        self.defaults = [c.default for c in self.columns]
        self.schema = pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])
        self.record_keys: dict[str, Slot] = {}
        for i, column in enumerate(self.columns):
            for key in column.keys:
                if key in self.record_keys:
                    raise ValueError(f"attribute {key!r} fills two columns")
                self.record_keys[key] = Slot(i, column.coerce)
        self.keyed_columns = tuple((i, c) for i, c in enumerate(self.columns) if c.keys)
        """The columns attributes fill, each from the first of its keys (current name, then older aliases) whose
        value coerces to something other than the column's default."""
        self.resource_columns = tuple((i, c) for i, c in self.keyed_columns if c.resource_fallback)

    def to_arrow(self, rows: Sequence[Sequence[object]]) -> pa.Table:
        """Transpose rows into one Arrow array per column."""
        if not rows:
            return self.schema.empty_table()
        arrays = [
            pa.array(values, type=column.arrow_type)
            for values, column in zip(zip(*rows, strict=True), self.columns, strict=True)
        ]
        return pa.Table.from_arrays(arrays, schema=self.schema)


def _text(name: str, *keys: str, resource: bool = False) -> Column:
    return Column(name, pa.string(), "", keys, TEXT, resource)


def _identity_columns() -> list[Column]:
    """Who and where: the standard attributes on every Claude Code data point, event and span."""
    return [
        _text("session_id", "session.id"),
        _text("person"),
        _text("user_email", "user.email"),
        _text("user_account_uuid", "user.account_uuid"),
        _text("user_id", "user.id"),
        _text("organization_id", "organization.id"),
        _text("terminal_type", "terminal.type"),
        _text("service_name", "service.name", resource=True),
        _text("version", "app.version", "service.version", resource=True),
        _text("repository", "vcs.repository.name", resource=True),
        _text("project"),  # derived from attributes by `attribution` (configurable keys)
        _text("provider"),  # derived from attributes and the model by `attribution`
        _text("team", "team", "team.name", "team.id", resource=True),
        _text("department", "department", "dept", resource=True),
        _text("cost_center", "cost_center", "cost.center", "costcenter", resource=True),
    ]


def _tail_columns() -> list[Column]:
    return [
        Column("attrs", TEXT_MAP, None),
        Column("resource", TEXT_MAP, None),
        Column("dedup_key", pa.uint64(), 0),
    ]


EVENTS = Layout(
    [
        Column("ts", TS, 0),
        _text("event_name"),
        _text("prompt_id", "prompt.id"),
        Column("event_sequence", pa.int64(), -1, ("event.sequence",), INT),
        *_identity_columns(),
        _text("model", "model"),
        _text("tool_name", "tool_name", "tool", "name"),
        _text("decision", "decision", "decision_type"),
        _text("decision_source", "source", "decision_source"),
        Column("success", pa.bool_(), None, ("success",), BOOL),
        Column("duration_ms", pa.float64(), None, ("duration_ms",), FLOAT),
        Column("ttft_ms", pa.float64(), None, ("ttft_ms",), FLOAT),
        Column("cost_usd", pa.float64(), 0.0, ("cost_usd",), FLOAT),
        Column("input_tokens", pa.uint64(), 0, ("input_tokens",), COUNT),
        Column("output_tokens", pa.uint64(), 0, ("output_tokens",), COUNT),
        Column("cache_read_tokens", pa.uint64(), 0, ("cache_read_tokens",), COUNT),
        Column("cache_creation_tokens", pa.uint64(), 0, ("cache_creation_tokens",), COUNT),
        Column("status_code", pa.int32(), None, ("status_code",), STATUS),
        Column("attempt", pa.int32(), None, ("attempt", "total_attempts"), STATUS),
        _text("error", "error"),
        _text("query_source", "query_source"),
        _text("speed", "speed"),
        _text("effort", "effort"),
        _text("trace_id"),
        _text("span_id"),
        _text("body"),
        *_tail_columns(),
    ]
)

METRICS = Layout(
    [
        Column("ts", TS, 0),
        Column("start_ts", TS, 0),
        _text("metric_name"),
        Column("temporality", pa.uint8(), 0),
        Column("monotonic", pa.bool_(), False),
        Column("value", pa.float64(), 0.0),
        Column("raw_value", pa.float64(), 0.0),
        Column("series_id", pa.uint64(), 0),
        _text("type", "type"),
        *_identity_columns(),
        _text("model", "model"),
        _text("tool_name", "tool_name", "tool"),
        _text("decision", "decision"),
        _text("decision_source", "source", "decision_source"),
        _text("language", "language"),
        _text("query_source", "query_source"),
        _text("speed", "speed"),
        _text("effort", "effort"),
        *_tail_columns(),
    ]
)

SPANS = Layout(
    [
        Column("start_ts", TS, 0),
        Column("end_ts", TS, 0),
        _text("trace_id"),
        _text("span_id"),
        _text("parent_span_id"),
        _text("name"),
        Column("kind", pa.uint8(), 0),
        Column("status_code", pa.uint8(), 0),
        _text("status_message"),
        _text("span_type", "span.type"),
        *_identity_columns(),
        _text("model", "model", "gen_ai.request.model"),
        _text("tool_name", "tool_name"),
        *_tail_columns(),
    ]
)
