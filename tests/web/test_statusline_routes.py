"""`POST /api/v1/client/statusline` and `GET /api/v1/people/limits`: the answer for the status line, the usage-limit
reports it records (and the hostile bodies it refuses without recording anything), and who sees whose limits.

The server's whole API (`ccmon.server_app.build_api`, as in tests/web/test_roles.py: the caller picked by the
`X-Test-Role` header) over the role tests' organisation, plus an ingest token pinned to one team, served on a
loopback port.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from ccmon.auth.principal import Role
from ccmon.directory.registry import Directory
from ccmon.ingest.limits import record_limits
from ccmon.ingest.tokens import IngestTokens
from ccmon.onboarding.statusline import Limit, LimitReport
from ccmon.server_app import build_api, open_access
from ccmon.store.facade import Store
from ccmon.web.statusline_routes import MAX_BODY
from ccmon.web.ui import ServerInfo
from tests.support import make_config
from tests.web import roles_data as org
from tests.web.roles_data import ANN, CAT, DAN, PEOPLE, ROLE_HEADER, in_scope

STATUSLINE, LIMITS = "/api/v1/client/statusline", "/api/v1/people/limits"
EVER = {"from": "2000-01-01T00:00:00Z", "to": "2200-01-01T00:00:00Z"}


class Setup:
    def __init__(self, client: httpx.Client, store: Store, web_token: str) -> None:
        self.client = client
        self.store = store
        self.web_token = web_token
        """An ingest token pinned to team-web (Cat's team)."""

    def post(self, body: Any, role: Role | None = Role.ADMIN, **headers: str) -> httpx.Response:
        if role is not None:
            headers[ROLE_HEADER] = role.value
        if isinstance(body, bytes | str):
            return self.client.post(STATUSLINE, content=body, headers={"content-type": "application/json", **headers})
        return self.client.post(STATUSLINE, json=body, headers=headers)

    def limits(self, role: Role, **params: str) -> httpx.Response:
        return self.client.get(LIMITS, params=EVER | params, headers={ROLE_HEADER: role.value})

    def rows(self) -> int:
        return int(self.store.query("SELECT count() FROM rate_limits")[0][0])


def _app(store: Store) -> FastAPI:
    """`roles_data.build_app`, with the ingest tokens of the store loaded (the server's background refresh does it)."""
    config = make_config(Path(store.description))
    access = open_access(config, store, Directory(store))
    access.tokens.refresh()
    info = ServerInfo(
        version="test",
        otlp_host=None,
        otlp_grpc_port=4317,
        otlp_http_port=4318,
        ingest_token_required=True,
        api_token_required=True,
        monthly_budget_usd=None,
        parallel_requests=1,
        demo_domain="demo.invalid",
    )
    return build_api(
        config, access, registry=CollectorRegistry(), info=info, ready=lambda: True, authenticate=org.authenticate
    )


@pytest.fixture(scope="module")
def setup(chdb_path: Path, clickhouse_url: str | None) -> Iterator[Setup]:
    with org.loaded_store(chdb_path, clickhouse_url, "test_statusline_routes") as store:
        _, secret = IngestTokens(store).create("web laptops", team="team-web")
        with org.serving(_app(store)) as client:
            yield Setup(client, store, secret)


def _limits(five: float = 23.4, seven: float | None = 61.2) -> dict[str, Any]:
    now = int(time.time())
    limits: dict[str, Any] = {"five_hour": {"used_percentage": five, "resets_at": now + 3600}}
    if seven is not None:
        limits["seven_day"] = {"used_percentage": seven, "resets_at": now + 86400}
    return limits


def test_a_report_is_answered_with_the_persons_figures_and_its_limits_recorded(setup: Setup) -> None:
    answer = setup.post({"session_id": ANN.session, "model": "claude-opus-4-1", "rate_limits": _limits()})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["person"], body["recorded"]) == (ANN.email, 2)
    # The org's data is of 2026-11-20: nothing spent today or this month (the test clock is later).
    assert isinstance(body["today_usd"], float) and isinstance(body["month_usd"], float)
    assert body["budgets"] == []
    rows = setup.store.query(
        "SELECT window, used_pct, team, department, session_id, model, source FROM rate_limits "
        "WHERE person = {p:String} AND session_id = {s:String} ORDER BY window",
        {"p": ANN.email, "s": ANN.session},
    )
    assert rows == [
        ("five_hour", 23.4, ANN.team, ANN.department, ANN.session, "claude-opus-4-1", "statusline"),
        ("seven_day", 61.2, ANN.team, ANN.department, ANN.session, "claude-opus-4-1", "statusline"),
    ]


def test_without_limits_or_a_known_person_nothing_is_recorded(setup: Setup) -> None:
    before = setup.rows()
    assert setup.post({"session_id": ANN.session}).json()["recorded"] == 0
    unknown = setup.post({"session_id": "never-seen", "rate_limits": _limits()}).json()
    assert (unknown["person"], unknown["recorded"], unknown["today_usd"]) == (None, 0, None)
    assert "CCMON_PERSON" in unknown["note"]
    assert setup.post({"rate_limits": {}}).json()["recorded"] == 0
    assert setup.rows() == before


