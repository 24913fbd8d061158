"""OpenID Connect single sign-on over HTTP: ccmon and a real OpenID provider (`oidc_idp/provider.mjs`), driven with
httpx as a browser would (one cookie jar for both sites, redirects followed by hand so every hop is checked).

The ID-token checks that the provider will not help break (another client's audience, forged algorithms, expiry)
are tested on `OidcClient.validate_id_token` with tokens the provider really signed, then altered."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from ccmon.auth.audit import Audit
from ccmon.auth.oidc import (
    InvalidIdToken,
    OidcClient,
    OidcError,
    OidcIdentity,
    OidcSettings,
    PendingLogin,
    ProviderUnavailable,
    safe_next,
)
from ccmon.auth.oidc_login import LoginRefused, OidcLogin
from ccmon.auth.principal import Principal, Role
from ccmon.auth.sessions import CACHE_S, COOKIE, hash_id
from ccmon.auth.users import Users
from ccmon.store.facade import Store
from ccmon.web.oidc_routes import PENDING_COOKIE
from tests.auth.conftest import SsoServer
from tests.auth.oidc_idp import (
    CLIENT_ID,
    CLIENT_SECRET,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    OTHER_REDIRECT,
    OidcIdp,
    idp_login,
)
from tests.support import RunningServer, free_port


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        yield client


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({**query(url), **changes})))


def start(sso: SsoServer, browser: httpx.Client, next_page: str | None = "/cost") -> str:
    """GET /auth/oidc/start: answers the provider's authorization URL it redirects to."""
    params = {"next": next_page} if next_page is not None else {}
    response = browser.get(f"{sso.url}/auth/oidc/start", params=params)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(f"{sso.idp.issuer}/auth?")
    return location


def sign_in(sso: SsoServer, browser: httpx.Client, email: str, next_page: str | None = "/cost") -> httpx.Response:
    """The whole flow: start, the provider's form, and ccmon's callback (answered, not followed)."""
    callback = idp_login(browser, start(sso, browser, next_page), email)
    assert callback.startswith(f"{sso.url}/auth/oidc/callback?")
    return browser.get(callback)


def me(sso: SsoServer, browser: httpx.Client) -> httpx.Response:
    return browser.get(f"{sso.url}/api/v1/me")


def audit(sso: SsoServer, action: str, actor: str | None = None) -> list[dict[str, str]]:
    rows = sso.store.query(
        "SELECT actor, outcome, detail FROM audit_log WHERE action = {action:String} ORDER BY ts",
        {"action": action},
    )
    return [{"actor": a, "outcome": o, "detail": d} for a, o, d in rows if actor is None or a == actor]


def test_sso_login_lands_on_the_page_it_started_from_with_the_groups_role(
    sso_server: SsoServer, browser: httpx.Client
) -> None:
    started = browser.get(f"{sso_server.url}/auth/oidc/start", params={"next": "/cost?range=7d"})
    assert started.status_code == 302
    authorize = started.headers["location"]
    pending = started.headers["set-cookie"].lower()
    assert pending.startswith(f"{PENDING_COOKIE}=")
    assert "httponly" in pending and "samesite=lax" in pending and "path=/auth/oidc" in pending
    assert "max-age=600" in pending
    # PKCE S256, a state and a nonce, the scopes with the groups, our client.
    asked = query(authorize)
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32 and asked["state"] != asked["nonce"]
    assert asked["client_id"] == CLIENT_ID and "groups" in asked["scope"].split()
    assert asked["redirect_uri"] == f"{sso_server.url}/auth/oidc/callback"

    before = len(audit(sso_server, "login.ok", "alice@example.com"))
    response = browser.get(idp_login(browser, authorize, "alice@example.com"))
    assert response.status_code == 302, response.text
    assert response.headers["location"] == "/cost?range=7d"
    set_cookies = response.headers.get_list("set-cookie")
    session = next(h for h in set_cookies if h.startswith(f"{COOKIE}="))
    assert "httponly" in session.lower() and "samesite=lax" in session.lower() and "path=/" in session.lower()
    cleared = next(h for h in set_cookies if h.startswith(f"{PENDING_COOKIE}="))
    assert "max-age=0" in cleared.lower() or "1970" in cleared

    who = me(sso_server, browser)
    assert who.status_code == 200, who.text
    body = who.json()
    assert body["name"] == "alice@example.com" and body["role"] == "admin" and body["via"] == "oidc"
    assert body["person"] == "alice@example.com" and body["csrf_token"]
    assert len(audit(sso_server, "login.ok", "alice@example.com")) == before + 1
    # Her user record: created by the login, from single sign-on, without a password.
    users = browser.get(f"{sso_server.url}/api/v1/users").json()["users"]
    alice = next(u for u in users if u["email"] == "alice@example.com")
    assert alice["source"] == "oidc" and alice["role"] == "admin" and alice["name"] == "Alice"
    stored = sso_server.store.query("SELECT password_hash FROM users FINAL WHERE email = 'alice@example.com'")
    assert stored == [("",)]


