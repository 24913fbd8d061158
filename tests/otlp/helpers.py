"""Helpers for the receiver tests: servers with custom settings, ccmon's own metrics, the store behind a server,
and OTLP export requests built in code (as OTLP/JSON documents, convertible to protobuf)."""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import struct
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from ccmon.store.facade import Store
from tests.support import Payload, RunningServer, claude_result, in_process_server, make_config, payloads

Document = dict[str, Any]

REQUEST_TYPES: dict[str, Any] = {
    "logs": ExportLogsServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "traces": ExportTraceServiceRequest,
}
JSON = "application/json"
PROTOBUF = "application/x-protobuf"


# --- servers ------------------------------------------------------------------------------------------------------

_client: httpx.Client | None = None


def client() -> httpx.Client:
    """One HTTP client for the whole package: a new one per request (as `httpx.post` makes) costs 30-50 ms."""
    global _client  # noqa: PLW0603
    if _client is None:
        _client = httpx.Client(timeout=30)
    return _client


def close_client() -> None:
    global _client  # noqa: PLW0603
    if _client is not None:
        _client.close()
        _client = None


def post(server: RunningServer, signal: str, body: bytes, content_type: str, **headers: str) -> httpx.Response:
    """`RunningServer.post` on the shared client (use `server.post` from other threads)."""
    url = f"{server.otlp_http_url}/v1/{signal}"
    return client().post(url, content=body, headers={"content-type": content_type, **headers})


@contextlib.contextmanager
def custom_server(chdb_path: Path, **overrides: Any) -> Iterator[RunningServer]:
    """`ccmon serve` in-process, in a fresh database, with some settings changed."""
    database = f"test_{uuid.uuid4().hex[:12]}"
    with in_process_server(make_config(chdb_path, database=database, **overrides)) as running:
        yield running


def metric(server: RunningServer, name: str, **labels: str) -> float:
    """The sum of the samples of `name` (e.g. `ccmon_stored_rows_total`) with these labels, from GET /metrics."""
    response = client().get(f"{server.api_url}/metrics")
    response.raise_for_status()
    total = 0.0
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout} s")
        time.sleep(0.01)


