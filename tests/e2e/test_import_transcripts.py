"""Importing the transcripts the real Claude Code CLI wrote, next to the OTLP telemetry of the same runs.

Two runs export to a running ccmon and write their transcripts under the run's HOME. Imported, those transcripts
give exactly the tokens Claude Code reported itself (`--output-format json`'s `usage`), priced at what it said
they cost; a second import adds
nothing; and `/api/v1/history` counts each person-day once: OTLP wins, the transcripts are shown as left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ccmon.cli import main
from ccmon.store.facade import Store
from tests.claude_code.cli import run_claude
from tests.claude_code.fake_anthropic import FakeAnthropic
from tests.support import RunningServer

pytestmark = [pytest.mark.claude_cli, pytest.mark.slow]

EVERYTHING = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}


def _tokens(usage: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        usage["input_tokens"],
        usage["output_tokens"],
        usage["cache_read_input_tokens"],
        usage["cache_creation_input_tokens"],
    )


def test_imported_transcripts_match_claude_code_and_count_once_with_otlp(
    server: RunningServer,
    api: FakeAnthropic,
    tmp_path: Path,
    chdb_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint = f"http://127.0.0.1:{server.config.otlp_http_port}"
    results = [
        run_claude(api_base_url=api.base_url, protocol="http/json", endpoint=endpoint, workdir=tmp_path, prompt=prompt)
        for prompt in ("WRITEFILE please", "hello")
    ]
    home = tmp_path / "home"
    assert list((home / ".claude" / "projects").rglob("*.jsonl"))
    monkeypatch.setenv("HOME", str(home))  # the login (.claude.json) of the runs: the person their telemetry names
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)

    assert main(["import", "transcripts", "--url", server.api_url]) == 0
    first = capsys.readouterr().out
    store = Store.open(data_dir=str(chdb_path), database=server.config.database)
    try:
        imported = store.query(
            "SELECT session_id, sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), "
            "sum(cache_creation_tokens) FROM imported_usage FINAL GROUP BY session_id"
        )
        persons = store.query("SELECT DISTINCT person FROM imported_usage")
        otlp_persons = store.query("SELECT DISTINCT person FROM metric_points")
    finally:
        store.close()
    by_session = {row[0]: tuple(int(v) for v in row[1:]) for row in imported}
    assert by_session == {result["session_id"]: _tokens(result["usage"]) for result in results}, first
    assert persons == otlp_persons and persons[0][0]

    assert main(["import", "transcripts", "--url", server.api_url]) == 0
    assert "; 0 imported" in capsys.readouterr().out

    # What OTLP brought (under load the CLI may drop its last export: its exit flush is capped at 2 s; the summary
    # agreeing with Claude Code is tests/e2e/test_claude_cli.py's concern, counting once is this test's).
    otlp_cost = server.summary()["cost_usd"]
    assert otlp_cost > 0
    history = server.http.get(f"{server.api_url}/api/v1/history", params={**EVERYTHING, "by": "person"}).json()
    assert {(r["source"], tuple(r["shadowed"])) for r in history["people"]} == {("otlp", ("transcripts",))}
    assert history["total_cost_usd"] == pytest.approx(otlp_cost, abs=1e-9)
    assert history["cost_by_source"]["transcripts"] == 0
    # priced from their tokens with ccmon.pricing, the transcripts cost what Claude Code said the runs cost
    claude_cost = sum(r["total_cost_usd"] for r in results)
    assert history["shadowed_cost_usd"]["transcripts"] == pytest.approx(claude_cost, rel=1e-6)
