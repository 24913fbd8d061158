"""`ccmon doctor`'s checks against real servers (in this process, one asking for an ingest token, one not): a good
setup passes and its test signal is stored without changing a dashboard number; each broken setup is named by the
check that fails, with a fix."""

from __future__ import annotations

import json
import stat
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ccmon.ingest import pings as ingest_pings
from ccmon.onboarding import ping as pinging
from ccmon.onboarding.doctor import FAIL, OK, DoctorOptions, Report, diagnose
from ccmon.store.records import utc_now
from tests.alerts.telemetry import Usage, logs_body, metrics_body
from tests.support import RunningServer, free_port, in_process_server, make_config

TOKEN = "cc-doctor-test-token"
RANGE = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}


@pytest.fixture(scope="module")
def server(chdb_path: Path) -> Iterator[RunningServer]:
    """A server asking for an ingest token, with some usage already stored."""
    config = make_config(chdb_path, database=f"test_{uuid.uuid4().hex[:12]}", ingest_tokens=(TOKEN,))
    with in_process_server(config) as running:
        usage = [Usage(person="ann@example.com", at=utc_now() - timedelta(seconds=5), cost=3.0, team="platform")]
        auth = {"authorization": f"Bearer {TOKEN}"}
        for signal, body in (("metrics", metrics_body(usage)), ("logs", logs_body(usage))):
            assert running.post(signal, body, "application/json", **auth).status_code == 200
        yield running


def machine(
    tmp_path: Path, user: dict[str, Any] | None = None, project: dict[str, Any] | None = None
) -> dict[str, str]:
    """An environment with a temporary HOME (user settings) and managed folder, and a project folder."""
    home, managed, repo = tmp_path / "home", tmp_path / "managed", tmp_path / "repo"
    for folder in (home / ".claude", managed, repo / ".claude", repo / ".git"):
        folder.mkdir(parents=True, exist_ok=True)
    if user is not None:
        (home / ".claude" / "settings.json").write_text(json.dumps(user))
    if project is not None:
        (repo / ".claude" / "settings.json").write_text(json.dumps(project))
    return {"HOME": str(home), "CLAUDE_CODE_MANAGED_SETTINGS_PATH": str(managed), "PATH": "/usr/bin:/bin"}


def telemetry(endpoint: str, protocol: str = "grpc", token: str | None = TOKEN, **extra: str) -> dict[str, Any]:
    env = {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_RESOURCE_ATTRIBUTES": "team=doctor-team,department=qa",
        **extra,
    }
    if token:
        env["OTEL_EXPORTER_OTLP_HEADERS"] = f"Authorization=Bearer {token}"
    return {"env": env}


def run(environ: dict[str, str], server: RunningServer | None, tmp_path: Path, **options: Any) -> Report:
    url = server.api_url if server else f"http://127.0.0.1:{free_port()}"
    defaults: dict[str, Any] = {"url": url, "project": tmp_path / "repo", "wait_s": 15.0, "timeout_s": 15.0}
    return diagnose(environ, DoctorOptions(**(defaults | options)))


def status(report: Report) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


def check(report: Report, name: str) -> Any:
    return next(c for c in report.checks if c.name == name)


def dashboard(server: RunningServer) -> list[Any]:
    auth = {"authorization": f"Bearer {TOKEN}"}
    answers = [server.summary()]
    for params in ({}, {"group": "team"}):
        response = server.http.get(f"{server.api_url}/api/v1/people/leaderboard", params=RANGE | params, headers=auth)
        answers.append(response.json())
    answers.append(server.http.get(f"{server.api_url}/api/v1/events", params=RANGE, headers=auth).json())
    answers.append(server.http.get(f"{server.api_url}/api/v1/server").json()["has_data"])
    return answers


def grpc_endpoint(server: RunningServer) -> str:
    return f"http://127.0.0.1:{server.config.otlp_grpc_port}"


def test_ping_names_agree_with_ingest() -> None:
    assert (pinging.PING_EVENT, pinging.PING_ID_KEY) == (ingest_pings.PING_EVENT, ingest_pings.PING_ID_KEY)
    assert ingest_pings.PING_ID.fullmatch("a" * pinging.PING_ID_LENGTH)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf", "http/json"])
def test_good_setup_passes_and_the_ping_changes_no_dashboard_number(
    server: RunningServer, tmp_path: Path, protocol: str
) -> None:
    endpoint = grpc_endpoint(server) if protocol == "grpc" else server.otlp_http_url
    environ = machine(tmp_path, user=telemetry(endpoint, protocol))
    before = dashboard(server)
    report = run(environ, server, tmp_path)
    assert report.ok, [c for c in report.checks if c.status != OK]
    assert set(status(report).values()) == {OK}
    assert list(status(report))[-2:] == ["ping_sent", "ping_stored"]
    assert report.target["resource"] == {"team": "doctor-team", "department": "qa"}
    assert dashboard(server) == before
    assert TOKEN not in json.dumps(report.to_json())


