"""Hostile and broken OTLP/HTTP input: every bad request gets a clear 4xx (or is stored sanitized), the server stays
up, and a valid request right after succeeds."""

from __future__ import annotations

import gzip
import re
import resource
import struct
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

from ccmon.analytics import UNKNOWN
from ccmon.otlp.errors import RequestTooLarge
from ccmon.otlp.http import decompress
from tests.otlp.helpers import (
    BOMB_BLOCK,
    GIB,
    JSON,
    PROTOBUF,
    REQUEST_TYPES,
    Document,
    assert_healthy,
    client,
    custom_server,
    data_point,
    event,
    fixture,
    gzip_bomb,
    log_record,
    logs_request,
    metric,
    metrics_request,
    post,
    query,
    session,
    span,
    status_of,
    sum_metric,
    to_json,
    to_protobuf,
    traces_request,
)
from tests.support import RunningServer

DEFAULT_CAP = 8 * 1024 * 1024
ROOMY_CAP = 16 * 1024 * 1024
ROOMY_ATTRIBUTE_LENGTH = 1000
_POSITION = re.compile(r": line \d+ column \d+ \(char \d+\)$")


@pytest.fixture(scope="module")
def roomy_server(chdb_path: Path) -> Iterator[RunningServer]:
    """Requests up to 16 MiB; attribute values cut at `ROOMY_ATTRIBUTE_LENGTH` characters."""
    with custom_server(chdb_path, max_request_bytes=ROOMY_CAP, max_attribute_length=ROOMY_ATTRIBUTE_LENGTH) as running:
        yield running


def logs_with(**record: object) -> bytes:
    """A one-record logs request with these raw fields in the record (already in OTLP/JSON form)."""
    return to_json(logs_request([{"timeUnixNano": str(time.time_ns()), **record}]))


def logs_with_value(value: object) -> bytes:
    """A one-record logs request whose attribute `x` has this raw AnyValue document."""
    return logs_with(attributes=[{"key": "x", "value": value}])


def metric_with(**fields: object) -> bytes:
    return to_json(metrics_request([{"name": "test.hostile", **fields}]))


def protobuf_logs_with_string(marker: str) -> bytes:
    """A protobuf logs request with `marker` as an attribute key and value, to patch bytes into."""
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.attributes.add(key=f"key-{marker}").value.string_value = f"value-{marker}"
    data: bytes = request.SerializeToString()
    return data


def protobuf_nested_logs(depth: int) -> bytes:
    """A protobuf logs request with an attribute value of arrays nested `depth` deep."""
    request = ExportLogsServiceRequest()
    value = request.resource_logs.add().scope_logs.add().log_records.add().attributes.add(key="deep").value
    for _ in range(depth):
        value = value.array_value.values.add()
    value.string_value = "leaf"
    data: bytes = request.SerializeToString()
    return data


def upb_error(message: str, signal: str = "logs") -> str:
    descriptor = REQUEST_TYPES[signal].DESCRIPTOR
    return f"invalid protobuf {descriptor.name}: Error parsing message with type '{descriptor.full_name}': {message}"


LOGS_JSON = fixture("writefile-http-json", "logs").read()
LOGS_PB = fixture("writefile-http-protobuf", "logs").read()
METRICS_PB = fixture("writefile-http-protobuf", "metrics").read()
TRACES_PB = to_protobuf("traces", fixture("writefile-http-json", "traces").read())
DIGITS_LIMIT = (
    "Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits; "
    "use sys.set_int_max_str_digits() to increase the limit"
)

MALFORMED_LOGS = "malformed OTLP/JSON logs request: "
MALFORMED_METRICS = "malformed OTLP/JSON metrics request: "
MALFORMED_TRACES = "malformed OTLP/JSON traces request: "


@dataclass(frozen=True)
class Bad:
    """A request that must be refused with `status` and this google.rpc.Status message (JSON positions removed)."""

    signal: str
    body: bytes
    message: str
    content_type: str = JSON
    status: int = 400
    headers: dict[str, str] = field(default_factory=dict)


