"""The Alerts page, the rule editor's validation and dry run, and the executive page's firing alerts, in real Chromium.

This module's server is its own (a fresh database, the alert engine waking every second): a rule made through the
API for the test fires on cost sent over OTLP by two teams, one of them named with HTML. Chromium is the only
browser; console errors fail a test (the `open_browser` fixture).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.alerts.telemetry import Usage, logs_body, metrics_body
from tests.support import RunningServer, in_process_server, make_config
from tests.web.ui.conftest import Opened, wait_ready, wait_until

pytestmark = pytest.mark.browser

RULE_NAME = "Team cost over $1 an hour"
RULE_ID = "ui-team-cost"
XSS_TEAM = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
TEAM = "payments"
RULE: dict[str, Any] = {
    "id": RULE_ID,
    "name": RULE_NAME,
    "signal": "cost",
    "op": ">",
    "threshold": 1,
    "window": "1h",
    "for": 0,
    "interval": "10s",
    "severity": "critical",
    "group_by": ["team"],
    "summary": "{team} spent ${value:.2f} in the last hour",
}


@dataclass(frozen=True)
class AlertsServer:
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.api_url

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.server.http.request(method, f"{self.url}/api/v1/{path}", **kwargs)

    def instances(self) -> list[dict[str, Any]]:
        answer = self.api("GET", "alerts")
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["instances"]
        return [i for i in found if i["rule_id"] == RULE_ID]

    def firing(self, team: str) -> dict[str, Any] | None:
        return next((i for i in self.instances() if i["labels"].get("team") == team and i["state"] == "firing"), None)


def send_cost(server: RunningServer, usages: list[Usage]) -> None:
    """Cost points and API request events over OTLP/HTTP (JSON), as Claude Code sends them."""
    for signal, body in (("metrics", metrics_body(usages)), ("logs", logs_body(usages))):
        response = server.post(signal, body, "application/json")
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def alerts_server(chdb_path: Path) -> Iterator[AlertsServer]:
    config = make_config(chdb_path, database=f"alerts_ui_{uuid.uuid4().hex[:12]}", alerts_interval_s=1)
    with in_process_server(config) as server:
        alerts = AlertsServer(server)
        created = alerts.api("POST", "alerts/rules", json=RULE)
        assert created.status_code == 201, created.text
        now = datetime.now(UTC).replace(microsecond=0)
        send_cost(
            server,
            [
                Usage(person="ann@example.com", team=TEAM, cost=4.0, tokens=1000, at=now - timedelta(minutes=10)),
                Usage(person="bob@example.com", team=XSS_TEAM, cost=3.0, tokens=500, at=now - timedelta(minutes=5)),
            ],
        )
        wait_until(
            lambda: alerts.firing(TEAM) is not None and alerts.firing(XSS_TEAM) is not None,
            lambda: f"the rule never fired for both teams: {alerts.instances()}",
            timeout=60,
        )
        yield alerts


def open_alerts(page: Page, alerts: AlertsServer) -> None:
    page.goto(f"{alerts.url}/alerts")
    wait_ready(page)


def test_the_alerts_page_shows_silences_and_keeps_the_history(
    open_browser: Opened, alerts_server: AlertsServer
) -> None:
    page = open_browser()
    open_alerts(page, alerts_server)
    target = alerts_server.firing(XSS_TEAM)
    assert target is not None
    row = page.locator(f'table[data-table="alert-instances"] tr[data-row="{target["fingerprint"]}"]')
    expect(row.locator('td[data-column="state"]')).to_contain_text("firing")
    expect(row.locator('td[data-column="severity"]')).to_have_text("critical")
    expect(row.locator('td[data-column="rule_name"]')).to_have_text(RULE_NAME)
    # The team's name is telemetry: shown as the text it is, in the labels and in the rendered summary.
    expect(row.locator('td[data-column="labels"]')).to_have_text(f"team={XSS_TEAM}")
    expect(row.locator('td[data-column="summary"]')).to_contain_text(XSS_TEAM)
    assert float(page.get_attribute('.stat[data-stat="firing"] .value', "data-value") or "0") >= 2

    # "Silence…" fills the form with the instance's labels and its rule; the instance is then silenced.
    row.locator('button[data-action="silence"]').click()
    form = page.locator('form[data-form="add-silence"]')
    expect(form.locator('textarea[name="matchers"]')).to_have_value(f"rule={RULE_ID}\nteam={XSS_TEAM}")
    form.locator('select[name="duration"]').select_option(label="1h")
    form.locator('input[name="comment"]').fill("on it")
    form.locator('button[type="submit"]').click()
    expect(row.locator('td[data-column="state"]')).to_contain_text("silenced")
    silences = alerts_server.api("GET", "alerts/silences").json()["silences"]
    made = [s for s in silences if s["comment"] == "on it"]
    assert len(made) == 1 and made[0]["active"], silences
    assert {(m["label"], m["op"], m["value"]) for m in made[0]["matchers"]} == {
        ("rule", "=", RULE_ID),
        ("team", "=", XSS_TEAM),
    }
    silence_row = page.locator(f'table[data-table="silences"] tr[data-row="{made[0]["id"]}"]')
    expect(silence_row.locator('td[data-column="status"]')).to_have_text("active")
    other = alerts_server.firing(TEAM)
    assert other is not None and not other["silenced"], "only the matching instance is silenced"

    # The history has each instance's change to firing, newest first.
    history = page.locator('table[data-table="alert-history"]')
    expect(history).to_contain_text(RULE_NAME)
    expect(history.locator("tbody tr", has_text=XSS_TEAM).first.locator('td[data-column="to_state"]')).to_contain_text(
        "firing"
    )
    stamps = page.eval_on_selector_all(
        'table[data-table="alert-history"] td[data-column="ts"]', "cells => cells.map(c => c.dataset.value)"
    )
    assert stamps and stamps == sorted(stamps, reverse=True), stamps

    # Expired from the page: the silence ends, the instance is firing again.
    expire = silence_row.locator('button[data-action="expire"]')
    expire.click()
    expire.click()
    expect(page.locator('[data-note="silences"]')).to_have_text("Expired the silence.")
    expect(row.locator('td[data-column="state"]')).not_to_contain_text("silenced")
    assert page.locator("main script, main img").count() == 0
    assert page.evaluate("window.__xss") is None, "a label ran as script"


def test_the_rule_editor_validates_and_dry_runs(open_browser: Opened, alerts_server: AlertsServer) -> None:
    page = open_browser(allow=(422,))
    open_alerts(page, alerts_server)
    page.click('button[data-action="new-rule"]')
    editor = page.locator('form[data-form="rule-editor"]')
    editor.locator('input[name="name"]').fill("Cost per team, tried out")
    editor.locator('select[name="signal"]').select_option("cost")
    expect(editor.locator(".signal-about")).to_contain_text("USD spent over the window")
    editor.locator('input[name="group_by"][value="team"]').check()
    editor.locator('input[name="window"]').fill("2h")
    editor.locator('input[name="for"]').fill("0")

    # A bad threshold: the server's message, naming the field.
    editor.locator('input[name="threshold"]').fill("lots")
    editor.locator('button[data-action="validate"]').click()
    note = page.locator('[data-note="rule-editor"]')
    expect(note).to_contain_text("Not valid: threshold")
    assert editor.get_attribute("data-valid") == "false"

    editor.locator('input[name="threshold"]').fill("2")
    editor.locator('button[data-action="validate"]').click()
    expect(note).to_have_text("The rule is valid.")

    # The dry run: a line per team, the threshold, and the hours it would have fired in (payments spent $4 > $2).
    editor.locator('button[data-action="dry-run"]').click()
    chart = page.locator('figure[data-panel="dry-run"]')
    # 168 evaluations of the rule, each a query of the store: seconds, not milliseconds.
    expect(chart.locator(".dry-run-summary")).to_contain_text("Would have fired", timeout=60_000)
    assert int(chart.get_attribute("data-points") or "0") > 0
    assert int(chart.get_attribute("data-firing") or "0") >= 1
    assert chart.locator("svg path.line").count() >= 1
    assert chart.locator("svg line.threshold").count() == 1
    zones = chart.locator("svg rect.firing-zone")
    assert zones.count() >= 1
    assert TEAM in (zones.first.get_attribute("data-firing") or "") or zones.count() >= 2
    expect(chart.locator("ol.firing-list li").first).to_contain_text("from ")
    assert alerts_server.api("GET", "alerts/rules/dry-run").status_code in {404, 405}, "nothing was saved as a rule"

    # Saved: the rule is listed, and stored as the form said.
    editor.locator('button[data-action="save"]').click()
    row = page.locator('table[data-table="alert-rules"] tr[data-row="cost-per-team-tried-out"]')
    expect(row.locator('td[data-column="condition"]')).to_have_text("> 2")
    stored = alerts_server.api("GET", "alerts/rules/cost-per-team-tried-out").json()
    assert stored["window"] == 7200 and stored["group_by"] == ["team"] and stored["enabled"] is True, stored
    # Switched off from the list.
    row.locator('input[data-action="toggle"]').uncheck()
    wait_until(
        lambda: alerts_server.api("GET", "alerts/rules/cost-per-team-tried-out").json()["enabled"] is False,
        "the rule was never switched off",
    )
    assert page.evaluate("window.__xss") is None


def test_the_executive_page_shows_the_firing_alerts(open_browser: Opened, alerts_server: AlertsServer) -> None:
    page = open_browser()
    page.goto(f"{alerts_server.url}/")
    wait_ready(page)
    panel = page.locator('figure[data-panel="firing-alerts"]')
    expect(panel).to_be_visible()
    firing = alerts_server.firing(TEAM)
    assert firing is not None
    item = panel.locator(f'li[data-fingerprint="{firing["fingerprint"]}"]')
    expect(item).to_contain_text(RULE_NAME)
    expect(item).to_contain_text(f"team={TEAM}")
    expect(panel.locator('.firing-count[data-severity="critical"]')).to_contain_text("critical")
    expect(panel).to_contain_text(XSS_TEAM)
    item.locator("a").click()
    page.wait_for_url("**/alerts")
    wait_ready(page)
    assert page.get_attribute("main#page", "data-page") == "alerts"
    assert page.evaluate("window.__xss") is None
