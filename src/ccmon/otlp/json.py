"""Walk OTLP/JSON export requests (HTTP `application/json`): metrics into rows, logs and traces into the protobuf
requests they stand for (`ccmon.otlp.json_requests`), which the engine turns into rows like any other.

`google.protobuf.json_format.Parse` is about 20x slower than this and reads trace and span ids as base64, while the
OTLP JSON encoding writes them as hex: the body is parsed with orjson and walked directly. Per the OTLP spec, 64-bit
integers may arrive as strings or numbers and enums as numbers (names are accepted too).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from ccmon.ingest.rows import RowBuilder
from ccmon.otlp.errors import MalformedRequest
from ccmon.otlp.json_requests import ProtobufBuilder
from ccmon.otlp.protobuf import TEMPORALITIES

_TEMPORALITY_NAMES = {
    "AGGREGATION_TEMPORALITY_UNSPECIFIED": 0,
    "AGGREGATION_TEMPORALITY_DELTA": 1,
    "AGGREGATION_TEMPORALITY_CUMULATIVE": 2,
}
_SPAN_KIND_NAMES = {
    f"SPAN_KIND_{n}": i for i, n in enumerate(["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"])
}
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}


def _kind(raw: object) -> str:
    """The JSON type of a parsed value, for error messages."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "a boolean"
    return _JSON_TYPES.get(type(raw), type(raw).__name__)


def _int(raw: object, names: dict[str, int] | None = None) -> int:
    if raw is None:
        return 0
    if type(raw) is int:
        return raw
    if isinstance(raw, str):
        if names is not None and raw in names:
            return names[raw]
        return int(raw)
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    raise ValueError(f"expected an integer, got {str(raw)[:64]!r}")


def _int64(raw: object) -> int:
    """An `intValue` or `asInt`: int64 in the OTLP schema (a larger one cannot be converted to float)."""
    value = _int(raw)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError(f"integer value out of the int64 range: {str(raw)[:64]}")
    return value