@pytest.mark.parametrize(("email", "role"), [("alice@example.com", "admin"), ("bob@example.com", "developer")])
def test_groups_map_to_roles(sso_server: SsoServer, browser: httpx.Client, email: str, role: str) -> None:
    assert sign_in(sso_server, browser, email).status_code == 302
    body = me(sso_server, browser).json()
    assert (body["name"], body["role"], body["person"]) == (email, role, email)
    # What the role may see is the role's scope, not the admin's: a developer is refused the user list.
    users = browser.get(f"{sso_server.url}/api/v1/users")
    assert users.status_code == (200 if role == "admin" else 403)


def test_a_login_whose_groups_give_no_role_is_refused(sso_server: SsoServer, browser: httpx.Client) -> None:
    response = sign_in(sso_server, browser, "carol@example.com")
    assert response.status_code == 403
    assert "no ccmon role" in response.text and "contractors" in response.text
    assert COOKIE not in browser.cookies
    assert me(sso_server, browser).status_code == 401
    assert audit(sso_server, "login.failed", "carol@example.com")[-1]["outcome"] == "denied"


def test_an_unverified_email_is_refused(sso_server: SsoServer, browser: httpx.Client) -> None:
    response = sign_in(sso_server, browser, "dave@example.com")
    assert response.status_code == 403 and "not verified" in response.text
    assert me(sso_server, browser).status_code == 401


def admin_browser(sso: SsoServer) -> tuple[httpx.Client, str]:
    """A client logged in as alice (an admin by her groups), and her CSRF token."""
    client = httpx.Client(timeout=30)
    assert sign_in(sso, client, "alice@example.com").status_code == 302
    return client, me(sso, client).json()["csrf_token"]


def test_the_role_follows_the_groups_at_every_login(sso_server: SsoServer, browser: httpx.Client) -> None:
    assert sign_in(sso_server, browser, "bob@example.com").status_code == 302
    admin, csrf = admin_browser(sso_server)
    try:
        changed = admin.patch(
            f"{sso_server.url}/api/v1/users/bob@example.com", json={"role": "admin"}, headers={"x-csrf-token": csrf}
        )
        assert changed.status_code == 200, changed.text
    finally:
        admin.close()
    # Changing his record ended his session (it carried the old role)...
    deadline = time.monotonic() + CACHE_S + 2
    while me(sso_server, browser).status_code != 401:
        assert time.monotonic() < deadline, "the session outlived the change of its user"
        time.sleep(0.2)
    # ...and at his next login his groups decide again.
    assert sign_in(sso_server, browser, "bob@example.com").status_code == 302
    assert me(sso_server, browser).json()["role"] == "developer"


