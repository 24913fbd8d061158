"""Single sign-on end to end in real Chromium: ccmon's login page, the test OpenID provider's form
(`tests/auth/oidc_idp/provider.mjs`, the certified `oidc-provider` package), and back to the dashboard with the role
the provider's groups map to.

The module has its own ccmon (a fresh database, no telemetry: the pages render their empty states) and its own
provider. Chromium logs each 401/403 answer as a console error ("Failed to load resource"), and an unauthenticated
dashboard gets a 401 before it goes to the login page: those statuses are allowed where a test provokes them; any
other console error or uncaught exception fails the test.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from ccmon.auth.sessions import CACHE_S, COOKIE, hash_id
from ccmon.store.facade import Store
from tests.auth.conftest import sso_config
from tests.auth.oidc_idp import CLIENT_ID, OidcIdp, idp_login, password, running_idp
from tests.support import RunningServer, in_process_server
from tests.web.ui.conftest import Opened

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class SsoUi:
    server: RunningServer
    store: Store
    idp: OidcIdp

    @property
    def url(self) -> str:
        return self.server.api_url


@pytest.fixture(scope="module")
def sso_ui(chdb_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoUi]:
    with running_idp(tmp_path_factory.mktemp("oidc-idp-ui") / "idp.log") as idp:
        config = sso_config(chdb_path, idp.issuer)
        with in_process_server(config) as server:
            store = Store.open(data_dir=str(chdb_path), database=config.database)
            try:
                yield SsoUi(server, store, idp)
            finally:
                store.close()


def to_login_page(page: Page, sso: SsoUi, path: str) -> None:
    """Open a dashboard page while signed out: the dashboard sends the browser to the login page."""
    page.goto(f"{sso.url}{path}")
    page.wait_for_url(re.compile(r"/login\?next="))
    expect(page.locator("#sso-link")).to_be_visible()
    expect(page.locator("#sso-link")).to_have_text("Sign in with SSO")


def at_the_provider(page: Page, sso: SsoUi, email: str) -> None:
    """Click "Sign in with SSO" and fill the provider's form."""
    page.click("#sso-link")
    page.wait_for_url(re.compile(rf"^{re.escape(sso.idp.issuer)}/interaction/"))
    expect(page.locator("#client")).to_have_text(CLIENT_ID)
    page.fill("#login", email)
    page.fill("#password", password(email))
    page.click("#submit")


def me(page: Page, sso: SsoUi) -> dict[str, Any]:
    """GET /api/v1/me with the page's cookies."""
    response = page.context.request.get(f"{sso.url}/api/v1/me")
    assert response.status == 200, response.text()
    body: dict[str, Any] = response.json()
    return body


def dashboard_ready(page: Page) -> None:
    expect(page.locator("main#page")).to_have_attribute("data-state", re.compile("ready|error"))
    state = page.get_attribute("main#page", "data-state")
    assert state == "ready", f"{page.url}: data-state={state}: {page.inner_text('main#page')[:800]}"


@pytest.mark.parametrize(("email", "role"), [("bob@example.com", "developer"), ("alice@example.com", "admin")])
def test_sso_login_lands_on_the_dashboard_with_the_groups_role(
    open_browser: Opened, sso_ui: SsoUi, email: str, role: str
) -> None:
    page = open_browser(allow=(401,))
    to_login_page(page, sso_ui, "/cost?range=7d")
    at_the_provider(page, sso_ui, email)
    page.wait_for_url(re.compile(rf"^{re.escape(sso_ui.url)}/cost\?range=7d$"))
    dashboard_ready(page)
    body = me(page, sso_ui)
    assert (body["name"], body["role"], body["via"], body["person"]) == (email, role, "oidc", email)
    expect(page.locator("#account-name")).to_have_text(email)
    expect(page.locator("#account-role")).to_have_text(role)
    # The session cookie is HttpOnly (no script reads it); the pending-login cookie is gone.
    cookies = {c["name"]: c for c in page.context.cookies(sso_ui.url)}
    assert cookies[COOKIE]["httpOnly"] and cookies[COOKIE]["sameSite"] == "Lax"
    assert "ccmon_oidc" not in cookies
    assert page.evaluate("document.cookie").find(COOKIE) == -1


def test_groups_without_a_role_get_an_error_page_and_no_session(open_browser: Opened, sso_ui: SsoUi) -> None:
    page = open_browser(allow=(401, 403))
    to_login_page(page, sso_ui, "/")
    at_the_provider(page, sso_ui, "carol@example.com")
    page.wait_for_url(re.compile(rf"^{re.escape(sso_ui.url)}/auth/oidc/callback\?"))
    expect(page.locator("#sso-error")).to_contain_text("no ccmon role")
    assert COOKIE not in {c["name"] for c in page.context.cookies(sso_ui.url)}
    page.click("text=Back to the login page")
    page.wait_for_url(re.compile(r"/login"))


def test_a_wrong_state_is_refused(open_browser: Opened, sso_ui: SsoUi) -> None:
    """Login CSRF: the browser, in the middle of its own sign-in, is sent to ccmon's callback with another login's
    code and state (the attacker's, for bob). ccmon refuses it: the state is not this browser's."""
    with httpx.Client(timeout=30) as attacker:
        started = attacker.get(f"{sso_ui.url}/auth/oidc/start")
        forged = idp_login(attacker, started.headers["location"], "bob@example.com")
    page = open_browser(allow=(400, 401))
    to_login_page(page, sso_ui, "/")
    page.click("#sso-link")
    page.wait_for_url(re.compile(rf"^{re.escape(sso_ui.idp.issuer)}/interaction/"))
    response = page.goto(forged)
    assert response is not None and response.status == 400
    expect(page.locator("#sso-error")).to_contain_text("state")
    assert COOKIE not in {c["name"] for c in page.context.cookies(sso_ui.url)}
    assert page.context.request.get(f"{sso_ui.url}/api/v1/me").status == 401


def test_an_expired_session_goes_back_to_the_login_page(open_browser: Opened, sso_ui: SsoUi) -> None:
    page = open_browser(allow=(401,))
    to_login_page(page, sso_ui, "/people")
    at_the_provider(page, sso_ui, "bob@example.com")
    page.wait_for_url(re.compile(r"/people$"))
    dashboard_ready(page)
    cookie = next(c["value"] for c in page.context.cookies(sso_ui.url) if c["name"] == COOKIE)
    # The session reaches its end (session_ttl_hours is hours long: its stored expiry is moved instead).
    sso_ui.store.command(
        """
        INSERT INTO login_sessions
        SELECT id_hash, email, role, person, team, department, via, csrf, created_at,
               now64(6) - INTERVAL 1 SECOND, last_seen, revoked, now64(6) + INTERVAL 1 SECOND
        FROM login_sessions FINAL WHERE id_hash = {id_hash:String}
        """,
        {"id_hash": hash_id(cookie)},
    )
    time.sleep(CACHE_S + 0.5)
    page.reload()
    page.wait_for_url(re.compile(r"/login\?next=%2Fpeople"))
    # Signing in again: the provider still knows the browser, and ccmon opens a new session.
    page.click("#sso-link")
    page.wait_for_url(re.compile(rf"^{re.escape(sso_ui.url)}/people$|/interaction/"))
    if "/interaction/" in page.url:  # the provider's own session ended too
        page.fill("#login", "bob@example.com")
        page.fill("#password", password("bob@example.com"))
        page.click("#submit")
    page.wait_for_url(re.compile(rf"^{re.escape(sso_ui.url)}/people$"))
    dashboard_ready(page)
    assert me(page, sso_ui)["role"] == "developer"
