"""The harness itself: Debian's Chromium reaches the in-process server holding the demo organisation."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page

from tests.web.ui.conftest import UiServer, api

pytestmark = pytest.mark.browser


def test_the_browser_reads_the_api(page: Page, ui_server: UiServer) -> None:
    # A JSON document has no icon link, so Chromium asks for /favicon.ico; that 404 is not the UI's.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    response = page.goto(f"{ui_server.api_url}/healthz")
    assert response is not None and response.ok
    page.goto(ui_server.url("/api/v1/summary", **ui_server.window))
    shown = json.loads(page.inner_text("body"))
    assert shown == api(ui_server, "summary", **ui_server.window)
    # The demo and the hostile session, and the sessions other tests may have added.
    assert shown["users"] >= ui_server.totals.users + 1
    assert shown["sessions"] >= ui_server.totals.sessions + 1
