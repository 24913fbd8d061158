"""Sending the demo as OTLP through the official OpenTelemetry Python SDK exporters.

The data is historical, so it does not go through meters and loggers (they stamp the current time): `send_telemetry`
builds the SDK's export objects itself — `MetricsData` of monotonic `Sum`s with each point's own start and end time, and
`ReadableLogRecord`s with each event's own timestamp — and hands them to `OTLPMetricExporter.export` and
`OTLPLogExporter.export` (gRPC or HTTP/protobuf), a few thousand records per request, several requests in flight.

Metric batches hold whole sessions, and every process of one session id (a resumed session re-uses it) goes in the
same batch: a cumulative series must reach ccmon in order, which concurrent requests would not guarantee otherwise.
"""

from __future__ import annotations

import socket
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from itertools import zip_longest
from typing import Any
from urllib.parse import urlsplit

from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Metric,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from ccmon.demo.org import Person
from ccmon.demo.telemetry import (
    EVENTS_SCOPE,
    INSTRUMENTS,
    METER_SCOPE,
    SessionTelemetry,
    resource_attributes,
)

PROTOCOLS = ("grpc", "http/protobuf")
DEFAULT_ENDPOINTS = {"grpc": "http://127.0.0.1:4317", "http/protobuf": "http://127.0.0.1:4318"}
EVENTS_PER_REQUEST = 2500
POINTS_PER_REQUEST = 4000
IN_FLIGHT = 2
TIMEOUT_S = 120.0
"""Per export, retries included: a busy ccmon answers 429 / RESOURCE_EXHAUSTED and the exporters back off."""


class DemoError(Exception):
    """The demo could not be sent; the message says why."""


class _Exporters:
    """One metric and one log exporter per sending thread (the HTTP exporters' sessions are not shared)."""

    def __init__(self, endpoint: str, protocol: str, token: str | None) -> None:
        self.endpoint = endpoint if "://" in endpoint else f"http://{endpoint}"
        self.protocol, self.token = protocol, token
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def get(self) -> tuple[Any, Any]:
        pair: tuple[Any, Any] | None = getattr(self._local, "pair", None)
        if pair is None:
            pair = self._create()
            self._local.pair = pair
            with self._lock:
                self._all.extend(pair)
        return pair

    def _create(self) -> tuple[Any, Any]:
        if self.protocol == "grpc":
            headers = {"authorization": f"Bearer {self.token}"} if self.token else None
            insecure = urlsplit(self.endpoint).scheme != "https"
            return (
                GrpcMetricExporter(endpoint=self.endpoint, insecure=insecure, headers=headers, timeout=TIMEOUT_S),
                GrpcLogExporter(endpoint=self.endpoint, insecure=insecure, headers=headers, timeout=TIMEOUT_S),
            )
        base = self.endpoint.rstrip("/")
        http_headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        return (
            HttpMetricExporter(endpoint=f"{base}/v1/metrics", headers=http_headers, timeout=TIMEOUT_S),
            HttpLogExporter(endpoint=f"{base}/v1/logs", headers=http_headers, timeout=TIMEOUT_S),
        )

    def shutdown(self) -> None:
        for exporter in self._all:
            exporter.shutdown()


class _Objects:
    """SDK resources and scopes, one per developer (Claude Code's resource is per installation)."""

    def __init__(self) -> None:
        self._resources: dict[int, Resource] = {}
        self._lock = threading.Lock()

    def resource(self, person: Person) -> Resource:
        with self._lock:
            if person.index not in self._resources:
                self._resources[person.index] = Resource(resource_attributes(person))
            return self._resources[person.index]

    @staticmethod
    def meter_scope(person: Person) -> InstrumentationScope:
        return InstrumentationScope(METER_SCOPE, person.version)

    @staticmethod
    def events_scope(person: Person) -> InstrumentationScope:
        return InstrumentationScope(EVENTS_SCOPE, person.version)


