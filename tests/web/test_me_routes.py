"""`POST /api/v1/client/usage|sessions|team-budget`: the figures of one person, who may ask about whom, and what a
hostile body gets.

The router is served by uvicorn on a loopback port over the real store, the real authenticator (API keys) and the
real ingest token registry, with a fixed clock; usage is sent through the ingest path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ccmon.alerts.budgets import Budgets, parse_budget
from ccmon.alerts.hooks import HookService, TokenGrant
from ccmon.alerts.policy import Policies
from ccmon.analytics import Analytics
from ccmon.auth.api_keys import ApiKeys
from ccmon.auth.authenticator import AuthSettings, open_authenticator
from ccmon.auth.principal import Role
from ccmon.ingest.tokens import IngestTokens
from ccmon.server_app import hook_grant
from ccmon.store.facade import Store
from ccmon.web.client_caller import ClientCallers
from ccmon.web.me_routes import MAX_BODY, me_routes
from tests.alerts.telemetry import Usage, send, store_with
from tests.web import roles_data
from tests.web.roles_data import serving

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
"""A Wednesday: today is the 18th, the week began on Monday the 16th, the month on the 1st."""
ANN, BOB, CAROL = "ann@example.com", "bob@example.com", "carol@example.com"
OPUS, SONNET = "claude-opus-4-5", "claude-sonnet-4-5"
PERIODS = ("today", "week", "month")
USAGE, SESSIONS, TEAM = "/api/v1/client/usage", "/api/v1/client/sessions", "/api/v1/client/team-budget"


def _platform(person: str, at: datetime, cost: float, tokens: int, session: str, model: str = SONNET) -> Usage:
    return Usage(person, at, cost, tokens, model, session, team="platform", department="eng")


DATA = [
    _platform(ANN, NOW - timedelta(hours=1), 4.0, 4000, "s-ann-1", model=OPUS),
    _platform(ANN, datetime(2026, 11, 16, 10, tzinfo=UTC), 2.0, 2000, "s-ann-2"),
    _platform(ANN, datetime(2026, 11, 3, 10, tzinfo=UTC), 1.0, 1000, "s-ann-3"),
    _platform(ANN, datetime(2026, 10, 20, 10, tzinfo=UTC), 100.0, 9, "s-ann-0"),
    _platform(BOB, NOW - timedelta(hours=2), 7.0, 700, "s-bob"),
    Usage(person=CAROL, at=NOW - timedelta(hours=3), cost=50.0, session="s-carol", team="infra", department="eng"),
]


@dataclass
class Setup:
    client: httpx.Client
    store: Store
    tokens: IngestTokens


def _app(store: Store, tokens: IngestTokens, now: datetime = NOW) -> FastAPI:
    authenticator = open_authenticator(AuthSettings(loopback=True), store)
    budgets = Budgets(store)
    hooks = HookService(store, budgets, Policies(store), lambda email: email)
    callers = ClientCallers(hooks, authenticator, partial(_grant, tokens), tokens.required)
    app = FastAPI()
    app.include_router(me_routes(callers, Analytics(store), budgets, clock=lambda: now), prefix="/api/v1")
    return app


def _grant(tokens: IngestTokens, secret: str) -> TokenGrant | None:
    grant = tokens.authorize(secret)
    return None if grant is None else hook_grant(grant)


def _budget(store: Store, **fields: Any) -> None:
    Budgets(store).put(parse_budget({"period": "monthly", "unit": "usd", "enforce": "warn", **fields}))


def _serve(store: Store) -> Iterator[Setup]:
    _budget(store, id="cap", name="Personal cap", scope="organization", amount=50, per_person=True)
    _budget(store, id="pool-platform", name="Platform", scope="team", scope_value="platform", amount=100)
    _budget(store, id="pool-eng", name="Engineering", scope="department", scope_value="eng", amount=1000)
    tokens = IngestTokens(store)
    with serving(_app(store, tokens)) as client:
        yield Setup(client, store, tokens)


@pytest.fixture(scope="module")
def shared(chdb_path: Path, clickhouse_url: str | None) -> Iterator[Setup]:
    """For the tests that create no credential (a key or token would make every later caller need one)."""
    with store_with(chdb_path, clickhouse_url, DATA) as store:
        yield from _serve(store)


@pytest.fixture
def setup(store: Store) -> Iterator[Setup]:
    """A store of the test's own, for the tests that create API keys and ingest tokens."""
    send(store, DATA)
    yield from _serve(store)


def _bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


