"""The dimensions the seeds name, in the controls bar, and the seed figures on the pages: each equals the API's."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.web.ui.conftest import (
    UiServer,
    api,
    chart_points,
    open_page,
    option_values,
    query_of,
    stat_value,
    wait_ready,
    wait_until,
)

pytestmark = pytest.mark.browser


def test_the_provider_filter_narrows_the_numbers(page: Page, ui_server: UiServer) -> None:
    """The demo's payments team is on Bedrock, the others on the Anthropic API."""
    open_page(page, ui_server, "/", **ui_server.window)
    select = page.locator("form#controls select[name=provider]")
    wait_until(lambda: len(option_values(select)) > 1, "select[name=provider] never got the providers")
    assert set(option_values(select)[1:]) == {"anthropic", "bedrock"}
    page.select_option("form#controls select[name=provider]", "bedrock")
    wait_until(lambda: query_of(page).get("provider") == ["bedrock"], lambda: f"no provider in the URL: {page.url}")
    wait_ready(page)
    want = api(ui_server, "overview", **ui_server.window, provider="bedrock")["current"]["cost_usd"]
    assert 0 < want < api(ui_server, "summary", **ui_server.window)["cost_usd"]
    assert float(stat_value(page, "cost_usd")) == pytest.approx(want, rel=1e-12)


def test_a_filter_with_one_value_is_hidden_until_chosen(page: Page, ui_server: UiServer) -> None:
    """The demo is one organisation: nothing to choose, so no organisation filter, unless a link asks for one."""
    open_page(page, ui_server, "/", **ui_server.window)
    label = page.locator("form#controls label", has=page.locator("select[name=organization]"))
    project = page.locator("form#controls select[name=project]")
    wait_until(lambda: len(option_values(project)) > 1, "select[name=project] never got the projects")
    wait_until(label.is_hidden, "the organisation filter is shown with one organisation")
    (organization,) = [
        r["key"] for r in api(ui_server, "cost/breakdown", **ui_server.window, by="organization")["rows"]
    ]
    open_page(page, ui_server, "/", **ui_server.window, organization=organization)
    assert label.is_visible()
    assert page.locator("form#controls select[name=organization]").input_value() == organization


def test_the_executive_page_shows_cost_per_user_and_lines(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/", **ui_server.window)
    overview = api(ui_server, "overview", **ui_server.window)
    assert float(stat_value(page, "cost_per_user")) == pytest.approx(overview["cost_per_user"], rel=1e-12)
    assert float(stat_value(page, "lines_changed")) == overview["lines_changed"] > 0
    detail = page.inner_text('.stat[data-stat="lines_changed"] .detail')
    assert "added per active hour" in detail, detail


def test_cost_by_provider_and_the_share_of_requests_by_model(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/cost", **ui_server.window)
    providers = api(ui_server, "cost/breakdown", **ui_server.window, by="provider")["rows"]
    assert chart_points(page)["cost-by-provider"] == len(providers) == 2
    open_page(page, ui_server, "/engineering", **ui_server.window)
    models = api(ui_server, "engineering/latency-by-model", **ui_server.window)["rows"]
    assert sum(m["share"] for m in models) == pytest.approx(1.0)
    assert chart_points(page)["requests-by-model"] == len(models)
    shares = page.locator('table[data-table="latency-by-model"] tbody td[data-column="share"]')
    assert [float(v) for v in shares.evaluate_all("els => els.map(e => e.dataset.value)")] == [
        m["share"] for m in models
    ]
