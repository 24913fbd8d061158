"""OTLP/HTTP receiver: encodings, compression, chunked bodies, answers, limits, authentication, back-pressure, dedup."""

from __future__ import annotations

import gzip
import json
import socket
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.otlp.conftest import SMALL_CAP, TOKEN
from tests.otlp.helpers import (
    HELD_ROWS,
    JSON,
    PARTIAL_MESSAGE,
    PARTIAL_REJECTED,
    PROTOBUF,
    QUEUE_SETTINGS,
    Document,
    assert_writefile_summary,
    client,
    custom_server,
    data_point,
    event,
    fill,
    fixture,
    held_request,
    logs_request,
    metric,
    metrics_request,
    partial_metrics,
    post,
    query,
    queued_rows,
    session,
    span,
    status_of,
    stored_points,
    sum_metric,
    to_json,
    to_protobuf,
    traces_request,
    wait_for,
)
from tests.support import RunningServer, payloads

RESPONSES: dict[str, Any] = {
    "logs": ExportLogsServiceResponse,
    "metrics": ExportMetricsServiceResponse,
    "traces": ExportTraceServiceResponse,
}
BEARER = {"authorization": f"Bearer {TOKEN}"}


def encode(document: Document, signal: str, content_type: str) -> bytes:
    return to_json(document) if content_type == JSON else to_protobuf(signal, document)


def post_raw(server: RunningServer, path: str, body: bytes | Iterator[bytes], **headers: str) -> httpx.Response:
    return client().post(f"{server.otlp_http_url}{path}", content=body, headers=headers)


# --- accepted requests --------------------------------------------------------------------------------------------


def test_protobuf_run_is_stored_and_answered_in_protobuf(server: RunningServer) -> None:
    for payload in payloads("writefile-http-protobuf"):
        response = post(server, payload.signal, payload.read(), PROTOBUF)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == PROTOBUF
        answer = RESPONSES[payload.signal].FromString(response.content)
        assert not answer.HasField("partial_success")
    assert_writefile_summary(server.summary(), "writefile-http-protobuf")


def test_json_run_is_stored_and_answered_in_json(server: RunningServer) -> None:
    for payload in payloads("writefile-http-json"):
        response = post(server, payload.signal, payload.read(), JSON)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == JSON
        assert response.json() == {}
    assert_writefile_summary(server.summary(), "writefile-http-json")
    assert query(server, "SELECT count() FROM spans") == [(6,)]


def test_gzip_bodies_in_both_encodings(server: RunningServer) -> None:
    for run in ("writefile-http-json", "writefile-http-protobuf"):
        for payload in payloads(run):
            body = gzip.compress(payload.read())
            response = post(server, payload.signal, body, payload.content_type, **{"content-encoding": "gzip"})
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == payload.content_type
    # Claude Code reported the same usage for both runs: the totals are twice one run's.
    assert_writefile_summary(server.summary(), "writefile-http-json", runs=2)


def test_deflate_and_multi_member_gzip(shared_server: RunningServer) -> None:
    session_id = session()
    first, second = (to_json(logs_request([event("user_prompt", session_id, n)])) for n in (0, 1))
    two_members = gzip.compress(first[:40]) + gzip.compress(first[40:])
    assert post(shared_server, "logs", two_members, JSON, **{"content-encoding": "gzip"}).status_code == 200
    deflated = zlib.compress(second)
    assert post(shared_server, "logs", deflated, JSON, **{"content-encoding": "deflate"}).status_code == 200
    rows = query(
        shared_server, "SELECT event_sequence FROM events WHERE session_id = {s:String} ORDER BY 1", {"s": session_id}
    )
    assert rows == [(0,), (1,)]


def test_chunked_bodies(server: RunningServer) -> None:
    def pieces(data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), 1000):
            yield data[start : start + 1000]

    for payload in payloads("writefile-http-json"):
        response = post_raw(server, f"/v1/{payload.signal}", pieces(payload.read()), **{"content-type": JSON})
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.request.headers
        assert response.status_code == 200, response.text
        assert response.json() == {}
    assert_writefile_summary(server.summary(), "writefile-http-json")


