"""Walk OTLP protobuf metrics export requests (from gRPC or HTTP `application/x-protobuf`) into rows; logs and traces
are turned into rows by the engine (`ccmon.otlp.prepare`, `ccmon.ingest.engine_rows`)."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from ccmon.ingest.rows import RowBuilder
from ccmon.otlp.prepare import parse
from ccmon.otlp.prepare import plain_value as value_of

# Every upb message's attributes are iterated in place: no intermediate dicts per record.

TEMPORALITIES = frozenset({0, 1, 2})
"""AggregationTemporality values that are stored (UNSPECIFIED, DELTA, CUMULATIVE); the enum is open on the wire, and
any other value would not fit the UInt8 column and fail the whole group commit, so such a metric is rejected."""


_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value"})


def attributes(key_values: Any) -> list[tuple[str, object]]:
    """`(key, value)` pairs; scalar values (nearly all of Claude Code's) are read without a call to `value_of`."""
    pairs: list[tuple[str, object]] = []
    for kv in key_values:
        value = kv.value
        kind = value.WhichOneof("value")
        pairs.append((kv.key, getattr(value, kind) if kind in _SCALARS else value_of(value)))
    return pairs


def decode_metrics(data: bytes, builder: RowBuilder) -> None:
    request = parse(ExportMetricsServiceRequest, data)
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
