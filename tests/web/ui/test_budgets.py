"""The Budgets page in real Chromium: progress per budget with its thresholds and projection, who is over, and the
admin forms for budgets and model policies.

This module's server is its own (a fresh database): budgets made through the API, and cost sent over OTLP by a team
that spends past one of them. Console errors fail a test (the `open_browser` fixture).
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
from playwright.sync_api import expect

from tests.alerts.telemetry import Usage, logs_body, metrics_body
from tests.support import RunningServer, in_process_server, make_config
from tests.web.ui.conftest import Opened, wait_ready, wait_until

pytestmark = pytest.mark.browser

OVER: dict[str, Any] = {
    "id": "payments-monthly",
    "name": "Payments, monthly",
    "scope": "team",
    "scope_value": "payments",
    "period": "monthly",
    "unit": "usd",
    "amount": 2,
    "thresholds": [0.5, 0.9, 1],
    "enforce": "block",
}
UNDER: dict[str, Any] = {
    **OVER,
    "id": "platform-monthly",
    "name": "Platform, monthly",
    "scope_value": "platform",
    "amount": 1000,
}


@dataclass(frozen=True)
class BudgetServer:
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.api_url

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.server.http.request(method, f"{self.url}/api/v1/{path}", **kwargs)

    def statuses(self) -> dict[str, dict[str, Any]]:
        answer = self.api("GET", "budgets/status")
        assert answer.status_code == 200, answer.text
        return {s["budget_id"]: s for s in answer.json()["statuses"]}


@pytest.fixture(scope="module")
def budget_server(chdb_path: Path) -> Iterator[BudgetServer]:
    config = make_config(chdb_path, database=f"budgets_ui_{uuid.uuid4().hex[:12]}")
    with in_process_server(config) as server:
        budgets = BudgetServer(server)
        for budget in (OVER, UNDER):
            created = budgets.api("POST", "budgets", json=budget)
            assert created.status_code == 201, created.text
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        usages = [
            Usage(person="ann@example.com", team="payments", cost=5.0, tokens=1000, at=at),
            Usage(person="cy@example.com", team="platform", cost=1.0, tokens=100, at=at - timedelta(seconds=1)),
        ]
        for signal, body in (("metrics", metrics_body(usages)), ("logs", logs_body(usages))):
            response = server.post(signal, body, "application/json")
            assert response.status_code == 200, response.text
        wait_until(
            lambda: budgets.statuses()[OVER["id"]]["over"] is True,
            lambda: f"the payments budget never went over: {budgets.statuses()}",
            timeout=30,
        )
        yield budgets


def test_the_budgets_page_shows_progress_and_who_is_over(open_browser: Opened, budget_server: BudgetServer) -> None:
    statuses = budget_server.statuses()
    page = open_browser()
    page.goto(f"{budget_server.url}/budgets")
    wait_ready(page)
    over = page.locator(f'li.budget-row[data-budget="{OVER["id"]}"]')
    expect(over).to_have_class("budget-row over")
    assert over.get_attribute("data-over") == "true"
    assert float(over.get_attribute("data-fraction") or "0") == pytest.approx(statuses[OVER["id"]]["fraction"])
    expect(over.locator(".budget-figures")).to_contain_text("$5.00 of $2.00 · 250.0 %")
    expect(over.locator(".over-flag")).to_have_text(" over")
    # A mark at each threshold, all crossed; the projection at the period's end, at least what is spent.
    marks = over.locator(".budget-mark")
    assert marks.count() == 3 and over.locator(".budget-mark.crossed").count() == 3
    projected = float(over.locator(".budget-projected").get_attribute("data-projected") or "0")
    # (Asked a moment apart: the run rate spreads over a little less of the period.)
    assert projected == pytest.approx(statuses[OVER["id"]]["projected_fraction"], rel=1e-3) and projected >= 2.5
    expect(over.locator(".budget-figures .note")).to_contain_text("projected")

    under = page.locator(f'li.budget-row[data-budget="{UNDER["id"]}"]')
    expect(under).to_have_class("budget-row")
    assert under.get_attribute("data-over") == "false" and under.locator(".budget-mark.crossed").count() == 0
    group = page.locator(f'section[data-budget-group="{OVER["id"]}"] h3')
    expect(group).to_contain_text("Payments, monthly")
    expect(group).to_contain_text("team payments · monthly")

    # Who is over: the payments team only.
    rows = page.locator('table[data-table="over-budget"] tbody tr')
    expect(rows).to_have_count(1)
    expect(rows.first.locator('td[data-column="subject"]')).to_have_text("payments")
    expect(rows.first.locator('td[data-column="enforce"]')).to_have_text("block")


def test_admins_make_change_and_delete_budgets_and_policies(open_browser: Opened, budget_server: BudgetServer) -> None:
    page = open_browser()
    page.goto(f"{budget_server.url}/budgets")
    wait_ready(page)
    form = page.locator('form[data-form="budget"]')
    form.locator('input[name="name"]').fill("Data team weekly")
    form.locator('select[name="scope"]').select_option("team")
    form.locator('input[name="scope_value"]').fill("data")
    form.locator('select[name="period"]').select_option("weekly")
    form.locator('select[name="unit"]').select_option("tokens")
    form.locator('input[name="amount"]').fill("500000")
    form.locator('input[name="thresholds"]').fill("80, 100")
    form.locator('button[type="submit"]').click()
    row = page.locator('table[data-table="budgets"] tr[data-row="data-team-weekly"]')
    expect(row.locator('td[data-column="thresholds"]')).to_have_text("80 %, 100 %")
    stored = budget_server.api("GET", "budgets/data-team-weekly").json()
    assert stored["unit"] == "tokens" and stored["period"] == "weekly" and stored["thresholds"] == [0.8, 1.0], stored
    wait_ready(page)
    expect(page.locator('li.budget-row[data-budget="data-team-weekly"]')).to_be_visible()

    # Edited: the form takes the budget, its id fixed; saved, the amount is the new one.
    row.locator('button[data-action="edit"]').click()
    form = page.locator('form[data-form="budget"]')
    expect(form).to_have_attribute("data-editing", "data-team-weekly")
    form.locator('input[name="amount"]').fill("750000")
    form.locator('button[type="submit"]').click()
    wait_until(
        lambda: budget_server.api("GET", "budgets/data-team-weekly").json()["amount"] == 750000,
        "the edited amount was never stored",
    )
    wait_ready(page)
    row = page.locator('table[data-table="budgets"] tr[data-row="data-team-weekly"]')
    delete = row.locator('button[data-action="delete"]')
    delete.click()
    delete.click()
    expect(row).to_have_count(0)
    assert budget_server.api("GET", "budgets/data-team-weekly").status_code == 404

    # A model policy: made from its form and listed.
    policy = page.locator('form[data-form="policy"]')
    policy.locator('input[name="name"]').fill("No opus for payments")
    policy.locator('input[name="scope_value"]').fill("payments")
    policy.locator('input[name="deny"]').fill("claude-opus-*")
    policy.locator('input[name="deny_tools"]').fill("WebFetch")
    policy.locator('button[type="submit"]').click()
    listed = page.locator('table[data-table="policies"] tr[data-row="no-opus-for-payments"]')
    expect(listed.locator('td[data-column="deny"]')).to_have_text("claude-opus-*")
    stored = budget_server.api("GET", "policies/no-opus-for-payments").json()
    assert stored["deny"] == ["claude-opus-*"] and stored["deny_tools"] == ["WebFetch"], stored
    expect(page.locator('figure[data-panel="policy-violations"]')).to_be_visible()
