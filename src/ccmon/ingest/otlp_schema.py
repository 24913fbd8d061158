"""The OTLP protobuf messages ClickHouse decodes itself, and the column structures it reads them into.

A package-less copy of the logs and trace messages of opentelemetry-proto (field numbers unchanged; enums read as
int32 and the nested `ArrayValue` / `KeyValueList` as bytes, which are the same on the wire). It is handed to the
engine with each INSERT (`ccmon.store.facade.Store.insert_encoded`): nothing needs installing on a ClickHouse server.
The structures name only the fields ccmon stores; the parser skips the rest. Every AnyValue is read as `ANY_VALUE`
(one Nullable member per oneof field), so an unset member is NULL and "no value" is told apart from `""`, `0` and
`false`.

One field is ccmon's own: `ccmon_pins` (number 1000) of both requests, the attributes an ingest token pins
(`IngestBatch.pins`). The writer appends it to each request's bytes (`pins_field`) after the receiver has validated
them with the real OTLP messages, which do not know it; protobuf merges fields that come later into the message, so
the engine reads it as part of the request. Every request gets one, empty when nothing is pinned, and the engine
takes the last: one a client slipped into its own bytes comes before it and is ignored.
"""

from __future__ import annotations

from ccmon.ingest.values import ANY_VALUE

PROTO = """syntax = "proto3";
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    bytes array_value = 5;
    bytes kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
message LogRecord {
  fixed64 time_unix_nano = 1;
  fixed64 observed_time_unix_nano = 11;
  int32 severity_number = 2;
  string severity_text = 3;
  AnyValue body = 5;
  repeated KeyValue attributes = 6;
  uint32 dropped_attributes_count = 7;
  fixed32 flags = 8;
  bytes trace_id = 9;
  bytes span_id = 10;
  string event_name = 12;
}
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
message CcmonPin { string key = 1; string value = 2; }
message CcmonPins { repeated CcmonPin pins = 1; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; repeated CcmonPins ccmon_pins = 1000; }
message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  uint32 dropped_events_count = 12;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; repeated CcmonPins ccmon_pins = 1000; }
"""

ATTRIBUTES = f"Array(Tuple(key String, value {ANY_VALUE}))"
PINS_COLUMN = "ccmon_pins"
_PINS = f"{PINS_COLUMN} Array(Tuple(pins Array(Tuple(key String, value String))))"
PINS_FIELD = 1000

LOGS = (
    f"resource_logs Array(Tuple(resource Tuple(attributes {ATTRIBUTES}), scope_logs Array(Tuple(log_records "
    f"Array(Tuple(time_unix_nano UInt64, observed_time_unix_nano UInt64, body {ANY_VALUE}, attributes {ATTRIBUTES}, "
    f"trace_id String, span_id String, event_name String)))))), {_PINS}"
)
TRACES = (
    f"resource_spans Array(Tuple(resource Tuple(attributes {ATTRIBUTES}), scope_spans Array(Tuple(spans "
    "Array(Tuple(trace_id String, span_id String, parent_span_id String, name String, kind Int32, "
    f"start_time_unix_nano UInt64, end_time_unix_nano UInt64, attributes {ATTRIBUTES}, "
    f"status Tuple(message String, code Int32))))))), {_PINS}"
)

MESSAGES = {"logs": "ExportLogsServiceRequest", "traces": "ExportTraceServiceRequest"}
"""The message of each signal's export request, which ClickHouse reads one after the other."""


def _varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _length_delimited(field_number: int, payload: bytes) -> bytes:
    return _varint(field_number << 3 | 2) + _varint(len(payload)) + payload


def pins_field(pins: tuple[tuple[str, str], ...]) -> bytes:
    """The `ccmon_pins` field carrying `pins` ((column, value) pairs), as appended to a request's bytes."""
    entries = b"".join(
        _length_delimited(1, _length_delimited(1, key.encode()) + _length_delimited(2, value.encode()))
        for key, value in pins
    )
    return _length_delimited(PINS_FIELD, entries)
