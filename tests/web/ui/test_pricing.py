"""Reported vs. list price in the UI: the Cost page's table per model and the session page's recomputed cost are
the API's figures, a model without a price is flagged as such (never shown as $0)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page

from tests.web.ui.conftest import UiServer, api, column, csv_rows, download_csv, log_record, open_page

pytestmark = pytest.mark.browser

SESSION = "pricing-ui-session-0001"
UNKNOWN = "ui-mystery-model"
# One request as the fixture runs make it (tests/fixtures/claude-code-2.1.330): Claude Code reported 0.0088 USD.
REQUEST = {"input_tokens": 1200, "output_tokens": 85, "cache_read_tokens": 4000, "cache_creation_tokens": 300}


def _send(ui_server: UiServer) -> None:
    at = ui_server.now - timedelta(minutes=30)
    person = {"user.email": "pricing-ui@example.com", "prompt.id": "pricing-ui-prompt"}
    ui_server.send_logs(
        [
            log_record("api_request", SESSION, at, 1, **person, model="claude-opus-5-5", cost_usd=0.0088, **REQUEST),
            log_record(
                "api_request",
                SESSION,
                at + timedelta(seconds=1),
                2,
                **person,
                model=UNKNOWN,
                cost_usd=0.25,
                input_tokens=4321,
                output_tokens=12,
            ),
        ]
    )


def test_the_cost_page_and_the_session_page_show_reported_vs_list_price(
    page: Page, ui_server: UiServer, tmp_path: Path
) -> None:
    _send(ui_server)
    expected = api(ui_server, "cost/check", **ui_server.window)
    assert UNKNOWN in [row["model"] for row in expected["unknown_models"]]

    open_page(page, ui_server, "/cost", **ui_server.window)
    models = column(page, "cost-check", "model")
    want = [row["model"] for row in expected["rows"]] + [row["model"] for row in expected["unknown_models"]]
    assert sorted(models) == sorted(want)
    status = dict(zip(models, column(page, "cost-check", "status"), strict=True))
    listed = dict(zip(models, column(page, "cost-check", "recomputed_cost_usd"), strict=True))
    assert status[UNKNOWN] == "no price" and listed[UNKNOWN] == ""
    cell = page.locator(
        f'table[data-table="cost-check"] tbody tr:has(td[data-value="{UNKNOWN}"]) td[data-column="status"]'
    )
    assert "unknown model" in cell.inner_text()
    for row in expected["rows"]:
        assert status[row["model"]] == ("differs" if row["flagged"] else "agrees")
        assert float(listed[row["model"]]) == pytest.approx(row["recomputed_cost_usd"])
    downloaded = csv_rows(download_csv(page, 'button[data-csv="cost-check"]', tmp_path))
    assert sorted(r["model"] for r in downloaded) == sorted(want)
    assert next(r for r in downloaded if r["model"] == UNKNOWN)["recomputed_cost_usd"] == ""

    detail = api(ui_server, f"sessions/{quote(SESSION, safe='')}")["cost_check"]
    assert detail["recomputed_cost_usd"] == pytest.approx(0.0088)
    open_page(page, ui_server, f"/sessions/{quote(SESSION, safe='')}", **ui_server.window)
    shown = page.locator("#list-price")
    assert float(shown.get_attribute("data-value") or "nan") == pytest.approx(detail["recomputed_cost_usd"])
    assert "1 model without a price" in shown.inner_text()
    assert "flagged" in (shown.get_attribute("class") or "")
    assert sorted(column(page, "session-cost-check", "model")) == ["claude-opus-5-5", UNKNOWN]
