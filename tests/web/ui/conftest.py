"""Browser tests of the web UI: one ccmon server loaded with a small demo organisation, and Debian's Chromium.

The server runs in this process (chDB allows one engine per process, so it shares the session's `chdb_path`, in a
database of its own) and is shared by every UI test; tests only add data that cannot change what the others read
(events in sessions of their own, compared with the API at the same moment). Chromium is the system's
(`/usr/bin/chromium`, or `CCMON_CHROMIUM`): Playwright's own browsers are never downloaded. Every test's page fails the
test at teardown on a console error or an uncaught exception, and leaves a full-page screenshot under
`$CCMON_ARTIFACTS/screenshots` (default `<repo>/.artifacts/screenshots`).
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from ccmon import demo
from tests.otlp import helpers as otlp
from tests.support import REPO, RunningServer, in_process_server, make_config

ARTIFACTS = Path(os.environ.get("CCMON_ARTIFACTS") or REPO / ".artifacts")
VIEWPORT = {"width": 1440, "height": 900}
TIMEOUT_MS = 20_000
"""Playwright's default wait for a selector, a navigation or an expectation."""

DEVELOPERS, TEAMS, DAYS, SEED = 12, 3, 14, 1
BUDGET_USD = 2000.0
"""The monthly budget the server is configured with (the executive page's budget panel)."""
XSS_SESSION = "xss-session-0001"
XSS_PERSON = "mallory@example.com"
XSS_PROMPT = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'

Param = str | int | Sequence[str]