def check_endpoint(endpoint: str, protocol: str) -> None:
    """Fail fast, with a clear message, when nothing listens at the endpoint (the exporters would retry for long)."""
    if protocol not in PROTOCOLS:
        raise DemoError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    if not parts.hostname:
        raise DemoError(f"endpoint {endpoint!r} has no host; give a URL such as {DEFAULT_ENDPOINTS[protocol]}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=5):
            pass
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise DemoError(f"cannot connect to {endpoint} ({reason}): is `ccmon serve` running?") from None


def send_telemetry(
    telemetry: Sequence[SessionTelemetry],
    endpoint: str,
    protocol: str,
    *,
    token: str | None = None,
    in_flight: int = IN_FLIGHT,
    acknowledged: Callable[[int], None] | None = None,
) -> int:
    """Export everything; returns the number of OTLP requests. Raises `DemoError` if an export fails.

    `acknowledged(n)` is called (from worker threads) as each export of n events or data points is acknowledged.
    """
    check_endpoint(endpoint, protocol)
    exporters = _Exporters(endpoint, protocol, token)
    objects = _Objects()
    done = acknowledged or (lambda _: None)
    metric_jobs = [_metrics_job(exporters, objects, batch, done) for batch in _metric_batches(telemetry)]
    log_jobs = [_logs_job(exporters, objects, batch, done) for batch in _event_batches(telemetry)]
    # Metrics and logs alternately, so both signals fill in as the demo loads.
    jobs = [job for pair in zip_longest(metric_jobs, log_jobs) for job in pair if job is not None]
    pool = ThreadPoolExecutor(max_workers=max(1, in_flight), thread_name_prefix="ccmon-demo")
    try:
        futures = [pool.submit(job) for job in jobs]
        for future in as_completed(futures):
            future.result()  # the first failure stops the rest
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        exporters.shutdown()
    return len(jobs)


def _metric_batches(telemetry: Sequence[SessionTelemetry]) -> Iterator[list[SessionTelemetry]]:
    by_session: dict[str, list[SessionTelemetry]] = defaultdict(list)
    for part in telemetry:
        by_session[part.session.id].append(part)
    batch: list[SessionTelemetry] = []
    size = 0
    for group in by_session.values():
        points = sum(len(part.points) for part in group)
        if batch and size + points > POINTS_PER_REQUEST:
            yield batch
            batch, size = [], 0
        batch.extend(group)
        size += points
    if batch:
        yield batch


def _event_batches(telemetry: Sequence[SessionTelemetry]) -> Iterator[list[tuple[SessionTelemetry, int, int]]]:
    """Slices (part, from, to) of the parts' events, EVENTS_PER_REQUEST at most per batch."""
    batch: list[tuple[SessionTelemetry, int, int]] = []
    size = 0
    for part in telemetry:
        start = 0
        while start < len(part.events):
            take = min(len(part.events) - start, EVENTS_PER_REQUEST - size)
            batch.append((part, start, start + take))
            size += take
            start += take
            if size == EVENTS_PER_REQUEST:
                yield batch
                batch, size = [], 0
    if batch:
        yield batch


def _metrics_job(
    exporters: _Exporters, objects: _Objects, batch: list[SessionTelemetry], done: Callable[[int], None]
) -> Callable[[], None]:
    def job() -> None:
        data = metrics_data(objects, batch)
        count = sum(len(part.points) for part in batch)
        if exporters.get()[0].export(data, timeout_millis=TIMEOUT_S * 1000) is not MetricExportResult.SUCCESS:
            raise DemoError(f"exporting {count} data points to {exporters.endpoint} failed (see the log above)")
        done(count)

    return job


def _logs_job(
    exporters: _Exporters,
    objects: _Objects,
    batch: list[tuple[SessionTelemetry, int, int]],
    done: Callable[[int], None],
) -> Callable[[], None]:
    def job() -> None:
        records = log_records(objects, batch)
        if exporters.get()[1].export(records) is not LogRecordExportResult.SUCCESS:
            raise DemoError(f"exporting {len(records)} events to {exporters.endpoint} failed (see the log above)")
        done(len(records))

    return job


def metrics_data(objects: _Objects, batch: Sequence[SessionTelemetry]) -> MetricsData:
    """One `ResourceMetrics` per distinct resource, one `Metric` per counter and temporality, each point with its own
    times.

    Developers whose resources are equal (same team, platform and version: Claude Code sends no host name) share one
    `ResourceMetrics`: the SDK's encoder keys them by resource and would keep only the last of two equal ones.
    """
    grouped: dict[Resource, dict[tuple[str, bool], list[NumberDataPoint]]] = {}
    scopes: dict[Resource, InstrumentationScope] = {}
    for part in batch:
        person = part.session.person
        resource = objects.resource(person)
        scopes[resource] = objects.meter_scope(person)
        metrics = grouped.setdefault(resource, defaultdict(list))
        for point in part.points:
            metrics[point.metric, part.cumulative].append(
                NumberDataPoint(
                    attributes=point.attributes,
                    start_time_unix_nano=point.start_ns,
                    time_unix_nano=point.time_ns,
                    value=float(point.value),
                )
            )
    resource_metrics = []
    for resource, metrics in grouped.items():
        sums = [
            Metric(
                name=name,
                description=INSTRUMENTS[name][0],
                unit=INSTRUMENTS[name][1],
                data=Sum(
                    data_points=points,
                    aggregation_temporality=(
                        AggregationTemporality.CUMULATIVE if cumulative else AggregationTemporality.DELTA
                    ),
                    is_monotonic=True,
                ),
            )
            for (name, cumulative), points in metrics.items()
        ]
        scope = ScopeMetrics(scope=scopes[resource], metrics=sums, schema_url="")
        resource_metrics.append(ResourceMetrics(resource=resource, scope_metrics=[scope], schema_url=""))
    return MetricsData(resource_metrics=resource_metrics)


def log_records(objects: _Objects, batch: Sequence[tuple[SessionTelemetry, int, int]]) -> list[ReadableLogRecord]:
    """Events as the SDK's exporters take them: body `claude_code.<name>`, no severity, the event's own time."""
    records = []
    for part, start, end in batch:
        person = part.session.person
        resource, scope = objects.resource(person), objects.events_scope(person)
        for event in part.events[start:end]:
            record = LogRecord(
                timestamp=event.time_ns, observed_timestamp=event.time_ns, body=event.body, attributes=event.attributes
            )
            records.append(ReadableLogRecord(log_record=record, resource=resource, instrumentation_scope=scope))
    return records
