"""`ccmon doctor` as a command: its exit status, its human output (a mark per check, the fix under a failure) and
its `--json` document, on a good setup against a real server and with the server down; the token is never printed."""

from __future__ import annotations

import argparse
import io
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccmon import doctor_cli
from tests.support import RunningServer, in_process_server, make_config

TOKEN = "cc-doctor-cli-secret-token"


@pytest.fixture(scope="module")
def server(chdb_path: Path) -> Iterator[RunningServer]:
    config = make_config(chdb_path, database=f"test_{uuid.uuid4().hex[:12]}", ingest_tokens=(TOKEN,))
    with in_process_server(config) as running:
        yield running


def environ_for(tmp_path: Path, grpc_port: int) -> dict[str, str]:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (tmp_path / "repo").mkdir()
    env = {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{grpc_port}",
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer {TOKEN}",
    }
    (home / ".claude" / "settings.json").write_text(json.dumps({"env": env}))
    return {"HOME": str(home), "CLAUDE_CODE_MANAGED_SETTINGS_PATH": str(tmp_path / "managed")}


def doctor(environ: dict[str, str], *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="ccmon")
    doctor_cli.add_parser(parser.add_subparsers(dest="command"))
    out = io.StringIO()
    status = doctor_cli.run(parser.parse_args(["doctor", *argv]), stdout=out, environ=environ)
    return status, out.getvalue()


def test_good_setup_exits_0_with_every_check_ok(server: RunningServer, tmp_path: Path) -> None:
    environ = environ_for(tmp_path, server.config.otlp_grpc_port)
    status, output = doctor(environ, "--url", server.api_url, "--project", str(tmp_path / "repo"), "--json")
    report = json.loads(output)
    assert status == 0 and report["ok"] is True
    assert [c["status"] for c in report["checks"]] == ["ok"] * len(report["checks"])
    assert {c["name"] for c in report["checks"]} >= {"telemetry_enabled", "endpoint", "headers", "ping_stored"}
    assert set(report["checks"][0]) == {"name", "status", "message", "fix"}
    headers = report["effective"]["variables"]["OTEL_EXPORTER_OTLP_HEADERS"]
    assert headers["value"] == "Authorization=***" and headers["source"].startswith("user")
    assert TOKEN not in output
    status, output = doctor(environ, "--url", server.api_url, "--project", str(tmp_path / "repo"))
    assert status == 0 and "✓ ping_stored" in output and "All checks passed." in output and TOKEN not in output


@pytest.fixture
def closed_ports() -> Iterator[tuple[int, int]]:
    """Two loopback ports nobody answers on: bound here and never listened on, so a connection is refused and no
    server another test starts meanwhile can take them (a port merely found free once was, and answered)."""
    with socket.socket() as first, socket.socket() as second:
        first.bind(("127.0.0.1", 0))
        second.bind(("127.0.0.1", 0))
        yield first.getsockname()[1], second.getsockname()[1]


def test_server_down_exits_1_naming_the_fault(tmp_path: Path, closed_ports: tuple[int, int]) -> None:
    grpc_port, api_port = closed_ports
    environ = environ_for(tmp_path, grpc_port)
    url = f"http://127.0.0.1:{api_port}"
    status, output = doctor(environ, "--url", url, "--project", str(tmp_path / "repo"), "--wait", "1")
    assert status == 1
    assert "✗ api:" in output and "✗ ping_sent: connection refused" in output
    assert "    fix: start ccmon" in output
    assert TOKEN not in output
    status, output = doctor(environ, "--url", url, "--project", str(tmp_path / "repo"), "--json", "--no-send")
    report = json.loads(output)
    assert status == 1 and report["ok"] is False
    assert [c["name"] for c in report["checks"] if c["status"] == "fail"] == ["api"]
