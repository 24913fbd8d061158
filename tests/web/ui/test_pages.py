"""Every page of the UI renders from the demo data: its panels, stat tiles and tables, and no errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from playwright.sync_api import Page

from tests.web.ui.conftest import UiServer, api, chart_points, names, open_page

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Contract:
    """What a page must show: `main#page[data-page]`, and the names of its charts, stat tiles and tables."""

    page: str
    panels: frozenset[str] = frozenset()
    stats: frozenset[str] = frozenset()
    tables: frozenset[str] = frozenset()


def _contract(page: str, panels: str = "", stats: str = "", tables: str = "") -> Contract:
    return Contract(page, frozenset(panels.split()), frozenset(stats.split()), frozenset(tables.split()))


OVERVIEW_STATS = (
    "cost_usd active_users cost_per_user dau wau mau pull_requests accept_rate cost_per_pull_request lines_changed"
)
PAGES = {
    "/": _contract(
        "executive",
        "cost-trend active-users budget",
        f"{OVERVIEW_STATS} month_to_date_usd projected_usd",
        "top-people",
    ),
    "/cost": _contract(
        "cost",
        "cost-by-family cost-by-team cost-by-provider tokens-over-time",
        "token_efficiency cache_efficiency cost_per_million_tokens month_to_date_usd projected_usd",
        "cost-by-project cost-by-model cost-check",
    ),
    "/engineering": _contract(
        "engineering",
        "tool-heatmap latency errors-by-status error-rate tool-failures requests-by-model",
        "",
        "tools latency-by-model sessions-by-project",
    ),
    "/adoption": _contract("adoption", "active-users sessions-per-user versions terminals", "", "versions terminals"),
    "/people": _contract("people", "cost-by-team", "", "leaderboard teams"),
    "/people/{person}": _contract("person", "cost-by-model", "cost_usd", "tools"),
    "/sessions": _contract("sessions", "", "", "sessions"),
    "/sessions/{session}": _contract("session", tables="session-cost-check"),
    "/events": _contract("events", "", "", "events"),
    "/connect": _contract("connect"),
    "/history": _contract("history", "history-by-source", "total_cost_usd", "history-people"),
}


@pytest.mark.parametrize("route", list(PAGES), ids=[contract.page for contract in PAGES.values()])
def test_page_renders_every_panel(page: Page, ui_server: UiServer, route: str) -> None:
    """With the default range (the last 30 days, which hold the whole demo)."""
    person = api(ui_server, "people/leaderboard", **ui_server.window, limit=1)["rows"][0]["key"]
    session = api(ui_server, "sessions", **ui_server.window, limit=1)["rows"][0]["session_id"]
    path = route.format(person=quote(person, safe=""), session=quote(session, safe=""))
    contract = PAGES[route]

    open_page(page, ui_server, path)

    problems = []  # all of them at once: one run shows every way the page breaks the contract
    if (shown := page.get_attribute("main#page", "data-page")) != contract.page:
        problems.append(f"main#page data-page={shown!r}, want {contract.page!r}")
    points = chart_points(page)
    if missing := contract.panels - set(points):
        problems.append(f"no figure.chart for {sorted(missing)} (charts: {sorted(points)})")
    if empty := {panel: n for panel, n in points.items() if n <= 0}:
        problems.append(f"charts without data (data-points): {empty}")
    # A chart is SVG (time series, heatmap) or a list of proportional bars (bars, waterfall).
    drawn = "svg, ul.bars li, ol.waterfall li"
    if undrawn := [p for p in points if page.locator(f'figure.chart[data-panel="{p}"]').locator(drawn).count() == 0]:
        problems.append(f"charts with nothing drawn: {undrawn}")
    stats = set(names(page, ".stat[data-stat]", "data-stat"))
    if missing := contract.stats - stats:
        problems.append(f"no .stat for {sorted(missing)} (stats: {sorted(stats)})")
    if no_value := [s for s in stats if page.locator(f'.stat[data-stat="{s}"] .value[data-value]').count() != 1]:
        problems.append(f"stats without one .value[data-value]: {no_value}")
    tables = names(page, "table[data-table]", "data-table")
    if missing := contract.tables - set(tables):
        problems.append(f"no table for {sorted(missing)} (tables: {tables})")
    if no_rows := [t for t in tables if page.locator(f'table[data-table="{t}"] tbody tr').count() == 0]:
        problems.append(f"tables without rows: {no_rows}")
    if no_csv := [t for t in tables if page.locator(f'button[data-csv="{t}"]').count() != 1]:
        problems.append(f"tables without one CSV button: {no_csv}")
    assert not problems, f"{path}:\n" + "\n".join(problems)


def test_session_page_shows_the_timeline(page: Page, ui_server: UiServer) -> None:
    session = api(ui_server, "sessions", **ui_server.window, limit=1)["rows"][0]["session_id"]
    open_page(page, ui_server, f"/sessions/{quote(session, safe='')}")
    assert page.locator("ol#timeline li.step").count() > 0


def test_an_empty_range_says_so(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/", **{"from": "2001-01-01T00:00:00Z", "to": "2001-01-08T00:00:00Z"})
    points = chart_points(page)
    for panel in ("cost-trend", "active-users"):
        assert points.get(panel) == 0, points
    for panel, count in points.items():
        if count == 0:
            chart = page.locator(f'figure.chart[data-panel="{panel}"]')
            assert chart.get_attribute("data-empty") == "true", panel
            assert "No data in this range" in chart.inner_text(), panel
    assert float(page.get_attribute('.stat[data-stat="cost_usd"] .value', "data-value") or "nan") == 0


def test_connect_page_shows_where_to_send_telemetry(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/connect")
    snippet = page.inner_text("pre#env-snippet")
    assert "CLAUDE_CODE_ENABLE_TELEMETRY=1" in snippet
    assert re.search(rf"OTEL_EXPORTER_OTLP_ENDPOINT=http://127\.0\.0\.1:{ui_server.grpc_port}\b", snippet), snippet
