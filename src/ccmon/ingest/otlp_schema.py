"""The OTLP protobuf messages ClickHouse decodes itself, and the column structures it reads them into.

A package-less copy of the logs and trace messages of opentelemetry-proto (field numbers unchanged; enums read as
int32 and the nested `ArrayValue` / `KeyValueList` as bytes, which are the same on the wire). It is handed to the
engine with each INSERT (`ccmon.store.facade.Store.insert_encoded`): nothing needs installing on a ClickHouse server.
The structures name only the fields ccmon stores; the parser skips the rest. Every AnyValue is read as `ANY_VALUE`
(one Nullable member per oneof field), so an unset member is NULL and "no value" is told apart from `""`, `0` and
`false`.
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
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
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
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
"""

ATTRIBUTES = f"Array(Tuple(key String, value {ANY_VALUE}))"

LOGS = (
    f"resource_logs Array(Tuple(resource Tuple(attributes {ATTRIBUTES}), scope_logs Array(Tuple(log_records "
    f"Array(Tuple(time_unix_nano UInt64, observed_time_unix_nano UInt64, body {ANY_VALUE}, attributes {ATTRIBUTES}, "
    "trace_id String, span_id String, event_name String))))))"
)
TRACES = (
    f"resource_spans Array(Tuple(resource Tuple(attributes {ATTRIBUTES}), scope_spans Array(Tuple(spans "
    "Array(Tuple(trace_id String, span_id String, parent_span_id String, name String, kind Int32, "
    f"start_time_unix_nano UInt64, end_time_unix_nano UInt64, attributes {ATTRIBUTES}, "
    "status Tuple(message String, code Int32)))))))"
)

MESSAGES = {"logs": "ExportLogsServiceRequest", "traces": "ExportTraceServiceRequest"}
"""The message of each signal's export request, which ClickHouse reads one after the other."""
