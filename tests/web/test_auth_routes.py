"""Logging in over real HTTP: cookie flags, CSRF, brute-force slowing, trusted headers, API keys, the admin API, the
audit log and hostile input. Each test runs `ccmon serve` in this process on loopback, on a store prepared first."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ccmon.auth.api_keys import ApiKeys
from ccmon.auth.audit import Audit
from ccmon.auth.principal import Role
from ccmon.auth.users import Users
from ccmon.store.facade import Store
from tests.support import RunningServer, in_process_server, make_config

PASSWORD = "correct horse battery staple"
ADMIN = "admin@example.com"
SQL = "x'or'1'='1--@example.com"
DROP = "x'); DROP TABLE users; --@example.com"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def serve(chdb_path: Path, database: str, store: Store) -> Iterator[Any]:
    """Start a server on the test's (already migrated) store with these settings."""
    opened: list[Any] = []

    def start(**overrides: Any) -> RunningServer:
        context = in_process_server(make_config(chdb_path, database=database, **overrides))
        opened.append(context)
        return context.__enter__()

    yield start
    for context in reversed(opened):
        context.__exit__(None, None, None)


@pytest.fixture
def admin_server(store: Store, serve: Any) -> RunningServer:
    Users(store).create(ADMIN, role=Role.ADMIN, name="Admin", password=PASSWORD)
    Users(store).create("viewer@example.com", role=Role.VIEWER, password=PASSWORD)
    server: RunningServer = serve()
    return server


