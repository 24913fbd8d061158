"""Durability: acknowledged means committed, and an exporter's retries never double-count.

`ccmon serve` runs as a child process and is killed with SIGKILL while clients stream; after a restart on the same
data folder every acknowledged record is present exactly once, including after clients resend everything that was
in flight (or acknowledged: an acknowledgement can be lost on the way back).
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx

from tests.otlp_payloads import api_request_logs
from tests.support import RunningServer, make_config, subprocess_server

RECORDS_PER_REQUEST = 20
CLIENTS = 4


def _stream(server: RunningServer, client: int, acked: list[int], sent: list[int], stop: threading.Event) -> None:
    """Send request after request; note which were sent and which were acknowledged (HTTP 200)."""
    with httpx.Client(timeout=10) as http:
        number = 0
        while not stop.is_set():
            body = api_request_logs(f"session-{client}", number * RECORDS_PER_REQUEST, RECORDS_PER_REQUEST)
            sent.append(number)
            try:
                response = http.post(
                    f"{server.otlp_http_url}/v1/logs", content=body, headers={"content-type": "application/x-protobuf"}
                )
            except httpx.HTTPError:
                return  # the server is gone
            if response.status_code == 200:
                acked.append(number)
            number += 1


def test_kill_9_loses_no_acknowledged_record_and_retries_count_once(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data", batch_max_delay_ms=50)
    log = tmp_path / "server.log"
    acked: list[list[int]] = [[] for _ in range(CLIENTS)]
    sent: list[list[int]] = [[] for _ in range(CLIENTS)]
    with subprocess_server(config, log) as (server, process):
        stop = threading.Event()
        threads = [threading.Thread(target=_stream, args=(server, c, acked[c], sent[c], stop)) for c in range(CLIENTS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while sum(map(len, acked)) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        stop.set()
        for thread in threads:
            thread.join()
    acknowledged = sum(map(len, acked))
    assert acknowledged >= 40, (acknowledged, log.read_text()[-2000:])
    assert any(len(s) > len(a) for s, a in zip(sent, acked, strict=True)), "no request was in flight at the kill"

    with subprocess_server(config, log) as (server, _):
        # Every acknowledged record survived the kill, once.
        assert server.summary()["api_requests"] >= acknowledged * RECORDS_PER_REQUEST
        # Exporters resend what was not acknowledged; resend the acknowledged ones too.
        with httpx.Client(timeout=10) as http:
            for client in range(CLIENTS):
                for number in sent[client]:
                    body = api_request_logs(f"session-{client}", number * RECORDS_PER_REQUEST, RECORDS_PER_REQUEST)
                    response = http.post(
                        f"{server.otlp_http_url}/v1/logs",
                        content=body,
                        headers={"content-type": "application/x-protobuf"},
                    )
                    assert response.status_code == 200, response.text
        unique = sum(map(len, sent)) * RECORDS_PER_REQUEST
        summary = server.summary()
        assert summary["api_requests"] == unique
        assert summary["sessions"] == CLIENTS


def test_graceful_shutdown_commits_the_queue(tmp_path: Path) -> None:
    # A long batch delay keeps rows queued when SIGTERM arrives; shutdown must commit them, not drop them.
    config = make_config(tmp_path / "data", batch_max_delay_ms=5000)
    log = tmp_path / "server.log"
    with subprocess_server(config, log) as (server, process):
        results: list[int] = []

        def send() -> None:
            body = api_request_logs("graceful", 0, 50)
            response = httpx.post(
                f"{server.otlp_http_url}/v1/logs",
                content=body,
                headers={"content-type": "application/x-protobuf"},
                timeout=30,
            )
            results.append(response.status_code)

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(0.5)  # the request is queued, its batch not yet due
        process.send_signal(signal.SIGTERM)
        sender.join()
        assert process.wait(30) == 0
    assert results == [200]
    with subprocess_server(config, log) as (server, _):
        assert server.summary()["api_requests"] == 50
