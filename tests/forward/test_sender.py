"""The sender of one endpoint against a recording OTLP/HTTP receiver: delivery, backoff, Retry-After, refusals."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from ccmon.forward.sender import Backoff, ForwardStats, Sender, endpoint_label, verdict
from ccmon.forward.spool import Spool
from tests.forward.recording import Recorder
from tests.support import http_server

FAST = Backoff(initial_s=0.1, max_s=0.4, jitter=0.0)


@contextmanager
def sending(tmp_path: Path, url: str, backoff: Backoff = FAST) -> Iterator[tuple[Spool, CollectorRegistry]]:
    registry = CollectorRegistry()
    spool = Spool(tmp_path, 1 << 20)
    spool.open()
    sender = Sender(url, "target", spool, ForwardStats(registry), {"x-api-key": "k1"}, backoff=backoff, timeout_s=5)
    sender.start()
    try:
        yield spool, registry
    finally:
        sender.stop()


def _count(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, {"endpoint": "target", **labels}) or 0.0


def test_requests_arrive_in_order_as_protobuf_with_the_headers(tmp_path: Path) -> None:
    recorder = Recorder()
    with http_server(recorder.handler()) as url, sending(tmp_path, url + "/otlp/?tenant=t1") as (spool, registry):
        spool.append("metrics", b"m1", 1)
        spool.append("logs", b"l1", 2)
        spool.append("traces", b"t1", 3)
        recorder.wait_until(lambda: spool.queued == 0 and len(recorder.received()) == 3)
    got = recorder.received()
    assert [(r.path, r.body) for r in got] == [
        ("/otlp/v1/metrics?tenant=t1", b"m1"),
        ("/otlp/v1/logs?tenant=t1", b"l1"),
        ("/otlp/v1/traces?tenant=t1", b"t1"),
    ]
    assert got[0].headers["content-type"] == "application/x-protobuf"
    assert got[0].headers["x-api-key"] == "k1"
    assert _count(registry, "ccmon_forward_sent_total", signal="logs") == 1
    assert _count(registry, "ccmon_forward_failed_total") == 0


def test_temporary_failures_are_retried_with_growing_delays(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.answers.extend([(503, {}), (500, {}), (408, {})])
    with http_server(recorder.handler()) as url, sending(tmp_path, url) as (spool, registry):
        spool.append("logs", b"payload", 1)
        recorder.wait_until(lambda: spool.queued == 0)
    assert [r.body for r in recorder.received()] == [b"payload"]
    times = [t for _, t in recorder.attempts]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4  # 0.1, 0.2, then capped at 0.4
    assert _count(registry, "ccmon_forward_failed_total") == 3
    assert _count(registry, "ccmon_forward_sent_total", signal="logs") == 1


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.answers.append((429, {"Retry-After": "1"}))
    with http_server(recorder.handler()) as url, sending(tmp_path, url) as (spool, _):
        spool.append("metrics", b"payload", 1)
        recorder.wait_until(lambda: spool.queued == 0)
    (_, first), (_, second) = recorder.attempts
    assert second - first >= 0.95  # not the 0.1 s backoff


def test_a_permanent_refusal_drops_that_request_and_moves_on(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.answers.append((400, {}))
    with http_server(recorder.handler()) as url, sending(tmp_path, url) as (spool, registry):
        spool.append("logs", b"bad", 1)
        spool.append("logs", b"good", 2)
        recorder.wait_until(lambda: spool.queued == 0)
    assert [r.body for r in recorder.received()] == [b"good"]
    assert [status for status, _ in recorder.attempts] == [400, 200]
    assert _count(registry, "ccmon_forward_dropped_total", reason="rejected") == 1


def test_an_unreachable_endpoint_keeps_the_queue(tmp_path: Path) -> None:
    with http_server(Recorder().handler()) as url:
        pass  # closed: its port now refuses connections
    with sending(tmp_path, url) as (spool, registry):
        spool.append("logs", b"payload", 1)
        deadline = time.monotonic() + 10
        while _count(registry, "ccmon_forward_failed_total") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _count(registry, "ccmon_forward_failed_total") >= 2
        assert spool.queued == 1


def test_retry_after_zero_is_no_tight_loop(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.answers.extend([(503, {"Retry-After": "0"})] * 3)
    with http_server(recorder.handler()) as url, sending(tmp_path, url) as (spool, _):
        spool.append("logs", b"payload", 1)
        recorder.wait_until(lambda: spool.queued == 0)
    times = [t for _, t in recorder.attempts]
    assert len(times) == 4 and all(b - a >= 0.09 for a, b in itertools.pairwise(times))  # the backoff's first step


def test_stop_does_not_wait_for_a_long_backoff(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.answers.append((503, {"Retry-After": "300"}))
    with http_server(recorder.handler()) as url:
        started = time.monotonic()
        with sending(tmp_path, url) as (spool, _):
            spool.append("logs", b"payload", 1)
            recorder.wait_until(lambda: len(recorder.attempts) == 1)
        assert time.monotonic() - started < 5
    assert spool.queued == 1  # kept for the next start


def test_verdicts_and_retry_after_parsing() -> None:
    assert verdict(200, {}).action == "sent" and verdict(204, {}).action == "sent"
    assert verdict(429, {"retry-after": "7"}).retry_after_s == 7
    assert [verdict(s, {}).action for s in (408, 500, 502, 503, 504)] == ["retry"] * 5
    assert [verdict(s, {}).action for s in (400, 401, 403, 404, 413)] == ["drop"] * 5
    # A redirect is not followed (it would take the credential along) and not a reason to lose the data either.
    moved = verdict(308, {"location": "https://collector.example/otlp/v1/logs"})
    assert moved.action == "retry" and "https://collector.example/otlp/v1/logs" in moved.reason
    # The parsing itself is tested in tests/test_http_retry.py; here: the forwarder's cap, and the fallback.
    assert verdict(503, {"retry-after": "99999"}).retry_after_s == 600
    ahead = formatdate(time.time() + 30, usegmt=True)
    assert verdict(503, {"retry-after": ahead}).retry_after_s == pytest.approx(30, abs=2)
    assert verdict(503, {"retry-after": "soon"}).retry_after_s is None and verdict(503, {}).retry_after_s is None


def test_backoff_grows_to_its_cap_with_bounded_jitter() -> None:
    backoff = Backoff(initial_s=1, max_s=8, jitter=0.2)
    for attempt, base in ((1, 1), (2, 2), (3, 4), (4, 8), (10, 8)):
        assert base * 0.8 <= backoff.delay(attempt) <= base * 1.2


def test_endpoint_label_leaves_credentials_out() -> None:
    assert (
        endpoint_label("https://user:secret@api.example.com:4318/otlp/?key=abc") == "https://api.example.com:4318/otlp"
    )
    assert endpoint_label("http://[::1]:4318") == "http://[::1]:4318"


def test_a_sender_still_sending_at_stop_says_so_and_may_still_remove_the_file(tmp_path: Path) -> None:
    """Why the caller must keep the spool's lock when `stop` returns False: the request in flight still ends, and
    its file is removed after that first `stop` returned."""
    recorder = Recorder(delay_s=1.5)
    with http_server(recorder.handler()) as url:
        spool = Spool(tmp_path, 1 << 20)
        spool.open()
        spool.append("logs", b"in flight", 1)
        sender = Sender(url, "target", spool, ForwardStats(CollectorRegistry()), {}, backoff=FAST, timeout_s=5)
        sender.start()
        time.sleep(0.3)  # the request is on its way; the receiver answers 1.5 s after it came
        assert not sender.stop(join_s=0.2)
        assert spool.queued == 1
        assert sender.stop()  # the default wait (request timeout + 1 s) outlasts the request in flight
        assert spool.queued == 0 and [r.body for r in recorder.received()] == [b"in flight"]
        spool.close()
