"""The Access pages and the login flow of the dashboard, in real Chromium against a server that asks for logins.

The server here is this module's own (a fresh database, no telemetry): the shared `ui_server` must stay a loopback
server without logins for the other UI tests. Its first credential is an admin API key made while the server still
took every loopback caller as its admin; from then on every request authenticates. Browsers sign in as the login page
does (POST /auth/login in the browser context: the session cookie), or with an API key kept for the tab.

Chromium logs every 401/403 answer as a console error ("Failed to load resource"); the pages here expect some, so
only those are allowed, and only in the tests that provoke them. Any other console error or uncaught exception fails.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.otlp import helpers as otlp
from tests.support import RunningServer, in_process_server, make_config
from tests.web.ui.conftest import Opened, log_record, wait_until

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
XSS_NAME = '<img src=x onerror="window.__xss = 1"><script>window.__xss = 2</script>'


@dataclass
class AccessServer:
    server: RunningServer
    admin_key: str
    """An admin API key, for the test's own requests (the UI is what signs in with passwords)."""
    users: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.api_url

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.admin_key}", **kwargs.pop("headers", {})}
        return self.server.http.request(method, f"{self.url}/api/v1/{path}", headers=headers, **kwargs)

    def add_user(self, role: str, *, name: str = "", team: str = "") -> str:
        """A local user with PASSWORD; answers their email."""
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": email, "name": name or role.title(), "role": role, "team": team, "password": PASSWORD}
        response = self.api("POST", "users", json=body)
        assert response.status_code == 201, response.text
        return email


@pytest.fixture(scope="module")
def access_server(chdb_path: Path) -> Iterator[AccessServer]:
    config = make_config(chdb_path, database=f"access_{uuid.uuid4().hex[:12]}")
    with in_process_server(config) as server:
        # Nobody configured yet: the loopback caller is the admin, and makes the first (admin) key.
        created = server.http.post(f"{server.api_url}/api/v1/api-keys", json={"name": "tests", "role": "admin"})
        assert created.status_code == 201, created.text
        access = AccessServer(server, created.json()["key"])
        # From now on a request without credentials is refused (the server rechecks within seconds).
        deadline = time.monotonic() + 30
        while server.http.get(f"{server.api_url}/api/v1/me").status_code != 401:
            assert time.monotonic() < deadline, "the server never started asking for credentials"
            time.sleep(0.2)
        yield access


