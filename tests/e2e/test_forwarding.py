"""OTLP forwarding end to end: a ccmon forwarding what it receives to a second ccmon (same totals on both) and to a
recording OTLP/HTTP receiver (every request arrives; with the target down, nothing is lost locally and the backlog
drains once it is up; with `forward_temporality = cumulative`, the values are the running totals)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from tests.e2e.test_otel_sdk import DELTA, _exporters, _run_session
from tests.forward.recording import Recorder
from tests.support import (
    RunningServer,
    claude_result,
    fixture_runs,
    free_port,
    http_server,
    in_process_server,
    make_config,
    payloads,
    subprocess_server,
)

pytestmark = pytest.mark.slow


def _send_everything(server: RunningServer) -> int:
    """Every captured Claude Code request (JSON and protobuf), then an SDK session over gRPC and one over HTTP."""
    count = 0
    for run in fixture_runs():
        for payload in payloads(run):
            assert server.post(payload.signal, payload.read(), payload.content_type).status_code == 200
            count += 1
    for transport in ("grpc", "http"):
        _run_session(*_exporters(server, transport, DELTA), requests=3)
    return count


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def _metric(server: RunningServer, name: str) -> float:
    """The sum of a metric's samples on the server's /metrics page."""
    text = server.http.get(f"{server.api_url}/metrics").text
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE))


def _poll(condition: Callable[[], bool], timeout_s: float = 90, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout_s} s")
        time.sleep(0.2)


@contextmanager
def _recorder_on(port: int, recorder: Recorder) -> Iterator[None]:
    """The recording receiver on a given port (`tests.support.http_server` picks its own): the port the forwarder
    was refused on until now."""
    httpd = ThreadingHTTPServer(("127.0.0.1", port), recorder.handler())
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def test_a_second_ccmon_gets_the_same_totals(chdb_path: Path, database: str, tmp_path: Path) -> None:
    target_config = make_config(tmp_path / "target")
    with subprocess_server(target_config, tmp_path / "target.log") as (target, _):
        config = make_config(chdb_path, database=database, forward_endpoints=(target.otlp_http_url,))
        with in_process_server(config) as source:
            _send_everything(source)
            local = _rounded(source.summary())
            assert local["api_requests"] > 0 and local["cost_usd"] > 0
            _poll(lambda: _rounded(target.summary()) == local, what="equal totals on the target")
            assert _metric(source, "ccmon_forward_dropped_total") == 0


def test_a_target_down_for_a_while_loses_nothing_and_the_backlog_drains(
    chdb_path: Path, database: str, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there yet: connections are refused
    config = make_config(chdb_path, database=database, forward_endpoints=(f"http://127.0.0.1:{port}",))
    recorder = Recorder()
    with in_process_server(config) as server:
        fixtures = _send_everything(server)
        accepted = _metric(server, "ccmon_otlp_requests_total")
        summary = server.summary()
        # Stored locally in full: Claude Code's own cost for each fixture run, plus both SDK sessions' 3 x $0.01.
        expected = sum(claude_result(run)["total_cost_usd"] for run in fixture_runs()) + 0.06
        assert summary["cost_usd"] == pytest.approx(expected)
        _poll(lambda: _metric(server, "ccmon_forward_queued_requests") == accepted, what="all requests queued")
        _poll(lambda: _metric(server, "ccmon_forward_failed_total") >= 3, what="three failed attempts")
        assert _metric(server, "ccmon_forward_lag_seconds") > 0
        with _recorder_on(port, recorder):
            _poll(lambda: _metric(server, "ccmon_forward_queued_requests") == 0, what="the backlog drained")
            assert len(recorder.received()) == accepted == _metric(server, "ccmon_forward_sent_total")
            assert _metric(server, "ccmon_forward_lag_seconds") == 0
        assert server.summary() == summary
    bodies = {r.body for r in recorder.received()}
    protobuf = [p for run in fixture_runs() for p in payloads(run) if not p.is_json]
    assert all(p.read() in bodies for p in protobuf)  # forwarded byte for byte
    assert fixtures < accepted


def test_cumulative_forwarding_sends_running_totals(chdb_path: Path, database: str) -> None:
    recorder = Recorder()
    with http_server(recorder.handler()) as url:
        config = make_config(chdb_path, database=database, forward_endpoints=(url,), forward_temporality="cumulative")
        with in_process_server(config) as server:
            _run_session(*_exporters(server, "http", DELTA), requests=4)
            recorder.wait_until(lambda: len(recorder.metrics()) == 4)
    costs, inputs, starts = [], [], set()
    for request in recorder.metrics():
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    assert (
                        metric.sum.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
                    )
                    for point in metric.sum.data_points:
                        starts.add((metric.name, point.start_time_unix_nano))
                        attrs = {kv.key: kv.value.string_value for kv in point.attributes}
                        if metric.name == "claude_code.cost.usage":
                            costs.append(point.as_double)
                        elif attrs.get("type") == "input":
                            inputs.append(point.as_double if point.WhichOneof("value") == "as_double" else point.as_int)
    assert costs == pytest.approx([0.01, 0.02, 0.03, 0.04])
    assert inputs == [1000, 2000, 3000, 4000]
    assert len({start for name, start in starts if name == "claude_code.cost.usage"}) == 1  # one series start
