"""`/api/v1/alerts` through the server's whole API app: rules (CRUD, validation, dry run), alerts and history scoped
to the caller, silences, channels (a test notification to a real receiver) and deliveries, reloading the alerts file;
admins only for writes, each audited; bad bodies a 422 naming the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from ccmon.alerts.defaults import DEFAULT_RULES
from ccmon.alerts.instances import step
from ccmon.alerts.model import Op, Rule, Sample
from ccmon.alerts.services import AlertServices
from ccmon.auth.audit import Audit
from ccmon.auth.principal import Role
from ccmon.directory.registry import Directory
from ccmon.server_app import build_api, open_access, open_alerts
from ccmon.store.facade import Store
from ccmon.web.alert_routes import MAX_BODY
from ccmon.web.ui import ServerInfo
from tests.alerts.receivers import HttpReceiver
from tests.alerts.telemetry import Usage, send
from tests.support import make_config
from tests.web import roles_data as org

INFO = ServerInfo(
    version="test",
    otlp_host=None,
    otlp_grpc_port=4317,
    otlp_http_port=4318,
    ingest_token_required=False,
    api_token_required=True,
    monthly_budget_usd=None,
    parallel_requests=1,
    demo_domain="demo.invalid",
)
RULES = "/api/v1/alerts/rules"


def as_role(role: Role) -> dict[str, str]:
    return {org.ROLE_HEADER: role.value}


ADMIN = as_role(Role.ADMIN)
NON_ADMINS = [role for role in Role if role is not Role.ADMIN]


@contextmanager
def alert_api(
    store: Store, data_dir: Path, alerts_file: Path | None = None
) -> Iterator[tuple[httpx.Client, AlertServices]]:
    """The server's API app (`build_api`, every router) served on a free port with alerting opened as `ccmon serve`
    opens it (the engine built, not started); the caller is picked by the `X-Test-Role` header."""
    config = make_config(data_dir, alerts_file=str(alerts_file) if alerts_file else None)
    directory = Directory(store)
    access = open_access(config, store, directory)
    alerts = open_alerts(config, store, directory)
    app = build_api(
        config,
        access,
        registry=CollectorRegistry(),
        info=INFO,
        ready=lambda: True,
        authenticate=org.authenticate,
        alerts=alerts,
    )
    with org.serving(app) as client:
        yield client, alerts


@pytest.fixture
def api(store: Store, tmp_path: Path) -> Iterator[tuple[httpx.Client, AlertServices]]:
    with alert_api(store, tmp_path) as served:
        yield served


def _rule(**changes: Any) -> dict[str, Any]:
    return {"id": "big-spend", "name": "Big spend", "signal": "cost", "op": ">", "threshold": 10, **changes}


def _audit(store: Store) -> list[tuple[str, str, str, str]]:
    return [(e.actor, e.action, e.target, e.outcome) for e in Audit(store).entries(200).entries]


def test_the_default_rules_are_seeded_and_the_signals_listed(api: tuple[httpx.Client, AlertServices]) -> None:
    client, _ = api
    body = client.get(RULES, headers=as_role(Role.VIEWER)).json()
    rules = {rule["id"]: rule for rule in body["rules"]}
    assert {rule.id for rule in DEFAULT_RULES} <= set(rules)
    assert {rules[rule.id]["source"] for rule in DEFAULT_RULES} == {"default"}
    assert "cost" in {signal["name"] for signal in body["signals"]}
    assert all({"description", "unit", "group_by", "params", "default_window_s"} <= set(s) for s in body["signals"])


def test_rules_are_created_changed_validated_and_deleted_by_admins_with_audit(
    api: tuple[httpx.Client, AlertServices], store: Store
) -> None:
    client, _ = api
    created = client.post(RULES, json=_rule(), headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["source"] == "api" and created.json()["threshold"] == 10
    assert client.post(RULES, json=_rule(), headers=ADMIN).status_code == 409
    assert client.get(f"{RULES}/big-spend", headers=as_role(Role.FINANCE)).json()["name"] == "Big spend"
    changed = client.put(f"{RULES}/big-spend", json=_rule(threshold=25, enabled=False), headers=ADMIN)
    assert changed.status_code == 200 and changed.json()["threshold"] == 25
    assert client.get(f"{RULES}/big-spend", headers=ADMIN).json()["enabled"] is False
    mismatch = client.put(f"{RULES}/big-spend", json=_rule(id="other"), headers=ADMIN)
    assert mismatch.status_code == 422 and "id:" in mismatch.json()["detail"]
    assert client.put(f"{RULES}/nope", json=_rule(id="nope"), headers=ADMIN).status_code == 404
    assert client.post(f"{RULES}/validate", json=_rule(), headers=ADMIN).json() == {"ok": True}
    assert client.delete(f"{RULES}/big-spend", headers=ADMIN).json() == {"deleted": "big-spend"}
    assert client.get(f"{RULES}/big-spend", headers=ADMIN).status_code == 404
    assert client.delete(f"{RULES}/big-spend", headers=ADMIN).status_code == 404
    actions = [(action, target, outcome) for actor, action, target, outcome in _audit(store) if actor == "root"]
    assert ("alert.rule.create", "big-spend", "ok") in actions
    assert ("alert.rule.create", "big-spend", "refused") in actions
    assert ("alert.rule.update", "big-spend", "ok") in actions
    assert ("alert.rule.delete", "big-spend", "ok") in actions


def test_a_default_rule_can_be_edited_and_stays_edited(api: tuple[httpx.Client, AlertServices]) -> None:
    client, alerts = api
    default = client.get(f"{RULES}/high-daily-cost", headers=ADMIN).json()
    edited = {k: v for k, v in default.items() if k != "source"} | {"threshold": 12345}
    assert client.put(f"{RULES}/high-daily-cost", json=edited, headers=ADMIN).json()["source"] == "api"
    alerts.rules.seed_defaults(DEFAULT_RULES)  # what the next start does
    assert client.get(f"{RULES}/high-daily-cost", headers=ADMIN).json()["threshold"] == 12345


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (_rule(threshold="lots"), "threshold: expected a number"),
        (_rule(signal="weather"), "signal: unknown signal 'weather'"),
        (_rule(group_by=["session_id"]), "group_by: signal cost cannot be split by session_id"),
        (_rule(channels=["pager"]), "channels: unknown channel pager"),
        (_rule(colour="red"), "unknown field colour"),
        ({"id": "x"}, "required"),
    ],
)
def test_bad_rules_are_422_naming_the_field(api: tuple[httpx.Client, AlertServices], body: Any, detail: str) -> None:
    client, _ = api
    for path in (RULES, f"{RULES}/validate"):
        response = client.post(path, json=body, headers=ADMIN)
        assert response.status_code == 422, response.text
        assert detail in response.json()["detail"]


def test_bodies_that_are_not_json_objects_or_too_large_are_refused(api: tuple[httpx.Client, AlertServices]) -> None:
    client, _ = api
    assert client.post(RULES, content=b"{not json", headers=ADMIN).status_code == 422
    assert client.post(RULES, json=[1, 2], headers=ADMIN).json()["detail"] == "the body must be a JSON object"
    huge = client.post(RULES, json=_rule(summary="x" * (MAX_BODY + 1)), headers=ADMIN)
    assert huge.status_code == 413


@pytest.mark.parametrize("role", NON_ADMINS, ids=lambda r: r.value)
def test_only_admins_write(api: tuple[httpx.Client, AlertServices], role: Role) -> None:
    client, alerts = api
    headers = as_role(role)
    assert client.post(RULES, json=_rule(), headers=headers).status_code == 403
    assert client.put(f"{RULES}/high-daily-cost", json=_rule(id="high-daily-cost"), headers=headers).status_code == 403
    assert client.delete(f"{RULES}/high-daily-cost", headers=headers).status_code == 403
    assert client.post(f"{RULES}/dry-run", json={"rule": _rule()}, headers=headers).status_code == 403
    silence = {"matchers": [{"label": "rule", "op": "=", "value": "x"}], "ends_at": "2099-01-01T00:00:00Z"}
    assert client.post("/api/v1/alerts/silences", json=silence, headers=headers).status_code == 403
    assert client.post("/api/v1/alerts/reload", headers=headers).status_code == 403
    assert client.get(RULES, headers=headers).status_code == 200
    assert client.get("/api/v1/alerts", headers=headers).status_code == 200
    assert alerts.rules.get("big-spend") is None
    assert client.get(RULES).status_code == 401


def _fire(alerts: AlertServices, rule: Rule, samples: list[Sample], now: dt.datetime) -> None:
    """Instances as the engine leaves them after evaluating `rule` on `samples` (H1's state machine + store)."""
    alerts.instances.save(step(rule, {}, samples, now))


SPEND = Rule(id="spend", name="Spend", signal="cost", op=Op.GT, threshold=1, group_by=("person", "team"))


def _firing_per_person(alerts: AlertServices) -> None:
    alerts.rules.put(SPEND)
    now = dt.datetime.now(dt.UTC)
    samples = [
        Sample({"person": org.ANN.email, "team": org.ANN.team}, 5),
        Sample({"person": org.DAN.email, "team": org.DAN.team}, 7),
    ]
    _fire(alerts, SPEND, samples, now - dt.timedelta(seconds=1))
    team_rule = Rule(id="team-spend", name="Team spend", signal="cost", op=Op.GT, threshold=1, group_by=("team",))
    alerts.rules.put(team_rule)
    _fire(alerts, team_rule, [Sample({"team": org.CAT.team}, 9)], now)


def _people(body: dict[str, Any]) -> set[str]:
    return {i["labels"].get("person") or i["labels"].get("team") for i in body["instances"]}


def test_alerts_are_scoped_to_the_caller(api: tuple[httpx.Client, AlertServices]) -> None:
    client, alerts = api
    _firing_per_person(alerts)
    seen = {role: client.get("/api/v1/alerts", headers=as_role(role)).json() for role in Role}
    assert _people(seen[Role.ADMIN]) == {org.ANN.email, org.DAN.email, org.CAT.team}
    assert _people(seen[Role.FINANCE]) == {org.ANN.email, org.DAN.email, org.CAT.team}
    assert _people(seen[Role.VIEWER]) == {org.CAT.team}  # no per-person instance
    assert _people(seen[Role.MANAGER]) == set()  # labels name no department: not provably theirs
    assert _people(seen[Role.TEAM_LEAD]) == {org.ANN.email}
    assert _people(seen[Role.DEVELOPER]) == {org.ANN.email}
    firing = seen[Role.ADMIN]["instances"][0]
    assert firing["state"] == "firing" and firing["rule_name"] in {"Spend", "Team spend"}
    assert firing["silenced"] is False and firing["fired_at"].endswith("Z")
    counts = {rule["id"]: rule["state_counts"] for rule in seen[Role.ADMIN]["rules"]}
    assert counts["spend"] == {"firing": 2} and counts["team-spend"] == {"firing": 1}
    assert {rule["id"]: rule["state_counts"] for rule in seen[Role.DEVELOPER]["rules"]}["spend"] == {"firing": 1}
    history = client.get("/api/v1/alerts/history", headers=as_role(Role.TEAM_LEAD)).json()
    assert {e["labels"]["person"] for e in history["entries"]} == {org.ANN.email}
    everything = client.get("/api/v1/alerts/history", params={"limit": 1}, headers=ADMIN).json()
    assert len(everything["entries"]) == 1 and everything["next"]
    rest = client.get("/api/v1/alerts/history", params={"before": everything["next"]}, headers=ADMIN).json()
    assert everything["entries"][0]["rule_id"] == "team-spend"
    assert [e["rule_id"] for e in rest["entries"]] == ["spend", "spend"]
    only = client.get("/api/v1/alerts/history", params={"rule": "team-spend"}, headers=ADMIN).json()
    assert [e["rule_id"] for e in only["entries"]] == ["team-spend"]
    assert client.get("/api/v1/alerts/history", params={"before": "yesterday"}, headers=ADMIN).status_code == 422


def test_a_person_only_instance_is_scoped_by_the_persons_team(
    api: tuple[httpx.Client, AlertServices], store: Store
) -> None:
    client, alerts = api
    now = dt.datetime.now(dt.UTC)
    send(store, [Usage(person=org.BEN.email, team=org.BEN.team, department=org.BEN.department, cost=1, at=now)])
    rule = Rule(id="solo", name="Solo", signal="cost", op=Op.GT, threshold=0, group_by=("person",))
    alerts.rules.put(rule)
    _fire(alerts, rule, [Sample({"person": org.BEN.email}, 1)], now)
    assert _people(client.get("/api/v1/alerts", headers=as_role(Role.TEAM_LEAD)).json()) == {org.BEN.email}
    assert _people(client.get("/api/v1/alerts", headers=as_role(Role.MANAGER)).json()) == {org.BEN.email}
    assert _people(client.get("/api/v1/alerts", headers=as_role(Role.DEVELOPER)).json()) == set()


def test_silences_cover_matching_instances(api: tuple[httpx.Client, AlertServices], store: Store) -> None:
    client, alerts = api
    _firing_per_person(alerts)
    ends = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    body = {"matchers": [{"label": "person", "op": "=", "value": org.DAN.email}], "ends_at": ends, "comment": "known"}
    created = client.post("/api/v1/alerts/silences", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["active"] is True and silence["created_by"] == "root"
    silenced = {
        i["labels"].get("person"): i["silenced"]
        for i in client.get("/api/v1/alerts", headers=ADMIN).json()["instances"]
    }
    assert silenced == {org.ANN.email: False, org.DAN.email: True, None: False}
    assert [s["id"] for s in client.get("/api/v1/alerts/silences", headers=ADMIN).json()["silences"]] == [silence["id"]]
    # The developer (ann) is not shown a silence naming dan.
    assert client.get("/api/v1/alerts/silences", headers=as_role(Role.DEVELOPER)).json()["silences"] == []
    bad = client.post("/api/v1/alerts/silences", json={**body, "ends_at": "soon"}, headers=ADMIN)
    assert bad.status_code == 422 and "ends_at" in bad.json()["detail"]
    assert client.delete(f"/api/v1/alerts/silences/{silence['id']}", headers=ADMIN).status_code == 200
    assert client.delete(f"/api/v1/alerts/silences/{silence['id']}", headers=ADMIN).status_code == 404
    actions = {(action, outcome) for _, action, _, outcome in _audit(store)}
    assert {
        ("alert.silence.create", "ok"),
        ("alert.silence.create", "refused"),
        ("alert.silence.delete", "ok"),
    } <= actions


def test_channels_show_no_secrets_and_a_test_notification_arrives(store: Store, tmp_path: Path) -> None:
    with HttpReceiver() as receiver:
        alerts_file = tmp_path / "alerts.yaml"
        alerts_file.write_text(
            f"channels:\n  hook:\n    kind: webhook\n    url: {receiver.url}/secret-path\n    secret: hmac-key\n"
        )
        with alert_api(store, tmp_path, alerts_file) as (client, _):
            listed = client.get("/api/v1/alerts/channels", headers=as_role(Role.VIEWER))
            assert listed.json()["channels"] == [
                {"name": "hook", "kind": "webhook", "send_resolved": True, "target": "127.0.0.1"}
            ]
            assert "secret-path" not in listed.text and "hmac-key" not in listed.text
            assert client.post("/api/v1/alerts/channels/hook/test", headers=as_role(Role.DEVELOPER)).status_code == 403
            assert client.post("/api/v1/alerts/channels/nope/test", headers=ADMIN).status_code == 404
            sent = client.post("/api/v1/alerts/channels/hook/test", headers=ADMIN)
            assert sent.status_code == 200 and sent.json()["state"] == "sent", sent.text
            (request,) = receiver.wait_for(1)
            assert request.path.endswith("/secret-path")
            deliveries = client.get("/api/v1/alerts/deliveries", headers=ADMIN).json()["deliveries"]
            assert [(d["channel"], d["state"]) for d in deliveries] == [("hook", "sent")]
            assert client.get("/api/v1/alerts/deliveries", params={"limit": 0}, headers=ADMIN).status_code == 422
        assert ("root", "alert.channel.test", "hook", "sent") in _audit(store)


def test_dry_run_says_when_a_rule_would_have_fired(api: tuple[httpx.Client, AlertServices], store: Store) -> None:
    client, _ = api
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    send(store, [Usage(person=org.ANN.email, team=org.ANN.team, cost=50, at=now - dt.timedelta(hours=30))])
    rule = _rule(threshold=20, window=3600, group_by=["team"])
    answer = client.post(f"{RULES}/dry-run", json={"rule": rule, "days": 2, "step_s": 1800}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["threshold"] == 20 and body["op"] == ">"
    (firing,) = body["firing"]
    assert firing["labels"] == {"team": org.ANN.team}
    start = dt.datetime.fromisoformat(firing["start"].replace("Z", "+00:00"))
    assert now - dt.timedelta(hours=31) < start <= now - dt.timedelta(hours=29)
    assert any(point[1] == 50 for series in body["series"] for point in series["points"])
    for bad, detail in [
        ({"rule": rule, "days": 0}, "days:"),
        ({"rule": rule, "step_s": 1}, "step_s:"),
        ({"rule": rule, "days": 31, "step_s": 60}, "steps"),
        ({"rule": {**rule, "op": "=="}}, "rule.op:"),
        ({"rule": rule, "colour": 1}, "unknown field colour"),
    ]:
        refused = client.post(f"{RULES}/dry-run", json=bad, headers=ADMIN)
        assert refused.status_code == 422 and detail in refused.json()["detail"], refused.text


GOOD_FILE = """\
rules:
  - {id: file-rule, name: From the file, signal: cost, op: ">", threshold: 1}
defaults:
  low-adoption: {enabled: false}
"""


def test_reload_applies_a_good_file_and_keeps_the_rules_on_a_bad_one(store: Store, tmp_path: Path) -> None:
    alerts_file = tmp_path / "alerts.yaml"
    alerts_file.write_text(GOOD_FILE)
    with alert_api(store, tmp_path, alerts_file) as (client, _):
        rules = {r["id"]: r for r in client.get(RULES, headers=ADMIN).json()["rules"]}
        assert rules["file-rule"]["source"] == "file"
        assert rules["low-adoption"]["enabled"] is False and rules["low-adoption"]["source"] == "file"
        refused = client.put(f"{RULES}/file-rule", json=_rule(id="file-rule"), headers=ADMIN)
        assert refused.status_code == 409 and "alerts file" in refused.json()["detail"]
        assert client.delete(f"{RULES}/file-rule", headers=ADMIN).status_code == 409

        alerts_file.write_text(GOOD_FILE.replace("threshold: 1}", "threshold: lots}"))
        bad = client.post("/api/v1/alerts/reload", headers=ADMIN)
        assert bad.status_code == 422
        assert bad.json()["detail"] == f"{alerts_file}:2: rules[0].threshold: expected a number"
        rules = {r["id"]: r for r in client.get(RULES, headers=ADMIN).json()["rules"]}
        assert rules["file-rule"]["threshold"] == 1  # still in force

        alerts_file.write_text("rules:\n  - {id: other-rule, name: Other, signal: sessions, op: '>', threshold: 5}\n")
        good = client.post("/api/v1/alerts/reload", headers=ADMIN)
        assert good.status_code == 200 and good.json()["summary"].startswith("1 rules")
        rules = {r["id"]: r for r in client.get(RULES, headers=ADMIN).json()["rules"]}
        assert "file-rule" not in rules and rules["other-rule"]["source"] == "file"
        assert rules["low-adoption"]["enabled"] is True and rules["low-adoption"]["source"] == "default"
    outcomes = [outcome for actor, action, _, outcome in _audit(store) if action == "alert.file.reload"]
    assert outcomes == ["ok", "refused"]


def test_reload_without_an_alerts_file_is_a_conflict(api: tuple[httpx.Client, AlertServices]) -> None:
    client, _ = api
    assert client.post("/api/v1/alerts/reload", headers=ADMIN).status_code == 409


def test_a_personal_budget_instance_is_a_persons_not_its_teams(
    api: tuple[httpx.Client, AlertServices], store: Store
) -> None:
    """A per-person budget of a team: its instances are each one person's (the viewer, who sees no person, sees
    none of them, even one recorded without a `person` label), while the pooled team budget's is the team's."""
    client, alerts = api
    now = dt.datetime.now(dt.UTC)
    send(store, [Usage(person=org.ANN.email, team=org.ANN.team, department=org.ANN.department, cost=1, at=now)])
    team = {"scope": "team", "scope_value": org.ANN.team, "period": "monthly", "amount": 10}
    assert client.post("/api/v1/budgets", json={"id": "each", "per_person": True, **team}, headers=ADMIN).is_success
    assert client.post("/api/v1/budgets", json={"id": "pool", **team}, headers=ADMIN).is_success
    rule = Rule(id="budget-watch", name="Budget watch", signal="budget_usage", op=Op.GE, threshold=50)
    alerts.rules.put(rule)
    common = {"scope": "team", "period": "monthly", "unit": "usd"}
    personal = {**common, "budget": "each", "subject": org.ANN.email, "person": org.ANN.email}
    unlabelled = {**common, "budget": "each", "subject": org.BEN.email}  # recorded before the `person` label
    pooled = {**common, "budget": "pool", "subject": org.ANN.team}
    _fire(alerts, rule, [Sample(personal, 90), Sample(unlabelled, 95), Sample(pooled, 70)], now)

    def subjects(role: Role, path: str = "/api/v1/alerts") -> set[str]:
        body = client.get(path, headers=as_role(role)).json()
        return {item["labels"]["subject"] for item in body.get("instances", body.get("entries", []))}

    everything = {org.ANN.email, org.BEN.email, org.ANN.team}
    assert subjects(Role.ADMIN) == everything
    assert subjects(Role.VIEWER) == {org.ANN.team}
    assert subjects(Role.VIEWER, "/api/v1/alerts/history") == {org.ANN.team}
    assert subjects(Role.TEAM_LEAD) == {org.ANN.email, org.ANN.team}  # ben: not known to be on the team
    assert subjects(Role.DEVELOPER) == {org.ANN.email}


def test_a_silence_naming_people_by_pattern_or_negation_is_shown_only_to_who_sees_everyone(
    api: tuple[httpx.Client, AlertServices],
) -> None:
    client, _ = api
    ends = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    made = {}
    for name, matcher in {
        "regex": {"label": "person", "op": "=~", "value": r"dan@example\.com"},
        "negation": {"label": "person", "op": "!=", "value": org.BEN.email},
        "team-regex": {"label": "team", "op": "=~", "value": "team-o.*"},
        "rule": {"label": "rule", "op": "=", "value": "spend"},
    }.items():
        matchers = [{"label": "rule", "op": "=", "value": "spend"}, matcher]
        body = {"matchers": matchers, "ends_at": ends, "comment": name}
        created = client.post("/api/v1/alerts/silences", json=body, headers=ADMIN)
        assert created.status_code == 201, created.text
        made[created.json()["id"]] = name

    def shown(role: Role) -> set[str]:
        silences = client.get("/api/v1/alerts/silences", headers=as_role(role)).json()["silences"]
        return {made[s["id"]] for s in silences}

    assert shown(Role.ADMIN) == shown(Role.FINANCE) == {"regex", "negation", "team-regex", "rule"}
    assert shown(Role.VIEWER) == {"team-regex", "rule"}  # teams, not people
    for role in (Role.TEAM_LEAD, Role.MANAGER, Role.DEVELOPER):
        assert shown(role) == {"rule"}, role
