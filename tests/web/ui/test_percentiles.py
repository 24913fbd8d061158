"""Percentiles on the engineering page: exact ones are shown as they are, approximate ones marked with their bound."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from ccmon.analytics import percentiles
from tests.web.ui.conftest import UiServer, api, open_page

pytestmark = pytest.mark.browser

PANELS = ("tools", "latency", "latency-by-model")


def test_approximate_percentiles_are_marked_and_within_their_bound(
    page: Page, ui_server: UiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = api(ui_server, "engineering/latency-by-model", **ui_server.window)
    assert exact["percentiles"] == {"exact": True, "relative_error": 0.0}
    open_page(page, ui_server, "/engineering", **ui_server.window)
    assert page.locator("[data-precision]").count() == 0

    # The demo holds a few thousand requests: with no values allowed exactly, every answer comes from the rollup.
    monkeypatch.setattr(percentiles, "EXACT_LIMIT", 0)
    approximate = api(ui_server, "engineering/latency-by-model", **ui_server.window)
    assert approximate["percentiles"] == {"exact": False, "relative_error": 0.01}
    assert [r["requests"] for r in approximate["rows"]] == [r["requests"] for r in exact["rows"]]
    for want, got in zip(exact["rows"], approximate["rows"], strict=True):
        for field in ("duration_p50_ms", "duration_p95_ms", "ttft_p99_ms"):
            assert got[field] == pytest.approx(want[field], rel=0.01 + 1e-9), (want["model"], field)
    open_page(page, ui_server, "/engineering", **ui_server.window)
    for panel in PANELS:
        note = page.locator(f'figure[data-panel="{panel}"] figcaption [data-precision="approximate"]')
        assert note.inner_text() == "percentiles ±1 %", panel
