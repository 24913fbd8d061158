"""The global controls: theme, auto-refresh, navigation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.web.ui.conftest import UiServer, open_page, wait_ready

pytestmark = pytest.mark.browser


def test_theme_toggle_switches_the_theme(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/")
    before = page.get_attribute("html", "data-theme")
    assert before in {"light", "dark"}
    other = "dark" if before == "light" else "light"

    page.click("button#theme-toggle")
    assert page.get_attribute("html", "data-theme") == other
    page.click("button#theme-toggle")
    assert page.get_attribute("html", "data-theme") == before
    if before == "light":  # end dark, for the screenshot
        page.click("button#theme-toggle")
        assert page.get_attribute("html", "data-theme") == "dark"


def test_refresh_toggle_pauses_and_resumes(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/")
    toggle = page.locator("button#refresh-toggle")
    assert toggle.get_attribute("aria-pressed") == "true"
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"


@pytest.mark.parametrize("path", ["/cost", "/engineering", "/adoption", "/people", "/sessions", "/events", "/connect"])
def test_nav_links_open_their_pages(page: Page, ui_server: UiServer, path: str) -> None:
    open_page(page, ui_server, "/", range="7d")
    # The links carry the range and filters once the app has started: `/cost?range=7d`.
    page.click(f'nav#nav a[href="{path}"], nav#nav a[href^="{path}?"]')
    page.wait_for_url(f"**{path}*")
    wait_ready(page)
    assert page.get_attribute("main#page", "data-page") == path.strip("/")
    assert "range=7d" in page.url, f"the range was not kept: {page.url}"
