"""OTLP/gRPC receiver: the three Export methods, compression, authentication, malformed and oversized messages,
partial success and back-pressure, with the grpcio stubs an OTLP exporter uses."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from tests.otlp.conftest import SMALL_CAP, TOKEN
from tests.otlp.helpers import (
    HELD_ROWS,
    PARTIAL_MESSAGE,
    PARTIAL_REJECTED,
    QUEUE_SETTINGS,
    REQUEST_TYPES,
    Document,
    assert_writefile_summary,
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
    query,
    queued_rows,
    session,
    span,
    stored_points,
    sum_metric,
    to_protobuf,
    traces_request,
    wait_for,
)
from tests.support import RunningServer, payloads

STUBS: dict[str, Any] = {
    "logs": logs_service_pb2_grpc.LogsServiceStub,
    "metrics": metrics_service_pb2_grpc.MetricsServiceStub,
    "traces": trace_service_pb2_grpc.TraceServiceStub,
}
METHODS = {
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
}
BEARER = (("authorization", f"Bearer {TOKEN}"),)
SIGNALS = ["logs", "metrics", "traces"]


@pytest.fixture(scope="module")
def queue_server(chdb_path: Path) -> Iterator[RunningServer]:
    with custom_server(chdb_path, **QUEUE_SETTINGS) as running:
        yield running


def export(server: RunningServer, signal: str, request: Any, **options: Any) -> Any:
    """Call `<signal>Service/Export` with a typed request; `options` go to the stub call (metadata, compression...)."""
    with grpc.insecure_channel(server.otlp_grpc_target) as channel:
        options.setdefault("timeout", 10)
        return STUBS[signal](channel).Export(request, **options)


def export_raw(server: RunningServer, signal: str, data: bytes, **options: Any) -> bytes:
    """Call Export with raw bytes, unchecked by any client-side serializer."""
    with grpc.insecure_channel(server.otlp_grpc_target) as channel:
        answer: bytes = channel.unary_unary(METHODS[signal])(data, timeout=10, **options)
        return answer


def refusal(call: Any) -> grpc.RpcError:
    """The RpcError raised by `call()`; fails if the call succeeds."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error: grpc.RpcError = caught.value
    return error


def request_of(signal: str, document: Document) -> Any:
    return REQUEST_TYPES[signal].FromString(to_protobuf(signal, document))


def tagged_requests(session_id: str) -> dict[str, Document]:
    """One record, point and span of each signal, tagged with `session_id`."""
    attrs = {"session.id": session_id}
    return {
        "logs": logs_request([event("user_prompt", session_id, 0)]),
        "metrics": metrics_request([sum_metric("claude_code.session.count", [data_point(1.0, attrs)])]),
        "traces": traces_request([span("claude_code.interaction", session_id.replace("-", ""), "cd" * 8, **attrs)]),
    }


TABLES = {"logs": "events", "metrics": "metric_points", "traces": "spans"}


def rows_of_session(server: RunningServer, signal: str, session_id: str) -> int:
    rows = query(server, f"SELECT count() FROM {TABLES[signal]} WHERE session_id = {{s:String}}", {"s": session_id})
    return int(rows[0][0])


# --- accepted requests --------------------------------------------------------------------------------------------


def test_fixture_run_is_stored_and_matches_claude(server: RunningServer) -> None:
    captured_metadata = (("authorization", "Bearer example-ingest-token"),)
    for payload in payloads("writefile-grpc"):
        request = REQUEST_TYPES[payload.signal].FromString(payload.read())
        answer = export(server, payload.signal, request, metadata=captured_metadata)
        assert not answer.HasField("partial_success")
        assert answer.SerializeToString() == b""
    assert_writefile_summary(server.summary(), "writefile-grpc")
    assert query(server, "SELECT count() FROM spans") == [(6,)]
    assert metric(server, "ccmon_otlp_requests_total", transport="grpc", outcome="ok") == 3
    assert metric(server, "ccmon_received_items_total", transport="grpc") == 6 + 11 + 10


@pytest.mark.parametrize("signal", SIGNALS)
def test_gzip_compressed_requests(shared_server: RunningServer, signal: str) -> None:
    session_id = session()
    request = request_of(signal, tagged_requests(session_id)[signal])
    answer = export(shared_server, signal, request, compression=grpc.Compression.Gzip)
    assert not answer.HasField("partial_success")
    assert rows_of_session(shared_server, signal, session_id) == 1


def test_partial_success(shared_server: RunningServer) -> None:
    session_id = session()
    answer = export(shared_server, "metrics", request_of("metrics", partial_metrics(session_id)))
    assert answer.partial_success.rejected_data_points == PARTIAL_REJECTED
    assert answer.partial_success.error_message == PARTIAL_MESSAGE
    assert stored_points(shared_server, session_id) == [("test.partial.good", 1.0), ("test.partial.nan", 2.0)]


