"""The forwarder as the server uses it: the receivers' hook returns at once whatever the target does, retries are
forwarded once, JSON arrives as protobuf, and a stop writes what waits in memory to disk."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from prometheus_client import CollectorRegistry

from ccmon.forward import forwarder as forwarder_module
from ccmon.forward.forwarder import (
    Forwarder,
    ForwardSettings,
    Unencodable,
    open_forwarder,
    parse_headers,
    spool_directory,
    to_protobuf,
)
from ccmon.forward.sender import Backoff
from ccmon.forward.spool import Spool
from ccmon.settings import ConfigError
from tests.forward.recording import Recorder
from tests.support import http_server, in_process_server, make_config, payloads

FAST = Backoff(initial_s=0.1, max_s=0.5, jitter=0.0)


@contextmanager
def forwarding(data_dir: Path, *urls: str) -> Iterator[tuple[Forwarder, CollectorRegistry]]:
    registry = CollectorRegistry()
    forwarder = Forwarder(ForwardSettings(endpoints=urls), data_dir, registry, backoff=FAST)
    forwarder.start()
    try:
        yield forwarder, registry
    finally:
        forwarder.close()


def _record_count(request: ExportLogsServiceRequest) -> int:
    return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)


def test_json_and_protobuf_requests_arrive_as_protobuf_with_the_same_content(tmp_path: Path) -> None:
    sent = [p for p in payloads("writefile-http-json") + payloads("writefile-http-protobuf")]
    recorder = Recorder()
    with http_server(recorder.handler()) as url, forwarding(tmp_path, url) as (forwarder, _):
        for number, payload in enumerate(sent):
            forwarder.submit(payload.signal, payload.is_json, payload.read(), digest=number + 1)
        recorder.wait_until(lambda: len(recorder.received()) == len(sent))
    got = recorder.received()
    assert [r.path for r in got] == [f"/v1/{p.signal}" for p in sent]
    for payload, received in zip(sent, got, strict=True):
        if not payload.is_json:
            assert received.body == payload.read()  # protobuf is forwarded byte for byte
        elif payload.signal == "logs":
            expected = ExportLogsServiceRequest.FromString(to_protobuf("logs", payload.read()))
            assert _record_count(ExportLogsServiceRequest.FromString(received.body)) == _record_count(expected) > 0
        elif payload.signal == "metrics":
            metrics = ExportMetricsServiceRequest.FromString(received.body)
            names = {m.name for rm in metrics.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
            assert "claude_code.cost.usage" in names


def test_a_retry_the_writer_stored_once_is_forwarded_once(tmp_path: Path) -> None:
    recorder = Recorder()
    with http_server(recorder.handler()) as url, forwarding(tmp_path, url) as (forwarder, _):
        forwarder.submit("logs", False, b"first", 11)
        forwarder.submit("logs", False, b"first", 11)  # the exporter's retry: same bytes, same digest
        forwarder.submit("logs", False, b"second", 12)
        recorder.wait_until(lambda: len(recorder.received()) == 2)
        time.sleep(0.3)
    assert [r.body for r in recorder.received()] == [b"first", b"second"]


def test_digests_outlive_a_restart(tmp_path: Path) -> None:
    recorder = Recorder()
    with http_server(recorder.handler()) as url:
        with forwarding(tmp_path, url) as (forwarder, _):
            forwarder.submit("logs", False, b"payload", 21)
            recorder.wait_until(lambda: len(recorder.received()) == 1)
        with forwarding(tmp_path, url) as (forwarder, _):
            forwarder.submit("logs", False, b"payload", 21)
            forwarder.submit("logs", False, b"next", 22)
            recorder.wait_until(lambda: len(recorder.received()) == 2)
    assert [r.body for r in recorder.received()] == [b"payload", b"next"]


def test_the_hook_returns_at_once_while_the_target_is_slow(tmp_path: Path) -> None:
    recorder = Recorder(delay_s=2.0)
    with http_server(recorder.handler(), join_s=1) as url, forwarding(tmp_path, url) as (forwarder, registry):
        started = time.perf_counter()
        for number in range(500):
            forwarder.submit("logs", False, b"x" * 2000, number + 1)
        elapsed = time.perf_counter() - started
        assert elapsed < 0.25, f"500 hand-offs took {elapsed:.3f} s"
        deadline = time.monotonic() + 10
        while registry.get_sample_value("ccmon_forward_queued_requests", {"endpoint": url}) not in (499.0, 500.0):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        lag = registry.get_sample_value("ccmon_forward_lag_seconds", {"endpoint": url})
        assert lag is not None and lag >= 0


def test_a_stop_writes_what_waits_in_memory_to_disk(tmp_path: Path) -> None:
    with http_server(Recorder().handler()) as url:
        pass  # refuses connections from now on
    with forwarding(tmp_path, url) as (forwarder, _):
        for number in range(50):
            forwarder.submit("metrics", False, b"m%d" % number, number + 1)
    spool = Spool(spool_directory(tmp_path, url), 1 << 30)
    spool.open()
    assert spool.queued == 50


def test_a_stop_the_pump_outlives_leaves_the_queue_to_the_pump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pump still writing when the close stops waiting keeps the queue: it is neither closed (its lock released
    for another process) nor compacted under the pump, and what the pump writes afterwards is queued."""
    release, inside = threading.Event(), threading.Event()
    write = Forwarder._spool

    def slow(self: Forwarder, arrival: Any) -> None:
        inside.set()
        release.wait(10)
        write(self, arrival)

    monkeypatch.setattr(Forwarder, "_spool", slow)
    with http_server(Recorder().handler()) as url:
        pass  # refuses connections from now on
    forwarder = Forwarder(ForwardSettings(endpoints=(url,)), tmp_path, CollectorRegistry(), backoff=FAST)
    forwarder.start()
    forwarder.submit("metrics", False, b"m1", 1)
    assert inside.wait(5)
    forwarder.close(timeout_s=0.1)
    with pytest.raises(ConfigError):  # still this process's: not handed over while the pump writes
        Spool(spool_directory(tmp_path, url), 1 << 20).open()
    release.set()
    forwarder._pump.join(5)
    assert not forwarder._pump.is_alive() and forwarder.targets[0].spool.queued == 1


