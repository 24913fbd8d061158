"""The official OpenTelemetry Python SDK exporters (gRPC and HTTP/protobuf) sending to a running ccmon."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from tests.support import RunningServer

DELTA: dict[type, AggregationTemporality] = {Counter: AggregationTemporality.DELTA}
CUMULATIVE: dict[type, AggregationTemporality] = {Counter: AggregationTemporality.CUMULATIVE}
SESSION = "0b7c6f1e-0000-4000-8000-000000000001"
IDENTITY = {"session.id": SESSION, "user.email": "dev@example.com", "user.id": "abc123", "terminal.type": "vscode"}


def _exporters(
    server: RunningServer, transport: str, temporality: dict[type, AggregationTemporality]
) -> tuple[Any, Any]:
    if transport == "grpc":
        return (
            GrpcMetricExporter(endpoint=server.otlp_grpc_target, insecure=True, preferred_temporality=temporality),
            GrpcLogExporter(endpoint=server.otlp_grpc_target, insecure=True),
        )
    return (
        HttpMetricExporter(
            endpoint=f"{server.otlp_http_url}/v1/metrics",
            preferred_temporality=temporality,
            compression=Compression.Gzip,
        ),
        HttpLogExporter(endpoint=f"{server.otlp_http_url}/v1/logs"),
    )


def _run_session(metric_exporter: Any, log_exporter: Any, requests: int) -> None:
    """A Claude Code-shaped session: per API request, cost and token counters plus an api_request event."""
    resource = Resource.create({"service.name": "claude-code", "service.version": "2.1.330", "team": "platform"})
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000)
    meters = MeterProvider(resource=resource, metric_readers=[reader])
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
    meter = meters.get_meter("com.anthropic.claude_code", "2.1.330")
    cost = meter.create_counter("claude_code.cost.usage", unit="USD")
    tokens = meter.create_counter("claude_code.token.usage", unit="tokens")
    logger = logs.get_logger("com.anthropic.claude_code.events", "2.1.330")
    for i in range(requests):
        labels = {**IDENTITY, "model": "claude-sonnet-5"}
        cost.add(0.01, labels)
        for kind, amount in (("input", 1000), ("output", 100), ("cacheRead", 50), ("cacheCreation", 5)):
            tokens.add(amount, {**labels, "type": kind})
        logger.emit(
            body="claude_code.api_request",
            attributes={
                **labels,
                "event.name": "api_request",
                "event.sequence": i,
                "cost_usd": 0.01,
                "input_tokens": 1000,
                "output_tokens": 100,
                "duration_ms": 900 + i,
            },
        )
        reader.force_flush()  # one export per request, so cumulative series are re-sent several times
    logs.shutdown()
    meters.shutdown()


@pytest.mark.parametrize("transport", ["grpc", "http"])
@pytest.mark.parametrize("temporality", [DELTA, CUMULATIVE], ids=["delta", "cumulative"])
def test_sdk_exporters(server: RunningServer, transport: str, temporality: dict[type, AggregationTemporality]) -> None:
    metric_exporter, log_exporter = _exporters(server, transport, temporality)
    _run_session(metric_exporter, log_exporter, requests=4)
    summary = server.summary()
    assert summary["cost_usd"] == pytest.approx(0.04)
    assert summary["tokens"] == {"input": 4000, "output": 400, "cache_read": 200, "cache_creation": 20}
    assert summary["api_requests"] == 4
    assert summary["sessions"] == 1
    assert summary["users"] == 1