def test_same_request_twice_is_counted_once(server: RunningServer) -> None:
    run = payloads("writefile-http-json")
    for payload in run:
        assert post(server, payload.signal, payload.read(), JSON).status_code == 200
    first = server.summary()
    for payload in run:
        response = post(server, payload.signal, payload.read(), JSON)
        assert response.status_code == 200, response.text
        assert response.json() == {}
    assert server.summary() == first
    assert_writefile_summary(first, "writefile-http-json")
    for table, rows in (("events", 11), ("metric_points", 10), ("spans", 6)):
        assert metric(server, "ccmon_stored_rows_total", table=table) == rows
        assert metric(server, "ccmon_duplicate_rows_total", table=table) == rows


@pytest.mark.parametrize("content_type", [JSON, PROTOBUF])
@pytest.mark.parametrize("signal", ["logs", "metrics", "traces"])
def test_answer_is_an_export_response_in_the_request_encoding(
    shared_server: RunningServer, signal: str, content_type: str
) -> None:
    session_id = session()
    documents = {
        "logs": logs_request([event("user_prompt", session_id, 0)]),
        "metrics": metrics_request(
            [sum_metric("claude_code.session.count", [data_point(1.0, {"session.id": session_id})])]
        ),
        "traces": traces_request([span("claude_code.interaction", "ab" * 16, "cd" * 8, **{"session.id": session_id})]),
    }
    response = post(shared_server, signal, encode(documents[signal], signal, content_type), content_type)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == content_type
    if content_type == JSON:
        assert response.json() == {}
    else:
        assert response.content == b""  # an empty Export*ServiceResponse
        assert not RESPONSES[signal].FromString(response.content).HasField("partial_success")


@pytest.mark.parametrize("content_type", [JSON, PROTOBUF])
def test_partial_success_counts_and_explains_rejected_points(shared_server: RunningServer, content_type: str) -> None:
    session_id = session()
    rejected_before = metric(shared_server, "ccmon_rejected_items_total", signal="metrics")
    body = encode(partial_metrics(session_id), "metrics", content_type)
    response = post(shared_server, "metrics", body, content_type)
    assert response.status_code == 200, response.text
    if content_type == JSON:
        expected = {"rejectedDataPoints": str(PARTIAL_REJECTED), "errorMessage": PARTIAL_MESSAGE}
        assert response.json() == {"partialSuccess": expected}
    else:
        partial = ExportMetricsServiceResponse.FromString(response.content).partial_success
        assert (partial.rejected_data_points, partial.error_message) == (PARTIAL_REJECTED, PARTIAL_MESSAGE)
    assert metric(shared_server, "ccmon_rejected_items_total", signal="metrics") == rejected_before + PARTIAL_REJECTED
    assert stored_points(shared_server, session_id) == [("test.partial.good", 1.0), ("test.partial.nan", 2.0)]


# --- refused requests ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/unknown", "/v2/logs", "/v1/logs/extra", "/metrics"])
def test_unknown_path_is_404(shared_server: RunningServer, path: str) -> None:
    response = post_raw(shared_server, path, b"{}", **{"content-type": JSON})
    assert response.status_code == 404
    assert status_of(response) == (12, f"no OTLP endpoint at {path!r}; use /v1/logs, /v1/metrics or /v1/traces")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_405(shared_server: RunningServer, method: str) -> None:
    response = client().request(method, f"{shared_server.otlp_http_url}/v1/logs")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert status_of(response) == (12, "OTLP export requests are POSTs")


def test_405_answer_is_in_the_request_encoding(shared_server: RunningServer) -> None:
    response = client().put(f"{shared_server.otlp_http_url}/v1/metrics", headers={"content-type": PROTOBUF})
    assert response.status_code == 405
    assert response.headers["content-type"] == PROTOBUF
    assert status_of(response) == (12, "OTLP export requests are POSTs")


