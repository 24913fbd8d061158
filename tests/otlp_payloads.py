"""Claude Code-shaped OTLP requests built in code, for tests that need many distinct, countable records."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

BASE_NS = 1_795_487_044_000_000_000  # 2026-11-24T02:24:04Z, inside the tests' summary range


def _kv(key: str, value: str | int | float) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(double_value=value))


def api_request_logs(session: str, first_sequence: int, count: int, cost_usd: float = 0.001) -> bytes:
    """`count` api_request events of one session, with event sequences first_sequence, first_sequence + 1, ..."""
    records = [
        LogRecord(
            time_unix_nano=BASE_NS + (first_sequence + i) * 1_000_000,
            body=AnyValue(string_value="claude_code.api_request"),
            attributes=[
                _kv("session.id", session),
                _kv("user.id", "u-" + session[:8]),
                _kv("event.name", "api_request"),
                _kv("event.sequence", first_sequence + i),
                _kv("model", "claude-sonnet-5"),
                _kv("cost_usd", cost_usd),
                _kv("input_tokens", 100),
                _kv("duration_ms", 1200),
            ],
        )
        for i in range(count)
    ]
    request = ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=Resource(attributes=[_kv("service.name", "claude-code"), _kv("service.version", "2.1.330")]),
                scope_logs=[ScopeLogs(log_records=records)],
            )
        ]
    )
    return request.SerializeToString()