def test_a_user_an_admin_created_keeps_the_role_given_there(sso_server: SsoServer, browser: httpx.Client) -> None:
    users = Users(sso_server.store)
    users.create("carol@example.com", role=Role.FINANCE, name="Carol C.", password="a long password for carol")
    try:
        # Her groups give no role, but her account does; single sign-on proves the email.
        assert sign_in(sso_server, browser, "carol@example.com").status_code == 302
        assert me(sso_server, browser).json()["role"] == "finance"
        carol = users.get("carol@example.com")
        assert carol is not None and carol.source == "local" and carol.name == "Carol C."
        users.update("carol@example.com", disabled=True)
        browser.cookies.clear()
        response = sign_in(sso_server, browser, "carol@example.com")
        assert response.status_code == 403 and "disabled" in response.text
    finally:
        users.delete("carol@example.com")


def test_a_wrong_state_is_400_and_opens_no_session(sso_server: SsoServer, browser: httpx.Client) -> None:
    callback = idp_login(browser, start(sso_server, browser), "alice@example.com")
    forged = with_query(callback, state=secrets.token_urlsafe(32))
    response = browser.get(forged)
    assert response.status_code == 400 and "state" in response.text
    assert COOKIE not in browser.cookies
    assert me(sso_server, browser).status_code == 401
    # The pending login was used up: the genuine answer cannot be played after the forged one.
    assert browser.get(callback).status_code == 400
    assert me(sso_server, browser).status_code == 401
    assert any("state" in entry["detail"] for entry in audit(sso_server, "login.failed")[-2:])


def test_a_callback_without_a_started_login_is_400(sso_server: SsoServer, browser: httpx.Client) -> None:
    response = browser.get(f"{sso_server.url}/auth/oidc/callback", params={"code": "abc", "state": "def"})
    assert response.status_code == 400 and "start again" in response.text
    assert me(sso_server, browser).status_code == 401


def test_a_login_started_in_another_browser_cannot_be_finished_here(sso_server: SsoServer) -> None:
    """The attacker's callback URL (their code, their state) opened in the victim's browser: login CSRF."""
    with httpx.Client(timeout=30) as attacker, httpx.Client(timeout=30) as victim:
        callback = idp_login(attacker, start(sso_server, attacker), "bob@example.com")
        start(sso_server, victim)  # the victim has a pending login of their own
        assert victim.get(callback).status_code == 400
        assert me(sso_server, victim).status_code == 401


def test_a_replayed_code_is_refused(sso_server: SsoServer, browser: httpx.Client) -> None:
    callback = idp_login(browser, start(sso_server, browser), "bob@example.com")
    pending = browser.cookies.get(PENDING_COOKIE, path="/auth/oidc")
    assert pending
    assert browser.get(callback).status_code == 302
    with httpx.Client(timeout=30) as thief:
        thief.cookies.set(PENDING_COOKIE, pending, domain="127.0.0.1", path="/auth/oidc")
        response = thief.get(callback)
        assert response.status_code == 400 and "invalid_grant" in response.text
        assert COOKIE not in thief.cookies and me(sso_server, thief).status_code == 401


def test_an_expired_code_is_refused(sso_server: SsoServer, browser: httpx.Client) -> None:
    """erin's codes live one second at the provider."""
    callback = idp_login(browser, start(sso_server, browser), "erin@example.com")
    time.sleep(2.5)
    response = browser.get(callback)
    assert response.status_code == 400 and "invalid_grant" in response.text
    assert me(sso_server, browser).status_code == 401


def test_an_id_token_with_another_nonce_is_refused(sso_server: SsoServer, browser: httpx.Client) -> None:
    """The authorization request altered on its way to the provider: the ID token carries a nonce that is not the
    one ccmon keeps for this login (state and PKCE are intact, so only the nonce check can catch it)."""
    authorize = with_query(start(sso_server, browser), nonce=secrets.token_urlsafe(32))
    response = browser.get(idp_login(browser, authorize, "alice@example.com"))
    assert response.status_code == 401 and "nonce" in response.text
    assert me(sso_server, browser).status_code == 401


