"""The budget hook with the real Claude Code CLI: a `UserPromptSubmit` hook running `ccmon hook budget` against a
running ccmon, which receives the same CLI's telemetry.

Set up as an organisation would: the developer's `~/.claude/settings.json` turns telemetry on with the ingest token
(`env.OTEL_EXPORTER_OTLP_HEADERS`) and runs the hook. Claude Code does not pass `OTEL_*` variables to hooks: the hook
finds the token in that settings file, and the person in `~/.claude.json` (the installation's `userID`, which the
telemetry of an API-key login is keyed by), so even a new session's first prompt is checked.

(a) under budget the prompt runs (the fake Messages API gets the request); (b) past a hard cap, with the usage of (a)
received through the real ingest path, the prompt is blocked with the reason and no request reaches the fake API;
(c) with ccmon down the hook fails open and the prompt runs.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.claude_code.cli import ClaudeRun, run_claude_process
from tests.claude_code.fake_anthropic import FakeAnthropic
from tests.support import RunningServer, free_port, in_process_server, make_config

pytestmark = [pytest.mark.claude_cli, pytest.mark.slow]

INGEST_TOKEN = "cc-hook-e2e-token"
HOOK = [sys.executable, "-m", "ccmon", "hook", "budget"]


@pytest.fixture
def api() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def ccmon(chdb_path: Path, database: str) -> Iterator[RunningServer]:
    """ccmon asking for an ingest token, as a shared server does."""
    with in_process_server(make_config(chdb_path, database=database, ingest_tokens=(INGEST_TOKEN,))) as server:
        yield server


def _settings(workdir: Path, url: str, *, otlp_http_port: int) -> None:
    """The developer's `~/.claude/settings.json`: telemetry to ccmon with the ingest token, and the budget hook."""
    claude_dir = workdir / "home" / ".claude"
    claude_dir.mkdir(parents=True, exist_ok=True)
    command = shlex.join([*HOOK, "--url", url, "--timeout", "10"])
    settings = {
        "env": {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp_http_port}",
            "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer {INGEST_TOKEN}",
        },
        "hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": command, "timeout": 30}]}]},
    }
    (claude_dir / "settings.json").write_text(json.dumps(settings))


def _claude(api: FakeAnthropic, workdir: Path, otlp_http_port: int, prompt: str) -> ClaudeRun:
    return run_claude_process(
        api_base_url=api.base_url,
        protocol="http/json",
        endpoint=f"http://127.0.0.1:{otlp_http_port}",
        workdir=workdir,
        prompt=prompt,
        extra_env={"OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer {INGEST_TOKEN}"},
    )


def _budget(server: RunningServer, amount: float) -> dict[str, Any]:
    body = {
        "id": "dev-cap",
        "name": "Developer cap",
        "scope": "organization",
        "period": "monthly",
        "unit": "usd",
        "amount": amount,
        "per_person": True,
        "enforce": "block",
    }
    response = server.http.put(f"{server.api_url}/api/v1/budgets/dev-cap", json=body)
    if response.status_code == 404:
        response = server.http.post(f"{server.api_url}/api/v1/budgets", json=body)
    assert response.is_success, response.text
    return body


def _recorded_cost(server: RunningServer) -> float:
    """What ccmon has received of the run's cost (the CLI flushes its telemetry on exit; give ingest a moment)."""
    deadline = time.monotonic() + 30
    while (cost := float(server.summary()["cost_usd"])) <= 0:
        assert time.monotonic() < deadline, "ccmon received none of the run's cost"
        time.sleep(0.2)
    return cost


def test_under_budget_runs_and_over_the_cap_is_blocked(
    ccmon: RunningServer, api: FakeAnthropic, tmp_path: Path
) -> None:
    port = ccmon.config.otlp_http_port
    _settings(tmp_path, ccmon.api_url, otlp_http_port=port)
    _budget(ccmon, 100.0)

    # The very first prompt: nobody known yet (no telemetry), allowed.
    first = _claude(api, tmp_path, port, "WRITEFILE please")
    assert len(api.messages_requests) == first.result["num_turns"] >= 1
    spent = _recorded_cost(ccmon)

    # Now a hard cap below what ccmon recorded: the next prompt, in a new session, is blocked before any request.
    _budget(ccmon, spent / 2)
    before = len(api.messages_requests)
    second = _claude(api, tmp_path, port, "just say hi")
    assert len(api.messages_requests) == before
    assert second.result["num_turns"] == 0
    assert second.result["session_id"] != first.result["session_id"]
    reason = second.result["result"]
    assert "blocked by hook" in reason
    assert "ccmon: Your monthly budget (Developer cap) is exhausted" in reason
    assert "it resets on" in reason

    # Raised again: the same person, now known to ccmon and under budget, runs prompts.
    _budget(ccmon, 100.0)
    _claude(api, tmp_path, port, "just say hi")
    assert len(api.messages_requests) == before + 1


def test_with_ccmon_down_the_prompt_runs(api: FakeAnthropic, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    _settings(tmp_path, down, otlp_http_port=free_port())
    run = _claude(api, tmp_path, free_port(), "just say hi")
    assert run.result["num_turns"] == 1
    assert len(api.messages_requests) == 1
    assert "blocked" not in str(run.result["result"])
