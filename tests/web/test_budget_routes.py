"""`/api/v1/budgets` and `/api/v1/policies` through the server's whole API app: CRUD by admins (audited, bad bodies a
422 naming the field, the alerts file's definitions changed in the file only), statuses and violations within the
caller's scope, on telemetry sent through the ingest path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccmon.alerts.services import AlertServices
from ccmon.auth.principal import Role
from ccmon.store.facade import Store
from tests.alerts.telemetry import Usage, send
from tests.web import roles_data as org
from tests.web.test_alert_routes import ADMIN, NON_ADMINS, _audit, alert_api, as_role


@pytest.fixture
def api(store: Store, tmp_path: Path) -> Iterator[tuple[httpx.Client, AlertServices]]:
    with alert_api(store, tmp_path) as served:
        yield served


def _budget(**changes: Any) -> dict[str, Any]:
    budget = {"id": "api-team", "name": "API team", "scope": "team", "scope_value": org.ANN.team, "period": "monthly"}
    return {**budget, "amount": 100, **changes}


def _policy(**changes: Any) -> dict[str, Any]:
    return {"id": "no-opus", "name": "No Opus", "scope": "organization", "deny": ["claude-opus-*"], **changes}


@pytest.mark.parametrize(("base", "make"), [("/api/v1/budgets", _budget), ("/api/v1/policies", _policy)])
def test_definitions_are_managed_by_admins_with_audit(
    api: tuple[httpx.Client, AlertServices], store: Store, base: str, make: Any
) -> None:
    client, _ = api
    item = make()
    created = client.post(base, json=item, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["source"] == "api"
    assert client.post(base, json=item, headers=ADMIN).status_code == 409
    listed = client.get(base, headers=as_role(Role.FINANCE)).json()
    (key,) = listed
    assert [d["id"] for d in listed[key]] == [item["id"]]
    changed = client.put(f"{base}/{item['id']}", json=make(name="Renamed"), headers=ADMIN)
    assert changed.status_code == 200 and changed.json()["name"] == "Renamed"
    assert client.get(f"{base}/{item['id']}", headers=ADMIN).json()["name"] == "Renamed"
    bad = client.put(f"{base}/{item['id']}", json=make(scope="galaxy"), headers=ADMIN)
    assert bad.status_code == 422 and "scope" in bad.json()["detail"]
    assert client.put(f"{base}/nope", json=make(id="nope"), headers=ADMIN).status_code == 404
    for role in NON_ADMINS:
        headers = as_role(role)
        assert client.post(base, json=make(id="other"), headers=headers).status_code == 403
        assert client.put(f"{base}/{item['id']}", json=make(), headers=headers).status_code == 403
        assert client.delete(f"{base}/{item['id']}", headers=headers).status_code == 403
    assert client.delete(f"{base}/{item['id']}", headers=ADMIN).json() == {"deleted": item["id"]}
    assert client.get(f"{base}/{item['id']}", headers=ADMIN).status_code == 404
    noun = "budget" if "budgets" in base else "policy"
    actions = {(action, outcome) for actor, action, _, outcome in _audit(store) if actor == "root"}
    assert {(f"{noun}.create", "ok"), (f"{noun}.create", "refused"), (f"{noun}.update", "ok")} <= actions
    assert {(f"{noun}.update", "refused"), (f"{noun}.delete", "ok")} <= actions


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (_budget(amount=-5), "amount:"),
        (_budget(period="fortnightly"), "period:"),
        (_budget(colour="red"), "unknown field colour"),
        (_budget(thresholds="lots"), "thresholds:"),
    ],
)
def test_bad_budgets_are_422_naming_the_field(api: tuple[httpx.Client, AlertServices], body: Any, detail: str) -> None:
    client, _ = api
    response = client.post("/api/v1/budgets", json=body, headers=ADMIN)
    assert response.status_code == 422 and detail in response.json()["detail"], response.text


def test_definitions_naming_a_team_are_shown_to_those_who_see_it(api: tuple[httpx.Client, AlertServices]) -> None:
    client, _ = api
    for budget in (
        _budget(),
        _budget(id="ops-team", name="Ops", scope_value=org.DAN.team),
        _budget(id="org", name="Org", scope="organization", scope_value=""),
    ):
        assert client.post("/api/v1/budgets", json=budget, headers=ADMIN).status_code == 201
    seen = {
        role: {b["id"] for b in client.get("/api/v1/budgets", headers=as_role(role)).json()["budgets"]} for role in Role
    }
    assert seen[Role.ADMIN] == seen[Role.FINANCE] == seen[Role.VIEWER] == {"api-team", "ops-team", "org"}
    assert seen[Role.TEAM_LEAD] == {"api-team", "org"}
    assert client.get("/api/v1/budgets/ops-team", headers=as_role(Role.TEAM_LEAD)).status_code == 404


def test_budget_status_is_scoped(api: tuple[httpx.Client, AlertServices], store: Store) -> None:
    client, _ = api
    now = dt.datetime.now(dt.UTC)
    at = max(now - dt.timedelta(minutes=1), now.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    send(
        store,
        [
            Usage(person=org.ANN.email, team=org.ANN.team, department=org.ANN.department, cost=60, at=at),
            Usage(person=org.DAN.email, team=org.DAN.team, department=org.DAN.department, cost=30, at=at),
        ],
    )
    assert client.post("/api/v1/budgets", json=_budget(), headers=ADMIN).status_code == 201
    per_person = _budget(id="each", name="Each", scope="organization", scope_value="", per_person=True, amount=50)
    assert client.post("/api/v1/budgets", json=per_person, headers=ADMIN).status_code == 201

    def statuses(role: Role) -> dict[tuple[str, str], dict[str, Any]]:
        body = client.get("/api/v1/budgets/status", headers=as_role(role)).json()
        assert body["as_of"].endswith("Z")
        return {(s["budget_id"], s["subject"]): s for s in body["statuses"]}

    admin = statuses(Role.ADMIN)
    assert set(admin) == {("api-team", org.ANN.team), ("each", org.ANN.email), ("each", org.DAN.email)}
    team = admin[("api-team", org.ANN.team)]
    assert (team["used"], team["amount"], team["fraction"]) == (60, 100, 0.6)
    assert admin[("each", org.ANN.email)]["over"] is True and admin[("each", org.DAN.email)]["over"] is False
    assert set(statuses(Role.TEAM_LEAD)) == {("api-team", org.ANN.team), ("each", org.ANN.email)}
    assert set(statuses(Role.DEVELOPER)) == {("each", org.ANN.email)}
    assert set(statuses(Role.VIEWER)) == {("api-team", org.ANN.team)}  # aggregates, never one person's


def test_policy_violations_are_listed_within_scope(api: tuple[httpx.Client, AlertServices], store: Store) -> None:
    client, _ = api
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    send(
        store,
        [
            Usage(person=org.ANN.email, team=org.ANN.team, model="claude-opus-4-5", session="s-ann", cost=1, at=at),
            Usage(person=org.DAN.email, team=org.DAN.team, model="claude-opus-4-5", session="s-dan", cost=1, at=at),
            Usage(person=org.BEN.email, team=org.BEN.team, model="claude-sonnet-4-5", session="s-ben", cost=1, at=at),
        ],
    )
    assert client.post("/api/v1/policies", json=_policy(), headers=ADMIN).status_code == 201

    def people(role: Role) -> set[str]:
        response = client.get("/api/v1/policies/violations", headers=as_role(role))
        assert response.status_code == 200, response.text
        return {v["person"] for v in response.json()["violations"]}

    assert people(Role.ADMIN) == {org.ANN.email, org.DAN.email}
    assert people(Role.TEAM_LEAD) == {org.ANN.email}
    assert people(Role.DEVELOPER) == {org.ANN.email}
    assert client.get("/api/v1/policies/violations", headers=as_role(Role.VIEWER)).status_code == 403
    bad = client.get("/api/v1/policies/violations", params={"from": "yesterday"}, headers=ADMIN)
    assert bad.status_code == 422


def test_file_definitions_are_changed_in_the_file(store: Store, tmp_path: Path) -> None:
    alerts_file = tmp_path / "alerts.yaml"
    alerts_file.write_text(
        "budgets:\n  - {id: org, name: Org, scope: organization, period: monthly, amount: 1000}\n"
        "policies:\n  - {id: no-opus, name: No Opus, scope: organization, deny: ['claude-opus-*']}\n"
    )
    with alert_api(store, tmp_path, alerts_file) as (client, _):
        assert client.get("/api/v1/budgets/org", headers=ADMIN).json()["source"] == "file"
        assert client.put("/api/v1/budgets/org", json=_budget(id="org"), headers=ADMIN).status_code == 409
        assert client.delete("/api/v1/policies/no-opus", headers=ADMIN).status_code == 409
        alerts_file.write_text("budgets: []\n")
        assert client.post("/api/v1/alerts/reload", headers=ADMIN).status_code == 200
        assert client.get("/api/v1/budgets/org", headers=ADMIN).status_code == 404
        assert client.get("/api/v1/policies", headers=ADMIN).json()["policies"] == []
