"""OTLP/JSON logs and traces, rewritten as the protobuf requests they stand for.

Events and spans are built by the engine from protobuf (`ccmon.ingest.engine_rows`), so a JSON request takes the
same road: `ccmon.otlp.json` walks and checks the document as for metrics and hands each record to this builder,
which fills the matching protobuf message. Values are set by their JSON type; an array or key-value list is set as its
JSON text right away (what `ccmon.otlp.prepare` does for protobuf requests), so it is never nested deeper than upb
allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ccmon.ingest.rows import ORIGINAL_TIME_KEY
from ccmon.ingest.values import to_text

_FIXED64 = 2**64


def set_value(any_value: Any, value: object) -> None:
    if isinstance(value, bool):
        any_value.bool_value = value
    elif isinstance(value, int):
        any_value.int_value = value
    elif isinstance(value, float):
        any_value.double_value = value
    elif isinstance(value, str):
        any_value.string_value = value
    elif isinstance(value, bytes):
        any_value.bytes_value = value
    elif value is not None:
        text = to_text(value)
        if text is not None:
            any_value.string_value = text


def _add_attributes(target: Any, attrs: Iterable[tuple[str, object]]) -> None:
    for key, value in attrs:
        kv = target.add()
        kv.key = key
        set_value(kv.value, value)


def _fixed64(time_ns: int, attributes: Any) -> int:
    """A time as fixed64; one beyond it (JSON only) is sent as 0, which the engine repairs, with the original kept
    as the engine keeps any other it repairs."""
    if 0 <= time_ns < _FIXED64:
        return time_ns
    kv = attributes.add()
    kv.key = ORIGINAL_TIME_KEY
    kv.value.string_value = str(time_ns)
    return 0


class ProtobufBuilder:
    """Takes the records `ccmon.otlp.json` walks, builds one export request."""

    def __init__(self, signal: str) -> None:
        self.signal = signal
        self.request: Any = ExportLogsServiceRequest() if signal == "logs" else ExportTraceServiceRequest()

    def resource(self, attrs: Iterable[tuple[str, object]]) -> Any:
        """A new resource with these attributes, and its one scope, to which records are added."""
        items = (self.request.resource_logs if self.signal == "logs" else self.request.resource_spans).add()
        _add_attributes(items.resource.attributes, attrs)
        return items.scope_logs.add() if self.signal == "logs" else items.scope_spans.add()

    def event(
        self,
        scope: Any,
        *,
        time_ns: int,
        observed_ns: int,
        body: object,
        event_name: str,
        trace_id: str,
        span_id: str,
        attrs: Iterable[tuple[str, object]],
    ) -> None:
        record = scope.log_records.add()
        _add_attributes(record.attributes, attrs)
        record.time_unix_nano = _fixed64(time_ns, record.attributes)
        record.observed_time_unix_nano = observed_ns if 0 <= observed_ns < _FIXED64 else 0
        set_value(record.body, body)
        record.event_name = event_name
        record.trace_id = bytes.fromhex(trace_id)
        record.span_id = bytes.fromhex(span_id)

    def span(
        self,
        scope: Any,
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
        attrs: Iterable[tuple[str, object]],
    ) -> None:
        span = scope.spans.add()
        _add_attributes(span.attributes, attrs)
        span.trace_id = bytes.fromhex(trace_id)
        span.span_id = bytes.fromhex(span_id)
        span.parent_span_id = bytes.fromhex(parent_span_id)
        span.name = name
        span.kind = kind if 0 <= kind < 2**31 else 0
        span.start_time_unix_nano = _fixed64(start_ns, span.attributes)
        span.end_time_unix_nano = end_ns if 0 <= end_ns < _FIXED64 else 0
        span.status.code = status_code if 0 <= status_code < 2**31 else 0
        span.status.message = status_message

    def body(self) -> bytes:
        data: bytes = self.request.SerializeToString()
        return data
