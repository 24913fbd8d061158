"""`/api/v1/ingest-tokens`: admins only, secrets shown once, every change audited, hostile input inert or 4xx."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, HTTPException, Request

from ccmon.auth.audit import Audit
from ccmon.auth.principal import Principal, Role
from ccmon.ingest.tokens import IngestTokens
from ccmon.store.facade import Store
from ccmon.web.token_routes import token_routes
from tests.support import free_port

HOSTILE = "<img src=x onerror=alert(1)>'; DROP TABLE ingest_tokens; --"
BASE = "/api/v1/ingest-tokens"


def _caller(request: Request) -> Principal:
    """The role named by a test header: this router's own concern is `is_admin`, not how callers log in."""
    role = request.headers.get("x-test-role")
    if role is None:
        raise HTTPException(401, "authentication required")
    return Principal(f"{role}@example.com", Role.parse(role), via="api_key")


@pytest.fixture
def api(store: Store) -> Iterator[httpx.Client]:
    """The router alone, served by uvicorn on a free port, over the real store and audit log."""
    app = FastAPI()
    app.include_router(token_routes(IngestTokens(store), _caller, Audit(store)), prefix="/api/v1")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test API did not start"
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"x-test-role": "admin"}, timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.mark.parametrize("role", [r.value for r in Role if r is not Role.ADMIN])
def test_only_admins_manage_tokens(api: httpx.Client, store: Store, role: str) -> None:
    made = api.post(BASE, json={"name": "fleet"}).json()
    headers = {"x-test-role": role}
    assert api.get(BASE, headers=headers).status_code == 403
    assert api.post(BASE, json={"name": "mine"}, headers=headers).status_code == 403
    assert api.post(f"{BASE}/{made['id']}/rotate", headers=headers).status_code == 403
    assert api.delete(f"{BASE}/{made['id']}", headers=headers).status_code == 403
    tokens = api.get(BASE).json()["tokens"]
    assert [(t["name"], t["revoked"]) for t in tokens] == [("fleet", False)]


def test_unauthenticated_callers_get_401(api: httpx.Client) -> None:
    del api.headers["x-test-role"]
    assert api.get(BASE).status_code == 401
    assert api.post(BASE, json={"name": "x"}).status_code == 401


def test_create_list_rotate_revoke_with_audit(api: httpx.Client, store: Store) -> None:
    created = api.post(
        BASE,
        json={
            "name": "laptop-fleet",
            "organization": "acme",
            "team": "platform",
            "department": "eng",
            "cost_center": "ENG-1",
            "rate_limit_per_s": 500,
            "expires_at": "2099-01-01T00:00:00Z",
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("ccmi_")
    assert body["expires_at"] == "2099-01-01T00:00:00Z"
    assert body["created_by"] == "admin@example.com"
    listed = api.get(BASE).json()["tokens"]
    assert len(listed) == 1 and "token" not in listed[0] and "token_hash" not in listed[0]
    assert {k: listed[0][k] for k in ("team", "department", "cost_center", "organization", "rate_limit_per_s")} == {
        "team": "platform",
        "department": "eng",
        "cost_center": "ENG-1",
        "organization": "acme",
        "rate_limit_per_s": 500,
    }
    rotated = api.post(f"{BASE}/{body['id']}/rotate").json()
    assert rotated["id"] == body["id"] and rotated["token"] != body["token"]
    revoked = api.delete(f"{BASE}/{body['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True and "token" not in revoked.json()
    assert api.post(f"{BASE}/{body['id']}/rotate").status_code == 409
    entries = Audit(store).entries().entries
    assert [e.action for e in entries] == ["token.revoke", "token.rotate", "token.create"]
    assert all(e.actor == "admin@example.com" and body["id"] in e.target for e in entries)
    audit_text = repr(store.query("SELECT * FROM audit_log"))
    assert body["token"] not in audit_text and rotated["token"] not in audit_text
    assert "team=platform" in entries[-1].detail


def test_unknown_and_hostile_ids(api: httpx.Client) -> None:
    assert api.post(f"{BASE}/0123456789abcdef/rotate").status_code == 404
    assert api.delete(f"{BASE}/0123456789abcdef").status_code == 404
    for hostile in ("x' OR 1=1 --", "%00", "a" * 65, "{id:String}"):
        assert api.delete(f"{BASE}/{hostile}").status_code in {404, 422}, hostile


def test_hostile_names_come_back_verbatim(api: httpx.Client) -> None:
    made = api.post(BASE, json={"name": HOSTILE, "team": HOSTILE, "department": "{department:String}"})
    assert made.status_code == 201
    token = api.get(BASE).json()["tokens"][0]
    assert (token["name"], token["team"], token["department"]) == (HOSTILE, HOSTILE, "{department:String}")
