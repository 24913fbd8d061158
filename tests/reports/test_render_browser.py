"""The HTML report in Debian's Chromium: every chart decodes (no broken image) and the page renders (screenshot)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from ccmon.analytics import Analytics
from ccmon.reports.render import to_html
from ccmon.reports.report import build_report
from tests.reports.data import WEEK
from tests.support import REPO

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("CCMON_ARTIFACTS") or REPO / ".artifacts") / "screenshots"


def test_the_html_report_renders_without_broken_images(analytics: Analytics, browser: Browser, tmp_path: Path) -> None:
    page_file = tmp_path / "weekly.html"
    page_file.write_text(to_html(build_report(analytics, WEEK)).html)
    page = browser.new_page(viewport={"width": 800, "height": 900})
    try:
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        sizes = page.eval_on_selector_all(
            "img", "images => images.map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        screenshot = page.screenshot(path=str(SCREENSHOTS / "weekly-report.png"), full_page=True)
        title = page.locator("h1").inner_text()
    finally:
        page.close()
    assert sizes == [[True, 560, 200], [True, 560, 24], [True, 560, 24]]
    assert errors == [] and screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    assert title == "Claude Code weekly report 2026-W47"
