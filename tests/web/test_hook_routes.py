"""`POST /api/v1/hook/budget|policy`: who may ask about whom, and what the answers hold.

The router is served by uvicorn on a loopback port over the real store, the real authenticator (API keys) and the
real ingest token registry; usage is sent through the ingest path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import httpx
import pytest
from fastapi import FastAPI

from ccmon.alerts.budgets import Budgets, parse_budget
from ccmon.alerts.hooks import HookService, TokenGrant
from ccmon.alerts.policy import Policies, parse_policy
from ccmon.auth.authenticator import AuthSettings, open_authenticator
from ccmon.auth.principal import Role
from ccmon.ingest.tokens import IngestTokens
from ccmon.server_app import hook_grant
from ccmon.store.facade import Store
from ccmon.store.records import utc_now
from ccmon.web.client_caller import ClientCallers
from ccmon.web.hook_routes import MAX_BODY, hook_routes
from tests.alerts.telemetry import Usage, send
from tests.web.roles_data import serving

ANN, BOB = "ann@example.com", "bob@example.com"
BUDGET, POLICY = "/api/v1/hook/budget", "/api/v1/hook/policy"


@dataclass
class Setup:
    client: httpx.Client
    store: Store
    tokens: IngestTokens


def _app(store: Store, tokens: IngestTokens) -> FastAPI:
    authenticator = open_authenticator(AuthSettings(loopback=True), store)
    hooks = HookService(store, Budgets(store), Policies(store), lambda email: email)
    app = FastAPI()
    app.include_router(
        hook_routes(ClientCallers(hooks, authenticator, partial(_grant, tokens), tokens.required)), prefix="/api/v1"
    )
    return app


def _grant(tokens: IngestTokens, secret: str) -> TokenGrant | None:
    """What the server passes (`ccmon.server_app.ingest_token_check`, store tokens only)."""
    grant = tokens.authorize(secret)
    return None if grant is None else hook_grant(grant)


@pytest.fixture
def setup(store: Store) -> Iterator[Setup]:
    at = utc_now() - timedelta(seconds=5)
    send(
        store,
        [Usage(person=ANN, at=at, cost=12.0, session="s-ann"), Usage(person=BOB, at=at, cost=1.0, session="s-bob")],
    )
    Budgets(store).put(
        parse_budget(
            {
                "id": "cap",
                "name": "Cap",
                "scope": "organization",
                "period": "monthly",
                "amount": 10,
                "per_person": True,
                "enforce": "block",
            }
        )
    )
    tokens = IngestTokens(store)
    with serving(_app(store, tokens)) as client:
        yield Setup(client, store, tokens)


def _bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


def _api_key(store: Store, role: Role, person: str = "") -> str:
    from ccmon.auth.api_keys import ApiKeys

    return ApiKeys(store).create(f"{role.value}-key", role=role, person=person)[1]


def test_a_loopback_caller_without_ingest_tokens_may_ask(setup: Setup) -> None:
    answer = setup.client.post(BUDGET, json={"session_id": "s-ann"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["decision"], body["person"]) == ("block", ANN)
    assert "exhausted" in body["reason"]
    assert [s["budget_id"] for s in body["statuses"]] == ["cap"]
    assert setup.client.post(BUDGET, json={"session_id": "s-bob"}).json()["decision"] == "allow"


def test_once_ingest_tokens_exist_a_token_is_needed(setup: Setup) -> None:
    _, secret = setup.tokens.create("laptops")
    assert setup.client.post(BUDGET, json={"session_id": "s-ann"}).status_code == 401
    assert setup.client.post(BUDGET, json={"session_id": "s-ann"}, headers=_bearer("ccmi_wrong")).status_code == 401
    answer = setup.client.post(BUDGET, json={"session_id": "s-ann"}, headers=_bearer(secret))
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"] == "block"
    # A machine with the ingest token may ask about whoever it names (as it may send telemetry as anyone).
    assert setup.client.post(BUDGET, json={"email": BOB}, headers=_bearer(secret)).json()["person"] == BOB


def test_a_developer_key_answers_only_for_its_person(setup: Setup) -> None:
    bob = _api_key(setup.store, Role.DEVELOPER, BOB)
    headers = _bearer(bob)
    own = setup.client.post(BUDGET, json={}, headers=headers)
    assert own.status_code == 200, own.text
    assert (own.json()["person"], own.json()["decision"]) == (BOB, "allow")
    assert setup.client.post(BUDGET, json={"email": BOB}, headers=headers).json()["person"] == BOB
    # A new session (no telemetry yet) is still the key's person.
    assert setup.client.post(BUDGET, json={"session_id": "s-new"}, headers=headers).json()["person"] == BOB
    for someone_else in ({"email": ANN}, {"session_id": "s-ann"}, {"person": ANN}):
        refused = setup.client.post(BUDGET, json=someone_else, headers=headers)
        assert refused.status_code == 403, someone_else
        assert ANN not in refused.text and "12" not in refused.text
    assert setup.client.post(POLICY, json={"session_id": "s-ann"}, headers=headers).status_code == 403


def test_an_admin_key_may_ask_about_anyone_and_a_viewer_about_nobody_else(setup: Setup) -> None:
    admin = _bearer(_api_key(setup.store, Role.ADMIN))
    assert setup.client.post(BUDGET, json={"email": ANN}, headers=admin).json()["decision"] == "block"
    viewer = _bearer(_api_key(setup.store, Role.VIEWER))
    assert setup.client.post(BUDGET, json={"email": ANN}, headers=viewer).status_code == 403
    nobody = setup.client.post(BUDGET, json={}, headers=viewer).json()
    assert (nobody["decision"], nobody["person"], nobody["statuses"]) == ("allow", None, [])
    # Once API keys exist, a caller without credential is refused (authentication is required).
    assert setup.client.post(BUDGET, json={"email": ANN}).status_code == 401
    assert setup.client.post(BUDGET, json={"email": ANN}, headers=_bearer("not-a-key")).status_code == 401


def test_the_policy_route_denies_a_tool(setup: Setup) -> None:
    Policies(setup.store).put(
        parse_policy({"id": "no-bash", "scope": "organization", "deny_tools": ["Bash"], "enforce": "block"})
    )
    denied = setup.client.post(POLICY, json={"session_id": "s-bob", "tool_name": "Bash"}).json()
    assert (denied["decision"], denied["policy_id"], denied["person"]) == ("deny", "no-bash", BOB)
    assert "Bash" in denied["reason"]
    allowed = setup.client.post(POLICY, json={"session_id": "s-bob", "tool_name": "Write"}).json()
    assert allowed["decision"] == "allow"


def test_an_unknown_person_is_allowed_with_a_note(setup: Setup) -> None:
    body = setup.client.post(BUDGET, json={"session_id": "first-prompt"}).json()
    assert (body["decision"], body["person"]) == ("allow", None)
    assert "no telemetry" in body["note"]


def test_bad_bodies_are_refused_clearly(setup: Setup) -> None:
    assert setup.client.post(BUDGET, json={"session": "typo"}).status_code == 422
    assert setup.client.post(BUDGET, json={"email": "x" * 600}).status_code == 422
    assert (
        setup.client.post(BUDGET, content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    )
    too_big = setup.client.post(
        BUDGET, content=b'{"email": "' + b"x" * MAX_BODY + b'"}', headers={"content-type": "application/json"}
    )
    assert too_big.status_code == 413


def test_a_pinned_token_asks_only_about_its_teams_people(setup: Setup) -> None:
    at = utc_now() - timedelta(seconds=5)
    send(
        setup.store,
        [
            Usage(person=ANN, at=at, cost=1.0, session="s-ann-a", team="team-a", department="dept-x"),
            Usage(person=BOB, at=at, cost=1.0, session="s-bob-b", team="team-b", department="dept-x"),
        ],
    )
    for budget in (
        {"id": "pool-a", "scope": "team", "scope_value": "team-a"},
        {"id": "pool-x", "scope": "department", "scope_value": "dept-x"},
    ):
        Budgets(setup.store).put(parse_budget({**budget, "period": "monthly", "amount": 1000}))
    _, team_a = setup.tokens.create("team A laptops", team="team-a")
    own = setup.client.post(BUDGET, json={"session_id": "s-ann-a"}, headers=_bearer(team_a))
    assert own.status_code == 200, own.text
    assert own.json()["person"] == ANN
    # Her own limit and her team's pool; not the department's, which is wider than the token's team.
    assert {s["budget_id"] for s in own.json()["statuses"]} == {"cap", "pool-a"}
    for team_b in ({"email": BOB}, {"session_id": "s-bob-b"}, {"person": BOB}):
        refused = setup.client.post(BUDGET, json=team_b, headers=_bearer(team_a))
        assert refused.status_code == 403, team_b
        assert BOB not in refused.text
    assert setup.client.post(POLICY, json={"email": BOB}, headers=_bearer(team_a)).status_code == 403
    # An unpinned token may still ask about anyone.
    _, anyone = setup.tokens.create("all laptops")
    assert setup.client.post(BUDGET, json={"email": BOB}, headers=_bearer(anyone)).json()["person"] == BOB


def test_a_token_past_its_rate_limit_is_told_to_wait(setup: Setup) -> None:
    _, limited = setup.tokens.create("slow laptops", rate_limit_per_s=0.01, rate_limit_burst=1)
    # A request is let in while the bucket (one request) is not in debt, and takes one: the third is refused.
    answers = [setup.client.post(BUDGET, json={"session_id": "s-bob"}, headers=_bearer(limited)) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    refused = answers[-1]
    assert "rate limit" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    assert setup.client.post(POLICY, json={"session_id": "s-bob"}, headers=_bearer(limited)).status_code == 429


def test_the_sessions_person_is_answered_for_whoever_else_the_request_names(setup: Setup) -> None:
    """Ann, over her hard cap, names Bob (under his): the answer is still hers."""
    _, secret = setup.tokens.create("laptops")
    for named in ({"person": BOB}, {"email": BOB}):
        answer = setup.client.post(BUDGET, json={"session_id": "s-ann", **named}, headers=_bearer(secret))
        assert answer.status_code == 200, answer.text
        assert (answer.json()["person"], answer.json()["decision"]) == (ANN, "block")
        assert BOB not in answer.text


def test_a_loopback_caller_naming_another_person_than_the_sessions_gets_the_sessions(setup: Setup) -> None:
    answer = setup.client.post(BUDGET, json={"session_id": "s-ann", "email": BOB})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["person"], answer.json()["decision"]) == (ANN, "block")
    assert BOB not in answer.text
