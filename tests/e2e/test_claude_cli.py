"""The real Claude Code CLI, driven against a fake Messages API, exporting to a running ccmon.

What Claude Code itself reports (`--output-format json`: `total_cost_usd`, `usage`) is the ground truth that
`/api/v1/summary` must equal, over every OTLP protocol and with cumulative temporality.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ccmon.store.facade import Store
from tests.claude_code.cli import run_claude, run_claude_process
from tests.claude_code.fake_anthropic import FakeAnthropic
from tests.support import RunningServer, in_process_server, make_config

pytestmark = pytest.mark.claude_cli


def _endpoint(server: RunningServer, protocol: str) -> str:
    port = server.config.otlp_grpc_port if protocol == "grpc" else server.config.otlp_http_port
    return f"http://127.0.0.1:{port}"


def _claude(
    server: RunningServer, api: FakeAnthropic, tmp_path: Path, protocol: str, prompt: str, **env: str
) -> dict[str, Any]:
    return run_claude(
        api_base_url=api.base_url,
        protocol=protocol,
        endpoint=_endpoint(server, protocol),
        workdir=tmp_path,
        prompt=prompt,
        extra_env=env,
    )


def _assert_matches_claude(summary: dict[str, Any], result: dict[str, Any]) -> None:
    usage = result["usage"]
    assert summary["cost_usd"] == pytest.approx(result["total_cost_usd"], abs=1e-9)
    assert summary["tokens"] == {
        "input": usage["input_tokens"],
        "output": usage["output_tokens"],
        "cache_read": usage["cache_read_input_tokens"],
        "cache_creation": usage["cache_creation_input_tokens"],
    }
    assert summary["api_requests"] == result["num_turns"]


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf", "http/json"])
def test_write_file_session_matches_claude_code(
    server: RunningServer, api: FakeAnthropic, tmp_path: Path, protocol: str
) -> None:
    result = _claude(server, api, tmp_path, protocol, "WRITEFILE please")
    assert result["total_cost_usd"] > 0
    summary = server.summary()
    _assert_matches_claude(summary, result)
    assert summary["sessions"] == 1
    assert summary["users"] == 1
    assert summary["tool_calls"] == 1
    assert summary["tool_decisions"] == {"accept": 1, "reject": 0}
    assert summary["edit_decisions"] == {"accept": 1, "reject": 0}
    assert summary["lines_added"] > 0
    assert summary["api_errors"] == 0


@pytest.mark.parametrize("protocol", ["http/json", "grpc"])
def test_cumulative_temporality_over_several_exports(
    server: RunningServer, api: FakeAnthropic, tmp_path: Path, protocol: str, chdb_path: Path
) -> None:
    result = _claude(
        server,
        api,
        tmp_path,
        protocol,
        "SLOW WRITEFILE please",
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="cumulative",
    )
    _assert_matches_claude(server.summary(), result)
    store = Store.open(data_dir=str(chdb_path), database=server.config.database)
    try:
        ((exports, raw_sum, increments),) = store.query(
            "SELECT count(), sum(raw_value), sum(value) FROM metric_points "
            "WHERE metric_name = 'claude_code.cost.usage' AND temporality = 2"
        )
    finally:
        store.close()
    # Several exports of the same growing series: summing the raw values would overcount.
    assert exports >= 2
    assert raw_sum > result["total_cost_usd"] + 1e-9
    assert increments == pytest.approx(result["total_cost_usd"], abs=1e-9)


def test_two_sessions_accumulate(server: RunningServer, api: FakeAnthropic, tmp_path: Path) -> None:
    first = _claude(server, api, tmp_path / "a", "http/protobuf", "WRITEFILE one")
    second = _claude(server, api, tmp_path / "b", "grpc", "just say hi")
    summary = server.summary()
    assert summary["sessions"] == 2
    assert summary["cost_usd"] == pytest.approx(first["total_cost_usd"] + second["total_cost_usd"], abs=1e-9)
    assert summary["api_requests"] == first["num_turns"] + second["num_turns"]


def test_rejected_tool_is_counted(server: RunningServer, api: FakeAnthropic, tmp_path: Path) -> None:
    result = _claude(server, api, tmp_path, "http/json", "USEBASH please")
    summary = server.summary()
    _assert_matches_claude(summary, result)
    assert summary["tool_decisions"]["reject"] == 1
    assert summary["tool_calls"] == 0


def test_api_errors_are_counted(server: RunningServer, api: FakeAnthropic, tmp_path: Path) -> None:
    run = run_claude_process(
        api_base_url=api.base_url,
        protocol="http/protobuf",
        endpoint=_endpoint(server, "http/protobuf"),
        workdir=tmp_path,
        prompt="FAIL500 please",
        check=False,
    )
    assert run.result["is_error"] is True
    summary = server.summary()
    assert summary["api_errors"] >= 1
    assert summary["cost_usd"] == 0
    assert summary["api_requests"] == 0


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_ingest_token_required_and_accepted(
    chdb_path: Path, database: str, api: FakeAnthropic, tmp_path: Path, protocol: str
) -> None:
    config = make_config(chdb_path, database=database, ingest_tokens=("cc-token-1",))
    with in_process_server(config) as server:
        _claude(server, api, tmp_path / "denied", protocol, "WRITEFILE please")
        assert server.summary()["cost_usd"] == 0  # no token: nothing stored
        result = _claude(
            server,
            api,
            tmp_path / "allowed",
            protocol,
            "WRITEFILE please",
            OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer cc-token-1",
        )
        _assert_matches_claude(server.summary(), result)


def test_traces_are_stored(server: RunningServer, api: FakeAnthropic, tmp_path: Path, chdb_path: Path) -> None:
    result = _claude(
        server,
        api,
        tmp_path,
        "grpc",
        "WRITEFILE please",
        CLAUDE_CODE_ENHANCED_TELEMETRY_BETA="1",
        OTEL_TRACES_EXPORTER="otlp",
    )
    store = Store.open(data_dir=str(chdb_path), database=server.config.database)
    try:
        names = dict(
            store.query(
                "SELECT name, count() FROM spans WHERE session_id = {s:String} GROUP BY name",
                {"s": result["session_id"]},
            )
        )
        orphans = store.query(
            "SELECT count() FROM spans WHERE parent_span_id != '' AND parent_span_id NOT IN (SELECT span_id FROM spans)"
        )[0][0]
    finally:
        store.close()
    assert names.get("claude_code.interaction") == 1
    assert names.get("claude_code.llm_request") == result["num_turns"]
    assert names.get("claude_code.tool") == 1
    assert orphans == 0


def test_dimensions_of_real_claude_code_data(
    server: RunningServer, api: FakeAnthropic, tmp_path: Path, chdb_path: Path
) -> None:
    """Provider from Claude Code's own `anthropic.provider`, project and team from `OTEL_RESOURCE_ATTRIBUTES`, on
    every row it sends; each breakdown by them holds the whole cost Claude Code reports."""
    result = _claude(
        server,
        api,
        tmp_path,
        "grpc",
        "WRITEFILE please",
        OTEL_RESOURCE_ATTRIBUTES="team=platform,department=engineering,project=checkout",
        CLAUDE_CODE_ENHANCED_TELEMETRY_BETA="1",
        OTEL_TRACES_EXPORTER="otlp",
    )
    store = Store.open(data_dir=str(chdb_path), database=server.config.database)
    try:
        for table in ("events", "metric_points", "spans"):
            rows = store.query(f"SELECT DISTINCT provider, project, team FROM {table}")
            assert rows == [("anthropic", "checkout", "platform")], table
    finally:
        store.close()
    window = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
    for by, key in (("provider", "anthropic"), ("project", "checkout"), ("team", "platform")):
        rows = server.http.get(f"{server.api_url}/api/v1/cost/breakdown", params={**window, "by": by}).json()["rows"]
        assert [r["key"] for r in rows] == [key]
        assert rows[0]["cost_usd"] == pytest.approx(result["total_cost_usd"], abs=1e-9)
