"""The People page's usage-limit table: absent while nobody runs `ccmon statusline`, then the latest report per person
and window, clearly labelled as the statusline's (not telemetry's), its text shown as text."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page

from tests.web.ui.conftest import UiServer, api, column, open_page

pytestmark = pytest.mark.browser

PERSON = "limits-ui@example.com"
HOSTILE_SESSION = '<img src=x onerror="window.__xss = 3">'


def _report(ui_server: UiServer, person: str, session: str, five: float, seven: float) -> None:
    now = int(time.time())
    body = {
        "person": person,
        "session_id": session,
        "model": "claude-opus-4-1",
        "rate_limits": {
            "five_hour": {"used_percentage": five, "resets_at": now + 3600},
            "seven_day": {"used_percentage": seven, "resets_at": now + 86400},
        },
    }
    response = ui_server.server.http.post(f"{ui_server.api_url}/api/v1/client/statusline", json=body)
    assert response.status_code == 200 and response.json()["recorded"] == 2, response.text


def test_the_people_page_shows_the_reported_limits(page: Page, ui_server: UiServer) -> None:
    # Before any report in the range: no such section (an old range holds none).
    open_page(page, ui_server, "/people", **{"from": "2001-01-01T00:00:00Z", "to": "2001-01-08T00:00:00Z"})
    assert page.locator('figure[data-panel="usage-limits"]').count() == 0

    _report(ui_server, PERSON, HOSTILE_SESSION, 23.4, 61.2)
    rows = [r for r in api(ui_server, "people/limits")["rows"] if r["person"] == PERSON]
    assert {(r["window"], r["used_pct"]) for r in rows} == {("five_hour", 23.4), ("seven_day", 61.2)}

    open_page(page, ui_server, "/people")
    panel = page.locator('figure[data-panel="usage-limits"]')
    assert panel.count() == 1
    caption = panel.locator("figcaption").inner_text()
    assert "reported by ccmon statusline, not by Claude Code's telemetry" in caption
    people = column(page, "usage-limits", "person")
    assert people.count(PERSON) == 2
    used = [v for p, v in zip(people, column(page, "usage-limits", "used"), strict=True) if p == PERSON]
    assert sorted(float(v) for v in used) == pytest.approx([0.234, 0.612])
    assert "5 hours" in panel.inner_text() and "7 days" in panel.inner_text()
    assert page.evaluate("window.__xss") is None  # the session id is text, not markup
    assert page.locator('button[data-csv="usage-limits"]').count() == 1