def _api_key(store: Store, role: Role, person: str = "") -> dict[str, str]:
    return _bearer(ApiKeys(store).create(f"{role.value}-{person or 'key'}", role=role, person=person)[1])


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_usage_over_each_period_is_the_persons_own(shared: Setup) -> None:
    costs = {p: _ok(shared.client.post(USAGE, json={"email": ANN, "period": p}))["cost_usd"] for p in PERIODS}
    assert costs == pytest.approx({"today": 4.0, "week": 6.0, "month": 7.0})
    week = _ok(shared.client.post(USAGE, json={"email": ANN, "period": "week"}))
    assert week["person"] == ANN
    assert (week["start"], week["end"]) == ("2026-11-16T00:00:00Z", "2026-11-18T12:00:00Z")
    assert week["tokens"]["input"] == week["total_tokens"] == 6000
    assert week["sessions"] == 2
    assert [(m["model"], m["cost_usd"]) for m in week["top_models"]] == [(OPUS, 4.0), (SONNET, 2.0)]
    # The default period is today; a session id names its person.
    today = _ok(shared.client.post(USAGE, json={"session_id": "s-ann-1"}))
    assert (today["period"], today["person"], today["cost_usd"]) == ("today", ANN, 4.0)


def test_sessions_recent_or_by_cost_within_the_window(shared: Setup) -> None:
    recent = _ok(shared.client.post(SESSIONS, json={"email": ANN}))
    assert (recent["days"], recent["sort"], recent["total"]) == (7, "recent", 2)
    assert [s["session_id"] for s in recent["sessions"]] == ["s-ann-1", "s-ann-2"]
    first = recent["sessions"][0]
    assert (first["cost_usd"], first["tokens"], first["model"]) == (4.0, 4000, OPUS)
    assert set(first) == {
        "session_id",
        "started",
        "ended",
        "duration_s",
        "cost_usd",
        "tokens",
        "prompts",
        "model",
        "project",
        "repository",
    }
    costly = _ok(shared.client.post(SESSIONS, json={"email": ANN, "sort": "cost", "days": 90, "limit": 3}))
    assert [s["session_id"] for s in costly["sessions"]] == ["s-ann-0", "s-ann-1", "s-ann-2"]
    assert costly["total"] == 4
    assert BOB not in str(costly) and "s-bob" not in str(costly)


def test_team_budget_holds_own_limit_pools_and_team_spend(shared: Setup) -> None:
    body = _ok(shared.client.post(TEAM, json={"email": ANN}))
    assert (body["person"], body["team"]) == (ANN, "platform")
    statuses = {s["budget_id"]: s for s in body["statuses"]}
    assert set(statuses) == {"cap", "pool-platform", "pool-eng"}
    assert (statuses["cap"]["subject"], statuses["cap"]["used"]) == (ANN, 7.0)
    assert statuses["pool-platform"]["used"] == pytest.approx(14.0)
    assert statuses["pool-eng"]["used"] == pytest.approx(64.0)
    spend = body["team_month_to_date"]
    assert (spend["team"], spend["spend_usd"], spend["within_pins"]) == ("platform", pytest.approx(14.0), False)
    assert body["decision"] == "allow"


def test_nobody_identified_is_a_404_saying_how(shared: Setup) -> None:
    for body in ({}, {"session_id": "no-telemetry-yet"}, {"user_id": "unknown-install"}):
        for route in (USAGE, SESSIONS, TEAM):
            answer = shared.client.post(route, json=body)
            assert answer.status_code == 404, (route, body)
            detail = answer.json()["detail"]
            assert "~/.claude.json" in detail and "--person" in detail and "API key" in detail


def test_a_developer_key_sees_only_its_own_person(setup: Setup) -> None:
    bob = _api_key(setup.store, Role.DEVELOPER, BOB)
    own = _ok(setup.client.post(USAGE, json={"period": "month"}, headers=bob))
    assert (own["person"], own["cost_usd"]) == (BOB, 7.0)
    assert [s["session_id"] for s in _ok(setup.client.post(SESSIONS, json={}, headers=bob))["sessions"]] == ["s-bob"]
    assert _ok(setup.client.post(TEAM, json={}, headers=bob))["person"] == BOB
    for someone_else in ({"email": ANN}, {"person": ANN}, {"session_id": "s-ann-1"}):
        for route in (USAGE, SESSIONS, TEAM):
            refused = setup.client.post(route, json=someone_else, headers=bob)
            assert refused.status_code == 403, (route, someone_else)
            assert ANN not in refused.text and "s-ann" not in refused.text and "4.0" not in refused.text


