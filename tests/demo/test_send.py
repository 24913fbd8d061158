"""Building the SDK's export objects and batching them (no server needed)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

from ccmon import demo
from ccmon.demo.send import (
    EVENTS_PER_REQUEST,
    POINTS_PER_REQUEST,
    DemoError,
    _event_batches,
    _metric_batches,
    _Objects,
    check_endpoint,
    log_records,
    metrics_data,
)
from ccmon.demo.telemetry import SessionTelemetry, resource_attributes
from tests.support import free_port


def test_metrics_data_keeps_developers_with_equal_resources(full: demo.Demo) -> None:
    """The SDK's encoder keys `ResourceMetrics` by resource: equal ones must be merged, not overwritten."""
    by_resource: dict[tuple[object, ...], dict[int, SessionTelemetry]] = defaultdict(dict)
    for part in full.telemetry:
        by_resource[tuple(resource_attributes(part.session.person).items())].setdefault(part.session.person.index, part)
    shared = next(parts for parts in by_resource.values() if len(parts) > 1)  # two developers, one resource
    other = next(parts for parts in by_resource.values() if parts is not shared)
    batch = [*shared.values(), *other.values()]
    request = encode_metrics(metrics_data(_Objects(), batch))
    assert len(request.resource_metrics) == 2
    sent = [
        point
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        for point in metric.sum.data_points
    ]
    assert len(sent) == sum(len(t.points) for t in batch)
    scope = request.resource_metrics[0].scope_metrics[0].scope
    assert scope.name == "com.anthropic.claude_code"
    metric = request.resource_metrics[0].scope_metrics[0].metrics[0]
    assert metric.sum.is_monotonic
    assert metric.sum.aggregation_temporality in {1, 2}
    assert all(p.WhichOneof("value") == "as_double" for p in sent)


def test_log_records(small: demo.Demo) -> None:
    slices = [(t, 0, len(t.events)) for t in small.telemetry[:5]]
    request = encode_logs(log_records(_Objects(), slices))
    records = [r for rl in request.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    events = [e for t in small.telemetry[:5] for e in t.events]
    assert len(records) == len(events)
    assert sorted(r.time_unix_nano for r in records) == sorted(e.time_ns for e in events)
    assert all(r.body.string_value.startswith("claude_code.") and r.severity_number == 0 for r in records)
    assert all(not r.event_name for r in records)  # Claude Code does not set LogRecord.event_name
    scope = request.resource_logs[0].scope_logs[0].scope
    assert scope.name == "com.anthropic.claude_code.events"
    resource = {kv.key: kv.value.string_value for kv in request.resource_logs[0].resource.attributes}
    assert resource["service.name"] == "claude-code"
    assert "telemetry.sdk.language" not in resource


def test_batches(full: demo.Demo) -> None:
    metric_batches = list(_metric_batches(full.telemetry))
    assert len(metric_batches) > 1
    assert sum(len(b) for b in metric_batches) == len(full.telemetry)
    home: dict[str, int] = {}
    for number, batch in enumerate(metric_batches):
        assert sum(len(t.points) for t in batch) <= POINTS_PER_REQUEST or len({t.session.id for t in batch}) == 1
        for part in batch:  # every process of one session id in the same request, so cumulative stays in order
            assert home.setdefault(part.session.id, number) == number
    event_batches = list(_event_batches(full.telemetry))
    assert all(sum(end - start for _, start, end in b) <= EVENTS_PER_REQUEST for b in event_batches)
    assert sum(end - start for b in event_batches for _, start, end in b) == sum(len(t.events) for t in full.telemetry)


def test_check_endpoint() -> None:
    with pytest.raises(DemoError, match="protocol"):
        check_endpoint("http://127.0.0.1:4317", "http/json")
    with pytest.raises(DemoError, match="cannot connect"):
        check_endpoint(f"http://127.0.0.1:{free_port()}", "grpc")
    with pytest.raises(DemoError, match="no host"):
        check_endpoint("http://:4317", "grpc")