@pytest.mark.parametrize(
    "body",
    [
        {"rate_limits": {"five_hour": {"used_percentage": 100.5}}},
        {"rate_limits": {"five_hour": {"used_percentage": -1}}},
        {"rate_limits": {"five_hour": {"used_percentage": "50"}}},
        {"rate_limits": {"five_hour": {"used_percentage": True}}},
        {"rate_limits": {"five_hour": {"used_percentage": None}}},
        {"rate_limits": {"five_hour": {}}},
        {"rate_limits": {"five_hour": {"used_percentage": 5, "resets_at": 10**30}}},
        {"rate_limits": {"five_hour": {"used_percentage": 5, "resets_at": 12}}},
        {"rate_limits": {"five_hour": {"used_percentage": 5, "resets_at": "tomorrow"}}},
        {"rate_limits": {"five_hour": {"used_percentage": 5, "extra": 1}}},
        {"rate_limits": {"fifteen_minute": {"used_percentage": 5}}},
        {"rate_limits": [1, 2]},
        {"rate_limits": "full"},
        {"model": "m" * 501},
        {"model": 5},
        {"person": "x" * 501},
        {"session_id": ["a"]},
        {"whoami": "root"},
        '{"person": "ann@example.com", "rate_limits": {"five_hour": {"used_percentage": NaN}}}',
        '{"person": "ann@example.com", "rate_limits": {"five_hour": {"used_percentage": Infinity}}}',
        '{"person": "ann@example.com", "rate_limits": {"five_hour": {"used_percentage": 1e999}}}',
        '{"person": "ann@example.com", "rate_limits": {"five_hour": {"used_percentage": 5, "resets_at": -Infinity}}}',
        '{"person": NaN}',
        '{"session_id": -Infinity, "person": "ann@example.com"}',
        "not json",
        "[]",
        '{"rate_limits": ' * 200 + "{}" + "}" * 200,
    ],
)
def test_hostile_bodies_are_refused_and_record_nothing(setup: Setup, body: Any) -> None:
    before = setup.rows()
    if isinstance(body, dict):
        body = {"person": ANN.email, **body}
    response = setup.post(body)
    assert response.status_code == 422, response.text
    assert setup.rows() == before


def test_a_body_past_the_cap_is_refused_before_it_is_read(setup: Setup) -> None:
    padding = "x" * (MAX_BODY + 1)
    response = setup.post(json.dumps({"person": ANN.email, "rate_limits": _limits(), "model": padding}))
    assert response.status_code == 413


def test_a_developer_reports_only_for_themselves(setup: Setup) -> None:
    own = setup.post({"rate_limits": _limits(11.0, None)}, role=Role.DEVELOPER)
    assert own.status_code == 200, own.text
    assert (own.json()["person"], own.json()["recorded"]) == (ANN.email, 1)
    other = setup.post({"person": DAN.email, "rate_limits": _limits()}, role=Role.DEVELOPER)
    assert other.status_code == 403
    # The viewer has no person: answered as nobody, nothing recorded.
    viewer = setup.post({"rate_limits": _limits()}, role=Role.VIEWER)
    assert (viewer.status_code, viewer.json()["person"], viewer.json()["recorded"]) == (200, None, 0)


def test_a_pinned_ingest_token_reports_only_for_its_people(setup: Setup) -> None:
    auth = {"authorization": f"Bearer {setup.web_token}"}
    cat = setup.post({"session_id": CAT.session, "rate_limits": _limits(42.0)}, role=None, **auth)
    assert cat.status_code == 200, cat.text
    assert (cat.json()["person"], cat.json()["recorded"]) == (CAT.email, 2)
    dan = setup.post({"session_id": DAN.session, "rate_limits": _limits()}, role=None, **auth)
    assert dan.status_code == 403
    assert setup.post({"rate_limits": _limits()}, role=None, authorization="Bearer wrong").status_code == 401


def test_each_role_sees_exactly_the_limits_of_its_scope(setup: Setup) -> None:
    record = record_limits(setup.store)
    for person in PEOPLE:
        report = LimitReport(
            at=time.time(),
            person=person.email,
            session_id=person.session,
            limits={"five_hour": Limit(50.0, None), "seven_day": Limit(70.0, None)},
            team=person.team,
            department=person.department,
        )
        assert record(report) == 2
    for role in Role:
        response = setup.limits(role)
        if role is Role.VIEWER:
            assert response.status_code == 403  # it lists people
            continue
        assert response.status_code == 200, response.text
        people = {row["person"] for row in response.json()["rows"]}
        assert people == {p.email for p in in_scope(role)}, role
        text = response.text
        assert not [p.email for p in PEOPLE if p not in in_scope(role) and p.email in text], role
    # A person filter naming someone out of scope finds nothing; one in scope, only them.
    assert setup.limits(Role.DEVELOPER, person=DAN.email).json()["rows"] == []
    assert {r["person"] for r in setup.limits(Role.ADMIN, person=DAN.email).json()["rows"]} == {DAN.email}
    assert {r["person"] for r in setup.limits(Role.MANAGER, team="team-web").json()["rows"]} == {CAT.email}


def test_the_latest_report_per_person_and_window_is_shown(setup: Setup) -> None:
    record = record_limits(setup.store)
    base = time.time() + 60  # after every other test's reports
    for offset, used in ((0, 10.0), (2, 30.0), (1, 20.0)):
        record(
            LimitReport(at=base + offset, person=DAN.email, session_id=f"s{offset}", limits={"five_hour": Limit(used)})
        )
    rows = setup.limits(Role.ADMIN, person=DAN.email).json()["rows"]
    five = [r for r in rows if r["window"] == "five_hour"]
    assert [(r["used_pct"], r["session_id"]) for r in five] == [(30.0, "s2")]
    csv = setup.limits(Role.ADMIN, person=DAN.email, format="csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "person,team,department,window,used_pct,resets_at,reported_at,session_id,model"


@pytest.mark.parametrize("params", [{"repository": "x"}, {"terminal": "vscode"}, {"bogus": "1"}, {"from": "yesterday"}])
def test_filters_the_limits_do_not_keep_are_refused(setup: Setup, params: dict[str, str]) -> None:
    response = setup.limits(Role.ADMIN, **params)
    assert response.status_code == 422, response.text
