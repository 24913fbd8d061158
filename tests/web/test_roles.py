"""Every route of the OpenAPI document x every role: each caller gets exactly its scope.

The routes are read from `app.openapi()`, so a route added later is covered without touching this file. For each
route the requests are generated from its declared parameters: the time range of the data, `format=csv` where it
takes one, path parameters from the data (every person's session), a person filter naming someone else, and the
variants that ask for per-person answers. Then, searching each response's raw text:

- nobody receives a row marker (email, session id, repository) of a person outside their scope, nor the name of a
  team or department outside it;
- the viewer gets 403 from every per-person answer and no per-person marker anywhere;
- finance and the viewer never receive a content marker (prompt, response, tool parameters and input, error messages,
  API bodies, span prompts), as JSON or CSV;
- each role does see its whole scope somewhere (so the checks above cannot pass by everything being empty), and the
  admin sees every marker;
- a route tagged `admin` (`ADMIN_TAG`: `tags=["admin"]` on the route or its router) answers 403 to everyone else.

Hostile filter values (SQL injection, XSS) are inert: 200/403/422, never a 5xx, never echoed into HTML.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import Client

from ccmon.analytics import DIMENSIONS
from ccmon.auth.principal import Role
from tests.web import roles_data as org
from tests.web.roles_data import AS_OF, PEOPLE, PRINCIPALS, RANGE, ROLE_HEADER, XSS, in_scope

ADMIN_TAG = "admin"
"""The OpenAPI tag by which a route says only admins may call it."""

PER_PERSON = {
    ("/api/v1/people/leaderboard", ("group", "person")),
    ("/api/v1/cost/breakdown", ("by", "person")),
    ("/api/v1/people/acceptance", ("by", "person")),
    ("/api/v1/people/profile", None),
    ("/api/v1/sessions", None),
    ("/api/v1/sessions/{session_id}", None),
    ("/api/v1/events", None),
    ("/api/v1/people/limits", None),
    ("/api/v1/history", ("by", "person")),
}
"""Answers that list individual people or sessions: (path, the parameter that makes them so, or None: always)."""

VARIANTS = {
    "group": ("person", "team"),
    "by": ("person", "team", "department", "model", "tool", "version", "family", "language", "repository"),
}
"""Values tried for parameters that pick what an answer is grouped by (each route keeps those it accepts)."""

HOSTILE = (
    "' OR '1'='1",
    "x'); DROP TABLE events; --",
    '"; SELECT * FROM system.users; --',
    XSS,
    '"><img src=x onerror=alert(1)>',
    "{person:String}",
    "\\' UNION SELECT prompt FROM events --",
)


@dataclass
class Call:
    method: str
    path: str
    """The path template, as in the OpenAPI document."""
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    per_person: bool = False
    admin_only: bool = False

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.url} {self.params}"


@pytest.fixture(scope="module")
def app(chdb_path: Path, clickhouse_url: str | None) -> Iterator[FastAPI]:
    with org.loaded_store(chdb_path, clickhouse_url, "test_roles_module") as store:
        yield org.build_app(store)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[Client]:
    with org.serving(app) as client:
        yield client


def _param_names(operation: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == where}


def _enum(parameter: dict[str, Any]) -> list[str] | None:
    schema = parameter.get("schema", {})
    for option in (schema, *schema.get("anyOf", [])):
        if "enum" in option:
            return [str(v) for v in option["enum"]]
    return None


def calls(app: FastAPI, *, role: Role) -> list[Call]:
    """The requests made for one role: every operation of the document, with the variants described above."""
    out: list[Call] = []
    # Someone outside every narrowed scope (and a person filter at all, for the viewer).
    other = org.DAN if role not in {Role.ADMIN, Role.FINANCE} else None
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            admin_only = ADMIN_TAG in operation.get("tags", [])
            query = _param_names(operation, "query")
            base: dict[str, Any] = {}
            if "from" in query:
                base |= RANGE
            if "as_of" in query:
                base["as_of"] = AS_OF
            for name, parameter in query.items():
                if parameter.get("required") and name not in base and name != "key":
                    base[name] = (_enum(parameter) or ["x"])[0]
            path_names = _param_names(operation, "path")
            urls = [path]
            if "session_id" in path_names:
                urls = [path.replace("{session_id}", p.session) for p in PEOPLE]
            for name in path_names:
                urls = [url.replace(f"{{{name}}}", "nonexistent") for url in urls]
            variants = [base]
            if "key" in query:
                variants = [base | {"key": p.email} for p in PEOPLE]
            for name, values in VARIANTS.items():
                if name in query:
                    variants += [base | {name: v} for v in values]
            if "format" in query:
                variants += [v | {"format": "csv"} for v in variants]
            if "person" in query and other is not None:
                variants.append(base | {"person": other.email})
            for url in urls:
                for params in variants:
                    per_person = any(
                        path == p and (arg is None or params.get(arg[0]) == arg[1]) for p, arg in PER_PERSON
                    ) or ("person" in params)
                    out.append(Call(method, path, url, params, per_person=per_person, admin_only=admin_only))
    return out


def _send(client: Client, role: Role, call: Call) -> Any:
    headers = {ROLE_HEADER: role.value}
    if call.method == "get":
        return client.get(call.url, params=call.params, headers=headers)
    return client.request(call.method.upper(), call.url, params=call.params, json={}, headers=headers)


def _answer(call: Call, text: str) -> str:
    """The response without the values the caller sent, which some answers repeat (a profile names the person asked
    about, a session detail its id): the question is not an answer."""
    for value in [*call.params.values(), *call.url.split("/")]:
        if isinstance(value, str) and len(value) > 3:
            text = text.replace(f'"{value}"', '""')
    return text


def _forbidden_markers(role: Role) -> list[str]:
    """Strings the role must never receive."""
    visible = in_scope(role)
    markers = [m for p in PEOPLE if p not in visible for m in (*p.row_markers, *p.content_markers)]
    markers += [t for t in org.TEAMS if t not in {p.team for p in visible}]
    markers += [d for d in org.DEPARTMENTS if d not in {p.department for p in visible}]
    if not PRINCIPALS[role].scope().per_person:
        # Who and which session; a repository is a project, whose totals are aggregates.
        markers += [m for p in PEOPLE for m in (p.email, p.session)]
    if not PRINCIPALS[role].scope().content:
        markers += [m for p in PEOPLE for m in p.content_markers]
    return markers


def _expected_markers(role: Role) -> list[str]:
    """Strings the role must receive from some route: its whole scope."""
    scope = PRINCIPALS[role].scope()
    visible = in_scope(role)
    markers = [p.team for p in visible]
    if scope.per_person:
        markers += [m for p in visible for m in p.row_markers]
    if scope.content:
        markers += [m for p in visible for m in p.content_markers]
    return markers


def test_the_document_has_the_analytics_routes(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for path, _ in PER_PERSON:
        assert path in paths, f"{path} is gone: update PER_PERSON"
    assert len(calls(app, role=Role.DEVELOPER)) > 60


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_every_route_gives_each_role_exactly_its_scope(client: Client, app: FastAPI, role: Role) -> None:
    seen: list[str] = []
    forbidden = _forbidden_markers(role)
    failures: list[str] = []
    for call in calls(app, role=role):
        if role is Role.ADMIN and call.method != "get":
            continue  # an admin's writes would change what the other roles' tests read (schemathesis tries them)
        response = _send(client, role, call)
        status = response.status_code
        if status >= 500:
            failures.append(f"{call}: {status} {response.text[:200]}")
            continue
        if call.admin_only and role is not Role.ADMIN and status != 403:
            failures.append(f"{call}: admin-only route answered {status} to {role.value}")
        if role is Role.VIEWER and call.per_person and status != 403:
            failures.append(f"{call}: per-person answer gave the viewer {status}")
        leaked = [m for m in forbidden if m in _answer(call, response.text)]
        if leaked:
            failures.append(f"{call}: {status} leaked {leaked[:5]}")
        if status == 200:
            seen.append(response.text)
    everything = "\n".join(seen)
    missing = [m for m in _expected_markers(role) if m not in everything]
    if missing:
        failures.append(f"{role.value} never saw its own scope: {missing}")
    assert not failures, "\n".join(failures[:40])


def test_the_admin_sees_every_marker(client: Client) -> None:
    """The markers are there to be found: the admin reads them all (JSON and CSV of the explorer alike)."""
    headers = {ROLE_HEADER: Role.ADMIN.value}
    for fmt in ("json", "csv"):
        text = client.get("/api/v1/events", params=RANGE | {"format": fmt, "limit": 1000}, headers=headers).text
        spans = "".join(client.get(f"/api/v1/sessions/{p.session}", headers=headers).text for p in PEOPLE)
        for person in PEOPLE:
            markers = [m for m in person.content_markers if not m.startswith("SPAN")]
            assert all(m in text for m in markers), (fmt, person)
            assert f"SPANPROMPT-{person.name}" in spans


@pytest.mark.parametrize("role", [Role.FINANCE, Role.VIEWER, Role.DEVELOPER], ids=lambda r: r.value)
def test_the_explorer_is_no_oracle_for_content(client: Client, role: Role) -> None:
    """Searching the error text or filtering on a content attribute is refused to those who may not read them."""
    headers = {ROLE_HEADER: role.value}
    searched = client.get("/api/v1/events", params=RANGE | {"text": "TOOLERR-ann"}, headers=headers)
    filtered = client.get("/api/v1/events", params=RANGE | {"attr": "prompt=PROMPT-ann"}, headers=headers)
    if PRINCIPALS[role].scope().content:
        assert searched.status_code == 200 and "TOOLERR-ann" in searched.text
        assert filtered.status_code == 200
    else:
        assert (searched.status_code, filtered.status_code) == (403, 403)
        tool = client.get("/api/v1/events", params=RANGE | {"attr": "tool_name=Bash"}, headers=headers)
        assert tool.status_code == (200 if PRINCIPALS[role].scope().per_person else 403)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DEVELOPER], ids=lambda r: r.value)
def test_hostile_filter_values_are_inert(client: Client, app: FastAPI, role: Role) -> None:
    headers = {ROLE_HEADER: role.value}
    failures = []
    for call in calls(app, role=role):
        if call.method != "get" or call.params.get("format") == "csv":
            continue
        query = _param_names(app.openapi()["paths"][call.path]["get"], "query")
        tries: list[dict[str, Any]] = []
        filters = {name: list(HOSTILE) for name in query if name in DIMENSIONS}
        if filters:
            tries.append(call.params | filters)
        for name in query:
            if name not in DIMENSIONS and name not in {"from", "to"}:
                tries += [call.params | {name: value} for value in HOSTILE[:4]]
        urls = [call.url]
        if call.path != call.url:
            urls.append(call.path.replace("{session_id}", HOSTILE[1]).replace("{", "").replace("}", ""))
        for url in urls:
            for params in tries or [call.params]:
                response = client.get(url, params=params, headers=headers)
                if response.status_code not in {200, 403, 404, 422}:
                    failures.append(f"{url} {params}: {response.status_code} {response.text[:200]}")
                if "html" in response.headers.get("content-type", "") and any(h in response.text for h in HOSTILE):
                    failures.append(f"{url} {params}: echoed into HTML")
    assert not failures, "\n".join(failures[:20])
    # And the data is still there.
    summary = client.get("/api/v1/summary", params=RANGE, headers=headers).json()
    assert summary["cost_usd"] > 0


def test_stored_markup_is_never_served_as_html(client: Client) -> None:
    """Telemetry holding markup comes back as JSON or CSV text, to be escaped by whoever shows it."""
    headers = {ROLE_HEADER: Role.ADMIN.value}
    for fmt in ("json", "csv"):
        response = client.get("/api/v1/events", params=RANGE | {"format": fmt}, headers=headers)
        assert response.status_code == 200 and "html" not in response.headers["content-type"]
        assert "alert(" in response.text  # the markup is there, as data
