"""The real Claude Code CLI against the fake Messages API: the cost ccmon recomputes from the tokens of its
`api_request` events, with the shipped price table, equals Claude Code's own `total_cost_usd` for each model it
used, and no request is left unpriced."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.claude_code.cli import run_claude
from tests.claude_code.fake_anthropic import FakeAnthropic
from tests.support import RunningServer

pytestmark = [pytest.mark.claude_cli, pytest.mark.slow]

WHOLE = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}


# The CLI's default model (the fixture runs': claude-opus-5-5), and others picked with ANTHROPIC_MODEL, priced by
# different tiers of its table.
@pytest.mark.parametrize("model", [None, "claude-sonnet-4-5", "claude-haiku-4-5"])
def test_recomputed_cost_equals_claude_codes_total_cost(
    server: RunningServer, api: FakeAnthropic, tmp_path: Path, model: str | None
) -> None:
    result = run_claude(
        api_base_url=api.base_url,
        protocol="http/json",
        endpoint=f"http://127.0.0.1:{server.config.otlp_http_port}",
        workdir=tmp_path,
        prompt="WRITEFILE please",
        extra_env={"ANTHROPIC_MODEL": model} if model else None,
    )
    assert result["total_cost_usd"] > 0
    used = result["modelUsage"]
    if model:
        assert set(used) == {model}
    check = server.http.get(f"{server.api_url}/api/v1/cost/check", params=WHOLE).json()
    assert check["unknown_models"] == []
    rows = {row["model"]: row for row in check["rows"]}
    assert set(rows) == set(used)
    for name, usage in used.items():
        row = rows[name]
        assert row["recomputed_cost_usd"] == pytest.approx(usage["costUSD"], abs=1e-9), name
        assert row["reported_cost_usd"] == pytest.approx(usage["costUSD"], abs=1e-9), name
        assert not row["flagged"], row
    assert check["recomputed_cost_usd"] == pytest.approx(result["total_cost_usd"], abs=1e-9)