# --- authentication -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [(), (("authorization", "Bearer wrong"),), (("authorization", f"Basic {TOKEN}"),), (("authorization", TOKEN),)],
)
def test_without_the_right_token_is_unauthenticated(locked_server: RunningServer, metadata: Any) -> None:
    session_id = session()
    request = request_of("logs", tagged_requests(session_id)["logs"])
    error = refusal(lambda: export(locked_server, "logs", request, metadata=metadata))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == "missing or invalid bearer token"
    assert rows_of_session(locked_server, "logs", session_id) == 0


def test_with_the_right_token_is_ok(locked_server: RunningServer) -> None:
    session_id = session()
    answer = export(locked_server, "logs", request_of("logs", tagged_requests(session_id)["logs"]), metadata=BEARER)
    assert not answer.HasField("partial_success")
    assert rows_of_session(locked_server, "logs", session_id) == 1


# --- refused requests ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signal", SIGNALS)
def test_truncated_protobuf_is_invalid_argument(shared_server: RunningServer, signal: str) -> None:
    data = fixture("writefile-grpc", signal).read()
    error = refusal(lambda: export_raw(shared_server, signal, data[: len(data) // 2]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    name = REQUEST_TYPES[signal].DESCRIPTOR.name
    full_name = REQUEST_TYPES[signal].DESCRIPTOR.full_name
    assert error.details() == (
        f"invalid protobuf {name}: Error parsing message with type '{full_name}': Wire format was corrupt"
    )
    # The same bytes, whole, are accepted on the same server.
    assert REQUEST_TYPES[signal].FromString(data).ByteSize() == len(data)
    assert export_raw(shared_server, signal, data) == b""


def test_garbage_bytes_are_invalid_argument(shared_server: RunningServer) -> None:
    error = refusal(lambda: export_raw(shared_server, "logs", b"\xff" * 16))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("invalid protobuf ExportLogsServiceRequest: ")


def oversized_logs(session_id: str) -> Any:
    """A logs request of more than `SMALL_CAP` bytes that gzip shrinks far below it."""
    return request_of("logs", logs_request([event("user_prompt", session_id, 0, padding="x" * 4 * SMALL_CAP)]))


def test_message_above_the_size_cap_is_resource_exhausted(locked_server: RunningServer) -> None:
    session_id = session()
    request = oversized_logs(session_id)
    size = request.ByteSize()
    error = refusal(lambda: export(locked_server, "logs", request, metadata=BEARER))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"larger than max ({size} vs. {SMALL_CAP})" in error.details()
    assert rows_of_session(locked_server, "logs", session_id) == 0


def test_compressed_message_above_the_size_cap_once_decompressed_is_resource_exhausted(
    locked_server: RunningServer,
) -> None:
    session_id = session()
    request = oversized_logs(session_id)
    call = lambda: export(locked_server, "logs", request, metadata=BEARER, compression=grpc.Compression.Gzip)  # noqa: E731
    error = refusal(call)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "Decompressed message larger than max" in error.details()
    assert rows_of_session(locked_server, "logs", session_id) == 0


# --- back-pressure ------------------------------------------------------------------------------------------------


def test_full_write_queue_is_resource_exhausted_with_retry_info(queue_server: RunningServer) -> None:
    request = REQUEST_TYPES["metrics"].FromString(fixture("writefile-grpc", "metrics").read())
    with held_request(queue_server):
        error = refusal(lambda: export(queue_server, "metrics", request))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    message = f"write queue full ({HELD_ROWS} rows waiting)"
    assert error.details() == message
    trailers = dict(error.trailing_metadata())
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    code = grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert (status.code, status.message, len(status.details)) == (code, message, 1)
    retry = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(retry)
    assert retry.retry_delay.seconds == 1


def test_client_giving_up_while_its_rows_are_queued_does_not_stop_the_writer(queue_server: RunningServer) -> None:
    """A deadline that expires while the writer holds the rows cancels the handler; the rows are still committed,
    and the writer keeps committing (cancelling the writer's future used to kill the writer thread)."""
    request = REQUEST_TYPES["logs"].FromString(fixture("writefile-grpc", "logs").read())
    error = refusal(lambda: export(queue_server, "logs", request, timeout=0.5))
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_for(lambda: queued_rows(queue_server) == HELD_ROWS, what="the rows to be queued")
    wait_for(
        lambda: metric(queue_server, "ccmon_otlp_requests_total", transport="grpc", signal="logs") == 1,
        what="the server to cancel the call",
    )
    with ThreadPoolExecutor(1) as pool:
        release = pool.submit(fill, queue_server, 1)
        assert release.result(timeout=10).status_code == 200
    session_id = "e25a49dd-7790-49f2-9737-3d7589153f26"  # of the writefile-grpc run
    assert query(queue_server, "SELECT count() FROM events WHERE session_id = {s:String}", {"s": session_id}) == [(11,)]
    with ThreadPoolExecutor(1) as pool:
        later = pool.submit(export, queue_server, "logs", request_of("logs", tagged_requests(session())["logs"]))
        assert fill(queue_server, 11).status_code == 200
        assert not later.result(timeout=10).HasField("partial_success")
