"""A second `ccmon serve` on the first one's OTLP/gRPC port refuses to start, and the first keeps every export.

Before, gRPC's port reuse let the second server listen next to the first, and a demo sent to the port split between
the two stores.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ccmon import demo
from tests.support import free_port, make_config, run_ccmon, subprocess_server

NOW = datetime(2026, 11, 19, 17, 0, tzinfo=UTC)


def test_a_second_server_on_the_grpc_port_refuses_and_the_first_keeps_all_data(tmp_path: Path) -> None:
    first = make_config(tmp_path / "first")
    with subprocess_server(first, tmp_path / "first.log") as (server, _):
        second = run_ccmon(
            *("serve", "--data-dir", str(tmp_path / "second"), "--otlp-grpc-port", str(first.otlp_grpc_port)),
            *("--otlp-http-port", str(free_port()), "--port", str(free_port())),
        )
        assert second.returncode == 1, second.stderr
        assert f"port {first.otlp_grpc_port} (OTLP/gRPC) on 127.0.0.1 is in use by another process" in second.stderr
        assert not (tmp_path / "second").exists()

        sent = demo.run(
            f"http://{server.otlp_grpc_target}", "grpc", developers=4, teams=2, days=2, now=NOW, processes=2
        )
        stored = server.summary()
    assert stored["api_requests"] == sent.api_requests and stored["sessions"] == sent.sessions
    assert stored["tokens"] == sent.tokens
    assert abs(stored["cost_usd"] - sent.cost_usd) < 1e-6