def test_a_tampered_pkce_challenge_fails_at_the_token_endpoint(sso_server: SsoServer, browser: httpx.Client) -> None:
    other = base64.urlsafe_b64encode(hashlib.sha256(b"not our verifier").digest()).rstrip(b"=").decode()
    authorize = with_query(start(sso_server, browser), code_challenge=other)
    response = browser.get(idp_login(browser, authorize, "alice@example.com"))
    assert response.status_code == 400 and "invalid_grant" in response.text
    assert me(sso_server, browser).status_code == 401


def test_a_cancelled_login_says_so(sso_server: SsoServer, browser: httpx.Client) -> None:
    form = browser.get(start(sso_server, browser))
    assert form.status_code == 303
    page = browser.get(f"{sso_server.idp.issuer}{form.headers['location']}")
    response = browser.post(f"{str(page.url).rstrip('/')}/abort")
    while response.is_redirect and urlsplit(response.headers["location"]).netloc != urlsplit(sso_server.url).netloc:
        response = browser.get(httpx.URL(str(response.url)).join(response.headers["location"]))
    assert response.is_redirect
    answer = browser.get(response.headers["location"])
    assert answer.status_code == 400 and "access_denied" in answer.text


@pytest.mark.parametrize(
    "next_page", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", None, ""]
)
def test_the_landing_page_is_a_path_of_this_site_only(
    sso_server: SsoServer, browser: httpx.Client, next_page: str | None
) -> None:
    response = sign_in(sso_server, browser, "bob@example.com", next_page)
    assert response.status_code == 302 and response.headers["location"] == "/"


def test_an_expired_session_is_401(sso_server: SsoServer, browser: httpx.Client) -> None:
    assert sign_in(sso_server, browser, "bob@example.com").status_code == 302
    assert me(sso_server, browser).status_code == 200
    cookie = browser.cookies[COOKIE]
    # Its end comes (session_ttl_hours is hours long: the stored expiry is moved instead of waiting).
    sso_server.store.command(
        """
        INSERT INTO login_sessions
        SELECT id_hash, email, role, person, team, department, via, csrf, created_at,
               now64(6) - INTERVAL 1 SECOND, last_seen, revoked, now64(6) + INTERVAL 1 SECOND
        FROM login_sessions FINAL WHERE id_hash = {id_hash:String}
        """,
        {"id_hash": hash_id(cookie)},
    )
    time.sleep(CACHE_S + 0.5)  # the server's short cache of sessions
    response = me(sso_server, browser)
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    # A new sign-in works again.
    assert sign_in(sso_server, browser, "bob@example.com").status_code == 302
    assert me(sso_server, browser).status_code == 200


@pytest.mark.parametrize(
    "cookie",
    ["garbage", "x" * 5000, "eyJ9.AAAA", PendingLogin("s", "n", "v", "/", "http://x", 0).seal(b"another key")],
)
def test_hostile_pending_cookies_are_400(sso_server: SsoServer, cookie: str) -> None:
    with httpx.Client(timeout=30) as client:
        client.cookies.set(PENDING_COOKIE, cookie, domain="127.0.0.1", path="/auth/oidc")
        response = client.get(f"{sso_server.url}/auth/oidc/callback", params={"code": "c" * 10000, "state": "s"})
        assert response.status_code == 400


def test_sso_status_and_unconfigured_routes(sso_server: SsoServer, server: RunningServer) -> None:
    enabled = httpx.get(f"{sso_server.url}/auth/oidc/enabled").json()
    assert enabled == {"enabled": True, "start": "/auth/oidc/start"}
    assert httpx.get(f"{server.api_url}/auth/oidc/enabled").json()["enabled"] is False
    assert httpx.get(f"{server.api_url}/auth/oidc/start").status_code == 404


# -- the ID token, checked without ccmon's routes -------------------------------------------------------------------


def _client(idp: OidcIdp, client_id: str = CLIENT_ID, clock: Any = time.time) -> OidcClient:
    return OidcClient(OidcSettings(idp.issuer, client_id, "unused"), clock=clock)


