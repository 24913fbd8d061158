"""`ccmon mcp` through the official MCP SDK's client over stdio: the command is spawned (`python -m ccmon mcp --url
URL`) against a real ccmon server holding telemetry sent through its OTLP/HTTP receiver, as Claude Code would spawn it.

Initialize, tools/list (names, input and output schemas), tools/call of each tool; identity from --person, from
Claude Code's `~/.claude.json` and from `CLAUDE_CODE_SESSION_ID`; scope (a developer's API key sees only its own
person, a pinned ingest token cannot ask about others); bad arguments, a server down and a refused token are tool
errors, and the server keeps answering; nothing but JSON-RPC on stdout.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult, TextContent

from tests.alerts.telemetry import Usage, logs_body, metrics_body
from tests.support import RunningServer, free_port, in_process_server, make_config

pytestmark = pytest.mark.slow

ANN, BOB = "ann@example.com", "bob@example.com"
TOOLS = {"my_usage", "my_sessions", "expensive_sessions", "team_budget"}


def usages(now: datetime) -> list[Usage]:
    """Ann's two sessions today (team platform) and Bob's one (team web)."""
    at = max(now - timedelta(seconds=30), now.replace(hour=0, minute=0, second=0, microsecond=0))
    later = at + timedelta(milliseconds=500)
    return [
        Usage(ANN, at, 3.25, 3000, "claude-opus-4-5", "s-ann-a", team="platform", department="eng"),
        Usage(ANN, later, 1.5, 1500, "claude-sonnet-4-5", "s-ann-b", team="platform", department="eng"),
        Usage(BOB, at, 0.75, 700, "claude-sonnet-4-5", "s-bob", team="web", department="eng"),
    ]


def put_telemetry(server: RunningServer, items: list[Usage], headers: dict[str, str] | None = None) -> None:
    """Through the OTLP/HTTP receiver, then wait until the summary holds the cost."""
    before = float(server.summary()["cost_usd"])
    for signal, body in (("metrics", metrics_body(items)), ("logs", logs_body(items))):
        response = server.post(signal, body, "application/json", **(headers or {}))
        assert response.status_code == 200, response.text
    expected = before + sum(u.cost for u in items)
    deadline = time.monotonic() + 30
    while float(server.summary()["cost_usd"]) < expected - 1e-9:
        assert time.monotonic() < deadline, "the telemetry was not stored"
        time.sleep(0.1)


def put_budgets(server: RunningServer, headers: dict[str, str] | None = None) -> None:
    for budget in (
        {"id": "cap", "name": "Personal cap", "scope": "organization", "amount": 100, "per_person": True},
        {"id": "pool", "name": "Platform pool", "scope": "team", "scope_value": "platform", "amount": 50},
    ):
        body = {"period": "monthly", "unit": "usd", "enforce": "warn", **budget}
        response = server.http.post(f"{server.api_url}/api/v1/budgets", json=body, headers=headers or {})
        assert response.status_code in (200, 201), response.text


@pytest.fixture(scope="module")
def open_server(chdb_path: Path) -> Iterator[RunningServer]:
    """A loopback server without tokens or keys, holding the data: a developer's laptop."""
    database = f"test_mcp_{int(time.time() * 1000) % 10**9}"
    with in_process_server(make_config(chdb_path, database=database)) as server:
        put_telemetry(server, usages(datetime.now(UTC)))
        put_budgets(server)
        yield server


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """A HOME of the test's own (no real `~/.claude.json` or settings), no managed settings."""
    managed = home / "managed"
    managed.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(home), "CLAUDE_CODE_MANAGED_SETTINGS_PATH": str(managed), **extra}


@asynccontextmanager
async def mcp_session(
    url: str, home: Path, *args: str, env: dict[str, str] | None = None, mode: str = "legacy"
) -> AsyncIterator[Client]:
    """`python -m ccmon mcp --url URL ARGS` spawned and initialized by the SDK's client (legacy: the `initialize`
    handshake Claude Code does). Its stderr goes to `home/mcp.log`."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ccmon", "mcp", "--url", url, *args],
        env=isolated_env(home, **(env or {})),
    )
    with (home / "mcp.log").open("a") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode=mode, read_timeout_seconds=60) as client:
            yield client


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run the scenario on an event loop of its own, in a thread of its own: an earlier test in this process may have
    left its thread marked as running a loop, which `asyncio.run` refuses."""

    def in_thread() -> None:
        asyncio.run(asyncio.wait_for(scenario(), timeout=240))

    with ThreadPoolExecutor(1) as pool:
        pool.submit(in_thread).result()


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert isinstance(data, dict)
    return data


