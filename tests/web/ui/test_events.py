"""The events explorer: filtering by event name, and the live tail showing new events as they arrive."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page

from tests.web.ui.conftest import UiServer, api, column, log_record, open_page, wait_ready, wait_until

pytestmark = pytest.mark.browser


def test_event_name_filter(page: Page, ui_server: UiServer) -> None:
    assert api(ui_server, "events", **ui_server.window, name="api_error", limit=1)["rows"], "precondition: errors"
    open_page(page, ui_server, "/events", **ui_server.window)
    assert len(set(column(page, "events", "name"))) > 1

    page.select_option("select[name=event]", "api_error")

    wait_until(
        lambda: set(column(page, "events", "name")) == {"api_error"},
        lambda: f"event names shown: {sorted(set(column(page, 'events', 'name')))}",
    )
    wait_ready(page)
    assert set(column(page, "events", "name")) == {"api_error"}


def test_live_tail_shows_new_events_at_the_top(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/events")
    tail = page.locator("button#live-tail")
    if tail.get_attribute("aria-pressed") != "true":
        tail.click()
    assert tail.get_attribute("aria-pressed") == "true"
    session = f"live-tail-{uuid.uuid4().hex[:8]}"

    ui_server.send_logs(
        [
            log_record(
                "api_error",
                session,
                datetime.now(UTC),
                1,
                **{"user.email": ui_server.xss_person, "prompt.id": f"{session}-prompt"},
                model="claude-sonnet-4-5",
                error="Overloaded",
                status_code="529",
                duration_ms=900,
                attempt=1,
            )
        ]
    )

    wait_until(
        lambda: column(page, "events", "session_id")[:1] == [session],
        lambda: f"{session} not at the top: {column(page, 'events', 'session_id')[:3]}",
        timeout=12,
    )
    tail.click()
    assert tail.get_attribute("aria-pressed") == "false"


def test_text_search_finds_errors_by_message(page: Page, ui_server: UiServer) -> None:
    want = api(ui_server, "events", **ui_server.window, text="overloaded", limit=100)["rows"]
    assert want, "precondition: the demo has overloaded errors"
    open_page(page, ui_server, "/events", **ui_server.window)

    page.fill("input[name=text]", "overloaded")
    page.press("input[name=text]", "Enter")

    wait_until(
        lambda: len(column(page, "events", "session_id")) == len(want),
        lambda: f"{len(column(page, 'events', 'session_id'))} rows shown, the API has {len(want)}",
    )
    wait_ready(page)
    assert column(page, "events", "session_id") == [row["session_id"] for row in want]
