"""The numbers on the pages are the API's, for the range and filters in the URL, and change with the filters."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.web.ui.conftest import (
    UiServer,
    api,
    instant,
    open_page,
    option_values,
    query_of,
    stat_value,
    wait_ready,
    wait_until,
)

pytestmark = pytest.mark.browser


def test_executive_cost_is_the_overview_cost(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/", **ui_server.window)

    overview = api(ui_server, "overview", **ui_server.window)
    assert overview["current"]["cost_usd"] > 0
    assert float(stat_value(page, "cost_usd")) == pytest.approx(overview["current"]["cost_usd"], rel=1e-12)
    assert float(stat_value(page, "active_users")) == overview["active_users"]
    assert float(stat_value(page, "pull_requests")) == overview["current"]["pull_requests"]
    shown = page.inner_text('.stat[data-stat="cost_usd"] .value')
    assert any(ch.isdigit() for ch in shown), f"cost tile shows {shown!r}"


def test_team_filter_narrows_the_numbers_and_the_url(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/", **ui_server.window)
    everyone = float(stat_value(page, "cost_usd"))
    select = page.locator("form#controls select[name=team]")
    wait_until(lambda: len(option_values(select)) > 1, "select[name=team] never got the teams")
    assert option_values(select)[0] == ""
    teams = option_values(select)[1:]
    assert len(teams) == 3, teams  # the demo's three teams
    team = teams[0]

    page.select_option("form#controls select[name=team]", team)

    wait_until(lambda: query_of(page).get("team") == [team], lambda: f"team={team} not in the URL: {page.url}")
    query = query_of(page)
    assert [instant(query["from"][0]), instant(query["to"][0])] == [
        instant(ui_server.window["from"]),
        instant(ui_server.window["to"]),
    ], f"the custom range was lost: {page.url}"
    # The page re-renders: the tile is there at once, its value once the overview has answered.
    wait_ready(page)
    assert float(stat_value(page, "cost_usd")) != everyone, "the cost did not change with the team"
    want = api(ui_server, "overview", **ui_server.window, team=team)["current"]["cost_usd"]
    assert 0 < want < everyone
    assert float(stat_value(page, "cost_usd")) == pytest.approx(want, rel=1e-12)

    page.reload()
    wait_ready(page)
    assert page.locator("form#controls select[name=team]").input_value() == team
    assert float(stat_value(page, "cost_usd")) == pytest.approx(want, rel=1e-12)


def test_range_select_updates_the_url(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/")
    assert page.locator("form#controls select[name=range]").input_value() == "30d"
    page.select_option("form#controls select[name=range]", "7d")
    wait_until(lambda: query_of(page).get("range") == ["7d"], lambda: f"range=7d not in the URL: {page.url}")
    wait_ready(page)
    assert float(stat_value(page, "cost_usd")) > 0


def test_a_shared_link_with_a_team_shows_that_team(page: Page, ui_server: UiServer) -> None:
    teams = [row["key"] for row in api(ui_server, "cost/breakdown", **ui_server.window, by="team")["rows"]]
    assert len(teams) == 3, teams
    team = teams[-1]
    open_page(page, ui_server, "/", **ui_server.window, team=team)

    assert page.locator("form#controls select[name=team]").input_value() == team
    want = api(ui_server, "overview", **ui_server.window, team=team)
    assert float(stat_value(page, "cost_usd")) == pytest.approx(want["current"]["cost_usd"], rel=1e-12)
    assert float(stat_value(page, "active_users")) == want["active_users"]