def test_initialize_list_and_call_every_tool(open_server: RunningServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with mcp_session(open_server.api_url, tmp_path, "--person", ANN) as client:
            assert client.server_info is not None and client.server_info.name == "ccmon"
            assert "never anyone else" in (client.instructions or "")
            listed = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert set(listed) == TOOLS
            period = listed["my_usage"].input_schema["properties"]["period"]
            assert (period["enum"], period["default"]) == (["today", "week", "month"], "today")
            limit = listed["my_sessions"].input_schema["properties"]["limit"]
            assert (limit["minimum"], limit["maximum"]) == (1, 50)
            assert listed["my_sessions"].input_schema["properties"]["sort"]["enum"] == ["recent", "cost"]
            assert set(listed["expensive_sessions"].input_schema["properties"]) == {"limit", "days"}
            assert listed["team_budget"].input_schema.get("properties", {}) == {}
            for tool in listed.values():
                assert tool.output_schema is not None and tool.output_schema["type"] == "object"
                assert tool.annotations is not None and tool.annotations.read_only_hint

            usage = await client.call_tool("my_usage", {})
            data = ok(usage)
            assert (data["person"], data["period"], data["cost_usd"], data["sessions"]) == (ANN, "today", 4.75, 2)
            assert data["tokens"]["input"] == 4500
            assert [m["model"] for m in data["top_models"]] == ["claude-opus-4-5", "claude-sonnet-4-5"]
            text = text_of(usage)
            assert "$4.75" in text and "4,500" in text and "claude-opus-4-5" in text
            month = ok(await client.call_tool("my_usage", {"period": "month"}))
            assert (month["period"], month["cost_usd"]) == ("month", 4.75)

            recent = await client.call_tool("my_sessions", {"limit": 1})
            assert [s["session_id"] for s in ok(recent)["sessions"]] == ["s-ann-b"]
            assert "s-ann-b" in text_of(recent) and "1 of 2 sessions" in text_of(recent)
            costly = await client.call_tool("expensive_sessions", {})
            assert [(s["session_id"], s["cost_usd"]) for s in ok(costly)["sessions"]] == [
                ("s-ann-a", 3.25),
                ("s-ann-b", 1.5),
            ]
            assert "s-bob" not in text_of(costly) and "$3.25" in text_of(costly)

            budget = await client.call_tool("team_budget", {})
            data = ok(budget)
            assert (data["person"], data["team"]) == (ANN, "platform")
            used = {s["budget_id"]: (s["used"], s["amount"]) for s in data["statuses"]}
            assert used == {"cap": (4.75, 100.0), "pool": (4.75, 50.0)}
            assert data["team_month_to_date"]["spend_usd"] == 4.75
            text = text_of(budget)
            assert "Platform pool" in text and "$4.75 of $50.00" in text and "Team platform this month" in text

    run(scenario)


def test_identity_from_claude_json_and_the_session(open_server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / ".claude.json").write_text(json.dumps({"oauthAccount": {"emailAddress": BOB}, "userID": "u-1"}))

    async def scenario() -> None:
        async with mcp_session(open_server.api_url, tmp_path, mode="auto") as client:
            assert ok(await client.call_tool("my_usage", {}))["person"] == BOB
        # Claude Code's session id wins over the login and --person (a developer cannot borrow a colleague).
        session = {"CLAUDE_CODE_SESSION_ID": "s-ann-a"}
        async with mcp_session(open_server.api_url, tmp_path, "--person", BOB, env=session) as client:
            assert ok(await client.call_tool("my_usage", {}))["person"] == ANN

    run(scenario)


def test_bad_arguments_and_nobody_known_are_tool_errors(open_server: RunningServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with mcp_session(open_server.api_url, tmp_path) as client:
            nobody = await client.call_tool("my_usage", {})
            assert nobody.is_error
            assert all(way in text_of(nobody) for way in ("~/.claude.json", "--person", "API key")), text_of(nobody)
        async with mcp_session(open_server.api_url, tmp_path, "--person", ANN) as client:
            for tool, arguments, words in (
                ("my_usage", {"period": "yesterday"}, "'today', 'week' or 'month'"),
                ("my_usage", {"period": 7}, "period"),
                ("my_sessions", {"limit": 0}, "greater than or equal to 1"),
                ("my_sessions", {"limit": 10**6}, "less than or equal to 50"),
                ("my_sessions", {"sort": "person"}, "'recent' or 'cost'"),
                ("expensive_sessions", {"days": 365}, "less than or equal to 90"),
                ("expensive_sessions", {"limit": "many"}, "limit"),
            ):
                refused = await client.call_tool(tool, arguments)
                assert refused.is_error, (tool, arguments)
                assert words in text_of(refused), text_of(refused)
            missing = await client.call_tool("delete_everything", {})
            assert missing.is_error and "delete_everything" in text_of(missing)
            # The server is still there and answers.
            assert ok(await client.call_tool("my_usage", {}))["cost_usd"] == 4.75

    run(scenario)


def test_server_down_is_a_tool_error_not_a_crash(tmp_path: Path) -> None:
    async def scenario() -> None:
        down = f"http://127.0.0.1:{free_port()}"
        async with mcp_session(down, tmp_path, "--person", ANN, "--timeout", "2") as client:
            for tool in sorted(TOOLS):
                failed = await client.call_tool(tool, {})
                assert failed.is_error
                assert "not reachable" in text_of(failed) and "--url" in text_of(failed)
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
        async with mcp_session("not a url", tmp_path, "--person", ANN) as client:
            assert "is not a URL" in text_of(await client.call_tool("team_budget", {}))

    run(scenario)


def test_nothing_but_json_rpc_on_stdout(open_server: RunningServer, tmp_path: Path) -> None:
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw-test", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "my_usage", "arguments": {}}},
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "my_sessions", "arguments": {"limit": -1}},
        },
    ]
    log = tmp_path / "stderr.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "ccmon", "mcp", "--url", open_server.api_url, "--person", ANN, "--verbose"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={"PATH": "/usr/bin:/bin", **isolated_env(tmp_path)},
        )
    assert process.stdin is not None and process.stdout is not None
    lines: list[str] = []
    with process, process.stdin, process.stdout:
        process.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        process.stdin.flush()
        while len([line for line in lines if '"id"' in line]) < 4:
            line = process.stdout.readline()
            assert line, f"the server closed stdout before answering: {log.read_text()}"
            lines.append(line)
        process.stdin.close()  # Claude Code going away: the server ends
        lines += process.stdout.read().splitlines()
        assert process.wait(60) == 0, log.read_text()
    stderr = log.read_text()
    answers = [json.loads(line) for line in lines if line.strip()]
    assert all(answer["jsonrpc"] == "2.0" for answer in answers)
    by_id = {answer["id"]: answer for answer in answers if "id" in answer}
    assert by_id[1]["result"]["serverInfo"]["name"] == "ccmon"
    assert len(by_id[2]["result"]["tools"]) == len(TOOLS)
    assert by_id[3]["result"]["structuredContent"]["cost_usd"] == 4.75
    assert by_id[4]["result"]["isError"] is True
    assert "serving on stdio" in stderr


