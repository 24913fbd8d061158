"""End to end: the demo sent through the OTel SDK exporters to a running ccmon adds up to the expected totals."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ccmon import demo
from ccmon.cli import main
from tests.demo.conftest import NOW, SMALL
from tests.support import RunningServer, in_process_server, make_config


def _endpoint(server: RunningServer, protocol: str) -> str:
    return f"http://{server.otlp_grpc_target}" if protocol == "grpc" else server.otlp_http_url


def _assert_summary(actual: dict[str, Any], expected: demo.DemoTotals) -> None:
    want = expected.summary()
    assert actual["cost_usd"] == pytest.approx(want.pop("cost_usd"), abs=1e-6)
    active = want.pop("active_time_s")
    assert actual["active_time_s"]["user"] == pytest.approx(active["user"], abs=1e-6)
    assert actual["active_time_s"]["cli"] == pytest.approx(active["cli"], abs=1e-6)
    assert {key: actual[key] for key in want} == want


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_summary_equals_the_demo_and_resending_changes_nothing(
    server: RunningServer, small: demo.Demo, protocol: str
) -> None:
    assert any(t.cumulative for t in small.telemetry) and not all(t.cumulative for t in small.telemetry)
    assert max(Counter(t.session.id for t in small.telemetry).values()) > 1, "precondition: a resumed session"
    developers, teams, days = SMALL
    expected = small.totals()

    sent = demo.run(
        _endpoint(server, protocol), protocol, developers=developers, teams=teams, days=days, now=NOW, processes=1
    )
    assert sent.summary() == expected.summary()
    assert (sent.events, sent.metric_points) == (expected.events, expected.metric_points)
    assert sent.requests >= 2
    assert (sent.start, sent.end) == (small.start, small.end)
    _assert_summary(server.summary(), expected)

    demo.run(_endpoint(server, protocol), protocol, developers=developers, teams=teams, days=days, now=NOW, processes=1)
    _assert_summary(server.summary(), expected)


@pytest.mark.parametrize("processes", [1, 2])
def test_progress_counts_every_acknowledged_event_and_point(server: RunningServer, processes: int) -> None:
    reports: list[tuple[int, int | None]] = []
    threads: set[str] = set()

    def progress(done: int, total: int | None) -> None:
        reports.append((done, total))
        threads.add(threading.current_thread().name)

    sent = demo.run(
        _endpoint(server, "grpc"),
        "grpc",
        seed=7,
        developers=4,
        teams=2,
        days=2,
        now=NOW,
        processes=processes,
        progress=progress,
    )
    everything = sent.events + sent.metric_points
    assert reports[-1] == (everything, everything)
    done = [d for d, _ in reports]
    assert done == sorted(done) and len(reports) >= sent.requests
    assert {t for _, t in reports} <= {None, everything}
    if processes > 1:
        assert threads == {"ccmon-demo-progress"}, "reported in the caller's process, never in a worker"


def test_worker_processes(server: RunningServer) -> None:
    expected = demo.generate(seed=5, developers=4, teams=2, days=2, now=NOW).totals()
    sent = demo.run(_endpoint(server, "grpc"), "grpc", seed=5, developers=4, teams=2, days=2, now=NOW, processes=2)
    assert sent.summary() == expected.summary() | {"cost_usd": sent.cost_usd}
    _assert_summary(server.summary(), expected)


def test_token(chdb_path: Path, database: str) -> None:
    config = make_config(chdb_path, database=database, ingest_tokens=("demo-secret",))
    with in_process_server(config) as server:
        endpoint = _endpoint(server, "grpc")
        with pytest.raises(demo.DemoError, match="failed"):
            demo.run(endpoint, "grpc", developers=2, teams=1, days=2, now=NOW, processes=1)
        sent = demo.run(endpoint, "grpc", developers=2, teams=1, days=2, now=NOW, processes=1, token="demo-secret")
        assert sent.api_requests > 0
        assert server.summary()["api_requests"] == sent.api_requests


def test_impossible_sizes_fail_before_connecting() -> None:
    with pytest.raises(ValueError, match="teams"):
        demo.run("http://127.0.0.1:1", "grpc", teams=11)


def test_cli(server: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    endpoint = server.otlp_http_url
    argv = ["demo", "--endpoint", endpoint, "--protocol", "http/protobuf", "--developers", "3", "--teams", "2"]
    assert main([*argv, "--days", "7", "--seed", "2", "--processes", "1"]) == 0
    out = capsys.readouterr().out
    assert "3 developers in 2 teams, 7 days, seed 2" in out
    assert "sent " in out and "API requests" in out
    assert server.summary()["sessions"] > 0


def test_cli_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--endpoint", "http://127.0.0.1:1", "--processes", "1"]) == 1
    assert "cannot connect" in capsys.readouterr().err