REFUSED = {
    # truncated or mislabelled bodies
    "truncated-protobuf-logs": Bad(
        "logs", LOGS_PB[: len(LOGS_PB) // 2], upb_error("Wire format was corrupt"), PROTOBUF
    ),
    "truncated-protobuf-metrics": Bad(
        "metrics", METRICS_PB[:-3], upb_error("Wire format was corrupt", "metrics"), PROTOBUF
    ),
    "truncated-protobuf-traces": Bad(
        "traces", TRACES_PB[: len(TRACES_PB) // 2], upb_error("Wire format was corrupt", "traces"), PROTOBUF
    ),
    "json-labelled-protobuf": Bad("logs", LOGS_JSON, upb_error("Wire format was corrupt"), PROTOBUF),
    "protobuf-labelled-json": Bad("logs", LOGS_PB, "invalid JSON: str is not valid UTF-8: surrogates not allowed"),
    "text-plain": Bad(
        "logs",
        LOGS_JSON,
        "unsupported Content-Type 'text/plain'; use application/x-protobuf or application/json",
        "text/plain",
        415,
    ),
    # invalid JSON
    "json-truncated": Bad("logs", b'{"resourceLogs": [', "invalid JSON: unexpected end of data"),
    "json-empty": Bad("logs", b"", "invalid JSON: Input is a zero-length, empty document"),
    "json-single-quotes": Bad(
        "logs", b"{'resourceLogs': []}", "invalid JSON: unexpected character, expected a string key"
    ),
    "json-nan-literal": Bad(
        "metrics", b'{"resourceMetrics": NaN}', "invalid JSON: unexpected character, expected a JSON value"
    ),
    "json-number-overflow": Bad(
        "logs",
        logs_with_value({"doubleValue": "1e400"}).replace(b'"1e400"', b"1e400"),
        "invalid JSON: number is infinity when parsed as double",
    ),
    # valid JSON, wrong shape
    "shape-number": Bad("logs", b'{"resourceLogs": 5}', MALFORMED_LOGS + "resourceLogs must be an array, got a number"),
    "shape-array": Bad("logs", b"[]", "an OTLP/JSON logs request must be a JSON object, got an array"),
    "shape-string": Bad("traces", b'"spans"', "an OTLP/JSON traces request must be a JSON object, got a string"),
    "shape-item": Bad(
        "logs", b'{"resourceLogs": [5]}', MALFORMED_LOGS + "resourceLogs must hold objects, got a number"
    ),
    "shape-scope": Bad(
        "logs", b'{"resourceLogs": [{"scopeLogs": {}}]}', MALFORMED_LOGS + "scopeLogs must be an array, got an object"
    ),
    "shape-sum": Bad("metrics", metric_with(sum=[]), MALFORMED_METRICS + "sum must be an object, got an array"),
    "shape-status": Bad(
        "traces",
        to_json(traces_request([{**span("s", "ab" * 16, "cd" * 8), "status": "ERROR"}])),
        MALFORMED_TRACES + "status must be an object, got a string",
    ),
    "deep-arrays-100k": Bad("logs", b"[" * 100_000 + b"]" * 100_000, "invalid JSON: depth limit exceeded"),
    "deep-arrays-100k-inside": Bad(
        "logs", b'{"resourceLogs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "invalid JSON: depth limit exceeded"
    ),
    "deep-protobuf-value": Bad(
        "logs", protobuf_nested_logs(60), upb_error("Exceeded upb_DecodeOptions_MaxDepth"), PROTOBUF
    ),
    "attribute-key-number": Bad(
        "logs",
        logs_with(attributes=[{"key": 5, "value": {"stringValue": "v"}}]),
        MALFORMED_LOGS + "attribute keys must be strings, got a number",
    ),
    "attribute-value-string": Bad(
        "logs", logs_with_value("v"), MALFORMED_LOGS + "values must be AnyValue objects, got a string"
    ),
    "bool-as-string": Bad(
        "logs", logs_with_value({"boolValue": "false"}), MALFORMED_LOGS + "boolValue must be true or false, got 'false'"
    ),
    "int-with-fraction": Bad(
        "logs", logs_with_value({"intValue": 1.5}), MALFORMED_LOGS + "expected an integer, got '1.5'"
    ),
    "bytes-not-base64": Bad(
        "logs", logs_with_value({"bytesValue": "!!"}), MALFORMED_LOGS + "bytesValue must be base64"
    ),
    "event-name-number": Bad(
        "logs", logs_with(eventName=5), MALFORMED_LOGS + "eventName must be a string, got a number"
    ),
    "metric-name-number": Bad(
        "metrics",
        to_json(metrics_request([sum_metric("m", [data_point(1.0)])])).replace(b'"name": "m"', b'"name": 5'),
        MALFORMED_METRICS + "metric name must be a string, got a number",
    ),
    "span-name-object": Bad(
        "traces",
        to_json(traces_request([{**span("s", "ab" * 16, "cd" * 8), "name": {}}])),
        MALFORMED_TRACES + "span name must be a string, got an object",
    ),
    # ids that are not hex
    "trace-id-not-hex": Bad(
        "logs", logs_with(traceId="zz" * 16), MALFORMED_LOGS + f"trace and span ids must be hex, got {'zz' * 16!r}"
    ),
    "span-id-odd-length": Bad(
        "logs", logs_with(spanId="abc"), MALFORMED_LOGS + "trace and span ids must be hex, got 'abc'"
    ),
    "trace-id-number": Bad(
        "logs", logs_with(traceId=5), MALFORMED_LOGS + "trace and span ids must be hex strings, got a number"
    ),
    "parent-span-id-not-hex": Bad(
        "traces",
        to_json(traces_request([span("s", "ab" * 16, "cd" * 8, "ef" * 8)])).replace(b"ef" * 8, b"not-hex!"),
        MALFORMED_TRACES + "trace and span ids must be hex, got 'not-hex!'",
    ),
    # invalid UTF-8
    "protobuf-bad-utf8-value": Bad(
        "logs",
        protobuf_logs_with_string("MARK").replace(b"value-MARK", b"value-\xff\xfeRK"),
        upb_error("String field had bad UTF-8"),
        PROTOBUF,
    ),
    "protobuf-bad-utf8-key": Bad(
        "logs",
        protobuf_logs_with_string("MARK").replace(b"key-MARK", b"key-\xc3\x28RK"),
        upb_error("String field had bad UTF-8"),
        PROTOBUF,
    ),
    "json-bad-utf8": Bad(
        "logs",
        logs_with_value({"stringValue": "MARK"}).replace(b"MARK", b"M\xffRK"),
        "invalid JSON: str is not valid UTF-8: surrogates not allowed",
    ),
    "json-lone-surrogate": Bad(
        "logs",
        logs_with_value({"stringValue": "MARK"}).replace(b"MARK", b"M\\ud800RK"),
        "invalid JSON: no low surrogate in string",
    ),
    # huge integers
    "int-5000-digits": Bad("logs", logs_with_value({"intValue": "9" * 5000}), MALFORMED_LOGS + DIGITS_LIMIT),
    "int-above-int64": Bad(
        "logs",
        logs_with_value({"intValue": str(2**63)}),
        MALFORMED_LOGS + f"integer value out of the int64 range: {2**63}",
    ),
    "int-number-above-int64": Bad(
        "logs",
        logs_with_value({"intValue": 0}).replace(b'"intValue": 0', b'"intValue": 100000000000000000000'),
        MALFORMED_LOGS + "integer value out of the int64 range: 1e+20",
    ),
    "as-int-400-digits": Bad(
        "metrics",
        metric_with(gauge={"dataPoints": [{"asInt": "1" + "0" * 400}]}),
        MALFORMED_METRICS + f"integer value out of the int64 range: 1{'0' * 63}",
    ),
    "time-5000-digits": Bad(
        "logs", to_json(logs_request([log_record({}, time_ns="9" * 5000)])), MALFORMED_LOGS + DIGITS_LIMIT
    ),
    # broken compression
    "gzip-truncated": Bad(
        "logs", gzip.compress(LOGS_JSON)[:-10], "truncated gzip body", headers={"content-encoding": "gzip"}
    ),
    "gzip-not-gzip": Bad(
        "logs",
        LOGS_JSON,
        "invalid gzip body: Error -3 while decompressing data: incorrect header check",
        headers={"content-encoding": "gzip"},
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_bad_request_is_refused_clearly_and_the_server_stays_up(shared_server: RunningServer, case: str) -> None:
    bad = REFUSED[case]
    stored_before = metric(shared_server, "ccmon_stored_rows_total")
    response = post(shared_server, bad.signal, bad.body, bad.content_type, **bad.headers)
    assert response.status_code == bad.status, response.text
    code, message = status_of(response)
    assert code == 3  # INVALID_ARGUMENT
    assert _POSITION.sub("", message) == bad.message
    assert metric(shared_server, "ccmon_stored_rows_total") == stored_before
    assert_healthy(shared_server)


# --- gzip bomb ----------------------------------------------------------------------------------------------------


def test_gzip_bomb_is_413_quickly_and_without_inflating(shared_server: RunningServer) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 1_100_000
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.monotonic()
    response = post(shared_server, "logs", bomb, JSON, **{"content-encoding": "gzip"})
    elapsed = time.monotonic() - started
    assert response.status_code == 413
    assert status_of(response) == (8, f"body exceeds the {DEFAULT_CAP}-byte limit once decompressed")
    assert elapsed < 2.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 256 * 1024
    assert_healthy(shared_server)


def test_gzip_bomb_is_a_valid_stream_of_zeros() -> None:
    """The bomb's block, repeated, is a valid stream (checked on 2 blocks; 64 is only a larger count)."""
    assert gzip.decompress(gzip_bomb(2)) == bytes(2 * BOMB_BLOCK)
    bomb = gzip_bomb()
    assert bomb[-4:] == struct.pack("<I", GIB % 2**32)
    assert len(bomb) == len(gzip_bomb(2)) + (GIB // BOMB_BLOCK - 2) * (len(gzip_bomb(2)) - len(gzip_bomb(1)))


def test_decompress_stops_at_the_limit() -> None:
    """`decompress` refuses the bomb without ever holding much more than the limit."""
    bomb = gzip_bomb()
    tracemalloc.start()
    try:
        with pytest.raises(RequestTooLarge, match="once decompressed"):
            decompress(bomb, "gzip", DEFAULT_CAP)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * DEFAULT_CAP


# --- oversized values ---------------------------------------------------------------------------------------------

TEN_MB = 10 * 1000 * 1000


def big_events(session_id: str) -> list[Document]:
    """A tool_result with a 10 MB attribute and a tool name and error far above `ROOMY_ATTRIBUTE_LENGTH`, and an event
    with a long body (named by the OTLP `eventName` field, since its body is not `claude_code.<name>`)."""
    attrs = {"big": "x" * TEN_MB, "tool_name": "T" * 5000, "error": "e" * 5000}
    long_body = log_record({"session.id": session_id, "event.sequence": 1}, body="b" * 5000)
    long_body["eventName"] = "long_body"
    return [event("tool_result", session_id, 0, **attrs), long_body]


@pytest.mark.parametrize("content_type", [JSON, PROTOBUF])
def test_ten_megabyte_attribute_is_413_at_the_default_cap(shared_server: RunningServer, content_type: str) -> None:
    document = logs_request(big_events(session()))
    body = to_json(document) if content_type == JSON else to_protobuf("logs", document)
    response = post(shared_server, "logs", body, content_type)
    assert response.status_code == 413
    assert status_of(response) == (8, f"body of {len(body)} bytes exceeds the {DEFAULT_CAP}-byte limit")
    assert_healthy(shared_server)


@pytest.mark.parametrize("content_type", [JSON, PROTOBUF])
def test_ten_megabyte_attribute_is_stored_truncated_under_a_larger_cap(
    roomy_server: RunningServer, content_type: str
) -> None:
    session_id = session()
    document = logs_request(big_events(session_id), resource={"service.name": "s" * 3000})
    body = to_json(document) if content_type == JSON else to_protobuf("logs", document)
    truncated_before = metric(roomy_server, "ccmon_truncated_values_total")
    response = post(roomy_server, "logs", body, content_type)
    assert response.status_code == 200, response.text
    rows = query(
        roomy_server,
        "SELECT event_name, length(attrs['big']), length(tool_name), length(error), length(body), length(service_name) "
        "FROM events WHERE session_id = {s:String} ORDER BY event_sequence",
        {"s": session_id},
    )
    limit = ROOMY_ATTRIBUTE_LENGTH
    assert rows == [
        ("tool_result", limit, limit, limit, len("claude_code.tool_result"), limit),
        ("long_body", 0, 0, 0, limit, limit),
    ]
    # big, tool_name and error; the body; service.name once for the resource both records share
    assert metric(roomy_server, "ccmon_truncated_values_total") == truncated_before + 5
    assert_healthy(roomy_server)


# --- non-finite numbers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [JSON, PROTOBUF])
def test_non_finite_data_points_are_rejected_in_partial_success(
    shared_server: RunningServer, content_type: str
) -> None:
    session_id = session()
    attrs = {"session.id": session_id}
    points = [data_point(v, {**attrs, "n": i}) for i, v in enumerate(["NaN", "Infinity", "-Infinity", 1.5])]
    document = metrics_request([sum_metric("test.non_finite", points)])
    body = to_json(document) if content_type == JSON else to_protobuf("metrics", document)
    response = post(shared_server, "metrics", body, content_type)
    assert response.status_code == 200, response.text
    message = "metric 'test.non_finite': a data point value is NaN or infinite"
    if content_type == JSON:
        assert response.json() == {"partialSuccess": {"rejectedDataPoints": "3", "errorMessage": message}}
    else:
        partial = ExportMetricsServiceResponse.FromString(response.content).partial_success
        assert (partial.rejected_data_points, partial.error_message) == (3, message)
    stored = query(shared_server, "SELECT value FROM metric_points WHERE session_id = {s:String}", {"s": session_id})
    assert stored == [(1.5,)]
    assert_healthy(shared_server)


def test_huge_data_points_are_rejected_and_huge_attributes_answer_like_any_other(
    shared_server: RunningServer,
) -> None:
    """Values too large for any counter are refused, like NaN; huge numbers in event attributes are kept, and every
    analytics endpoint still answers (the rollups' exact sums take them as 0 rather than fail the insert)."""
    session_id = session()
    attrs = {"session.id": session_id}
    points = [data_point(v, {**attrs, "n": i}) for i, v in enumerate([1e300, -1.7e308, 1e16, 1e15, 2.5])]
    response = post(shared_server, "metrics", to_json(metrics_request([sum_metric("test.huge", points)])), JSON)
    message = "metric 'test.huge': a data point value is beyond ±1e+15"
    assert response.json() == {"partialSuccess": {"rejectedDataPoints": "3", "errorMessage": message}}
    stored = query(shared_server, "SELECT value FROM metric_points WHERE session_id = {s:String}", {"s": session_id})
    assert sorted(stored) == [(2.5,), (1e15,)]
    record = event("api_request", session_id, 0, cost_usd=1e300, duration_ms=1.7e308, model="claude-sonnet-4-5")
    tool = event("tool_result", session_id, 1, tool_name="Bash", duration_ms=1e300, success="true")
    assert post(shared_server, "logs", to_json(logs_request([record, tool])), JSON).status_code == 200
    window = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "person": UNKNOWN}
    for path in ("summary", "overview", "sessions", "engineering/tools", "engineering/latency-by-model"):
        answer = client().get(f"{shared_server.api_url}/api/v1/{path}", params=window)
        assert answer.status_code == 200, (path, answer.text)
    assert_healthy(shared_server)


@pytest.mark.parametrize("content_type", [JSON, PROTOBUF])
def test_non_finite_event_attributes_are_dropped(shared_server: RunningServer, content_type: str) -> None:
    session_id = session()
    record = event(
        "api_request",
        session_id,
        0,
        cost_usd={"doubleValue": "NaN"},
        duration_ms={"doubleValue": "Infinity"},
        ttft_ms={"doubleValue": "-Infinity"},
        **{"x.ratio": {"doubleValue": "NaN"}, "input_tokens": 1200},
    )
    document = logs_request([record])
    body = to_json(document) if content_type == JSON else to_protobuf("logs", document)
    response = post(shared_server, "logs", body, content_type)
    assert response.status_code == 200, response.text
    assert response.content in (b"{}", b"")
    rows = query(
        shared_server,
        "SELECT cost_usd, duration_ms, ttft_ms, input_tokens, mapKeys(attrs) FROM events WHERE session_id = {s:String}",
        {"s": session_id},
    )
    assert rows == [(0.0, None, None, 1200, ["event.name"])]  # and no x.ratio
    assert_healthy(shared_server)


# --- timestamps ---------------------------------------------------------------------------------------------------

YEAR_3000_NS = 32_503_680_000 * 10**9  # above 2**64: JSON only
YEAR_2500_NS = 16_725_225_600 * 10**9  # fits fixed64


@pytest.mark.parametrize(("content_type", "far_future"), [(JSON, YEAR_3000_NS), (PROTOBUF, YEAR_2500_NS)])
def test_out_of_range_timestamps_are_repaired(shared_server: RunningServer, content_type: str, far_future: int) -> None:
    session_id = session()
    epoch = event("user_prompt", session_id, 0)
    epoch["timeUnixNano"] = "0"
    future = event("user_prompt", session_id, 1)
    future["timeUnixNano"] = str(far_future)
    document = logs_request([epoch, future])
    body = to_json(document) if content_type == JSON else to_protobuf("logs", document)
    repaired_before = metric(shared_server, "ccmon_repaired_timestamps_total")
    received = time.time_ns()
    response = post(shared_server, "logs", body, content_type)
    answered = time.time_ns()
    assert response.status_code == 200, response.text
    assert metric(shared_server, "ccmon_repaired_timestamps_total") == repaired_before + 2
    rows = query(
        shared_server,
        "SELECT event_sequence, toUnixTimestamp64Nano(ts), attrs FROM events WHERE session_id = {s:String} ORDER BY 1",
        {"s": session_id},
    )
    assert [(seq, attrs) for seq, _, attrs in rows] == [
        (0, {"event.name": "user_prompt"}),  # a time of 0 is "unset": nothing to keep
        (1, {"event.name": "user_prompt", "ccmon.original_time_unix_nano": str(far_future)}),
    ]
    for _, ts, _ in rows:
        assert received <= ts <= answered
    assert_healthy(shared_server)


def test_out_of_range_metric_timestamps_are_repaired(shared_server: RunningServer) -> None:
    session_id = session()
    point = data_point(1.0, {"session.id": session_id})
    point["timeUnixNano"] = str(YEAR_3000_NS)
    point["startTimeUnixNano"] = "0"
    repaired_before = metric(shared_server, "ccmon_repaired_timestamps_total")
    received = time.time_ns()
    response = post(shared_server, "metrics", to_json(metrics_request([sum_metric("test.time", [point])])), JSON)
    answered = time.time_ns()
    assert response.status_code == 200, response.text
    assert metric(shared_server, "ccmon_repaired_timestamps_total") == repaired_before + 2  # ts and start_ts
    rows = query(
        shared_server,
        "SELECT toUnixTimestamp64Nano(ts), toUnixTimestamp64Nano(start_ts) FROM metric_points "
        "WHERE session_id = {s:String}",
        {"s": session_id},
    )
    assert len(rows) == 1
    assert all(received <= ts <= answered for ts in rows[0])
    assert_healthy(shared_server)


# --- integers at the edges ----------------------------------------------------------------------------------------


def test_int64_extremes_are_stored_and_negative_counts_sanitized(shared_server: RunningServer) -> None:
    session_id = session()
    record = event(
        "api_request",
        session_id,
        0,
        input_tokens={"intValue": str(2**63 - 1)},
        output_tokens={"intValue": "-5"},
        **{"x.min": {"intValue": str(-(2**63))}},
    )
    record["observedTimeUnixNano"] = "99999999999999999999999"  # far beyond fixed64; only used if time were bad
    response = post(shared_server, "logs", to_json(logs_request([record])), JSON)
    assert response.status_code == 200, response.text
    rows = query(
        shared_server,
        "SELECT input_tokens, output_tokens, attrs FROM events WHERE session_id = {s:String}",
        {"s": session_id},
    )
    assert rows == [(2**63 - 1, 0, {"event.name": "api_request", "output_tokens": "-5", "x.min": str(-(2**63))})]
    assert_healthy(shared_server)


# --- unknown enum values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [JSON, PROTOBUF])
@pytest.mark.parametrize("temporality", [7, 999, -1])
def test_unknown_aggregation_temporality_is_rejected_not_stored(
    shared_server: RunningServer, content_type: str, temporality: int
) -> None:
    """An open enum value the UInt8 column cannot hold used to fail the whole group commit with 503."""
    session_id = session()
    attrs = {"session.id": session_id}
    document = metrics_request(
        [
            sum_metric("test.temporality.bad", [data_point(1.0, attrs)], temporality=temporality),
            sum_metric("test.temporality.good", [data_point(2.0, attrs)]),
        ]
    )
    body = to_json(document) if content_type == JSON else to_protobuf("metrics", document)
    response = post(shared_server, "metrics", body, content_type)
    assert response.status_code == 200, response.text
    message = f"metric 'test.temporality.bad': unknown aggregation temporality {temporality}"
    if content_type == JSON:
        assert response.json() == {"partialSuccess": {"rejectedDataPoints": "1", "errorMessage": message}}
    else:
        partial = ExportMetricsServiceResponse.FromString(response.content).partial_success
        assert (partial.rejected_data_points, partial.error_message) == (1, message)
    stored = query(
        shared_server, "SELECT metric_name FROM metric_points WHERE session_id = {s:String}", {"s": session_id}
    )
    assert stored == [("test.temporality.good",)]
    assert_healthy(shared_server)


# --- nesting that JSON allows -------------------------------------------------------------------------------------


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_deeply_nested_json_value_is_dropped_and_shallow_one_kept(shared_server: RunningServer) -> None:
    """300 levels of arrayValue fit orjson's parser (900 JSON levels) but not its serializer: the value is dropped."""
    session_id = session()
    record = event("user_prompt", session_id, 0, deep=nested(300), shallow=nested(2))
    response = post(shared_server, "logs", to_json(logs_request([record])), JSON)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    rows = query(shared_server, "SELECT attrs FROM events WHERE session_id = {s:String}", {"s": session_id})
    assert rows == [({"event.name": "user_prompt", "shallow": '[["leaf"]]'},)]
    assert_healthy(shared_server)


def test_empty_protobuf_request_is_accepted_with_nothing_stored(shared_server: RunningServer) -> None:
    """An empty body is a valid (empty) protobuf message, unlike an empty JSON document."""
    response = post(shared_server, "logs", b"", PROTOBUF)
    assert response.status_code == 200
    assert ExportLogsServiceResponse.FromString(response.content).ByteSize() == 0
    assert_healthy(shared_server)
