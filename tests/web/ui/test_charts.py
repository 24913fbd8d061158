"""How the charts read (issue 11): lines that coincide stay visible, time axes label from the range and never repeat,
token types each on a scale of their own, and a bucket that has not ended (the day so far) drawn as partial."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.web.ui.conftest import UiServer, api, instant, open_page, stat_value

pytestmark = pytest.mark.browser

DATE = re.compile(r"^\d\d-\d\d$")
HOUR = re.compile(r"^\d\d:\d\d$")


def x_labels(page: Page, panel: str) -> list[str]:
    """The x-axis tick labels of a chart, left to right (centred under their tick; the y axis's are right-aligned)."""
    labels: list[str] = page.eval_on_selector_all(
        f'figure[data-panel="{panel}"] svg.chart-svg text.axis[text-anchor="middle"]',
        "els => els.map(e => e.textContent)",
    )
    return labels


def line_style(page: Page, panel: str, series: str) -> dict[str, Any]:
    """The complete (not partial) line of a series: its computed stroke, its place in drawing order, its points."""
    style: dict[str, Any] = page.eval_on_selector(
        f'figure[data-panel="{panel}"] svg.chart-svg',
        """(chart, series) => {
            const all = [...chart.querySelectorAll("path.line:not(.partial)")];
            const path = all.find(p => p.dataset.series === series);
            if (!path) return null;
            const css = getComputedStyle(path);
            return {
                order: all.indexOf(path),
                width: parseFloat(css.strokeWidth),
                dash: css.strokeDasharray,
                points: path.getAttribute("d").slice(1).split(/[LM]/).map(p => p.split(",").map(Number)),
            };
        }""",
        series,
    )
    assert style is not None, f"{page.url}: no path.line[data-series={series}] in {panel}"
    return style


def test_wau_stays_visible_where_it_equals_mau(page: Page, ui_server: UiServer) -> None:
    rows = api(ui_server, "adoption/activity", **ui_server.window)["rows"]
    equal = [i for i, r in enumerate(rows) if r["wau"] == r["mau"] > 0]
    assert equal, f"the demo has no day with WAU = MAU: {rows}"
    open_page(page, ui_server, "/adoption", **ui_server.window)

    wau = line_style(page, "active-users", "WAU")
    mau = line_style(page, "active-users", "MAU")
    # Where the values are equal the two lines pass through the same points ...
    day = equal[0]
    assert wau["points"][day] == mau["points"][day]
    # ... and MAU, drawn on top, neither covers WAU's width nor is a solid stroke: WAU shows on both sides of it and
    # through its gaps.
    assert mau["order"] > wau["order"]
    assert wau["width"] > mau["width"], (wau, mau)
    assert mau["dash"] not in {"none", ""}, mau
    assert wau["dash"] != mau["dash"], (wau, mau)
    # The key shows each line's pattern, so a reader can tell them apart.
    swatches = page.locator('figure[data-panel="active-users"] .legend svg.line-swatch')
    assert swatches.count() == 3


def test_a_seven_day_axis_repeats_no_label(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/cost", range="7d")  # 6-hour buckets
    labels = x_labels(page, "cost-by-family")
    assert len(labels) >= 3, labels
    assert len(set(labels)) == len(labels), f"repeated labels: {labels}"
    assert all(DATE.match(label) for label in labels), labels


def test_a_day_axis_shows_hours(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/cost", range="24h")  # hourly buckets
    labels = x_labels(page, "cost-by-family")
    assert len(set(labels)) == len(labels), f"repeated labels: {labels}"
    hours = [label for label in labels if HOUR.match(label)]
    assert len(hours) >= 3, labels
    # The only label that is not an hour is the date at midnight.
    assert all(HOUR.match(label) or DATE.match(label) for label in labels), labels
    assert sum(1 for label in labels if DATE.match(label)) <= 1, labels


RANGES = {
    # name: (window length, bucket)
    "1h": (timedelta(hours=1), "1m"),
    "12h": (timedelta(hours=12), "5m"),
    "24h": (timedelta(hours=24), "1h"),
    "48h": (timedelta(hours=48), "1h"),
    "7d": (timedelta(days=7), "6h"),
    "30d": (timedelta(days=30), "1d"),
    "90d": (timedelta(days=90), "1d"),
    "300d": (timedelta(days=300), "1w"),
    "800d": (timedelta(days=800), "1w"),
}


@pytest.mark.parametrize("name", list(RANGES))
def test_time_ticks_never_repeat_a_label(page: Page, ui_server: UiServer, name: str) -> None:
    """The tick chooser itself (the module the charts use), on every range the UI asks and a narrow and a wide plot."""
    length, bucket = RANGES[name]
    # Windows ending at every hour of a day: which ticks fit depends on where the window's edges fall.
    ends = [datetime(2026, 11, 30, hour, 36, tzinfo=UTC) for hour in range(24)]
    open_page(page, ui_server, "/connect")
    result: list[dict[str, Any]] = page.evaluate(
        """async ([windows, bucket]) => {
            const { timeTicks } = await import("/static/js/charts/axis.js");
            const { pivot } = await import("/static/js/charts/time.js");
            return windows.flatMap(([from, to]) => {
                const data = pivot([], { from, to, bucket });
                return [250, 640, 1300].map(w => ({
                    to, width: w, labels: timeTicks(data.times, data.step, w).map(t => t.label),
                }));
            });
        }""",
        [[[(to - length).strftime("%Y-%m-%dT%H:%M:%SZ"), to.strftime("%Y-%m-%dT%H:%M:%SZ")] for to in ends], bucket],
    )
    for answer in result:
        labels = answer["labels"]
        assert labels, answer
        assert len(set(labels)) == len(labels), f"{name} to {answer['to']} at {answer['width']} px: repeated {labels}"
        assert len(labels) <= max(2, answer["width"] // 60), f"{name} at {answer['width']} px: too many {labels}"
        if length <= timedelta(hours=24):
            assert all(HOUR.match(label) or DATE.match(label) for label in labels), labels
            hours = [label for label in labels if HOUR.match(label)]
            assert len(hours) >= (3 if answer["width"] >= 640 else 1), answer
        elif length < timedelta(days=365):
            assert all(DATE.match(label) for label in labels), labels
        else:
            assert all(re.match(r"^\d{4}-\d\d-\d\d$", label) for label in labels), labels
        if bucket == "1w":  # week starts: Mondays
            days = [date.fromisoformat(label if len(label) == 10 else f"2026-{label}") for label in labels]
            assert {day.weekday() for day in days} == {0}, labels


def test_output_tokens_have_a_drawn_height(page: Page, ui_server: UiServer) -> None:
    tokens = api(ui_server, "cost/tokens", **ui_server.window)
    by_type: dict[str, float] = {}
    for row in tokens["rows"]:
        by_type[row["series"]] = by_type.get(row["series"], 0) + row["value"]
    assert by_type.get("output", 0) > 0 and by_type["cache_read"] > 100 * by_type["output"], by_type
    open_page(page, ui_server, "/cost", **ui_server.window)

    heights: dict[str, float] = page.eval_on_selector(
        'figure[data-panel="tokens-over-time"]',
        """figure => Object.fromEntries([...figure.querySelectorAll("svg.chart-svg[data-series]")].map(chart => {
            const boxes = [...chart.querySelectorAll("path.area")].map(p => p.getBBox());
            const top = Math.min(...boxes.map(b => b.y)), bottom = Math.max(...boxes.map(b => b.y + b.height));
            return [chart.dataset.series, boxes.length ? bottom - top : 0];
        }))""",
    )
    # Each type on its own scale: its peak reaches most of its plot (150 - 40 px of margins).
    for kind in ("input", "output", "cache_read", "cache_creation"):
        assert heights.get(kind, 0) > 60, heights


def test_the_last_day_of_a_30_day_chart_is_partial(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/adoption", range="30d")
    figure = page.locator('figure[data-panel="active-users"]')
    assert figure.get_attribute("data-partial") == "true"
    zone = figure.locator("svg.chart-svg rect.partial-zone")
    assert zone.count() == 1
    assert zone.locator("title").text_content() == "partial day: so far"
    # The zone is the last day's slot, and every line's segment into it is drawn as partial.
    geometry: dict[str, float] = figure.evaluate(
        """figure => {
            const zone = figure.querySelector("rect.partial-zone").getBBox();
            const dots = [...figure.querySelectorAll("circle.dot")].map(c => Number(c.getAttribute("cx")));
            const before = Math.max(...dots.filter(x => x < zone.x));
            return { left: zone.x, right: zone.x + zone.width, last: Math.max(...dots), before };
        }"""
    )
    assert geometry["before"] < geometry["left"] < geometry["last"] < geometry["right"], geometry
    assert figure.locator("path.line.partial").count() == 3
    assert figure.locator(".legend .partial-key").inner_text() == "partial day: so far"

    # The executive page's daily columns: the last day's columns too.
    open_page(page, ui_server, "/", range="30d")
    trend = page.locator('figure[data-panel="cost-trend"]')
    assert trend.get_attribute("data-partial") == "true"
    bars: list[list[bool]] = trend.evaluate(
        """figure => {
            const zone = figure.querySelector("rect.partial-zone").getBBox();
            return [...figure.querySelectorAll("rect.bar")].map(bar => {
                const box = bar.getBBox();
                return [box.x > zone.x && box.x + box.width < zone.x + zone.width, bar.classList.contains("partial")];
            });
        }"""
    )
    assert bars and all(inside == partial for inside, partial in bars), bars


def test_a_window_of_whole_past_days_has_no_partial_bucket(page: Page, ui_server: UiServer) -> None:
    today = ui_server.now.replace(hour=0, minute=0, second=0, microsecond=0)
    window = {
        "from": (today - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": today.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    open_page(page, ui_server, "/adoption", **window)
    figure = page.locator('figure[data-panel="active-users"]')
    assert int(figure.get_attribute("data-points") or 0) > 0
    assert figure.get_attribute("data-partial") is None
    assert figure.locator("rect.partial-zone, path.partial").count() == 0


def test_active_user_tiles_show_the_last_complete_day(page: Page, ui_server: UiServer) -> None:
    window = ui_server.window  # ends after now: today is in it, not yet complete
    rows = api(ui_server, "adoption/activity", **window)["rows"]
    open_page(page, ui_server, "/", **window)
    now = datetime.now(UTC)
    cutoff = min(instant(window["to"]), now)

    def start(row: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(row["day"]).replace(tzinfo=UTC)

    complete = [r for r in rows if start(r) + timedelta(days=1) <= cutoff][-1]
    today = next(r for r in rows if start(r) <= now < start(r) + timedelta(days=1))
    for key in ("dau", "wau", "mau"):
        assert float(stat_value(page, key)) == complete[key], (key, complete)
        detail = page.inner_text(f'.stat[data-stat="{key}"] .detail')
        assert detail == f"on {complete['day']} · today so far: {today[key]:,}", detail
