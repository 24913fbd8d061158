"""Real Claude Code runs exporting to ccmon, a real Prometheus scraping `/metrics/claude-code` (with per-session
labels): what Prometheus answers equals what Claude Code itself reported and what the API answers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.claude_code.cli import run_claude
from tests.claude_code.fake_anthropic import FakeAnthropic
from tests.e2e.prometheus_server import running_prometheus
from tests.support import in_process_server, make_config

pytestmark = [pytest.mark.claude_cli, pytest.mark.slow]


def test_prometheus_totals_equal_claude_codes_own(
    tmp_path: Path, api: FakeAnthropic, chdb_path: Path, database: str
) -> None:
    config = make_config(chdb_path, database=database, prometheus_session_labels=True)
    with in_process_server(config) as server:
        target = f"127.0.0.1:{config.port}"
        with running_prometheus(target, "/metrics/claude-code", tmp_path / "prom") as prom:
            results = [
                run_claude(
                    api_base_url=api.base_url,
                    protocol=protocol,
                    endpoint=f"http://127.0.0.1:{port}",
                    workdir=tmp_path / f"run-{index}",
                    prompt="WRITEFILE please",
                )
                for index, (protocol, port) in enumerate(
                    [("http/json", config.otlp_http_port), ("grpc", config.otlp_grpc_port)]
                )
            ]
            # Claude Code may exit before its last export is stored: wait for the API to have it all, then for a
            # scrape that started after.
            expected = sum(r["total_cost_usd"] for r in results)
            deadline = time.monotonic() + 20
            while (summary := server.summary())["cost_usd"] < expected - 1e-9 and time.monotonic() < deadline:
                time.sleep(0.2)
            at = prom.wait_for_scrape(time.time())
            cost = prom.scalar("sum(claude_code_cost_usage_USD_total)", at)
            tokens = prom.by("sum by (type) (claude_code_token_usage_tokens_total)", "type", at)
            sessions = prom.scalar("count(count by (session_id) (claude_code_session_count_total))", at)
            people = prom.scalar("count(count by (user_email) (claude_code_session_count_total))", at)
            lines = prom.scalar('sum(claude_code_lines_of_code_count_total{type="added"})', at)
            accepted = prom.scalar('sum(claude_code_code_edit_tool_decision_total{decision="accept"})', at)
            tools = prom.by("sum by (tool_name) (claude_code_code_edit_tool_decision_total)", "tool_name", at)
    assert cost == pytest.approx(summary["cost_usd"], abs=1e-9) and cost > 0, (summary, tokens, results)
    assert cost == pytest.approx(expected, abs=1e-9)
    usage = {key: sum(r["usage"][key] for r in results) for key in ("input_tokens", "output_tokens")}
    usage |= {key: sum(r["usage"][f"{key}_input_tokens"] for r in results) for key in ("cache_read", "cache_creation")}
    assert tokens.get("input", 0) == usage["input_tokens"] == summary["tokens"]["input"]
    assert tokens.get("output", 0) == usage["output_tokens"] == summary["tokens"]["output"]
    assert tokens.get("cacheRead", 0) == usage["cache_read"] == summary["tokens"]["cache_read"]
    assert tokens.get("cacheCreation", 0) == usage["cache_creation"] == summary["tokens"]["cache_creation"]
    assert sessions == summary["sessions"] == len({r["session_id"] for r in results}) == 2
    assert people == summary["users"] == 2  # each run its own home: its own user id
    assert lines == summary["lines_added"] > 0
    assert accepted == summary["edit_decisions"]["accept"] == 2
    assert set(tools) == {"Write"}
