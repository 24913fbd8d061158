"""`ccmon mcp` with the real Claude Code CLI: the CLI starts it from an `--mcp-config` file (as `claude mcp add` or a
project's `.mcp.json` would), lists its tools to the model, and calls one when the model asks.

The model is the fake Messages API's `MCPCALL:<tool>` scenario: it answers the prompt with a call of that tool, then
reads the `tool_result` the CLI sends back. ccmon runs in this process and holds telemetry sent through its
OTLP/HTTP receiver. (a) the tools the CLI offers the model include ccmon's (`mcp__ccmon__*`), with their schemas;
(b) the tool result holds the figures ccmon has for the developer; (c) with ccmon down, the call is a tool error the
model reads, and the CLI finishes normally.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.claude_code.cli import ClaudeRun, run_claude_process
from tests.claude_code.fake_anthropic import FakeAnthropic
from tests.onboarding.test_mcp_server import ANN, TOOLS, put_telemetry, usages
from tests.support import RunningServer, free_port, in_process_server, make_config

pytestmark = [pytest.mark.claude_cli, pytest.mark.slow]


@pytest.fixture
def api() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def ccmon(chdb_path: Path, database: str) -> Iterator[RunningServer]:
    with in_process_server(make_config(chdb_path, database=database)) as server:
        put_telemetry(server, usages(datetime.now(UTC)))
        yield server


def _mcp_config(workdir: Path, url: str) -> Path:
    """The `--mcp-config` file: `ccmon mcp` as a stdio server, asking about Ann."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "mcp.json"
    server = {
        "type": "stdio",
        "command": sys.executable,
        "args": ["-m", "ccmon", "mcp", "--url", url, "--person", ANN, "--timeout", "5"],
        "env": {"CLAUDE_CODE_MANAGED_SETTINGS_PATH": str(workdir / "managed")},
    }
    path.write_text(json.dumps({"mcpServers": {"ccmon": server}}))
    return path


def _claude(api: FakeAnthropic, workdir: Path, config: Path, tool: str, env: dict[str, str] | None = None) -> ClaudeRun:
    return run_claude_process(
        api_base_url=api.base_url,
        protocol="http/json",
        endpoint=f"http://127.0.0.1:{free_port()}",
        workdir=workdir,
        prompt=f"MCPCALL:mcp__ccmon__{tool} how much have I spent?",
        allowed_tools=f"mcp__ccmon__{tool}",
        extra_args=("--mcp-config", str(config), "--strict-mcp-config"),
        extra_env={"MCP_TIMEOUT": "60000", "MCP_TOOL_TIMEOUT": "60000", **(env or {})},
        telemetry_env=False,
        timeout=180,
    )


def _tool_result(api: FakeAnthropic) -> dict[str, Any]:
    """The `tool_result` block of the last Messages request (the CLI answering the model's tool call)."""
    body = api.messages_requests[-1].body
    assert isinstance(body, dict)
    blocks = body["messages"][-1]["content"]
    results = [block for block in blocks if isinstance(block, dict) and block.get("type") == "tool_result"]
    assert len(results) == 1, blocks
    result: dict[str, Any] = results[0]
    return result


def _text(result: dict[str, Any]) -> str:
    content = result.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(str(block.get("text", "")) for block in content or [] if isinstance(block, dict))


def _offered(api: FakeAnthropic) -> tuple[dict[str, dict[str, Any]], str]:
    """The first Messages request's tools by name, and the whole request as text (where Claude Code lists the tools
    it defers behind its tool search, by name only)."""
    body = api.messages_requests[0].body
    assert isinstance(body, dict)
    tools = {tool["name"]: tool for tool in body.get("tools", []) if isinstance(tool, dict) and "name" in tool}
    return tools, json.dumps(body)


def test_the_cli_lists_and_calls_ccmons_tools(ccmon: RunningServer, api: FakeAnthropic, tmp_path: Path) -> None:
    config = _mcp_config(tmp_path, ccmon.api_url)
    run = _claude(api, tmp_path, config, "my_usage")
    assert run.result["num_turns"] == 2, run.result
    assert run.result["result"] == "Done."

    # By default Claude Code 2.1.330 defers MCP tools behind its tool search: named to the model, schemas on demand.
    tools, request = _offered(api)
    for name in TOOLS:
        assert f"mcp__ccmon__{name}" in tools or f"\\nmcp__ccmon__{name}\\n" in request, name

    result = _tool_result(api)
    assert not result.get("is_error"), result
    text = _text(result)
    # The figures ccmon holds for Ann, and the readable table (`summary`) with them.
    assert ANN in text and '"cost_usd":4.75' in text.replace(" ", "")
    assert "$4.75" in text and "claude-opus-4-5" in text


def test_with_ccmon_down_the_tool_errs_and_the_cli_goes_on(api: FakeAnthropic, tmp_path: Path) -> None:
    config = _mcp_config(tmp_path, f"http://127.0.0.1:{free_port()}")
    # Without the tool search, the tools come with their schemas.
    run = _claude(api, tmp_path, config, "team_budget", env={"ENABLE_TOOL_SEARCH": "false"})
    assert run.returncode == 0
    tools, _ = _offered(api)
    assert {f"mcp__ccmon__{name}" for name in TOOLS} <= set(tools), sorted(tools)
    period = tools["mcp__ccmon__my_usage"]["input_schema"]["properties"]["period"]
    assert period["enum"] == ["today", "week", "month"]
    assert tools["mcp__ccmon__my_sessions"]["input_schema"]["properties"]["limit"]["maximum"] == 50

    result = _tool_result(api)
    assert result.get("is_error") is True, result
    assert "ccmon is not reachable" in _text(result)
