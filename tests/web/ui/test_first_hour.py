"""A new user's first hour (issue 11): the demo-loading banner, demo data labelled on Connect, ratios named by their
formula, redacted prompts explained, a person's team and filter, an unknown person, a window that is not a time,
CSV downloads of breakdown charts, the events table's columns, and counts with the right noun."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from playwright.sync_api import Page, Route

from tests.web.ui.conftest import (
    UiServer,
    api,
    api_csv,
    csv_rows,
    download_csv,
    log_record,
    open_page,
    option_values,
    stat_value,
    wait_ready,
    wait_until,
)

pytestmark = pytest.mark.browser

DEMO_DOMAIN = "northwind.example"
PROMPT_SETTING = "OTEL_LOG_USER_PROMPTS=1"
TOOL_SETTING = "OTEL_LOG_TOOL_DETAILS=1"


def _serve_loading(page: Page, state: dict[str, Any]) -> list[float]:
    """Answer `/api/v1/server` with the real body, `loading` (and `has_data`, when given) replaced by `state`'s
    (read at every request, so a test can change it); the returned list grows by one per request."""
    seen: list[float] = []

    def handle(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body.update(state)
        seen.append(0.0)
        route.fulfill(response=response, json=body)

    page.route("**/api/v1/server", handle)
    return seen


def _loading(state: str, done: int, total: int | None, error: str | None = None) -> dict[str, Any]:
    return {
        "kind": "demo",
        "state": state,
        "done": done,
        "total": total,
        "started": "2026-11-30T00:00:00Z",
        "finished": None if state == "running" else "2026-11-30T00:01:10Z",
        "error": error,
    }


def _ready_ms(page: Page) -> int:
    return int(page.get_attribute("main#page", "data-ready-ms") or "0")


def test_banner_shows_a_demo_load_and_follows_it(page: Page, ui_server: UiServer) -> None:
    """While a demo load runs: its progress (never "No telemetry has arrived yet", even before any data), the page
    refreshed every 5 s; when it is done: refreshed once more, banner gone, back to every 30 s."""
    state: dict[str, Any] = {"loading": _loading("running", 63_000, 140_000), "has_data": False}
    requests = _serve_loading(page, state)
    open_page(page, ui_server, "/", **ui_server.window)
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert banner.get_attribute("data-loading") == "running"
    text = banner.inner_text()
    assert "Loading demo data: 45 % (63,000 of 140,000 events and data points)" in text, text
    assert "Figures grow until it finishes" in text
    progress = banner.locator("progress")
    assert progress.get_attribute("max") == "140000" and progress.get_attribute("value") == "63000"
    assert "No telemetry has arrived yet" not in page.inner_text("body")

    # Refreshed every 5 s while it runs (auto-refresh asks /api/v1/server at every render).
    before = len(requests)
    page.wait_for_timeout(11_500)
    assert len(requests) - before >= 2, f"{len(requests) - before} refreshes in 11.5 s while loading"
    assert "No telemetry has arrived yet" not in page.inner_text("body")

    # The filter choices follow the data as it arrives, and are asked once more when the load has ended.
    choices: list[str] = []
    page.on("request", lambda r: choices.append(r.url) if "cost/breakdown" in r.url and "top=500" in r.url else None)
    state["loading"] = _loading("done", 140_000, 140_000)
    state["has_data"] = True
    shown = _ready_ms(page)
    page.wait_for_selector("#banner", state="hidden", timeout=15_000)
    assert page.get_attribute("#banner", "data-loading") == "done"
    wait_until(lambda: _ready_ms(page) > shown, "the page was not refreshed when the load ended")

    def asked() -> bool:
        page.wait_for_timeout(100)  # Playwright delivers the request events while it is called
        return any("by=team" in url for url in choices)

    wait_until(asked, "the filter choices were not asked again")
    wait_ready(page)
    page.wait_for_timeout(1_000)
    settled = len(requests)
    page.wait_for_timeout(7_000)
    assert len(requests) == settled, "still refreshing every 5 s after the load ended"


def test_banner_before_the_total_is_known_and_after_a_failure(page: Page, ui_server: UiServer) -> None:
    state: dict[str, Any] = {"loading": _loading("running", 0, None), "has_data": False}
    _serve_loading(page, state)
    open_page(page, ui_server, "/connect")
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert "Loading demo data…" in banner.inner_text()
    assert banner.locator("progress").get_attribute("value") is None  # indeterminate
    assert "No telemetry has arrived yet" not in page.inner_text("body")

    state["loading"] = _loading("failed", 5_000, 140_000, error="the server stopped answering (UNAVAILABLE)")
    page.reload()
    wait_ready(page)
    banner.wait_for(state="visible")
    assert banner.get_attribute("data-loading") == "failed"
    assert banner.get_attribute("role") == "alert"
    text = banner.inner_text()
    assert "Loading demo data failed: the server stopped answering (UNAVAILABLE)" in text, text
    assert "5,000 events and data points" in text


def test_connect_page_tells_demo_people_from_real_telemetry(page: Page, ui_server: UiServer) -> None:
    served: dict[str, Any] = {}

    def with_a_demo_person(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        if not any(r["key"].endswith("@" + DEMO_DOMAIN) for r in body["rows"]):
            # Over a weekend the demo's people may all have been quiet for 24 hours: one stands in for them.
            body["rows"].append({**body["rows"][0], "key": "weekend.worker@" + DEMO_DOMAIN})
        served["rows"] = body["rows"]
        route.fulfill(response=response, json=body)

    page.route("**/api/v1/people/leaderboard?*", with_a_demo_person)
    open_page(page, ui_server, "/connect")
    page.wait_for_selector("#connect-demo")
    rows = served["rows"]
    demo = [r["key"] for r in rows if r["key"].endswith("@" + DEMO_DOMAIN)]
    real = [r["key"] for r in rows if not r["key"].endswith("@" + DEMO_DOMAIN)]
    assert demo and ui_server.xss_person in real, rows
    label = page.inner_text("#connect-demo")
    people = "1 person" if len(demo) == 1 else f"{len(demo)} people"
    assert f"{people} of the demo organisation (@{DEMO_DOMAIN})" in label, label
    assert "ccmon serve --demo" in label and "ccmon demo" in label
    status = page.inner_text("#connect-status")
    assert "Telemetry from Claude Code is arriving" in status, status
    named = len([k for k in real if k != "(unknown)"])
    assert (f"from {named} person " if named == 1 else f"from {named} people ") in status, status
    assert f"from {len(demo) + len(real)} people" not in status  # the demo is not counted as real telemetry
    # The real people's requests, from the API over the same 24 hours (nothing is sent meanwhile).
    summary = api(ui_server, "summary", **{"from": _stamp(-86400), "to": _stamp(60)}, person=real)
    requests = summary["api_requests"]
    assert f"{requests:,} API request{'' if requests == 1 else 's'} from" in status, (status, summary)


def test_connect_page_says_when_only_demo_data_arrives(page: Page, ui_server: UiServer) -> None:
    """With the real people's rows taken out of the leaderboard's answer, only the demo is left."""

    def demo_only(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["rows"] = [r for r in body["rows"] if r["key"].endswith("@" + DEMO_DOMAIN)]
        route.fulfill(response=response, json=body)

    page.route("**/api/v1/people/leaderboard?*", demo_only)
    open_page(page, ui_server, "/connect")
    page.wait_for_selector("#connect-demo")
    status = page.inner_text("#connect-status")
    assert status.startswith("Nothing from Claude Code yet: only demo data"), status


def _stamp(offset_s: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_cache_efficiency_is_named_by_its_formula_and_is_the_apis(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/cost", **ui_server.window)
    efficiency = api(ui_server, "cost/efficiency", **ui_server.window)
    read, fresh, created = (
        efficiency["cache_read_tokens"],
        efficiency["input_tokens"],
        efficiency["cache_creation_tokens"],
    )
    assert read > 0 and fresh > 0 and created > 0
    # The share of all prompt tokens served from the cache (Anthropic's `input` excludes both cache kinds).
    assert efficiency["cache_efficiency"] == pytest.approx(read / (fresh + created + read), rel=1e-12)
    assert float(stat_value(page, "cache_efficiency")) == pytest.approx(efficiency["cache_efficiency"], rel=1e-12)
    title = page.get_attribute('.stat[data-stat="cache_efficiency"]', "title") or ""
    assert "cache reads ÷ (input + cache creation + cache reads)" in title, title

    million = page.locator('.stat[data-stat="cost_per_million_tokens"]')
    assert "incl. cache" in million.locator(".label").inner_text()
    assert "cache read" in (million.get_attribute("title") or "")
    # Every ratio tile on the page says its formula.
    for stat in ("token_efficiency", "cache_efficiency", "cost_per_million_tokens", "projected_usd"):
        assert "=" in (page.get_attribute(f'.stat[data-stat="{stat}"]', "title") or ""), stat
    assert "÷" in (page.get_attribute('table[data-table="cost-by-model"] th[data-column="share"]', "title") or "")


def test_ratio_columns_and_charts_name_their_formula(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/people", **ui_server.window)
    for key in ("cost_per_pull_request", "accept_rate"):
        title = page.get_attribute(f'table[data-table="leaderboard"] th[data-column="{key}"]', "title") or ""
        assert "÷" in title, (key, title)
    open_page(page, ui_server, "/engineering", **ui_server.window)
    assert "÷" in (page.get_attribute('table[data-table="tools"] th[data-column="success_rate"]', "title") or "")
    assert "÷" in (page.get_attribute('table[data-table="latency-by-model"] th[data-column="share"]', "title") or "")
    assert "÷" in (page.get_attribute('figure[data-panel="error-rate"] figcaption', "title") or "")
    assert "÷" in (page.get_attribute('figure[data-panel="tool-failures"] figcaption', "title") or "")


def test_redacted_prompts_say_which_setting_sends_them(page: Page, ui_server: UiServer) -> None:
    # A demo session: its prompts arrive as "<REDACTED>", as Claude Code sends them by default.
    sessions = api(ui_server, "sessions", **ui_server.window, sort="prompts", limit=1)["rows"]
    session = sessions[0]["session_id"]
    open_page(page, ui_server, f"/sessions/{quote(session, safe='')}")
    prompt = page.locator("li.step.user_prompt .prompt-text").first
    assert "<REDACTED>" in prompt.inner_text()
    assert PROMPT_SETTING in prompt.locator(".redacted-hint").inner_text()
    assert PROMPT_SETTING in page.inner_text("#telemetry-notes")

    # The hostile session's prompt was sent: shown as it is, without the hint.
    open_page(page, ui_server, f"/sessions/{quote(ui_server.xss_session, safe='')}")
    assert page.locator("li.step.user_prompt .prompt-text").inner_text() == ui_server.xss_prompt
    assert page.locator(".redacted-hint").count() == 0

    open_page(page, ui_server, "/events", **ui_server.window, event="user_prompt")
    assert PROMPT_SETTING in page.inner_text("#prompt-hint")
    cells = page.locator('table[data-table="events"] td[data-column="prompt"]')
    assert cells.filter(has_text="<REDACTED>").count() > 0
    assert cells.filter(has_text=ui_server.xss_prompt).count() == 1  # a prompt that was sent, as text


def test_a_session_without_prompts_says_why(page: Page, ui_server: UiServer) -> None:
    """A session of its own, 200 days ago (outside every window the other tests read): one tool result, no prompt,
    no tool parameters."""
    session = "first-hour-no-prompt-0001"
    at = ui_server.now - timedelta(days=200)
    ui_server.send_logs([log_record("tool_result", session, at, 1, tool_name="Bash", success="true", duration_ms=12)])
    path = f"/sessions/{quote(session, safe='')}"

    def arrived() -> bool:
        page.goto(ui_server.url(path))
        wait_ready(page)
        return page.locator("li.step").count() > 0

    wait_until(arrived, "the prompt-less session never showed up")
    notes = page.inner_text("#telemetry-notes")
    assert "No prompt arrived for this session" in notes, notes
    assert TOOL_SETTING in notes, notes
    assert "0 prompts · 1 event ·" in page.inner_text("p.subtitle")


def _leaderboard(ui_server: UiServer) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = api(ui_server, "people/leaderboard", **ui_server.window, limit=100)["rows"]
    return [r for r in rows if r["key"].endswith("@" + DEMO_DOMAIN)]


def test_person_page_shows_the_team_and_the_person_filter(page: Page, ui_server: UiServer) -> None:
    people = _leaderboard(ui_server)
    first, other = people[0], people[1]
    open_page(page, ui_server, f"/people/{quote(first['key'], safe='')}", **ui_server.window)
    assert page.inner_text('#person-facts dd[data-fact="team"]') == first["team"]
    departments = api(ui_server, "cost/breakdown", **ui_server.window, by="department", person=first["key"])["rows"]
    if any(r["key"] != "(unknown)" for r in departments):
        assert departments[0]["key"] in page.inner_text('#person-facts dd[data-fact="department"]')
    select = page.locator("form#controls select[name=person]")
    assert select.input_value() == first["key"], "the person filter does not show the page's person"

    # Choosing another person opens their page; "Everyone" the People list.
    wait_until(lambda: other["key"] in option_values(select), "the person filter never got its choices")
    select.select_option(other["key"])
    wait_until(
        lambda: unquote(urlsplit(page.url).path) == f"/people/{other['key']}",
        lambda: f"choosing {other['key']} did not open their page: {page.url}",
    )
    wait_ready(page)
    assert page.inner_text("main h1") == other["key"]
    assert select.input_value() == other["key"]
    assert "person" not in urlsplit(page.url).query
    select.select_option("")
    wait_until(lambda: urlsplit(page.url).path == "/people", lambda: f"Everyone did not open People: {page.url}")
    wait_ready(page)


def test_an_unknown_person_is_said_to_have_no_telemetry(page: Page, ui_server: UiServer) -> None:
    nobody = "nobody@nowhere.example"
    open_page(page, ui_server, f"/people/{quote(nobody, safe='')}", **ui_server.window)
    message = page.locator("#no-person")
    assert f"No telemetry from {nobody} in this window" in message.inner_text()
    assert urlsplit(message.locator("a").get_attribute("href") or "").path == "/people"
    assert page.locator(".stat").count() == 0, "a page of zeros"


def test_a_window_that_is_not_a_time_is_said_so(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/", **{"from": "yesterday"})
    alert = page.locator("#range-problem[role=alert]")
    text = alert.inner_text()
    assert "from=yesterday is not a time" in text and "RFC 3339" in text and "showing the last 30 days" in text
    assert page.locator("form#controls select[name=range]").input_value() == "30d"

    open_page(page, ui_server, "/", **ui_server.window)  # a good window: no alert
    assert page.locator("#range-problem").count() == 0


def test_cost_by_team_downloads_its_rows(page: Page, ui_server: UiServer, tmp_path: Path) -> None:
    open_page(page, ui_server, "/cost", **ui_server.window)
    downloaded = download_csv(page, 'figure[data-panel="cost-by-team"] button[data-csv="cost-by-team"]', tmp_path)
    want = api_csv(ui_server, "cost/breakdown", **ui_server.window, by="team", top=20)
    assert csv_rows(downloaded) == csv_rows(want)
    assert len(csv_rows(want)) == 3  # the demo's teams


BREAKDOWN_CHARTS = {
    "/cost": ("cost-by-team", "cost-by-provider"),
    "/people": ("cost-by-team", "prs-by-team"),
    "/engineering": ("tool-failures", "requests-by-model", "errors-by-status"),
}


@pytest.mark.parametrize("path", list(BREAKDOWN_CHARTS))
def test_every_breakdown_chart_has_a_csv_button(page: Page, ui_server: UiServer, path: str) -> None:
    open_page(page, ui_server, path, **ui_server.window)
    for panel in BREAKDOWN_CHARTS[path]:
        assert page.locator(f'figure[data-panel="{panel}"] button[data-csv="{panel}"]').count() == 1, panel


def test_errors_by_status_downloads_the_apis_rows(page: Page, ui_server: UiServer, tmp_path: Path) -> None:
    """engineering/errors has no CSV form: its `by_status` rows are written out in the browser."""
    open_page(page, ui_server, "/engineering", **ui_server.window)
    downloaded = download_csv(page, 'button[data-csv="errors-by-status"]', tmp_path)
    bucket = page.evaluate("import('/static/js/state.js').then(s => s.bucketFor(s.timeRange()))")
    want = api(ui_server, "engineering/errors", **ui_server.window, bucket=bucket)["by_status"]
    got = csv_rows(downloaded)
    assert [(r["status_code"], int(r["errors"])) for r in got] == [
        ("" if w["status_code"] is None else str(w["status_code"]), w["errors"]) for w in want
    ]


def test_events_table_leaves_out_empty_columns_and_shows_whole_emails(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/events", **ui_server.window, event="user_prompt")
    headers = page.eval_on_selector_all('table[data-table="events"] thead th', "els => els.map(e => e.dataset.column)")
    assert "person" in headers and "prompt" in headers, headers
    for empty in ("model", "tool_name", "decision", "success", "duration_ms", "cost_usd", "status_code", "error"):
        assert empty not in headers, (empty, headers)
    cut: list[str] = page.eval_on_selector_all(
        'table[data-table="events"] td[data-column="person"]',
        "els => els.filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent)",
    )
    assert not cut, f"emails cut: {cut[:5]}"

    open_page(page, ui_server, "/events", **ui_server.window, event="api_request")
    headers = page.eval_on_selector_all('table[data-table="events"] thead th', "els => els.map(e => e.dataset.column)")
    assert "model" in headers and "cost_usd" in headers and "prompt" not in headers, headers


def test_counts_of_one_are_singular(page: Page, ui_server: UiServer) -> None:
    plural: Callable[..., str] = lambda *args: page.evaluate(  # noqa: E731
        "args => import('/static/js/format.js').then(f => f.plural(...args))", list(args)
    )
    open_page(page, ui_server, f"/sessions/{quote(ui_server.xss_session, safe='')}")
    assert plural(1, "request") == "1 request" and plural(2, "request") == "2 requests"
    assert plural(1, "person", "people") == "1 person" and plural(0, "person", "people") == "0 people"
    head = page.inner_text("li.prompt .prompt-head")
    assert "1 request ·" in head and "0 tool calls" in head, head
    assert "1 prompt · 2 events ·" in page.inner_text("p.subtitle")
    assert "1 requests" not in page.inner_text("main") and "1 prompts" not in page.inner_text("main")
