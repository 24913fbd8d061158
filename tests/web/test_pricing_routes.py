"""`GET /api/v1/pricing` shows the table in effect (shipped + `pricing_file`); `GET /api/v1/cost/check` and the
session detail show Claude Code's reported cost next to the recomputed one. A malformed `pricing_file` stops the
start. (Who may call them: tests/web/test_roles.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ccmon.prices_config import open_prices
from ccmon.settings import ConfigError
from tests.analytics.data import ALICE, BOB, _events
from tests.support import RunningServer, in_process_server, make_config

RANGE = {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T11:00:00Z"}
OVERRIDE = """
[[models]]
name = "Negotiated Opus 5.5"
ids = ["claude-opus-5-5"]
[[models.prices]]
input = 4.0
output = 20.0
cache_read = 0.2
cache_write_5m = 5.0
cache_write_1h = 8.0
[[models.prices]]
from = 2026-11-20
input = 2.0
output = 10.0
cache_read = 0.1
cache_write_5m = 2.5
cache_write_1h = 4.0
"""
REQUEST = {"input_tokens": 1200, "output_tokens": 85, "cache_read_tokens": 4000, "cache_creation_tokens": 300}


@pytest.fixture
def priced_server(chdb_path: Path, database: str, tmp_path: Path) -> Iterator[RunningServer]:
    path = tmp_path / "prices.toml"
    path.write_text(OVERRIDE)
    with in_process_server(make_config(chdb_path, database=database, pricing_file=str(path))) as running:
        body = _events(
            [
                ("api_request", 1, {**ALICE, "model": "claude-opus-5-5", **REQUEST, "cost_usd": 0.0088}),
                ("api_request", 2, {**BOB, "model": "claude-haiku-4-5", **REQUEST, "cost_usd": 0.0024}),
                ("api_request", 3, {**BOB, "model": "mystery-model", "input_tokens": 77, "cost_usd": 0.5}),
            ]
        )
        assert running.post("logs", body, "application/json").status_code == 200
        yield running


def test_the_table_in_effect(priced_server: RunningServer) -> None:
    answer = priced_server.http.get(f"{priced_server.api_url}/api/v1/pricing")
    assert answer.status_code == 200, answer.text
    table = answer.json()
    assert table["checked"] == "2026-11-30" and table["sources"]
    first = table["models"][0]
    assert (first["name"], first["overridden"], first["ids"]) == ("Negotiated Opus 5.5", True, ["claude-opus-5-5"])
    assert [p["effective_from"] for p in first["periods"]] == [None, "2026-11-20"]
    sonnet = next(m for m in table["models"] if m["name"] == "Sonnet 4 / 4.5")
    (period,) = sonnet["periods"]
    assert period["long_prompt"]["above_prompt_tokens"] == 200_000 and period["batch_discount"] == 0.5
    assert period["prices"] == {
        "input": 3.0,
        "output": 15.0,
        "cache_read": 0.3,
        "cache_write_5m": 3.75,
        "cache_write_1h": 6.0,
    }
    assert not sonnet["overridden"]


def test_reported_vs_recomputed_cost(priced_server: RunningServer) -> None:
    url = f"{priced_server.api_url}/api/v1/cost/check"
    check = priced_server.http.get(url, params=RANGE).json()
    rows = {row["model"]: row for row in check["rows"]}
    # The override's price cut of 2026-11-20 applies: half of what Claude Code reported.
    assert rows["claude-opus-5-5"]["recomputed_cost_usd"] == pytest.approx(0.0044)
    assert rows["claude-opus-5-5"]["difference_pct"] == pytest.approx(-50)
    assert rows["claude-opus-5-5"]["flagged"] and rows["claude-opus-5-5"]["priced_as"] == "Negotiated Opus 5.5"
    assert rows["claude-haiku-4-5"]["recomputed_cost_usd"] == pytest.approx(0.0024)
    assert not rows["claude-haiku-4-5"]["flagged"]
    (unknown,) = check["unknown_models"]
    assert (unknown["model"], unknown["input_tokens"], unknown["recomputed_cost_usd"]) == ("mystery-model", 77, None)
    # A filter narrows it like every analytics answer; the threshold is a parameter.
    narrowed = priced_server.http.get(url, params={**RANGE, "model": "claude-haiku-4-5", "threshold_pct": "0"})
    assert [(r["model"], r["flagged"]) for r in narrowed.json()["rows"]] == [("claude-haiku-4-5", False)]
    for bad in ({"threshold_pct": "-1"}, {"threshold_pct": "lots"}, {"colour": "red"}):
        assert priced_server.http.get(url, params={**RANGE, **bad}).status_code == 422, bad


def test_the_session_detail_has_the_recomputed_cost(priced_server: RunningServer) -> None:
    detail = priced_server.http.get(f"{priced_server.api_url}/api/v1/sessions/s-a").json()
    check = detail["cost_check"]
    assert check["reported_cost_usd"] == pytest.approx(0.0088)
    assert check["recomputed_cost_usd"] == pytest.approx(0.0044)
    assert [row["model"] for row in check["rows"]] == ["claude-opus-5-5"]


def test_a_malformed_pricing_file_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(OVERRIDE.replace("output = 20.0", "output = -20.0"))
    with pytest.raises(ConfigError, match=r'pricing_file .*prices.toml: models\[0\] "Negotiated Opus 5.5" prices'):
        open_prices(make_config(tmp_path, pricing_file=str(path)))
    assert open_prices(make_config(tmp_path)).entries  # no file: the shipped table
