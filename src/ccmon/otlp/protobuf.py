"""Walk OTLP protobuf export requests (from gRPC or HTTP `application/x-protobuf`) into rows."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ccmon.ingest.rows import RowBuilder
from ccmon.otlp.errors import MalformedRequest

# Every upb message's attributes are iterated in place: no intermediate dicts per record.

TEMPORALITIES = frozenset({0, 1, 2})
"""AggregationTemporality values that are stored (UNSPECIFIED, DELTA, CUMULATIVE); the enum is open on the wire, and
any other value would not fit the UInt8 column and fail the whole group commit, so such a metric is rejected."""


def value_of(any_value: Any) -> object:
    """A protobuf AnyValue as a plain Python value (None when unset)."""
    kind = any_value.WhichOneof("value")
    if kind == "string_value":
        return any_value.string_value
    if kind == "int_value":
        return any_value.int_value
    if kind == "double_value":
        return any_value.double_value
    if kind == "bool_value":
        return any_value.bool_value
    if kind == "array_value":
        return [value_of(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return bytes(any_value.bytes_value)
    return None


_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value"})


def attributes(key_values: Any) -> list[tuple[str, object]]:
    """`(key, value)` pairs; scalar values (nearly all of Claude Code's) are read without a call to `value_of`."""
    pairs: list[tuple[str, object]] = []
    for kv in key_values:
        value = kv.value
        kind = value.WhichOneof("value")
        pairs.append((kv.key, getattr(value, kind) if kind in _SCALARS else value_of(value)))
    return pairs


def _parse(message_type: Any, data: bytes) -> Any:
    try:
        return message_type.FromString(data)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise MalformedRequest(f"invalid protobuf {message_type.DESCRIPTOR.name}: {exc}") from None


def decode_logs(data: bytes, builder: RowBuilder) -> None:
    request = _parse(ExportLogsServiceRequest, data)
    for resource_logs in request.resource_logs:
        ctx = builder.resource(attributes(resource_logs.resource.attributes))
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                builder.event(
                    ctx,
                    time_ns=record.time_unix_nano,
                    observed_ns=record.observed_time_unix_nano,
                    body=value_of(record.body),
                    event_name=record.event_name,
                    trace_id=record.trace_id.hex(),
                    span_id=record.span_id.hex(),
                    attrs=attributes(record.attributes),
                )


def decode_metrics(data: bytes, builder: RowBuilder) -> None:
    request = _parse(ExportMetricsServiceRequest, data)
    for resource_metrics in request.resource_metrics:
        ctx = builder.resource(attributes(resource_metrics.resource.attributes))
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope.name
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind == "sum":
                    temporality, monotonic, points = (
                        metric.sum.aggregation_temporality,
                        metric.sum.is_monotonic,
                        metric.sum.data_points,
                    )
                elif kind == "gauge":
                    temporality, monotonic, points = 0, False, metric.gauge.data_points
                else:
                    count = len(getattr(metric, kind).data_points) if kind else 0
                    builder.batch.reject(count, f"metric {metric.name!r}: {kind or 'empty'} metrics are not stored")
                    continue
                if temporality not in TEMPORALITIES:
                    builder.batch.reject(
                        len(points), f"metric {metric.name!r}: unknown aggregation temporality {temporality}"
                    )
                    continue
                for point in points:
                    value = point.as_double if point.WhichOneof("value") == "as_double" else float(point.as_int)
                    builder.point(
                        ctx,
                        scope=scope,
                        metric_name=metric.name,
                        temporality=temporality,
                        monotonic=monotonic,
                        start_ns=point.start_time_unix_nano,
                        time_ns=point.time_unix_nano,
                        value=value,
                        attrs=attributes(point.attributes),
                    )


def decode_traces(data: bytes, builder: RowBuilder) -> None:
    request = _parse(ExportTraceServiceRequest, data)
    for resource_spans in request.resource_spans:
        ctx = builder.resource(attributes(resource_spans.resource.attributes))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                builder.span(
                    ctx,
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    name=span.name,
                    kind=span.kind,
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    status_code=span.status.code,
                    status_message=span.status.message,
                    attrs=attributes(span.attributes),
                )