def test_scope_follows_the_token(chdb_path: Path, tmp_path: Path) -> None:
    """A developer's API key sees only its own person; an ingest token pinned to a team cannot ask about others."""
    database = f"test_mcp_locked_{int(time.time() * 1000) % 10**9}"
    with in_process_server(make_config(chdb_path, database=database)) as server:
        put_telemetry(server, usages(datetime.now(UTC)))
        keys = f"{server.api_url}/api/v1/api-keys"
        admin_key = server.http.post(keys, json={"name": "admin", "role": "admin"}).json()["key"]
        admin = {"authorization": f"Bearer {admin_key}"}
        put_budgets(server, admin)
        bob = server.http.post(keys, json={"name": "bob", "role": "developer", "person": BOB}, headers=admin)
        assert bob.status_code == 201, bob.text
        tokens = f"{server.api_url}/api/v1/ingest-tokens"
        pinned = server.http.post(tokens, json={"name": "platform laptops", "team": "platform"}, headers=admin)
        assert pinned.status_code == 201, pinned.text
        bob_key, platform_token = bob.json()["key"], pinned.json()["token"]

        async def scenario() -> None:
            async with mcp_session(server.api_url, tmp_path, "--token", bob_key) as client:
                own = ok(await client.call_tool("my_usage", {}))
                assert (own["person"], own["cost_usd"]) == (BOB, 0.75)
                sessions = ok(await client.call_tool("my_sessions", {"days": 90, "limit": 50}))["sessions"]
                assert [s["session_id"] for s in sessions] == ["s-bob"]
            async with mcp_session(server.api_url, tmp_path, "--token", bob_key, "--person", ANN) as client:
                for tool in sorted(TOOLS):
                    refused = await client.call_tool(tool, {})
                    assert refused.is_error and "(403)" in text_of(refused), text_of(refused)
                    assert "4.75" not in text_of(refused)
            # The token found where Claude Code keeps it (its settings' OTLP headers), pinned to team platform.
            settings = tmp_path / ".claude" / "settings.json"
            settings.parent.mkdir(exist_ok=True)
            headers = f"Authorization=Bearer {platform_token}"
            settings.write_text(json.dumps({"env": {"OTEL_EXPORTER_OTLP_HEADERS": headers}}))
            async with mcp_session(server.api_url, tmp_path, "--person", ANN) as client:
                budget = ok(await client.call_tool("team_budget", {}))
                assert {s["budget_id"] for s in budget["statuses"]} == {"cap", "pool"}
                assert budget["team_month_to_date"]["within_pins"] is True
                assert ok(await client.call_tool("my_usage", {}))["cost_usd"] == 4.75
            async with mcp_session(server.api_url, tmp_path, "--person", BOB) as client:
                refused = await client.call_tool("my_usage", {})
                assert refused.is_error and "(403)" in text_of(refused)
            async with mcp_session(server.api_url, tmp_path, "--person", ANN, "--token", "ccmi_wrong") as client:
                refused = await client.call_tool("my_usage", {})
                assert refused.is_error and "(401)" in text_of(refused) and "ccmon setup" in text_of(refused)

        run(scenario)