def test_everything_on_disk_is_private_even_what_an_older_run_left(tmp_path: Path) -> None:
    """The spool holds telemetry before redaction: folders 0700, files 0600 (spool files, totals, digests)."""
    with http_server(Recorder().handler()) as url:
        pass  # refuses connections from now on: the requests stay queued
    older = spool_directory(tmp_path, url)
    older.mkdir(parents=True, mode=0o755)  # as an older version left it, without modes
    older.parent.chmod(0o755)
    (older / "digests.json").write_text("[]")
    (older / "digests.json").chmod(0o644)
    metrics = [p.read() for p in payloads("writefile-http-protobuf") if p.signal == "metrics"]
    assert metrics
    previous = os.umask(0o022)  # the usual umask: without explicit modes, files would be 0644
    try:
        registry = CollectorRegistry()
        forwarder = Forwarder(ForwardSettings(endpoints=(url,), cumulative=True), tmp_path, registry, backoff=FAST)
        forwarder.start()
        for number, payload in enumerate(metrics):
            forwarder.submit("metrics", False, payload, number + 1)
        forwarder.close()
    finally:
        os.umask(previous)
    root = tmp_path / "forward"
    modes = {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}
    names = {Path(name).name for name in modes}
    assert {"lock", "digests.json", "cumulative.json", "cumulative.log"} <= names
    assert any(name.endswith(".otlp") for name in names)
    assert {name: mode for name, mode in modes.items() if (root / name).is_dir()} == {".": 0o700, older.name: 0o700}
    assert {mode for name, mode in modes.items() if not (root / name).is_dir()} == {0o600}


def test_two_endpoints_each_get_everything_in_their_own_folder(tmp_path: Path) -> None:
    first, second = Recorder(), Recorder()
    with (
        http_server(first.handler()) as a,
        http_server(second.handler()) as b,
        forwarding(tmp_path, a, b) as (
            forwarder,
            _,
        ),
    ):
        forwarder.submit("traces", False, b"span", 1)
        first.wait_until(lambda: len(first.received()) == 1)
        second.wait_until(lambda: len(second.received()) == 1)
    assert spool_directory(tmp_path, a) != spool_directory(tmp_path, b)