def test_wrong_port(server: RunningServer, tmp_path: Path) -> None:
    environ = machine(tmp_path, user=telemetry(f"http://127.0.0.1:{free_port()}"))
    report = run(environ, server, tmp_path)
    assert not report.ok
    assert status(report)["endpoint"] == FAIL
    assert f":{server.config.otlp_grpc_port}" in check(report, "endpoint").fix
    assert check(report, "ping_sent").status == FAIL
    assert "connection refused" in check(report, "ping_sent").message


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_wrong_protocol_for_the_port(server: RunningServer, tmp_path: Path, protocol: str) -> None:
    endpoint = server.otlp_http_url if protocol == "grpc" else grpc_endpoint(server)
    report = run(machine(tmp_path, user=telemetry(endpoint, protocol)), server, tmp_path)
    endpoint_check = check(report, "endpoint")
    assert endpoint_check.status == FAIL and "port" in endpoint_check.message and protocol in endpoint_check.message
    ping_sent = check(report, "ping_sent")
    assert ping_sent.status == FAIL
    assert pinging.advice(pinging.PingResult(pinging.PROTOCOL, ""), protocol, None).split(":")[0] in ping_sent.fix
    assert "gRPC" in ping_sent.message or "HTTP/1" in ping_sent.message


@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_missing_or_wrong_token(server: RunningServer, tmp_path: Path, token: str | None) -> None:
    report = run(machine(tmp_path, user=telemetry(grpc_endpoint(server), token=token)), server, tmp_path)
    assert status(report)["headers"] == (FAIL if token is None else OK)
    assert status(report)["ping_sent"] == FAIL
    assert "refused the token" in check(report, "ping_sent").message
    assert "OTEL_EXPORTER_OTLP_HEADERS" in check(report, "ping_sent").fix
    assert "not-the-token" not in json.dumps(report.to_json())


def test_telemetry_set_only_in_a_project_file(server: RunningServer, tmp_path: Path) -> None:
    report = run(machine(tmp_path, project=telemetry(grpc_endpoint(server))), server, tmp_path)
    project = check(report, "project_settings")
    assert project.status == FAIL and "only in project settings" in project.message
    assert "ccmon setup" in project.fix
    assert status(report)["telemetry_enabled"] == FAIL
    assert not report.ok


def test_server_down(tmp_path: Path) -> None:
    report = run(machine(tmp_path, user=telemetry(f"http://127.0.0.1:{free_port()}")), None, tmp_path)
    assert status(report)["api"] == FAIL and "connection refused" in check(report, "api").message
    assert "connection refused" in check(report, "ping_sent").message
    assert "ccmon serve" in check(report, "ping_sent").fix


def test_headers_helper_is_ignored_over_grpc_and_used_over_http(server: RunningServer, tmp_path: Path) -> None:
    helper = tmp_path / "token-helper"
    helper.write_text(f"#!{sys.executable}\nimport json; print(json.dumps({{'Authorization': 'Bearer {TOKEN}'}}))\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    settings = telemetry(grpc_endpoint(server), token=None) | {"otelHeadersHelper": str(helper)}
    report = run(machine(tmp_path, user=settings), server, tmp_path)
    assert status(report)["headers"] == FAIL and "ignores it over gRPC" in check(report, "headers").message
    settings = telemetry(server.otlp_http_url, "http/protobuf", token=None) | {"otelHeadersHelper": str(helper)}
    report = run(machine(tmp_path, user=settings), server, tmp_path)
    assert report.ok, [c for c in report.checks if c.status != OK]


def test_no_send_checks_settings_only(server: RunningServer, tmp_path: Path) -> None:
    report = run(machine(tmp_path, user=telemetry(grpc_endpoint(server))), server, tmp_path, send=False)
    assert report.ok and report.ping_id is None
    assert "ping_sent" not in status(report)


def test_missing_protocol_and_exporters(server: RunningServer, tmp_path: Path) -> None:
    settings = telemetry(grpc_endpoint(server))
    del settings["env"]["OTEL_EXPORTER_OTLP_PROTOCOL"], settings["env"]["OTEL_LOGS_EXPORTER"]
    report = run(machine(tmp_path, user=settings), server, tmp_path)
    assert status(report)["protocol"] == FAIL and status(report)["exporters"] == FAIL
    assert "no test signal sent" in check(report, "ping_sent").message


def test_broken_user_settings_file_fails_with_the_position(server: RunningServer, tmp_path: Path) -> None:
    environ = machine(tmp_path)
    Path(environ["HOME"], ".claude", "settings.json").write_text('{"env": {"CLAUDE_CODE_ENABLE_TELEMETRY": "1",}}')
    report = run(environ, server, tmp_path, send=False)
    files = check(report, "settings_files")
    assert files.status == FAIL and "line 1 column" in files.message
