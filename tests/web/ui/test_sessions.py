"""Session drill-down: the timeline is the API's events in order, and telemetry text is shown as text, never run."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote, unquote

import pytest
from playwright.sync_api import Page

from tests.web.ui.conftest import UiServer, api, column, names, open_page, rfc3339, wait_ready, wait_until

pytestmark = pytest.mark.browser


def test_drill_down_from_the_list_to_the_timeline(page: Page, ui_server: UiServer) -> None:
    # A window ending before the sessions the tests add (a prompt or a lone event each): the newest is a demo session.
    before_the_tests = {
        **ui_server.window,
        "to": rfc3339(ui_server.now.replace(minute=0, second=0) - timedelta(hours=2)),
    }
    open_page(page, ui_server, "/sessions", **before_the_tests)
    first = column(page, "sessions", "session_id")[0]
    assert first == api(ui_server, "sessions", **before_the_tests, limit=1)["rows"][0]["session_id"]

    page.click('table[data-table="sessions"] tbody tr td[data-column="session_id"] a >> nth=0')

    wait_until(lambda: "/sessions/" in page.url, lambda: f"clicking the session link went to {page.url}")
    path = page.url.split("?")[0].split("/sessions/", 1)[1]
    assert unquote(path) == first
    wait_ready(page)
    assert page.get_attribute("main#page", "data-page") == "session"
    detail = api(ui_server, f"sessions/{quote(first, safe='')}")
    want = [event["name"] for prompt in detail["prompts"] for event in prompt["events"]]
    assert len(want) > 1
    assert names(page, "ol#timeline li.step", "data-event") == want


def test_telemetry_text_is_shown_not_run(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, f"/sessions/{quote(ui_server.xss_session, safe='')}", range="24h")

    assert names(page, "ol#timeline li.step", "data-event") == ["user_prompt", "api_request"]
    shown = page.inner_text("ol#timeline .prompt-text")
    assert "<script>" in shown
    assert ui_server.xss_prompt in shown
    assert page.evaluate("window.__xss") is None
    injected = page.evaluate(
        "() => [...document.querySelectorAll('script')].filter(s => (s.textContent ?? '').includes('__xss')).length"
        " + document.querySelectorAll('img[onerror], img[src=\"x\"]').length"
    )
    assert injected == 0
    assert page.locator("ol#timeline .prompt-text script, ol#timeline .prompt-text img").count() == 0