def test_admin_asks_about_anyone_viewer_about_nobody(setup: Setup) -> None:
    admin = _api_key(setup.store, Role.ADMIN)
    assert _ok(setup.client.post(USAGE, json={"email": CAROL, "period": "week"}, headers=admin))["cost_usd"] == 50.0
    viewer = _api_key(setup.store, Role.VIEWER)
    assert setup.client.post(USAGE, json={"email": ANN}, headers=viewer).status_code == 403
    assert setup.client.post(USAGE, json={}, headers=viewer).status_code == 404
    # API keys exist now: a caller without credential is refused.
    assert setup.client.post(USAGE, json={"email": ANN}).status_code == 401


def test_ingest_tokens_unpinned_and_pinned(setup: Setup) -> None:
    _, anyone = setup.tokens.create("all laptops")
    assert setup.client.post(USAGE, json={"email": ANN}).status_code == 401
    assert _ok(setup.client.post(USAGE, json={"email": CAROL}, headers=_bearer(anyone)))["person"] == CAROL
    _, infra = setup.tokens.create("infra laptops", team="infra")
    for route in (USAGE, SESSIONS, TEAM):
        refused = setup.client.post(route, json={"email": ANN}, headers=_bearer(infra))
        assert refused.status_code == 403, route
        assert "platform" not in refused.text
    assert _ok(setup.client.post(USAGE, json={"email": CAROL}, headers=_bearer(infra)))["cost_usd"] == 50.0
    _, platform = setup.tokens.create("platform laptops", team="platform")
    body = _ok(setup.client.post(TEAM, json={"email": ANN}, headers=_bearer(platform)))
    # Her limit and her team's pool; not the department's, wider than the token's team.
    assert {s["budget_id"] for s in body["statuses"]} == {"cap", "pool-platform"}
    assert "64" not in body["reason"]
    spend = body["team_month_to_date"]
    assert (spend["spend_usd"], spend["within_pins"]) == (pytest.approx(14.0), True)


@pytest.mark.parametrize(
    ("route", "body"),
    [
        (USAGE, {"period": "yesterday"}),
        (USAGE, {"period": ["today"]}),
        (USAGE, {"periode": "today"}),
        (SESSIONS, {"limit": 0}),
        (SESSIONS, {"limit": 51}),
        (SESSIONS, {"limit": "ten"}),
        (SESSIONS, {"limit": 10**30}),
        (SESSIONS, {"days": 0}),
        (SESSIONS, {"days": 91}),
        (SESSIONS, {"sort": "person"}),
        (SESSIONS, {"sort": "cost; DROP TABLE events"}),
        (TEAM, {"period": "today"}),
        (TEAM, {"email": "x" * 600}),
        (TEAM, {"email": {"$ne": ""}}),
    ],
)
def test_hostile_bodies_are_422(shared: Setup, route: str, body: dict[str, Any]) -> None:
    answer = shared.client.post(route, json={"email": ANN, **body})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]


def test_malformed_and_huge_bodies(shared: Setup) -> None:
    for route in (USAGE, SESSIONS, TEAM):
        bad = shared.client.post(route, content=b"{not json", headers={"content-type": "application/json"})
        assert bad.status_code == 422
        assert shared.client.post(route, json=["today"]).status_code == 422
        huge = b'{"email": "' + b"x" * MAX_BODY + b'"}'
        assert shared.client.post(route, content=huge, headers={"content-type": "application/json"}).status_code == 413
    # Nothing was lost: the same questions still answer.
    assert _ok(shared.client.post(USAGE, json={"email": ANN, "period": "month"}))["cost_usd"] == 7.0


@pytest.fixture
def org(store: Store) -> Iterator[httpx.Client]:
    """The role tests' organisation, whose prompts, responses and tool parameters carry markers."""
    roles_data.load(store)
    with serving(_app(store, IngestTokens(store), now=roles_data.T0 + timedelta(hours=2))) as client:
        yield client


def test_no_prompt_text_or_tool_parameters_ever(org: httpx.Client) -> None:
    for person in roles_data.PEOPLE:
        texts = []
        for route, extra in ((USAGE, {"period": "month"}), (SESSIONS, {"days": 90}), (TEAM, {})):
            answer = _ok(org.post(route, json={"email": person.email, **extra}))
            texts.append(str(answer))
        usage, sessions, _ = texts
        assert person.email in usage and person.session in sessions
        for other in roles_data.PEOPLE:
            for marker in other.content_markers:
                assert marker not in "".join(texts), marker
