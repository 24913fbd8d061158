"""The Adoption page's headcount (seed 000's success metric): the share of the directory active in the window, as a
tile and a per-team table, shown only once a directory is loaded.

The server here is this module's own (a fresh database, a few people's telemetry): loading a directory into the
shared `ui_server` would change what the other UI tests read.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.otlp import helpers as otlp
from tests.support import RunningServer, in_process_server, make_config
from tests.web.ui.conftest import column, log_record, stat_value, wait_ready

pytestmark = pytest.mark.browser

HOSTILE_TEAM = '<img src=x onerror="window.__xss = 1">'
PEOPLE = [
    {"email": "ada@example.com", "team": "payments"},
    {"email": "bob@example.com", "team": "payments"},
    {"email": "cy@example.com", "team": HOSTILE_TEAM},
    {"email": "dee@example.com", "team": HOSTILE_TEAM},
]
ACTIVE = ("ada@example.com", "bob@example.com", "cy@example.com")
"""Who sends telemetry: 3 of the 4 people in the directory (dee never does)."""


@pytest.fixture(scope="module")
def server(chdb_path: Path) -> Iterator[RunningServer]:
    """A loopback server (the caller is its admin) holding an hour-old session of each of ACTIVE, no directory."""
    config = make_config(chdb_path, database=f"headcount_{uuid.uuid4().hex[:12]}")
    with in_process_server(config) as running:
        at = datetime.now(UTC) - timedelta(hours=1)
        records = [
            log_record(
                "api_request", f"hc-{i}", at + timedelta(seconds=i), 1, **{"user.email": email, "cost_usd": "0.5"}
            )
            for i, email in enumerate(ACTIVE)
        ]
        resource = {"service.name": "claude-code", "service.version": "2.1.330", "os.type": "linux"}
        sent = running.http.post(f"{running.otlp_http_url}/v1/logs", json=otlp.logs_request(records, resource))
        assert sent.status_code == 200, sent.text
        deadline = time.monotonic() + 30
        while _get(running, "summary")["users"] != len(ACTIVE):
            assert time.monotonic() < deadline, "the telemetry never showed up"
            time.sleep(0.2)
        yield running


def _get(server: RunningServer, path: str, **params: str) -> Any:
    response = server.http.get(f"{server.api_url}/api/v1/{path}", params=params)
    assert response.status_code == 200, f"{response.url}: {response.status_code} {response.text[:500]}"
    return response.json()


def _open_adoption(page: Page, server: RunningServer) -> None:
    page.goto(f"{server.api_url}/adoption")
    wait_ready(page)


def test_headcount_tile_and_team_table(page: Page, server: RunningServer) -> None:
    # Without a directory: no tile, no table, no empty panel.
    assert _get(server, "adoption/headcount")["configured"] is False
    _open_adoption(page, server)
    assert page.locator('main#page[data-page="adoption"]').count() == 1
    assert page.locator('.stat[data-stat="headcount_share"]').count() == 0
    assert page.locator('[data-panel="headcount-teams"], table[data-table="headcount-teams"]').count() == 0

    loaded = server.http.put(f"{server.api_url}/api/v1/directory", json={"people": PEOPLE})
    assert loaded.status_code == 200, loaded.text
    want = _get(server, "adoption/headcount")
    assert (want["configured"], want["headcount"], want["active"]) == (True, 4, 3), want

    _open_adoption(page, server)
    tile = page.locator('.stat[data-stat="headcount_share"]')
    assert tile.count() == 1
    assert tile.locator(".label").inner_text() == "Active of headcount"
    assert tile.locator(".value").inner_text() == "3 of 4 · 75.0%"
    assert float(stat_value(page, "headcount_share")) == pytest.approx(want["share"])
    # The tile sits with the page's other content, at the top of its grid.
    assert page.locator("main#page .grid > .stats:first-child .stat[data-stat=headcount_share]").count() == 1

    table = 'table[data-table="headcount-teams"]'
    assert page.locator(f'figure[data-panel="headcount-teams"] {table}').count() == 1
    rows = sorted(want["teams"], key=lambda t: t["team"])
    assert column(page, "headcount-teams", "team") == [t["team"] for t in rows]
    assert column(page, "headcount-teams", "headcount") == [str(t["headcount"]) for t in rows]
    assert column(page, "headcount-teams", "active") == [str(t["active"]) for t in rows]
    assert [float(v) for v in column(page, "headcount-teams", "share")] == pytest.approx([t["share"] for t in rows])
    assert {(t["team"], t["headcount"], t["active"]) for t in rows} == {("payments", 2, 2), (HOSTILE_TEAM, 2, 1)}
    # A team name made of HTML is shown as text: no element made of it, no script run.
    shown = page.locator(f'{table} td[data-column="team"]').all_inner_texts()
    assert HOSTILE_TEAM in shown, shown
    assert page.locator(f"{table} img").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.locator('button[data-csv="headcount-teams"]').count() == 1

    # The endpoint takes the window only: with a filter set, the tile shows the same figures and says why.
    page.goto(f"{server.api_url}/adoption?team=payments")
    wait_ready(page)
    assert tile.locator(".value").inner_text() == "3 of 4 · 75.0%"
    assert "filters do not apply" in tile.locator(".detail").inner_text()
