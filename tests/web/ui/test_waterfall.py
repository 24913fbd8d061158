"""A session Claude Code traced: its page draws the span waterfall from the real CLI's own OTLP (traces, logs and
metrics captured from Claude Code 2.1.330 over OTLP/HTTP JSON)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from playwright.sync_api import Page

from tests.support import RunningServer, payloads
from tests.web.ui.conftest import chart_points, names, wait_ready

pytestmark = pytest.mark.browser

RUN = "writefile-http-json"


def _session_of(logs: dict[str, object]) -> str:
    for resource in logs["resourceLogs"]:  # type: ignore[attr-defined]
        for scope in resource["scopeLogs"]:
            for record in scope["logRecords"]:
                for attribute in record["attributes"]:
                    if attribute["key"] == "session.id":
                        return str(attribute["value"]["stringValue"])
    raise AssertionError("no session.id in the captured logs")


def test_a_traced_session_shows_its_span_waterfall(server: RunningServer, page: Page) -> None:
    # A server of its own (`server`, set up before `page` so it outlives it): the demo server keeps the demo totals.
    session = ""
    for payload in payloads(RUN):
        body = payload.read()
        if payload.signal == "logs":
            session = _session_of(json.loads(body))
        response = server.post(payload.signal, body, payload.content_type)
        assert response.status_code == 200, response.text
    assert session
    path = f"/sessions/{quote(session, safe='')}"

    page.goto(server.api_url + path)
    wait_ready(page)

    detail = server.http.get(f"{server.api_url}/api/v1{path}").json()
    assert detail["spans"], "the captured run has traces"
    assert chart_points(page)["waterfall"] == len(detail["spans"])
    # Every span once, parents before their children.
    shown = names(page, 'figure[data-panel="waterfall"] li[data-span]', "data-span")
    assert sorted(shown) == sorted(span["span_id"] for span in detail["spans"])
    position = {span_id: i for i, span_id in enumerate(shown)}
    for span in detail["spans"]:
        if span["parent_span_id"] in position:
            assert position[span["parent_span_id"]] < position[span["span_id"]]
    want = [event["name"] for prompt in detail["prompts"] for event in prompt["events"]]
    assert names(page, "ol#timeline li.step", "data-event") == want
