"""A recording OTLP/HTTP receiver for the forwarding tests: it keeps every request (path, headers, decompressed
body) and answers as scripted (statuses, a `Retry-After`, a delay), served by `tests.support.http_server`."""

from __future__ import annotations

import gzip
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Recorder:
    delay_s: float = 0.0
    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    """Scripted answers (status, headers), one per request, before the default 200."""
    requests: list[Received] = field(default_factory=list)
    """The requests answered 200."""
    attempts: list[tuple[int, float]] = field(default_factory=list)
    """Every request's answer status and time."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                body = gzip.decompress(raw) if self.headers.get("content-encoding") == "gzip" else raw
                if recorder.delay_s:
                    time.sleep(recorder.delay_s)
                with recorder._lock:
                    status, headers = recorder.answers.popleft() if recorder.answers else (200, {})
                    recorder.attempts.append((status, time.monotonic()))
                    if status == 200:
                        recorder.requests.append(
                            Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                        )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_until(self, condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"not reached within {timeout_s} s; {len(self.received())} requests received")
            time.sleep(0.05)

    def metrics(self) -> list[ExportMetricsServiceRequest]:
        return [ExportMetricsServiceRequest.FromString(r.body) for r in self.received("/v1/metrics")]

    def logs(self) -> list[ExportLogsServiceRequest]:
        return [ExportLogsServiceRequest.FromString(r.body) for r in self.received("/v1/logs")]