@dataclass(frozen=True)
class UiServer:
    """The running server, what the demo sent to it, and the extra session with hostile telemetry text."""

    server: RunningServer
    totals: demo.DemoTotals
    now: datetime
    """The `now` the demo was generated for (the real time when the fixture started)."""
    xss_session: str
    xss_person: str
    xss_prompt: str

    @property
    def api_url(self) -> str:
        return self.server.api_url

    @property
    def otlp_http_url(self) -> str:
        return self.server.otlp_http_url

    @property
    def grpc_port(self) -> int:
        return self.server.config.otlp_grpc_port

    @property
    def window(self) -> dict[str, str]:
        """A custom range holding all the demo data: `from`/`to` on whole hours, for the page URL and the API alike."""
        assert self.totals.start is not None
        end = self.now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
        return {"from": rfc3339(self.totals.start), "to": rfc3339(end)}

    def url(self, path: str, **params: Param) -> str:
        """The UI's URL of a page, with its query string."""
        query = urlencode(_params(params), doseq=True)
        return f"{self.api_url}{path}" + (f"?{query}" if query else "")

    def send_logs(self, records: Sequence[dict[str, Any]], resource: Mapping[str, str] | None = None) -> None:
        """Log records (OTLP JSON `logRecords` items) sent over OTLP/HTTP as JSON, as Claude Code does."""
        resource = {"service.name": "claude-code", "service.version": "2.1.330", "os.type": "linux", **(resource or {})}
        body = otlp.logs_request(records, resource)
        response = self.server.http.post(
            f"{self.otlp_http_url}/v1/logs", json=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 200, response.text


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _params(params: Mapping[str, Param]) -> dict[str, str | list[str]]:
    return {
        key: value if isinstance(value, str) else str(value) if isinstance(value, int) else list(value)
        for key, value in params.items()
    }


def api(ui_server: UiServer, path: str, /, **params: Param) -> Any:
    """GET `/api/v1/<path>` as JSON."""
    response = ui_server.server.http.get(f"{ui_server.api_url}/api/v1/{path}", params=_params(params))
    assert response.status_code == 200, f"{response.url}: {response.status_code} {response.text[:500]}"
    return response.json()


def api_csv(ui_server: UiServer, path: str, /, **params: Param) -> str:
    """GET `/api/v1/<path>?format=csv` as text."""
    return api_text(ui_server, path, format="csv", **params)


def api_text(ui_server: UiServer, path: str, /, **params: Param) -> str:
    """GET `/api/v1/<path>` as text."""
    response = ui_server.server.http.get(f"{ui_server.api_url}/api/v1/{path}", params=_params(params))
    assert response.status_code == 200, f"{response.url}: {response.status_code} {response.text[:500]}"
    return response.text


def download_csv(page: Page, button: str, folder: Path) -> str:
    """Click a CSV button (a selector) and answer the file it downloads."""
    with page.expect_download() as download_info:
        page.click(button)
    download = download_info.value
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    saved = folder / download.suggested_filename
    download.save_as(saved)
    return saved.read_text()


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def log_record(
    event: str, session_id: str, at: datetime, sequence: int, **attributes: str | int | float
) -> dict[str, Any]:
    """One Claude Code event at `at` (`tests.otlp.helpers.event`'s shape, with its time, a user, the CLI's version
    and `event.timestamp`, as the captured fixtures have them)."""
    nanos = int(at.timestamp() * 1000) * 1_000_000
    fields: dict[str, object] = {
        "user.id": "u-" + session_id,
        "session.id": session_id,
        "app.version": "2.1.330",
        "terminal.type": "xterm",
        "event.name": event,
        "event.timestamp": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "event.sequence": sequence,
        **attributes,
    }
    return otlp.log_record(fields, time_ns=nanos, observed_ns=nanos, body=f"claude_code.{event}")


def _xss_records(at: datetime) -> list[dict[str, Any]]:
    prompt_id = "xss-prompt-0001"
    common = {"user.email": XSS_PERSON, "prompt.id": prompt_id}
    return [
        log_record(
            "user_prompt",
            XSS_SESSION,
            at,
            1,
            **common,
            prompt=XSS_PROMPT,
            prompt_length=str(len(XSS_PROMPT)),
        ),
        log_record(
            "api_request",
            XSS_SESSION,
            at + timedelta(seconds=2),
            2,
            **common,
            model="claude-sonnet-4-5",
            cost_usd=0.0123,
            input_tokens=1500,
            output_tokens=220,
            cache_read_tokens=4000,
            cache_creation_tokens=300,
            duration_ms=2100,
            ttft_ms=700,
        ),
    ]


def _wait_for_summary(server: RunningServer, params: dict[str, str], want: dict[str, Any], timeout: float = 30) -> None:
    """Until the summary over `params` shows the demo's totals (the exports are acknowledged after commit, so this
    normally holds at once)."""
    deadline = time.monotonic() + timeout
    while True:
        got = server.summary(**params)
        if got["api_requests"] == want["api_requests"] and got["sessions"] == want["sessions"]:
            assert got["cost_usd"] == pytest.approx(want["cost_usd"], abs=1e-6)
            assert got["users"] == want["users"]
            return
        assert time.monotonic() < deadline, f"summary {got} never reached the demo's {want}"
        time.sleep(0.2)


@pytest.fixture(scope="session")
def ui_server(chdb_path: Path) -> Iterator[UiServer]:
    """`ccmon serve` in this process with the demo organisation (12 developers, 3 teams, 14 days up to now) and the
    hostile session `xss-session-0001` (a prompt made of HTML, an hour ago)."""
    now = datetime.now(UTC)
    config = make_config(chdb_path, database=f"ui_{uuid.uuid4().hex[:12]}", monthly_budget_usd=BUDGET_USD)
    with in_process_server(config) as server:
        totals = demo.run(
            f"http://{server.otlp_grpc_target}",
            "grpc",
            seed=SEED,
            developers=DEVELOPERS,
            teams=TEAMS,
            days=DAYS,
            now=now,
        )
        assert totals.start is not None and totals.end is not None
        demo_range = {"from": rfc3339(totals.start), "to": rfc3339(totals.end + timedelta(seconds=1))}
        _wait_for_summary(server, demo_range, totals.summary())
        ui = UiServer(server, totals, now, XSS_SESSION, XSS_PERSON, XSS_PROMPT)
        ui.send_logs(_xss_records(now - timedelta(hours=1)))
        deadline = time.monotonic() + 30
        while not api(ui, "sessions", **ui.window, limit=200)["total"] > totals.sessions:
            assert time.monotonic() < deadline, "the hostile session never showed up"
            time.sleep(0.2)
        yield ui


def _screenshot_path(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    return ARTIFACTS / "screenshots" / f"{name}.png"


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (1440x900); console errors and uncaught exceptions fail the test at teardown, and a
    full-page screenshot is saved whatever the outcome."""
    context = browser.new_context(viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            location = message.location
            errors.append(f"console error: {message.text} ({location.get('url')}:{location.get('lineNumber')})")

    def on_page_error(error: Error) -> None:
        errors.append(f"uncaught {error.name}: {error.message}\n{error.stack}")

    opened.on("console", on_console)
    opened.on("pageerror", on_page_error)
    try:
        yield opened
    finally:
        path = _screenshot_path(request)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            opened.screenshot(path=str(path), full_page=True)
        finally:
            context.close()
    assert not errors, "the page logged errors:\n" + "\n".join(errors)


Opened = Callable[..., Page]


@pytest.fixture
def open_browser(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Opened]:
    """Pages in browser contexts of their own (one per signed-in user): `open_browser(allow=(403,))` tolerates
    Chromium's console errors for those statuses only. Errors fail the test at teardown; screenshots are kept."""
    opened: list[tuple[Page, list[str]]] = []

    def open_page(allow: tuple[int, ...] = (), api_key: str | None = None) -> Page:
        context = browser.new_context(viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]})
        context.set_default_timeout(TIMEOUT_MS)
        if api_key:  # as the dashboard keeps an API token for the tab
            context.add_init_script(f"sessionStorage.setItem('ccmon.apiToken', {api_key!r})")
        page = context.new_page()
        errors: list[str] = []
        expected = re.compile(rf"status of ({'|'.join(str(s) for s in allow)}) ") if allow else None

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error" and not (expected and expected.search(message.text)):
                errors.append(f"console error: {message.text} ({message.location.get('url')})")

        def on_page_error(error: Error) -> None:
            errors.append(f"uncaught {error.name}: {error.message}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        opened.append((page, errors))
        return page

    yield open_page
    problems: list[str] = []
    for index, (page, errors) in enumerate(opened):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
        path = ARTIFACTS / "screenshots" / f"{name}-{index}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(path), full_page=True)
        finally:
            page.context.close()
        problems.extend(errors)
    assert not problems, "the pages logged errors:\n" + "\n".join(problems)


def wait_until(check: Callable[[], bool], message: str | Callable[[], str], timeout: float = TIMEOUT_MS / 1000) -> None:
    """Poll `check` (every 100 ms) until it holds; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(message() if callable(message) else message)
        time.sleep(0.1)


def wait_ready(page: Page) -> None:
    """Until `main#page` says every panel rendered; an error state fails the test."""
    try:
        page.wait_for_selector("main#page[data-state=ready], main#page[data-state=error]", state="attached")
    except PlaywrightTimeoutError:
        main = page.locator("main#page")
        state = main.get_attribute("data-state", timeout=1000) if main.count() else "(no main#page)"
        text = main.inner_text(timeout=1000)[:1000] if main.count() else page.content()[:1000]
        pytest.fail(f"{page.url}: main#page not ready within {TIMEOUT_MS} ms: data-state={state}: {text}")
    state = page.get_attribute("main#page", "data-state")
    assert state == "ready", f"{page.url}: main#page data-state={state}: {page.inner_text('main#page')[:1000]}"


def open_page(page: Page, ui_server: UiServer, path: str, **params: Param) -> None:
    """Navigate to a page of the UI and wait until it has rendered."""
    page.goto(ui_server.url(path, **params))
    wait_ready(page)


def query_of(page: Page) -> dict[str, list[str]]:
    """The page URL's query string."""
    return parse_qs(urlsplit(page.url).query)


def chart_points(page: Page) -> dict[str, int]:
    """`data-points` of every `figure.chart` on the page, by `data-panel`."""
    pairs: list[list[str]] = page.eval_on_selector_all(
        "figure.chart", "els => els.map(e => [e.dataset.panel ?? '', e.dataset.points ?? ''])"
    )
    return {panel: int(points) if points.isdigit() else -1 for panel, points in pairs}


def names(page: Page, selector: str, attribute: str) -> list[str]:
    """The `attribute` of every element matching `selector`, in document order."""
    values: list[str] = page.eval_on_selector_all(
        selector, "(els, attribute) => els.map(e => e.getAttribute(attribute) ?? '')", attribute
    )
    return values


def stat_value(page: Page, stat: str) -> str:
    """The raw `data-value` of a stat tile."""
    value = page.get_attribute(f'.stat[data-stat="{stat}"] .value', "data-value")
    assert value is not None, f"{page.url}: stat {stat} has no .value[data-value]"
    return value


def column(page: Page, table: str, name: str) -> list[str]:
    """`data-value` of a column's cells, top to bottom."""
    return names(page, f'table[data-table="{table}"] tbody tr td[data-column="{name}"]', "data-value")


def option_values(select: Locator) -> list[str]:
    """The values of a `<select>`'s options, in order."""
    values: list[str] = select.locator("option").evaluate_all("els => els.map(e => e.value)")
    return values


def instant(text: str) -> datetime:
    """An RFC 3339 instant from a URL or a cell (`Z` or an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