def _other_app_id_token(idp: OidcIdp, nonce: str) -> str:
    """An ID token the provider issues to the other relying party (ES256, its audience) for bob."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": OTHER_CLIENT_ID,
        "redirect_uri": OTHER_REDIRECT,
        "scope": "openid email groups",
        "state": "s" * 20,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with httpx.Client(timeout=30) as client:
        callback = idp_login(client, f"{idp.issuer}/auth?{urlencode(params)}", "bob@example.com")
        tokens = client.post(
            f"{idp.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": query(callback)["code"],
                "redirect_uri": OTHER_REDIRECT,
                "code_verifier": verifier,
            },
            auth=(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET),
        )
    assert tokens.status_code == 200, tokens.text
    token: str = tokens.json()["id_token"]
    return token


@pytest.fixture(scope="module")
def other_token(oidc_idp: OidcIdp) -> tuple[str, str]:
    nonce = secrets.token_urlsafe(16)
    return _other_app_id_token(oidc_idp, nonce), nonce


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload)), signature


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _encode(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"


def test_an_id_token_for_another_client_is_refused(oidc_idp: OidcIdp, other_token: tuple[str, str]) -> None:
    token, nonce = other_token
    header, claims, _ = _parts(token)
    assert header["alg"] == "ES256" and claims["aud"] == OTHER_CLIENT_ID
    # Valid for its own client (the ES256 path works)...
    with _client(oidc_idp, OTHER_CLIENT_ID) as other:
        assert other.validate_id_token(token, nonce)["sub"] == "bob@example.com"
    # ...and not for ccmon.
    with _client(oidc_idp) as ccmon, pytest.raises(InvalidIdToken, match="another client"):
        ccmon.validate_id_token(token, nonce)


def test_id_token_expiry_and_nonce(oidc_idp: OidcIdp, other_token: tuple[str, str]) -> None:
    token, nonce = other_token
    exp = _parts(token)[1]["exp"]
    with _client(oidc_idp, OTHER_CLIENT_ID, clock=lambda: exp + 30) as late:
        assert late.validate_id_token(token, nonce)  # within the leeway
    with (
        _client(oidc_idp, OTHER_CLIENT_ID, clock=lambda: exp + 3600) as later,
        pytest.raises(InvalidIdToken, match="expired"),
    ):
        later.validate_id_token(token, nonce)
    with _client(oidc_idp, OTHER_CLIENT_ID) as client, pytest.raises(InvalidIdToken, match="nonce"):
        client.validate_id_token(token, "another nonce")


def test_forged_id_tokens_are_refused(
    oidc_idp: OidcIdp, other_token: tuple[str, str], request: pytest.FixtureRequest
) -> None:
    token, nonce = other_token
    header, claims, signature = _parts(token)
    client = _client(oidc_idp, OTHER_CLIENT_ID)
    client.discovery()
    request.addfinalizer(client.close)
    jwks = httpx.get(f"{oidc_idp.issuer}/jwks").json()
    public = json.dumps(next(k for k in jwks["keys"] if k["kid"] == header["kid"])).encode()
    unsigned = _encode({**header, "alg": "none"}, claims) + "."
    # HS256 keyed with the provider's public key (the classic algorithm confusion).
    hs_input = _encode({**header, "alg": "HS256"}, claims)
    hs256 = f"{hs_input}.{_b64(hmac.new(public, hs_input.encode(), hashlib.sha256).digest())}"
    # RS256 announced over the EC key's signature.
    rs256 = f"{_encode({**header, 'alg': 'RS256'}, claims)}.{signature}"
    # A claim changed under the provider's signature.
    altered = f"{_encode(header, {**claims, 'sub': 'alice@example.com'})}.{signature}"
    unknown_key = f"{_encode({**header, 'kid': 'not-published'}, claims)}.{signature}"
    for forged, why in [
        (unsigned, "'none'"),
        (hs256, "'HS256'"),
        (rs256, "does not fit"),
        (altered, "invalid"),
        (unknown_key, "does not publish"),
        ("not a jwt", "not a JWT"),
    ]:
        with pytest.raises(InvalidIdToken, match=why):
            client.validate_id_token(forged, nonce)


def test_discovery_must_name_the_configured_issuer(oidc_idp: OidcIdp) -> None:
    # The same provider reached by another name announces its own issuer: refused.
    localhost = oidc_idp.issuer.replace("127.0.0.1", "localhost")
    with (
        OidcClient(OidcSettings(localhost, CLIENT_ID, CLIENT_SECRET)) as client,
        pytest.raises(ProviderUnavailable, match="names issuer"),
    ):
        client.discovery()


def test_an_unreachable_provider_is_a_502() -> None:
    with (
        OidcClient(OidcSettings(f"http://127.0.0.1:{free_port()}", CLIENT_ID, CLIENT_SECRET)) as client,
        pytest.raises(ProviderUnavailable) as raised,
    ):
        client.begin("http://127.0.0.1/auth/oidc/callback", "/")
    assert raised.value.status == 502


def test_pending_logins_are_sealed_and_short_lived() -> None:
    key = secrets.token_bytes(32)
    pending = PendingLogin("state", "nonce", "verifier", "/cost", "http://127.0.0.1/cb", 1_000_000)
    sealed = pending.seal(key)
    assert PendingLogin.unseal(sealed, key, 1_000_000 + 599) == pending
    with pytest.raises(OidcError, match="too long"):
        PendingLogin.unseal(sealed, key, 1_000_000 + 601)
    payload, _, mac = sealed.partition(".")
    changed = _b64(json.dumps({**json.loads(_unb64(payload)), "next": "//evil.example"}).encode())
    with pytest.raises(OidcError, match="start again"):
        PendingLogin.unseal(f"{changed}.{mac}", key, 1_000_000)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("/cost?range=7d#x", "/cost?range=7d#x"),
        ("/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/ok\\..", "/"),
        ("https://evil.example", "/"),
        ("/line\nbreak", "/"),
        ("/" + "a" * 3000, "/"),
        (None, "/"),
    ],
)
def test_safe_next(page: str | None, expected: str) -> None:
    assert safe_next(page) == expected


def test_an_admin_made_user_is_taken_over_only_with_a_verified_email(store: Store) -> None:
    """A provider that sends no `email_verified` (some let users edit their email) does not get a local user's role;
    a user single sign-on itself created is still signed in."""
    with OidcClient(OidcSettings("https://idp.invalid", CLIENT_ID, "unused")) as client:
        silent = client.identity({"sub": "x", "email": "Carol@Example.com"})
        vouched = client.identity({"sub": "x", "email": "carol@example.com", "email_verified": True})
        assert (silent.email, silent.verified, vouched.verified) == ("carol@example.com", False, True)
        users = Users(store)
        users.create("carol@example.com", role=Role.ADMIN, password="a long password for carol")
        login = OidcLogin(
            client,
            users=users,
            audit=Audit(store),
            for_login=lambda email, role, **kw: Principal(email, role, email, via="oidc"),
            role_map=(),
            default_role=Role.VIEWER,
            cookie_key=b"k" * 32,
        )
        with pytest.raises(LoginRefused, match="verified"):
            login._principal(silent)
        assert login._principal(vouched).role is Role.ADMIN
        assert login._principal(OidcIdentity("y", "new@example.com", "", ())).role is Role.VIEWER


def test_a_new_sso_login_ends_the_browsers_previous_session(sso_server: SsoServer, browser: httpx.Client) -> None:
    assert sign_in(sso_server, browser, "alice@example.com").status_code == 302
    first = browser.cookies.get(COOKIE)
    assert sign_in(sso_server, browser, "alice@example.com").status_code == 302
    second = browser.cookies.get(COOKIE)
    assert first and second and first != second
    assert me(sso_server, browser).status_code == 200
    with httpx.Client(cookies={COOKIE: first}) as old:
        assert old.get(f"{sso_server.url}/api/v1/me").status_code == 401