@pytest.mark.parametrize("media", ["text/plain", "application/xml", "application/grpc", ""])
def test_unknown_content_type_is_415(shared_server: RunningServer, media: str) -> None:
    body = fixture("writefile-http-json", "logs").read()
    headers = {"content-type": media} if media else {}
    response = post_raw(shared_server, "/v1/logs", body, **headers)
    assert response.status_code == 415
    expected = f"unsupported Content-Type {media!r}; use application/x-protobuf or application/json"
    assert status_of(response) == (3, expected)


def test_content_type_parameters_are_ignored(shared_server: RunningServer) -> None:
    body = fixture("writefile-http-json", "logs").read()
    response = post(shared_server, "logs", body, "Application/JSON; charset=utf-8")
    assert response.status_code == 200, response.text
    assert response.json() == {}


@pytest.mark.parametrize("content_type", [JSON, PROTOBUF])
@pytest.mark.parametrize("coding", ["br", "zstd", "gzip, br"])
def test_unknown_content_encoding_is_415(shared_server: RunningServer, coding: str, content_type: str) -> None:
    body = gzip.compress(fixture("writefile-http-json", "logs").read())
    response = post(shared_server, "logs", body, content_type, **{"content-encoding": coding})
    assert response.status_code == 415
    assert response.headers["content-type"] == content_type
    assert status_of(response) == (3, f"unsupported Content-Encoding {coding!r} (use gzip or none)")


# --- authentication -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic secret", "secret", "Bearer", "Bearer secretx"])
def test_without_the_right_token_is_401(locked_server: RunningServer, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization is not None else {}
    stored_before = metric(locked_server, "ccmon_stored_rows_total")
    response = post(locked_server, "logs", fixture("writefile-http-json", "logs").read(), JSON, **headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert status_of(response) == (16, "missing or invalid bearer token")
    assert metric(locked_server, "ccmon_stored_rows_total") == stored_before


def test_401_answer_is_in_the_request_encoding(locked_server: RunningServer) -> None:
    response = post(locked_server, "logs", fixture("writefile-http-protobuf", "logs").read(), PROTOBUF)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROTOBUF
    assert status_of(response) == (16, "missing or invalid bearer token")


@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"Bearer  {TOKEN}"])
def test_with_the_right_token_is_200(locked_server: RunningServer, authorization: str) -> None:
    payload = fixture("writefile-http-protobuf", "metrics")
    response = post(locked_server, "metrics", payload.read(), PROTOBUF, authorization=authorization)
    assert response.status_code == 200, response.text
    assert response.content == b""


def test_token_is_checked_before_the_body_is_read(locked_server: RunningServer) -> None:
    """An unauthenticated client learns nothing about limits and cannot make the server read a large body."""
    status, _, body = raw_post(locked_server, "/v1/logs", {"content-type": JSON, "content-length": "100000000"})
    assert status == 401
    assert json.loads(body) == {"code": 16, "message": "missing or invalid bearer token"}


# --- size limit ---------------------------------------------------------------------------------------------------