def test_unencodable_json_is_dropped_and_counted(tmp_path: Path) -> None:
    with pytest.raises(Unencodable):
        to_protobuf("metrics", b'{"resourceMetrics": [{"scopeMetrics": 7}]}')
    recorder = Recorder()
    with http_server(recorder.handler()) as url, forwarding(tmp_path, url) as (forwarder, registry):
        forwarder.submit("metrics", True, b"{not json", 1)
        forwarder.submit("logs", False, b"after", 2)
        recorder.wait_until(lambda: len(recorder.received()) == 1)
        assert registry.get_sample_value("ccmon_forward_dropped_total", {"endpoint": url, "reason": "unencodable"}) == 1


def test_headers_are_name_value_pairs() -> None:
    assert parse_headers(("x-honeycomb-team=abc=def", " DD-API-KEY = k ")) == (
        ("x-honeycomb-team", "abc=def"),
        ("DD-API-KEY", "k"),
    )
    with pytest.raises(ConfigError) as error:
        parse_headers(("Authorization: Basic c2VjcmV0",))
    assert "c2VjcmV0" not in str(error.value)


@pytest.mark.slow
def test_the_servers_receivers_answer_at_once_while_the_target_is_slow(chdb_path: Path, database: str) -> None:
    """Through the real receivers: a target that takes 3 s per request does not slow the answers, every request is
    stored locally, and a request posted twice (an exporter's retry) is stored and forwarded once."""
    recorder = Recorder(delay_s=3.0)
    sent = payloads("writefile-http-protobuf")
    with http_server(recorder.handler(), join_s=1) as url:
        config = make_config(chdb_path, database=database, forward_endpoints=(url,))
        with in_process_server(config) as server:
            started = time.perf_counter()
            for payload in [*sent, sent[0]]:
                assert server.post(payload.signal, payload.read(), payload.content_type).status_code == 200
            elapsed = time.perf_counter() - started
            summary = server.summary()
            recorder.wait_until(lambda: len(recorder.received()) >= 1, timeout_s=10)
        assert elapsed < 2.5, f"{len(sent) + 1} requests took {elapsed:.2f} s"
        assert summary["api_requests"] == 2
    queued = Spool(spool_directory(chdb_path, url), 1 << 30)
    queued.open()
    assert len(recorder.received()) + queued.queued == len(sent)  # the repeat neither sent nor queued


def test_the_memory_hand_off_is_bounded_and_drops_the_oldest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forwarder_module, "INBOX_MAX_BYTES", 250)
    recorder = Recorder()
    with http_server(recorder.handler()) as url:
        registry = CollectorRegistry()
        forwarder = Forwarder(ForwardSettings(endpoints=(url,)), tmp_path, registry, backoff=FAST)
        for number in range(5):  # before the pump runs: a disk slower than ingest
            forwarder.submit("logs", False, bytes([number]) * 100, number + 1)
        forwarder.start()
        try:
            recorder.wait_until(lambda: len(recorder.received()) == 2)
        finally:
            forwarder.close()
    assert [r.body[0] for r in recorder.received()] == [3, 4]
    assert registry.get_sample_value("ccmon_forward_dropped_total", {"endpoint": url, "reason": "queue_full"}) == 3


def test_what_was_queued_at_a_stop_is_sent_after_the_restart_in_order(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.answers.append((503, {"Retry-After": "300"}))  # the first attempt parks the queue until the stop
    with http_server(recorder.handler()) as url:
        with forwarding(tmp_path, url) as (forwarder, _):
            for number in range(20):
                forwarder.submit("logs", False, b"request %d" % number, number + 1)
            recorder.wait_until(lambda: len(recorder.attempts) == 1)
        assert recorder.received() == []
        with forwarding(tmp_path, url) as (forwarder, registry):
            recorder.wait_until(lambda: len(recorder.received()) == 20)
            assert registry.get_sample_value("ccmon_forward_sent_total", {"endpoint": url, "signal": "logs"}) == 20
    assert [r.body for r in recorder.received()] == [b"request %d" % number for number in range(20)]


def test_the_server_does_not_start_with_malformed_headers_and_forwards_nothing_without_endpoints(
    tmp_path: Path,
) -> None:
    assert open_forwarder(make_config(tmp_path), CollectorRegistry()) is None
    bad = make_config(tmp_path, forward_endpoints=("http://127.0.0.1:9",), forward_headers=("x-key: secret",))
    with pytest.raises(ConfigError, match="forward_headers: item 1"):
        open_forwarder(bad, CollectorRegistry())
    assert not (tmp_path / "forward").exists()