_CLIENTS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def login(server: RunningServer, email: str = ADMIN, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    """A browser-like client logged in by the session cookie, and its CSRF token."""
    client = httpx.Client(base_url=server.api_url, timeout=30)
    _CLIENTS.append(client)
    response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return client, response.json()["csrf_token"]


def test_loopback_without_logins_needs_none(serve: Any) -> None:
    server = serve()
    me = httpx.get(f"{server.api_url}/api/v1/me").json()
    assert me == {
        "name": "local",
        "role": "admin",
        "person": "",
        "team": "",
        "department": "",
        "via": "loopback",
        "csrf_token": None,
        "auth_required": False,
    }


def test_login_sets_a_safe_cookie_and_me_tells_who(admin_server: RunningServer) -> None:
    base = admin_server.api_url
    refused = httpx.get(f"{base}/api/v1/summary")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    for public in ("/healthz", "/readyz", "/login", "/static/js/login.js", "/static/app.css"):
        assert httpx.get(base + public).status_code == 200, public
    assert "content-security-policy" in httpx.get(f"{base}/login").headers
    response = httpx.post(f"{base}/auth/login", json={"email": "ADMIN@example.com", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert cookie.startswith("ccmon_session=")
    assert "httponly" in flags and flags["samesite"].lower() == "samesite=lax" and flags["path"] == "Path=/"
    assert flags["max-age"] == "Max-Age=43200" and "secure" not in flags  # plain HTTP here
    client, csrf = login(admin_server)
    me = client.get("/api/v1/me").json()
    assert me["name"] == ADMIN and me["role"] == "admin" and me["via"] == "session" and me["person"] == ADMIN
    assert me["csrf_token"] == csrf and me["auth_required"] is True
    assert client.get("/api/v1/summary").status_code == 200


def test_state_changes_with_the_cookie_need_the_csrf_token(admin_server: RunningServer) -> None:
    client, csrf = login(admin_server)
    body = {"email": "new@example.com", "role": "viewer", "password": PASSWORD}
    assert client.post("/api/v1/users", json=body).status_code == 403
    assert client.post("/api/v1/users", json=body, headers={"x-csrf-token": "wrong"}).status_code == 403
    evil = {"x-csrf-token": csrf, "origin": "https://evil.example"}
    assert client.post("/api/v1/users", json=body, headers=evil).status_code == 403
    assert client.post("/api/v1/users", json=body, headers={"x-csrf-token": csrf}).status_code == 201
    assert client.delete("/api/v1/users/new@example.com").status_code == 403
    assert client.post("/auth/logout").status_code == 403
    assert client.post("/auth/logout", headers={"x-csrf-token": csrf}).status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_brute_force_is_slowed(admin_server: RunningServer) -> None:
    url = f"{admin_server.api_url}/auth/login"
    for _ in range(5):
        assert httpx.post(url, json={"email": ADMIN, "password": "wrong password!"}).status_code == 401
    throttled = httpx.post(url, json={"email": ADMIN, "password": PASSWORD})
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    # Another login from the same address is slowed too.
    assert httpx.post(url, json={"email": "viewer@example.com", "password": PASSWORD}).status_code == 429


def test_admin_api_and_audit(admin_server: RunningServer) -> None:
    httpx.post(f"{admin_server.api_url}/auth/login", json={"email": ADMIN, "password": "wrong password!"})
    client, csrf = login(admin_server)
    headers = {"x-csrf-token": csrf}
    created = client.post(
        "/api/v1/users",
        json={"email": "Lead@Example.com", "name": XSS, "role": "team_lead", "team": "payments", "password": PASSWORD},
        headers=headers,
    )
    assert created.status_code == 201 and created.json()["email"] == "lead@example.com"
    assert "password" not in created.text and "argon2" not in client.get("/api/v1/users").text
    changed = client.patch("/api/v1/users/lead@example.com", json={"role": "manager"}, headers=headers)
    assert changed.json()["role"] == "manager"
    assert client.patch("/api/v1/users/nobody@example.com", json={"role": "admin"}, headers=headers).status_code == 404
    assert client.patch("/api/v1/users/lead@example.com", json={"role": "root"}, headers=headers).status_code == 422
    key = client.post("/api/v1/api-keys", json={"name": "ci", "role": "finance"}, headers=headers).json()
    assert key["key"].startswith("ccmk_") and key["key"] not in client.get("/api/v1/api-keys").text
    assert client.delete(f"/api/v1/api-keys/{key['id']}", headers=headers).json()["revoked"] is True
    assert client.delete("/api/v1/users/lead@example.com", headers=headers).status_code == 200
    page = client.get("/api/v1/audit", params={"limit": 3}).json()
    assert [e["action"] for e in page["entries"]] == ["user.delete", "apikey.revoke", "apikey.create"]
    rest = client.get("/api/v1/audit", params={"before": page["next_cursor"], "limit": 100}).json()
    actions = [e["action"] for e in rest["entries"]]
    assert actions == ["user.update", "user.create", "login.ok", "login.failed"] and rest["next_cursor"] is None
    failed = rest["entries"][-1]
    assert (failed["actor"], failed["outcome"], failed["address"]) == (ADMIN, "denied", "127.0.0.1")
    everything = str(page) + str(rest)
    assert PASSWORD not in everything and key["key"] not in everything and "wrong password" not in everything
    assert client.get("/api/v1/audit", params={"before": "forged"}).status_code == 422

    viewer, viewer_csrf = login(admin_server, "viewer@example.com")
    for path in ("/api/v1/users", "/api/v1/api-keys", "/api/v1/audit"):
        assert viewer.get(path).status_code == 403, path
    assert viewer.get("/api/v1/me").json()["role"] == "viewer"
    denied = viewer.post("/api/v1/api-keys", json={"name": "x", "role": "admin"}, headers={"x-csrf-token": viewer_csrf})
    assert denied.status_code == 403


def test_a_changed_user_loses_their_sessions(admin_server: RunningServer) -> None:
    admin, csrf = login(admin_server)
    viewer, _ = login(admin_server, "viewer@example.com")
    assert viewer.get("/api/v1/me").status_code == 200
    admin.patch("/api/v1/users/viewer@example.com", json={"disabled": True}, headers={"x-csrf-token": csrf})
    assert viewer.get("/api/v1/me").status_code == 401
    denied = httpx.post(
        f"{admin_server.api_url}/auth/login", json={"email": "viewer@example.com", "password": PASSWORD}
    )
    assert denied.status_code == 401


def test_api_keys_carry_their_role_and_scope(store: Store, serve: Any) -> None:
    keys = ApiKeys(store)
    _, developer = keys.create("dev bot", role=Role.DEVELOPER, person="dev@example.com")
    revoked, revoked_key = keys.create("old", role=Role.ADMIN)
    keys.revoke(revoked.id)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    _, expired = ApiKeys(store, clock=lambda: past).create(
        "temp", role=Role.ADMIN, expires_at=past + dt.timedelta(hours=1)
    )
    server = serve(api_tokens=("static-admin-token",))
    base = server.api_url

    def get(path: str, key: str) -> httpx.Response:
        return httpx.get(base + path, headers={"authorization": f"Bearer {key}"})

    me = get("/api/v1/me", developer).json()
    assert (me["role"], me["person"], me["via"], me["csrf_token"]) == ("developer", "dev@example.com", "api_key", None)
    assert get("/api/v1/users", developer).status_code == 403
    assert get("/api/v1/me", "static-admin-token").json()["role"] == "admin"
    for bad in (revoked_key, expired, "ccmk_" + "A" * 43, "not-a-token"):
        response = get("/api/v1/me", bad)
        assert response.status_code == 401 and "www-authenticate" in response.headers
    # A bearer key needs no CSRF token: it is not sent by browsers on their own.
    created = httpx.post(
        f"{base}/api/v1/api-keys",
        json={"name": "made by token", "role": "viewer"},
        headers={"authorization": "Bearer static-admin-token"},
    )
    assert created.status_code == 201


@pytest.mark.parametrize("trusted", [True, False])
def test_trusted_header_only_from_a_trusted_proxy(serve: Any, trusted: bool) -> None:
    server = serve(
        trusted_proxies=("127.0.0.1/32",) if trusted else ("10.0.0.0/8",),
        role_map=(),
        default_role="viewer",
    )
    headers = {"x-forwarded-email": "Proxy.User@example.com", "x-forwarded-groups": "eng, ccmon-admins"}
    response = httpx.get(f"{server.api_url}/api/v1/me", headers=headers)
    if trusted:
        assert response.status_code == 200
        me = response.json()
        assert (me["name"], me["role"], me["via"], me["person"]) == (
            "proxy.user@example.com",
            "viewer",
            "header",
            "proxy.user@example.com",
        )
    else:
        assert response.status_code == 401  # ignored: the request is not from 10.0.0.0/8


def test_trusted_header_groups_map_to_roles(serve: Any) -> None:
    from ccmon.auth.groups import RoleRule

    server = serve(
        trusted_proxies=("127.0.0.1/32",),
        role_map=(RoleRule.parse("ccmon-admins=admin"), RoleRule.parse("finance=finance")),
        default_role="none",
    )

    def me(groups: str) -> httpx.Response:
        headers = {"x-forwarded-email": "p@example.com", "x-forwarded-groups": groups}
        return httpx.get(f"{server.api_url}/api/v1/me", headers=headers)

    assert me("eng,ccmon-admins").json()["role"] == "admin"
    assert me("finance").json()["role"] == "finance"
    assert me("eng").status_code == 403  # default_role none
    forged = httpx.get(f"{server.api_url}/api/v1/me", headers={"x-forwarded-email": "<script>"})
    assert forged.status_code == 403


def test_hostile_login_input_gets_4xx(admin_server: RunningServer) -> None:
    url = f"{admin_server.api_url}/auth/login"
    json_type = {"content-type": "application/json"}
    assert httpx.post(url, content=b"{" * (2 * 1024 * 1024), headers=json_type).status_code == 413
    assert httpx.post(url, content=b"[" * 10000, headers=json_type).status_code == 400
    assert httpx.post(url, content=b"email=a", headers={"content-type": "text/plain"}).status_code == 415
    assert httpx.post(url, json=["a", "b"]).status_code == 422
    assert httpx.post(url, json={"email": 1, "password": None}).status_code == 422
    for email in (SQL, DROP, XSS, "x" * 10_000):
        assert httpx.post(url, json={"email": email, "password": "whatever password"}).status_code in {401, 429}


def test_hostile_admin_input_gets_4xx_and_is_stored_inert(store: Store, admin_server: RunningServer) -> None:
    client, csrf = login(admin_server)
    headers = {"x-csrf-token": csrf}
    big = client.post(
        "/api/v1/users", content=b"x" * (1024 * 1024), headers={**headers, "content-type": "application/json"}
    )
    assert big.status_code == 413
    for email in (XSS, DROP, "a@b@c", "x" * 400 + "@example.com"):
        body = {"email": email, "role": "viewer", "password": PASSWORD}
        assert client.post("/api/v1/users", json=body, headers=headers).status_code in {400, 422}, email
    odd = {"email": SQL, "name": XSS, "team": "'; DROP TABLE users; --", "role": "viewer", "password": PASSWORD}
    assert client.post("/api/v1/users", json=odd, headers=headers).status_code == 201
    assert client.post("/api/v1/users", json={**odd, "extra": 1}, headers=headers).status_code == 422
    listed = {u["email"]: u for u in client.get("/api/v1/users").json()["users"]}
    assert listed[SQL.lower()]["name"] == XSS and len(listed) == 3
    assert Users(store).get(SQL) is not None
    assert any(e.target == SQL.lower() for e in Audit(store).entries().entries)


def test_form_login_redirects_only_within_the_site(admin_server: RunningServer) -> None:
    url = f"{admin_server.api_url}/auth/login"
    ok = httpx.post(url, data={"email": ADMIN, "password": PASSWORD, "next": "/cost?range=7d"})
    assert ok.status_code == 303 and ok.headers["location"] == "/cost?range=7d" and "set-cookie" in ok.headers
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        moved = httpx.post(url, data={"email": ADMIN, "password": PASSWORD, "next": hostile})
        assert moved.headers["location"] == "/", hostile
    wrong = httpx.post(url, data={"email": ADMIN, "password": "wrong password!"})
    assert wrong.status_code == 303 and wrong.headers["location"] == "/login?failed=1"
    cross = httpx.post(url, data={"email": ADMIN, "password": PASSWORD}, headers={"origin": "https://evil.example"})
    assert cross.status_code == 403


def _certificate(folder: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def test_the_cookie_is_secure_over_tls(store: Store, serve: Any, tmp_path: Path) -> None:
    Users(store).create(ADMIN, role=Role.ADMIN, password=PASSWORD)
    cert, key = _certificate(tmp_path)
    server = serve(tls_cert_file=cert, tls_key_file=key)
    response = httpx.post(
        f"https://127.0.0.1:{server.config.port}/auth/login",
        json={"email": ADMIN, "password": PASSWORD},
        verify=ssl.create_default_context(cafile=cert),
    )
    assert response.status_code == 200
    flags = [part.strip().lower() for part in response.headers["set-cookie"].split(";")]
    assert "secure" in flags and "httponly" in flags


def test_a_new_login_ends_the_browsers_previous_session(admin_server: RunningServer) -> None:
    client, _ = login(admin_server)
    old = client.cookies["ccmon_session"]
    again = client.post("/auth/login", json={"email": "viewer@example.com", "password": PASSWORD})
    assert again.status_code == 200 and client.cookies["ccmon_session"] != old
    stale = httpx.get(f"{admin_server.api_url}/api/v1/me", cookies={"ccmon_session": old})
    assert stale.status_code == 401
    assert client.get("/api/v1/me").json()["name"] == "viewer@example.com"


def test_metrics_are_never_more_open_than_the_api(store: Store, serve: Any) -> None:
    """With logins configured (here an API key) and no static tokens, `/metrics` asks for a credential too."""
    _, key = ApiKeys(store).create("prometheus", role=Role.VIEWER)
    server = serve()
    assert httpx.get(f"{server.api_url}/metrics").status_code == 401
    scraped = httpx.get(f"{server.api_url}/metrics", headers={"authorization": f"Bearer {key}"})
    assert scraped.status_code == 200 and "ccmon_otlp_requests_total" in scraped.text


def test_the_loopback_admin_answers_this_machine_only(serve: Any) -> None:
    """No login on loopback, but not for a page elsewhere: a DNS-rebound name (Host) reads nothing, and another
    site's page (Origin) changes nothing; a command-line client (no Origin) still can."""
    server = serve()
    base = server.api_url
    rebound = httpx.get(f"{base}/api/v1/summary", headers={"host": "attacker.example:3000"})
    assert rebound.status_code == 403
    user = {"email": "mallory@example.com", "role": "admin", "password": "a long password!"}
    forged = httpx.post(f"{base}/api/v1/users", json=user, headers={"origin": "https://attacker.example"})
    assert forged.status_code == 403
    assert httpx.post(f"{base}/api/v1/users", json=user, headers={"origin": "http://["}).status_code == 403
    assert httpx.get(f"{base}/api/v1/users").json()["users"] == []
    created = httpx.post(f"{base}/api/v1/users", json=user)
    assert created.status_code == 201, created.text


def test_a_disabled_users_api_keys_stop_working(store: Store, serve: Any) -> None:
    Users(store).create("dev@example.com", role=Role.DEVELOPER, password=PASSWORD)
    _, key = ApiKeys(store).create("dev script", role=Role.DEVELOPER, person="dev@example.com")
    server = serve()

    def status() -> int:
        return httpx.get(f"{server.api_url}/api/v1/me", headers={"authorization": f"Bearer {key}"}).status_code

    assert status() == 200
    Users(store).update("dev@example.com", disabled=True)
    assert status() == 401
