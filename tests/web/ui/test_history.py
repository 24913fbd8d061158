"""The History page: daily cost stacked by source, and per person and day the source each number comes from; an
imported day the demo's telemetry also covers is shown as left out, never added."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.web.ui.conftest import UiServer, api, column, open_page, rfc3339

pytestmark = pytest.mark.browser

IMPORTED = "history-ui@example.com"
HOSTILE = '<img src=x onerror="window.__xss = 4">@example.com'


def _import(ui_server: UiServer, records: list[dict[str, Any]]) -> None:
    response = ui_server.server.http.post(f"{ui_server.api_url}/api/v1/imports", json={"records": records})
    assert response.status_code == 200, response.text


def test_the_history_page_shows_each_number_with_its_source(page: Page, ui_server: UiServer) -> None:
    assert ui_server.totals.start is not None
    before = ui_server.totals.start - timedelta(days=2)  # a day without telemetry
    demo_person = api(ui_server, "people/leaderboard", **ui_server.window, group="person", limit=1)["rows"][0]["key"]
    # The latest UTC day of that person's telemetry (not "today": early in a UTC day they may have sent nothing yet).
    person_days = api(ui_server, "history", **ui_server.window, by="person")["people"]
    telemetry_day = max(r["day"] for r in person_days if r["person"] == demo_person and r["source"] == "otlp")
    record = {"source": "transcripts", "ts": rfc3339(before), "model": "claude-sonnet-4-5", "input_tokens": 10**6}
    _import(
        ui_server,
        [
            {**record, "key": "ui-1", "user_email": IMPORTED},
            {**record, "key": "ui-2", "user_email": HOSTILE},
            {**record, "key": "ui-3", "source": "admin-api", "user_email": IMPORTED, "cost_usd": 9.0},
            # the demo's own person on a day of its telemetry: OTLP wins
            {**record, "key": "ui-4", "user_email": demo_person, "ts": f"{telemetry_day}T00:00:00Z"},
        ],
    )
    window = {"from": rfc3339(before.replace(hour=0, minute=0, second=0, microsecond=0)), "to": ui_server.window["to"]}
    expected = api(ui_server, "history", **window)
    assert expected["cost_by_source"]["transcripts"] > 0 and expected["cost_by_source"]["otlp"] > 0

    open_page(page, ui_server, "/history", **window)
    chart = page.locator('figure[data-panel="history-by-source"]')
    assert chart.locator("svg").count() >= 1
    assert "OTLP telemetry" in chart.inner_text() and "Transcripts (imported)" in chart.inner_text()
    total = float(page.locator('[data-stat="total_cost_usd"] .value').get_attribute("data-value") or "nan")
    assert total == pytest.approx(expected["total_cost_usd"])

    people = column(page, "history-people", "person")
    sources = dict(zip(people, column(page, "history-people", "source_label"), strict=True))
    left_out = dict(zip(people, column(page, "history-people", "shadowed_label"), strict=True))
    assert sources[IMPORTED] == "Transcripts (imported)"
    assert left_out[IMPORTED] == "Admin API (imported)"
    assert sources[HOSTILE] == "Transcripts (imported)"
    assert "OTLP telemetry" in {source for person, source in sources.items() if person == demo_person}
    assert page.evaluate("window.__xss") is None  # the person is text, not markup
    shadowed = api(ui_server, "history", **window, by="person")["people"]
    mine = [r for r in shadowed if r["person"] == demo_person and r["shadowed"]]
    assert [(r["source"], r["shadowed"]) for r in mine] == [("otlp", ["transcripts"])]