def raw_post(server: RunningServer, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, str, bytes]:
    """POST with exactly these headers over a plain socket; returns status, headers and body of the answer."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{head}\r\n".encode() + body
    with socket.create_connection(("127.0.0.1", server.config.otlp_http_port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < _content_length(received):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head_bytes, _, answer = received.partition(b"\r\n\r\n")
    status_line, _, answer_headers = head_bytes.decode().partition("\r\n")
    return int(status_line.split()[1]), answer_headers.lower(), answer


def _content_length(received: bytes) -> int:
    for line in received.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def padded_logs(size: int) -> bytes:
    """A valid OTLP/JSON logs request of exactly `size` bytes (JSON allows trailing whitespace)."""
    body = to_json(logs_request([event("user_prompt", session(), 0)]))
    assert len(body) <= size
    return body + b" " * (size - len(body))


def test_declared_content_length_above_the_cap_is_413_before_the_body_is_sent(locked_server: RunningServer) -> None:
    headers = {"content-type": JSON, "content-length": "10000000", **BEARER}
    status, answer_headers, body = raw_post(locked_server, "/v1/logs", headers)
    assert status == 413
    assert "content-type: application/json" in answer_headers
    assert json.loads(body) == {"code": 8, "message": f"body of 10000000 bytes exceeds the {SMALL_CAP}-byte limit"}


@pytest.mark.parametrize("content_type", [JSON, PROTOBUF])
def test_body_one_byte_above_the_cap_is_413(locked_server: RunningServer, content_type: str) -> None:
    response = post(locked_server, "logs", padded_logs(SMALL_CAP + 1), content_type, **BEARER)
    assert response.status_code == 413
    assert response.headers["content-type"] == content_type
    assert status_of(response) == (8, f"body of {SMALL_CAP + 1} bytes exceeds the {SMALL_CAP}-byte limit")


def test_body_exactly_at_the_cap_is_accepted(locked_server: RunningServer) -> None:
    response = post(locked_server, "logs", padded_logs(SMALL_CAP), JSON, **BEARER)
    assert response.status_code == 200, response.text


def test_chunked_body_above_the_cap_is_413(locked_server: RunningServer) -> None:
    body = padded_logs(SMALL_CAP + 1)
    pieces = (body[i : i + 4096] for i in range(0, len(body), 4096))
    response = post_raw(locked_server, "/v1/logs", pieces, **{"content-type": JSON, **BEARER})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert status_of(response) == (8, f"body exceeds the {SMALL_CAP}-byte limit")


def test_gzip_body_above_the_cap_once_decompressed_is_413(locked_server: RunningServer) -> None:
    compressed = gzip.compress(padded_logs(SMALL_CAP + 1))
    assert len(compressed) < SMALL_CAP // 10
    response = post(locked_server, "logs", compressed, JSON, **{"content-encoding": "gzip", **BEARER})
    assert response.status_code == 413
    assert status_of(response) == (8, f"body exceeds the {SMALL_CAP}-byte limit once decompressed")
    at_cap = gzip.compress(padded_logs(SMALL_CAP))
    response = post(locked_server, "logs", at_cap, JSON, **{"content-encoding": "gzip", **BEARER})
    assert response.status_code == 200, response.text


# --- back-pressure ------------------------------------------------------------------------------------------------


def test_full_write_queue_is_429_with_retry_after(chdb_path: Path) -> None:
    json_metrics = fixture("writefile-http-json", "metrics").read()
    protobuf_metrics = fixture("writefile-http-protobuf", "metrics").read()
    with custom_server(chdb_path, **QUEUE_SETTINGS) as server:
        with held_request(server):
            for body, content_type in ((json_metrics, JSON), (protobuf_metrics, PROTOBUF)):
                response = post(server, "metrics", body, content_type)
                assert response.status_code == 429
                assert response.headers["retry-after"] == "1"
                assert response.headers["content-type"] == content_type
                assert status_of(response) == (8, f"write queue full ({HELD_ROWS} rows waiting)")
            assert metric(server, "ccmon_write_queue_full_total") == 2
            assert metric(server, "ccmon_otlp_requests_total", outcome="queue_full") == 2
        # Once the queue drains, the exporter's retry is stored (two more rows complete its batch of 12).
        with ThreadPoolExecutor(1) as pool:
            retry = pool.submit(server.post, "metrics", json_metrics, JSON)
            wait_for(lambda: queued_rows(server) == 10, what="the retry to be queued")
            assert fill(server, 2).status_code == 200
            response = retry.result(timeout=10)
        assert response.status_code == 200, response.text
        summary = server.summary()
    assert summary["cost_usd"] == pytest.approx(0.0176, abs=1e-9)
    assert summary["api_requests"] == 2  # the held logs request was committed too