def sign_in(page: Page, access: AccessServer, email: str) -> None:
    """Log in as the login page does: the session cookie lands in the page's browser context."""
    response = page.context.request.post(f"{access.url}/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status == 200, response.text()


def ready(page: Page, state: str = "ready") -> None:
    expect(page.locator("main#page")).to_have_attribute("data-state", re.compile("ready|error"))
    actual = page.get_attribute("main#page", "data-state")
    assert actual == state, f"{page.url}: data-state={actual}: {page.inner_text('main#page')[:800]}"


def csrf_posts(page: Page) -> list[dict[str, str]]:
    """The headers of every state-changing API request the page sends from now on."""
    seen: list[dict[str, str]] = []

    def on_request(request: Any) -> None:
        if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
            seen.append({"url": request.url, "method": request.method, **request.headers})

    page.on("request", on_request)
    return seen


def test_admin_adds_a_user_and_an_ingest_token_seen_once(open_browser: Opened, access_server: AccessServer) -> None:
    admin = access_server.add_user("admin", name="Ada Admin")
    page = open_browser()
    sign_in(page, access_server, admin)
    sent = csrf_posts(page)
    page.goto(f"{access_server.url}/")
    expect(page.locator("#account")).to_be_visible()
    expect(page.locator("#account-name")).to_have_text(admin)
    expect(page.locator("#account-role")).to_have_text("admin")
    page.click("#nav-access")
    ready(page)
    assert page.url.endswith("/access")
    assert page.is_hidden("#controls"), "the Access pages have no time range or filters"

    # A user, added in the form, listed, and able to log in with the password given.
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    form = page.locator('form[data-form="add-user"]')
    form.locator('input[name="email"]').fill(email)
    form.locator('input[name="name"]').fill("Nora New")
    form.locator('select[name="role"]').select_option("team_lead")
    form.locator('input[name="team"]').fill("platform")
    form.locator('input[name="password"]').fill(PASSWORD)
    form.locator('button[type="submit"]').click()
    expect(page.locator('[data-note="add-user"]')).to_have_text(f"Added {email} (team_lead).")
    row = page.locator(f'table[data-table="users"] tr[data-row="{email}"]')
    expect(row.locator('td[data-column="team"]')).to_have_text("platform")
    listed = {u["email"]: u for u in access_server.api("GET", "users").json()["users"]}
    assert listed[email]["role"] == "team_lead" and listed[email]["name"] == "Nora New"
    login = httpx.post(f"{access_server.url}/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text

    # Its role changed and disabled from the table.
    row.locator('select[data-action="role"]').select_option("developer")
    expect(page.locator('[data-note="users"]')).to_have_text(f"{email} is now developer.")
    row.locator('button[data-action="disable"]').click()
    expect(row.locator('td[data-column="disabled"]')).to_have_text("disabled")
    listed = {u["email"]: u for u in access_server.api("GET", "users").json()["users"]}
    assert listed[email]["role"] == "developer" and listed[email]["disabled"] is True

    # An ingest token pinned to a team: its secret shown once, working, and gone after a reload.
    page.click('nav.tabs a[data-section="ingest-tokens"]')
    ready(page)
    name = f"ui-{uuid.uuid4().hex[:6]}"
    form = page.locator('form[data-form="add-ingest-token"]')
    form.locator('input[name="name"]').fill(name)
    form.locator('input[name="team"]').fill("payments")
    form.locator('input[name="rate_limit_per_s"]').fill("50")
    form.locator('button[type="submit"]').click()
    secret = page.locator('[data-secret="ingest-token"]')
    expect(secret).to_be_visible()
    token = secret.inner_text().strip()
    assert len(token) >= 20, token
    tokens = {t["name"]: t for t in access_server.api("GET", "ingest-tokens").json()["tokens"]}
    assert tokens[name]["team"] == "payments" and tokens[name]["rate_limit_per_s"] == 50
    assert token not in str(tokens), "the listing must never hold the secret"
    row = page.locator(f'table[data-table="ingest-tokens"] tr[data-row="{tokens[name]["id"]}"]')
    expect(row.locator('td[data-column="pins"]')).to_have_text("team=payments")
    accepted = access_server.server.post(
        "logs", b'{"resourceLogs": []}', "application/json", authorization=f"Bearer {token}"
    )
    assert accepted.status_code == 200, accepted.text
    page.reload()
    ready(page)
    assert page.locator("[data-secret]").count() == 0
    assert token not in page.content()

    # Rotated (two clicks: the first asks again): a new secret, and the old one stops working.
    rotate = row.locator('button[data-action="rotate"]')
    rotate.click()
    expect(rotate).to_have_text("Really rotate?")
    rotate.click()
    expect(page.locator('[data-note="ingest-tokens"]')).to_have_text(f"Rotated the token {name}.")
    rotated = page.locator('[data-secret="ingest-token"]').inner_text().strip()
    assert rotated and rotated != token
    refused = access_server.server.post(
        "logs", b'{"resourceLogs": []}', "application/json", authorization=f"Bearer {token}"
    )
    assert refused.status_code in {401, 403}, refused.status_code

    # Every change went out with the session's CSRF token (the server refuses them without: H1's tests).
    changes = [r for r in sent if "/api/v1/" in r["url"]]
    assert len(changes) >= 5, changes
    assert all(r.get("x-csrf-token") for r in changes), changes


def test_admin_makes_and_revokes_an_api_key(open_browser: Opened, access_server: AccessServer) -> None:
    admin = access_server.add_user("admin")
    page = open_browser()
    sign_in(page, access_server, admin)
    page.goto(f"{access_server.url}/access/api-keys")
    ready(page)
    name = f"report-{uuid.uuid4().hex[:6]}"
    form = page.locator('form[data-form="add-api-key"]')
    form.locator('input[name="name"]').fill(name)
    form.locator('select[name="role"]').select_option("finance")
    form.locator('input[name="expires"]').fill("2099-12-31")
    form.locator('button[type="submit"]').click()
    key = page.locator('[data-secret="api-key"]').inner_text().strip()
    me = httpx.get(f"{access_server.url}/api/v1/me", headers={"authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.json()["role"] == "finance", me.text
    keys = {k["name"]: k for k in access_server.api("GET", "api-keys").json()["api_keys"]}
    assert keys[name]["expires_at"].startswith("2099-12-31")
    row = page.locator(f'table[data-table="api-keys"] tr[data-row="{keys[name]["id"]}"]')
    expect(row.locator('td[data-column="expires_at"]')).to_have_text("2099-12-31 23:59 UTC")
    row.locator('button[data-action="revoke"]').click()
    row.locator('button[data-action="revoke"]').click()
    expect(row.locator('td[data-column="revoked"]')).to_have_text("revoked")
    gone = httpx.get(f"{access_server.url}/api/v1/me", headers={"authorization": f"Bearer {key}"})
    assert gone.status_code == 401, gone.text


def test_a_developer_has_no_access_pages(open_browser: Opened, access_server: AccessServer) -> None:
    developer = access_server.add_user("developer", name="Dev Eloper")
    page = open_browser(allow=(403,))
    sign_in(page, access_server, developer)
    page.goto(f"{access_server.url}/connect")
    expect(page.locator("#account-role")).to_have_text("developer")
    assert page.is_hidden("#nav-access"), "the Access link is for admins"
    page.goto(f"{access_server.url}/access/users")
    ready(page, "error")
    message = page.locator('figure[data-panel="users"] .error')
    expect(message).to_contain_text("Not allowed for your role (developer)")
    assert page.locator('table[data-table="users"]').count() == 0
    assert page.locator('form[data-form="add-user"]').count() == 0, "a form the server would refuse is taken away"
    assert page.is_hidden("#banner")


def test_a_developer_api_key_has_no_access_pages(open_browser: Opened, access_server: AccessServer) -> None:
    created = access_server.api(
        "POST", "api-keys", json={"name": "dev-bot", "role": "developer", "person": "dev@example.com"}
    )
    assert created.status_code == 201, created.text
    page = open_browser(allow=(403,), api_key=created.json()["key"])
    page.goto(f"{access_server.url}/access/ingest-tokens")
    ready(page, "error")
    expect(page.locator('figure[data-panel="ingest-tokens"] .error')).to_contain_text(
        "Not allowed for your role (developer)"
    )
    assert page.is_hidden("#nav-access")
    expect(page.locator("#account-name")).to_have_text("dev-bot")
    assert page.locator('[data-secret], table[data-table="ingest-tokens"]').count() == 0


def test_hostile_names_are_text(open_browser: Opened, access_server: AccessServer) -> None:
    victim = access_server.add_user("viewer", name=XSS_NAME, team=XSS_NAME[:60])
    admin = access_server.add_user("admin")
    page = open_browser()
    sign_in(page, access_server, admin)
    page.goto(f"{access_server.url}/access/users")
    ready(page)
    cell = page.locator(f'table[data-table="users"] tr[data-row="{victim}"] td[data-column="name"]')
    expect(cell).to_have_text(XSS_NAME)
    # An API key named like that shows its name as text in the "shown once" box too.
    page.click('nav.tabs a[data-section="api-keys"]')
    ready(page)
    form = page.locator('form[data-form="add-api-key"]')
    form.locator('input[name="name"]').fill(XSS_NAME[:150])
    form.locator('button[type="submit"]').click()
    expect(page.locator('[data-secret-box="api-key"]')).to_contain_text(XSS_NAME[:150])
    page.click('nav.tabs a[data-section="audit"]')
    ready(page)
    expect(page.locator('table[data-table="audit"]')).to_contain_text("apikey.create")
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("window.__xss") is None, "a name ran as script"


def test_the_audit_log_pages_and_filters(open_browser: Opened, access_server: AccessServer) -> None:
    admin = access_server.add_user("admin")
    for _ in range(3):  # a few failed logins, so there is something to filter
        httpx.post(f"{access_server.url}/auth/login", json={"email": admin, "password": "wrong password!"})
    page = open_browser()
    sign_in(page, access_server, admin)
    page.goto(f"{access_server.url}/access/audit")
    ready(page)
    actions = page.locator('table[data-table="audit"] td[data-column="action"]')
    expect(actions.first).to_have_text("login.ok")  # newest first: this browser's own login
    stamps = page.eval_on_selector_all(
        'table[data-table="audit"] td[data-column="ts"]', "cells => cells.map(c => c.dataset.value)"
    )
    assert stamps == sorted(stamps, reverse=True)
    page.fill('form[data-form="audit-filter"] input[name="action"]', "login.failed")
    page.click('form[data-form="audit-filter"] button[type="submit"]')
    expect(actions.first).to_have_text("login.failed")
    shown = page.eval_on_selector_all(
        'table[data-table="audit"] td[data-column="action"]', "cells => cells.map(c => c.textContent)"
    )
    assert len(shown) >= 3 and set(shown) == {"login.failed"}, shown


def test_the_audit_log_pages_back(open_browser: Opened, access_server: AccessServer) -> None:
    admin = access_server.add_user("admin")
    subject = access_server.add_user("viewer")
    for number in range(60):  # more than a page (50) of entries naming `subject`
        changed = access_server.api("PATCH", f"users/{subject}", json={"name": f"Renamed {number}"})
        assert changed.status_code == 200, changed.text
    page = open_browser()
    sign_in(page, access_server, admin)
    page.goto(f"{access_server.url}/access/audit")
    ready(page)
    rows = """rows => rows.map(r => [...r.querySelectorAll("td")].map(c => c.dataset.value).join("|"))"""
    first = page.eval_on_selector_all('table[data-table="audit"] tbody tr', rows)
    assert len(first) == 50
    page.click('button[data-action="older"]')
    expect(page.locator(".pager")).to_contain_text("Page 2")
    second = page.eval_on_selector_all('table[data-table="audit"] tbody tr', rows)
    assert second and not set(first) & set(second), "the next page holds other entries"
    assert max(r.split("|")[0] for r in second) <= min(r.split("|")[0] for r in first), "the next page is older"
    page.click('button[data-action="newer"]')
    expect(page.locator(".pager")).to_contain_text("Page 1")
    assert page.eval_on_selector_all('table[data-table="audit"] tbody tr', rows) == first


def test_signing_out_and_back_in(open_browser: Opened, access_server: AccessServer) -> None:
    admin = access_server.add_user("admin")
    page = open_browser(allow=(401,))
    # Not signed in: to the login page, which brings the reader back where they were going.
    page.goto(f"{access_server.url}/cost?range=7d")
    page.wait_for_url(re.compile(r"/login\?next="))
    assert "next=%2Fcost%3Frange%3D7d" in page.url, page.url
    page.fill("#email", admin)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/cost\?range=7d$"))
    ready(page)
    expect(page.locator("#account-name")).to_have_text(admin)
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/login"))
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert not cookies.get("ccmon_session"), "signing out ends the session"
    entries = access_server.api("GET", "audit", params={"limit": "20"}).json()["entries"]
    assert any(e["action"] == "logout" and e["actor"] == admin for e in entries), entries


def _send_cost(access: AccessServer, email: str, team: str) -> None:
    """One API request event of `email`, sent by Claude Code claiming `team`, with an ingest token of its own."""
    created = access.api("POST", "ingest-tokens", json={"name": f"dir-{uuid.uuid4().hex[:6]}"})
    assert created.status_code == 201, created.text
    fields: dict[str, str | int | float] = {"user.email": email, "model": "claude-sonnet-4-5", "input_tokens": 100}
    at = datetime.now(UTC) - timedelta(minutes=5)
    record = log_record("api_request", f"dir-{uuid.uuid4().hex[:8]}", at, 1, **fields)
    body = otlp.logs_request([record], {"service.name": "claude-code", "team": team})
    token = created.json()["token"]
    url = f"{access.server.otlp_http_url}/v1/logs"
    sent = access.server.http.post(url, json=body, headers={"authorization": f"Bearer {token}"})
    assert sent.status_code == 200, sent.text


def _requests_of(access: AccessServer, email: str, team: str) -> int:
    """The API requests stored for `email` under `team`."""
    window = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
    answer = access.api("GET", "summary", params={**window, "person": email, "team": team})
    assert answer.status_code == 200, answer.text
    requests: int = answer.json()["api_requests"]
    return requests


def test_directory_loads_and_applies_after_a_dry_run(open_browser: Opened, access_server: AccessServer) -> None:
    email = f"dina-{uuid.uuid4().hex[:6]}@example.com"
    _send_cost(access_server, email, "old-team")  # stored before the directory said otherwise
    wait_until(lambda: _requests_of(access_server, email, "old-team") == 1, "the event never arrived")
    admin = access_server.add_user("admin")
    page = open_browser()
    sign_in(page, access_server, admin)
    page.goto(f"{access_server.url}/access/directory")
    ready(page)
    people = "email,name,team,department,cost_center,manager\n" + f"{email},{XSS_NAME[:40]},data,eng,ENG-1,\n"
    page.fill('form[data-form="directory-upload"] textarea[name="text"]', people)
    page.click('form[data-form="directory-upload"] button[type="submit"]')
    expect(page.locator('[data-note="directory-upload"]')).to_contain_text("Loaded the directory: 1 added")
    row = page.locator(f'table[data-table="directory-people"] tr[data-row="{email}"]')
    expect(row.locator('td[data-column="team"]')).to_have_text("data")
    expect(row.locator('td[data-column="name"]')).to_have_text(XSS_NAME[:40])

    page.click('button[data-action="preview"]')
    moved = page.locator(f'table[data-table="preview-people"] tr[data-row="{email}"]')
    expect(moved.locator('td[data-column="old"]')).to_contain_text("team=old-team")
    expect(moved.locator('td[data-column="new"]')).to_contain_text("team=data")
    assert _requests_of(access_server, email, "old-team") == 1, "a dry run changes nothing"
    page.click('button[data-action="apply"]')
    expect(page.locator("[data-apply-result]")).to_have_attribute("data-apply-result", "applied")
    wait_until(lambda: _requests_of(access_server, email, "data") == 1, "the stored request never moved to its team")
    assert _requests_of(access_server, email, "old-team") == 0
    assert page.evaluate("window.__xss") is None