def _str(raw: object, field: str) -> str:
    """A string field (a number here would reach a String column and fail the whole commit)."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValueError(f"{field} must be a string, got {_kind(raw)}")
    return raw


def _bool(raw: object, field: str) -> bool:
    if raw is None:
        return False
    if not isinstance(raw, bool):
        raise ValueError(f"{field} must be true or false, got {str(raw)[:64]!r}")
    return raw


def _object(raw: object, field: str) -> dict[str, Any]:
    """A JSON object field (absent or null: an empty one)."""
    if raw is None:
        return {}
    if type(raw) is not dict:
        raise ValueError(f"{field} must be an object, got {_kind(raw)}")
    return raw


def _array(raw: object, field: str) -> list[Any]:
    """A JSON array field (absent or null: an empty one)."""
    if raw is None:
        return []
    if type(raw) is not list:
        raise ValueError(f"{field} must be an array, got {_kind(raw)}")
    return raw


def _objects(raw: object, field: str) -> Iterator[dict[str, Any]]:
    """The items of an array of objects."""
    for item in _array(raw, field):
        if type(item) is not dict:
            raise ValueError(f"{field} must hold objects, got {_kind(item)}")
        yield item


def _float(raw: object) -> float:
    if isinstance(raw, bool):
        raise ValueError(f"expected a number, got {raw!r}")
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        return float(raw)  # also "NaN", "Infinity", "-Infinity"
    raise ValueError(f"expected a number, got {_kind(raw)}")


def _hex_id(raw: object) -> str:
    if not raw:
        return ""
    if not isinstance(raw, str):
        raise ValueError(f"trace and span ids must be hex strings, got {_kind(raw)}")
    try:
        return bytes.fromhex(raw).hex()
    except ValueError:
        raise ValueError(f"trace and span ids must be hex, got {raw[:64]!r}") from None


def value_of(any_value: Any) -> object:
    """An OTLP/JSON AnyValue object as a plain Python value (None when unset)."""
    if any_value is None:
        return None
    if type(any_value) is not dict:
        raise ValueError(f"values must be AnyValue objects, got {_kind(any_value)}")
    if not any_value:
        return None
    if "stringValue" in any_value:
        return any_value["stringValue"]
    if "intValue" in any_value:
        return _int64(any_value["intValue"])
    if "doubleValue" in any_value:
        return _float(any_value["doubleValue"])
    if "boolValue" in any_value:
        return _bool(any_value["boolValue"], "boolValue")
    if "arrayValue" in any_value:
        return [value_of(v) for v in _array(_object(any_value["arrayValue"], "arrayValue").get("values"), "values")]
    if "kvlistValue" in any_value:
        return dict(attributes(_object(any_value["kvlistValue"], "kvlistValue").get("values")))
    if "bytesValue" in any_value:
        try:
            return base64.b64decode(any_value["bytesValue"], validate=True)
        except (binascii.Error, TypeError):
            raise ValueError("bytesValue must be base64") from None
    return None


def attributes(key_values: Any) -> Iterator[tuple[str, object]]:
    for kv in _objects(key_values, "attributes"):
        key = kv.get("key")
        if not isinstance(key, str):
            raise ValueError(f"attribute keys must be strings, got {_kind(key)}")
        yield key, value_of(kv.get("value"))


def _walk(data: bytes, what: str, walker: Callable[[Any, Any], None], builder: Any) -> None:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"invalid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedRequest(f"an OTLP/JSON {what} request must be a JSON object, got {_kind(document)}")
    try:
        walker(document, builder)
    except ValueError as exc:
        raise MalformedRequest(f"malformed OTLP/JSON {what} request: {exc}") from None
    except (TypeError, AttributeError, KeyError, OverflowError, RecursionError) as exc:
        raise MalformedRequest(f"malformed OTLP/JSON {what} request: {type(exc).__name__}: {exc}") from None


def _resource(builder: Any, parent: dict[str, Any]) -> Any:
    return builder.resource(attributes(_object(parent.get("resource"), "resource").get("attributes")))


def _logs(document: Any, builder: ProtobufBuilder) -> None:
    for resource_logs in _objects(document.get("resourceLogs"), "resourceLogs"):
        ctx = _resource(builder, resource_logs)
        for scope_logs in _objects(resource_logs.get("scopeLogs"), "scopeLogs"):
            for record in _objects(scope_logs.get("logRecords"), "logRecords"):
                builder.event(
                    ctx,
                    time_ns=_int(record.get("timeUnixNano")),
                    observed_ns=_int(record.get("observedTimeUnixNano")),
                    body=value_of(record.get("body")),
                    event_name=_str(record.get("eventName"), "eventName"),
                    trace_id=_hex_id(record.get("traceId")),
                    span_id=_hex_id(record.get("spanId")),
                    attrs=attributes(record.get("attributes")),
                )


def _metrics(document: Any, builder: RowBuilder) -> None:
    for resource_metrics in _objects(document.get("resourceMetrics"), "resourceMetrics"):
        ctx = _resource(builder, resource_metrics)
        for scope_metrics in _objects(resource_metrics.get("scopeMetrics"), "scopeMetrics"):
            scope = _str(_object(scope_metrics.get("scope"), "scope").get("name"), "scope name")
            for metric in _objects(scope_metrics.get("metrics"), "metrics"):
                name = _str(metric.get("name"), "metric name")
                if "sum" in metric:
                    data = _object(metric["sum"], "sum")
                    temporality = _int(data.get("aggregationTemporality"), _TEMPORALITY_NAMES)
                    monotonic = _bool(data.get("isMonotonic"), "isMonotonic")
                elif "gauge" in metric:
                    data, temporality, monotonic = _object(metric["gauge"], "gauge"), 0, False
                else:
                    kind = next((k for k in ("histogram", "exponentialHistogram", "summary") if k in metric), None)
                    count = len(_array(_object(metric.get(kind), kind).get("dataPoints"), "dataPoints")) if kind else 0
                    builder.batch.reject(count, f"metric {name!r}: {kind or 'empty'} metrics are not stored")
                    continue
                points = _array(data.get("dataPoints"), "dataPoints")
                if temporality not in TEMPORALITIES:
                    builder.batch.reject(len(points), f"metric {name!r}: unknown aggregation temporality {temporality}")
                    continue
                for point in _objects(points, "dataPoints"):
                    value = _float(point["asDouble"]) if "asDouble" in point else float(_int64(point.get("asInt")))
                    builder.point(
                        ctx,
                        scope=scope,
                        metric_name=name,
                        temporality=temporality,
                        monotonic=monotonic,
                        start_ns=_int(point.get("startTimeUnixNano")),
                        time_ns=_int(point.get("timeUnixNano")),
                        value=value,
                        attrs=attributes(point.get("attributes")),
                    )


def _traces(document: Any, builder: ProtobufBuilder) -> None:
    for resource_spans in _objects(document.get("resourceSpans"), "resourceSpans"):
        ctx = _resource(builder, resource_spans)
        for scope_spans in _objects(resource_spans.get("scopeSpans"), "scopeSpans"):
            for span in _objects(scope_spans.get("spans"), "spans"):
                status = _object(span.get("status"), "status")
                builder.span(
                    ctx,
                    trace_id=_hex_id(span.get("traceId")),
                    span_id=_hex_id(span.get("spanId")),
                    parent_span_id=_hex_id(span.get("parentSpanId")),
                    name=_str(span.get("name"), "span name"),
                    kind=_int(span.get("kind"), _SPAN_KIND_NAMES),
                    start_ns=_int(span.get("startTimeUnixNano")),
                    end_ns=_int(span.get("endTimeUnixNano")),
                    status_code=_int(status.get("code"), _STATUS_NAMES),
                    status_message=_str(status.get("message"), "status message"),
                    attrs=attributes(span.get("attributes")),
                )


def logs_request(data: bytes) -> bytes:
    """The protobuf `ExportLogsServiceRequest` an OTLP/JSON logs request stands for."""
    builder = ProtobufBuilder("logs")
    _walk(data, "logs", _logs, builder)
    return builder.body()


def decode_metrics(data: bytes, builder: RowBuilder) -> None:
    _walk(data, "metrics", _metrics, builder)


def traces_request(data: bytes) -> bytes:
    """The protobuf `ExportTraceServiceRequest` an OTLP/JSON traces request stands for."""
    builder = ProtobufBuilder("traces")
    _walk(data, "traces", _traces, builder)
    return builder.body()