def query(server: RunningServer, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Read the server's own database (chDB shares one engine per process, so this sees its commits)."""
    store = Store.open(data_dir=server.config.data_dir, database=server.config.database)
    try:
        return store.query(sql, parameters)
    finally:
        store.close()


def assert_healthy(server: RunningServer) -> None:
    """The server still answers: a real Claude Code export is accepted and /healthz is up."""
    logs = fixture("writefile-http-json", "logs")
    response = post(server, "logs", logs.read(), JSON)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    health = client().get(f"{server.api_url}/healthz")
    assert health.status_code == 200


# --- fixture payloads ---------------------------------------------------------------------------------------------


def fixture(run: str, signal: str) -> Payload:
    (found,) = [p for p in payloads(run) if p.signal == signal]
    return found


def assert_summary_matches_claude(summary: Mapping[str, Any], run: str, runs: int = 1) -> None:
    """The summary's cost, tokens and sessions are what Claude Code itself reported (`runs` copies of the run)."""
    result = claude_result(run)
    usage = result["usage"]
    assert summary["cost_usd"] == pytest.approx(runs * result["total_cost_usd"], abs=1e-9)
    assert summary["tokens"] == {
        "input": runs * usage["input_tokens"],
        "output": runs * usage["output_tokens"],
        "cache_read": runs * usage["cache_read_input_tokens"],
        "cache_creation": runs * usage["cache_creation_input_tokens"],
    }
    assert summary["sessions"] == runs
    assert summary["api_requests"] == runs * result["num_turns"]


def assert_writefile_summary(summary: dict[str, Any], run: str, runs: int = 1) -> None:
    """A `writefile-*` run: one Write accepted, 3 lines added, 2 API requests (each captured run has its own user)."""
    assert_summary_matches_claude(summary, run, runs)
    assert summary["users"] == runs
    assert summary["api_errors"] == 0
    assert (summary["lines_added"], summary["lines_removed"]) == (3 * runs, 0)
    assert (summary["commits"], summary["pull_requests"]) == (0, 0)
    assert summary["edit_decisions"] == {"accept": runs, "reject": 0}
    assert summary["tool_decisions"] == {"accept": runs, "reject": 0}
    assert summary["tool_calls"] == runs


def status_of(response: httpx.Response) -> tuple[int, str]:
    """The google.rpc.Status of an error answer, read in the answer's own encoding."""
    if response.headers["content-type"] == PROTOBUF:
        status = status_pb2.Status.FromString(response.content)
        return int(status.code), str(status.message)
    body = response.json()
    return int(body["code"]), str(body["message"])


# --- OTLP/JSON documents built in code ----------------------------------------------------------------------------


def any_value(value: object) -> Document:
    """A Python value as an OTLP/JSON AnyValue (ints as numbers, as Claude Code sends them)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, list):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": key_values(value)}}
    raise TypeError(f"no AnyValue for {value!r}")


def key_values(attrs: Mapping[str, object]) -> list[Document]:
    """Attributes; a value that is already an AnyValue document (a dict with a `...Value` key) is used as is."""
    result = []
    for key, value in attrs.items():
        raw = isinstance(value, dict) and len(value) == 1 and next(iter(value)).endswith("Value")
        result.append({"key": key, "value": value if raw else any_value(value)})
    return result


def session() -> str:
    return str(uuid.uuid4())


def log_record(
    attrs: Mapping[str, object],
    *,
    time_ns: int | str | None = None,
    observed_ns: int | str | None = None,
    body: str = "",
    trace_id: str = "",
    span_id: str = "",
) -> Document:
    record: Document = {"timeUnixNano": str(time.time_ns() if time_ns is None else time_ns)}
    if observed_ns is not None:
        record["observedTimeUnixNano"] = str(observed_ns)
    if body:
        record["body"] = {"stringValue": body}
    if trace_id:
        record["traceId"] = trace_id
    if span_id:
        record["spanId"] = span_id
    record["attributes"] = key_values(attrs)
    return record


def event(name: str, session_id: str, sequence: int, /, **attrs: object) -> Document:
    """A Claude Code event as it arrives: `claude_code.<name>` body, `event.name`, session and sequence."""
    base: dict[str, object] = {"event.name": name, "session.id": session_id, "event.sequence": sequence}
    return log_record({**base, **attrs}, body=f"claude_code.{name}")


def logs_request(records: Sequence[Document], resource: Mapping[str, object] | None = None) -> Document:
    scope_logs = {"scope": {"name": "com.anthropic.claude_code.events"}, "logRecords": list(records)}
    return {"resourceLogs": [{"resource": {"attributes": key_values(resource or {})}, "scopeLogs": [scope_logs]}]}


def data_point(value: object, attrs: Mapping[str, object] | None = None, time_ns: int | None = None) -> Document:
    """A number data point; `value` is used for `asDouble` as is (so "NaN" and "Infinity" strings can be sent)."""
    end = time.time_ns() if time_ns is None else time_ns
    point: Document = {"startTimeUnixNano": str(end - 10**9), "timeUnixNano": str(end)}
    point["attributes"] = key_values(attrs or {})
    if isinstance(value, int) and not isinstance(value, bool):
        point["asInt"] = str(value)
    else:
        point["asDouble"] = value
    return point


def sum_metric(name: str, points: Sequence[Document], temporality: int = 1) -> Document:
    return {
        "name": name,
        "sum": {"aggregationTemporality": temporality, "isMonotonic": True, "dataPoints": list(points)},
    }


def histogram_metric(name: str, count: int) -> Document:
    end = time.time_ns()
    points = [
        {"startTimeUnixNano": str(end - 10**9), "timeUnixNano": str(end), "count": "1", "sum": 1.0, "attributes": []}
        for _ in range(count)
    ]
    return {"name": name, "histogram": {"aggregationTemporality": 1, "dataPoints": points}}


def metrics_request(metrics: Sequence[Document], resource: Mapping[str, object] | None = None) -> Document:
    scope_metrics = {"scope": {"name": "com.anthropic.claude_code"}, "metrics": list(metrics)}
    resource_metrics = {"resource": {"attributes": key_values(resource or {})}, "scopeMetrics": [scope_metrics]}
    return {"resourceMetrics": [resource_metrics]}


def span(name: str, trace_id: str, span_id: str, parent_span_id: str = "", **attrs: object) -> Document:
    start = time.time_ns() - 10**9
    document: Document = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 5 * 10**8),
        "status": {"code": 0},
        "attributes": key_values(attrs),
    }
    if parent_span_id:
        document["parentSpanId"] = parent_span_id
    return document


def traces_request(spans: Sequence[Document], resource: Mapping[str, object] | None = None) -> Document:
    scope_spans = {"scope": {"name": "com.anthropic.claude_code.tracing"}, "spans": list(spans)}
    return {"resourceSpans": [{"resource": {"attributes": key_values(resource or {})}, "scopeSpans": [scope_spans]}]}


PARTIAL_REJECTED = 4
PARTIAL_MESSAGE = (
    "metric 'test.partial.histogram': histogram metrics are not stored; "
    "metric 'test.partial.nan': a data point value is NaN or infinite"
)


def partial_metrics(session_id: str) -> Document:
    """Two storable points (`test.partial.good` 1.0 and `test.partial.nan` 2.0) and `PARTIAL_REJECTED` that are not:
    three histogram points and one NaN."""
    attrs = {"session.id": session_id}
    return metrics_request(
        [
            sum_metric("test.partial.good", [data_point(1.0, attrs)]),
            histogram_metric("test.partial.histogram", 3),
            sum_metric("test.partial.nan", [data_point("NaN", attrs), data_point(2.0, {**attrs, "n": 2})]),
        ]
    )


def stored_points(server: RunningServer, session_id: str) -> list[tuple[Any, ...]]:
    return query(
        server,
        "SELECT metric_name, value FROM metric_points WHERE session_id = {s:String} ORDER BY 1, 2",
        {"s": session_id},
    )


def to_json(document: Document) -> bytes:
    return json.dumps(document, allow_nan=False).encode()


_ID_KEYS = {"traceId", "spanId", "parentSpanId"}


def _ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes ids as hex; the canonical protobuf JSON mapping that `json_format` reads wants base64."""
    if isinstance(node, dict):
        return {
            k: base64.b64encode(bytes.fromhex(v)).decode() if k in _ID_KEYS else _ids_to_base64(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_ids_to_base64(v) for v in node]
    return node


def to_protobuf(signal: str, document: Document | bytes) -> bytes:
    """An OTLP/JSON request (a document, or the bytes of one) as the equivalent protobuf Export*ServiceRequest."""
    parsed = json.loads(document) if isinstance(document, bytes) else document
    message = json_format.ParseDict(_ids_to_base64(parsed), REQUEST_TYPES[signal]())
    data: bytes = message.SerializeToString()
    return data


# --- hostile bodies -----------------------------------------------------------------------------------------------

GIB = 1 << 30
BOMB_BLOCK = 1 << 24
_ZEROS_CRC32 = {GIB // BOMB_BLOCK: 0x5B64C2B0}
"""crc32 of 2**30 zero bytes (computing it takes half a second)."""


@functools.cache
def gzip_bomb(blocks: int = GIB // BOMB_BLOCK) -> bytes:
    """A valid gzip stream of `blocks` x 16 MiB of zeros: by default 1 GiB in about 1 MB.

    Sixteen MiB of zeros deflated and ended with a full flush give a block that leaves the compressor as it found it,
    so that block repeated is the deflate stream of as many times 16 MiB of zeros: built in 0.1 s instead of 6 s.
    """
    chunk = bytes(BOMB_BLOCK)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    header, block = first[:10], first[10:]
    crc = _ZEROS_CRC32.get(blocks)
    if crc is None:
        crc = 0
        for _ in range(blocks):
            crc = zlib.crc32(chunk, crc)
    final_empty_block = b"\x03\x00"
    size = blocks * BOMB_BLOCK
    return header + block * blocks + final_empty_block + struct.pack("<II", crc, size % 2**32)


# --- a full write queue -------------------------------------------------------------------------------------------

QUEUE_SETTINGS: dict[str, Any] = {"queue_max_rows": 12, "batch_max_rows": 12, "batch_max_delay_ms": 60_000}
"""With these settings the writer holds the 11 rows of the logs fixture for a minute, waiting for a 12th; any request of
more than one row is then refused (the queue would exceed 12 rows), and a one-row request completes the batch."""
HELD_ROWS = 11


def fill(server: RunningServer, rows: int) -> httpx.Response:
    """Post one request of `rows` events (of a new session): what completes a batch the writer is waiting on."""
    session_id = session()
    return server.post("logs", to_json(logs_request([event("user_prompt", session_id, n) for n in range(rows)])), JSON)


def queued_rows(server: RunningServer) -> float:
    return metric(server, "ccmon_write_queue_rows")


@contextlib.contextmanager
def held_request(server: RunningServer) -> Iterator[None]:
    """While inside, the writer holds `HELD_ROWS` rows in its queue (`server` must run with `QUEUE_SETTINGS`).

    Deterministic, without sleeping: the held request is answered only once a one-row request fills the batch on exit.
    """
    logs = fixture("writefile-http-json", "logs")
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(server.post, "logs", logs.read(), JSON)
        wait_for(lambda: queued_rows(server) == HELD_ROWS, what="the logs request to be queued")
        yield
        release = fill(server, 1)
        assert release.status_code == 200, release.text
        answer = held.result(timeout=10)
        assert answer.status_code == 200, answer.text
