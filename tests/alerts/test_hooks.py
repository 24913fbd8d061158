"""`HookService`: who a hook's request names (as telemetry keys them) and what their budget and policy say.

Telemetry goes through the real ingest path (tests/alerts/telemetry.py); budgets and policies are the real ones over
the store.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest

from ccmon.alerts.budgets import Budgets, parse_budget
from ccmon.alerts.hooks import (
    HIDDEN_REASONS,
    NOT_FOUND_CACHE_S,
    UNKNOWN_NOTE,
    HookRequest,
    HookService,
    shown_to_pins,
    warn_key,
)
from ccmon.alerts.policy import Policies, parse_policy
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import METRICS, Encoding
from ccmon.store.facade import Store
from ccmon.store.records import utc_now
from tests.alerts.telemetry import Usage, send

ANN, BOB, CAROL = "ann@example.com", "bob@example.com", "carol@example.com"


def _pseudonym(email: str) -> str:
    return f"h:{email}"


def _service(store: Store, person_key: Any = lambda email: email) -> HookService:
    return HookService(store, Budgets(store), Policies(store), person_key)


def _send_installation_only(store: Store, user_id: str, account_uuid: str, at: datetime) -> None:
    """A cost point naming the person only by `user.id` and `user.account_uuid` (an API-key login: no email)."""
    ns = str(int(at.timestamp() * 1e9))
    start = str(int((at - timedelta(minutes=1)).timestamp() * 1e9))
    attrs = [
        {"key": key, "value": {"stringValue": value}}
        for key, value in (("user.id", user_id), ("user.account_uuid", account_uuid), ("session.id", "s-inst"))
    ]
    point = {"asDouble": 0.5, "startTimeUnixNano": start, "timeUnixNano": ns, "attributes": attrs}
    metric = {"name": "claude_code.cost.usage", "sum": {"aggregationTemporality": 1, "dataPoints": [point]}}
    body = orjson.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]})
    writer = BatchWriter(store, IngestStats(), max_delay_s=0.01)
    writer.start()
    try:
        writer.submit(METRICS.decode(body, Encoding.JSON, 1 << 20)).result(timeout=30)
    finally:
        writer.close()


@pytest.fixture
def now() -> datetime:
    return utc_now()


def test_an_email_or_a_person_is_mapped_like_a_login(store: Store, now: datetime) -> None:
    hooks = _service(store, _pseudonym)
    assert hooks.identify(email=ANN, now=now) == f"h:{ANN}"
    assert hooks.identify(person=ANN, now=now) == f"h:{ANN}"
    assert hooks.identify(person="  a1b2c3  ", now=now) == "a1b2c3"  # a person key, as telemetry stores it
    assert hooks.identify(now=now) is None


def test_a_session_account_or_installation_is_the_person_telemetry_names(store: Store, now: datetime) -> None:
    at = now - timedelta(seconds=5)
    send(store, [Usage(person=ANN, at=at, cost=1.0, session="s-ann", account_uuid="acct-ann")])
    _send_installation_only(store, "inst-9", "acct-9", at)
    hooks = _service(store)
    assert hooks.identify(session_id="s-ann", now=now) == ANN
    assert hooks.identify(account_uuid="acct-ann", now=now) == ANN
    # Telemetry without an email is keyed by the account uuid: the installation id maps to that.
    assert hooks.identify(user_id="inst-9", now=now) == "acct-9"
    assert hooks.identify(session_id="s-new", account_uuid="acct-none", user_id="inst-none", now=now) is None
    # A session telemetry knows wins over whoever else the request names: a developer cannot answer as a colleague.
    send(store, [Usage(person=BOB, at=at, cost=1.0, session="s-bob")])
    assert hooks.identify(email=BOB, session_id="s-ann", now=now) == ANN
    assert hooks.identify(person=BOB, session_id="s-ann", now=now) == ANN
    assert hooks.identify(session_id="s-bob", account_uuid="acct-ann", now=now) == BOB
    # Then the person or email, over the account.
    assert hooks.identify(email=BOB, session_id="s-unknown", account_uuid="acct-ann", now=now) == BOB
    # Found once, kept: a session's person does not change.
    assert hooks.identify(session_id="s-ann", now=now) == ANN


def test_telemetry_older_than_the_lookback_does_not_identify(store: Store, now: datetime) -> None:
    send(store, [Usage(person=ANN, at=now - timedelta(days=60), cost=1.0, session="s-old")])
    assert _service(store).identify(session_id="s-old", now=now) is None
    assert _service(store).identify(session_id="s-old", now=now - timedelta(days=59)) == ANN


def test_nobody_known_is_allowed_with_a_note(store: Store, now: datetime) -> None:
    store_budgets = Budgets(store)
    store_budgets.put(
        parse_budget(
            {
                "id": "cap",
                "scope": "organization",
                "period": "monthly",
                "amount": 0.01,
                "per_person": True,
                "enforce": "block",
            }
        )
    )
    answer = _service(store).budget(HookRequest(session_id="brand-new"), now)
    assert (answer.decision, answer.person, answer.note) == ("allow", None, UNKNOWN_NOTE)
    assert "first prompt" in answer.to_json()["note"]
    assert _service(store).policy(HookRequest(session_id="brand-new", tool_name="Bash"), now).decision == "allow"


def test_budget_decisions(store: Store, now: datetime) -> None:
    at = now - timedelta(seconds=5)
    send(
        store,
        [
            Usage(person=ANN, at=at, cost=12.0, session="s-ann"),
            Usage(person=BOB, at=at, cost=8.0, session="s-bob"),
            Usage(person=CAROL, at=at, cost=1.0, session="s-carol"),
        ],
    )
    Budgets(store).put(
        parse_budget(
            {
                "id": "dev-cap",
                "name": "Developer cap",
                "scope": "organization",
                "period": "monthly",
                "amount": 10,
                "per_person": True,
                "enforce": "block",
            }
        )
    )
    hooks = _service(store)
    blocked = hooks.budget(HookRequest(session_id="s-ann"), now)
    assert blocked.decision == "block"
    assert blocked.person == ANN
    assert "exhausted" in blocked.reason and "$12.00 of $10.00" in blocked.reason
    assert [s["budget_id"] for s in blocked.statuses] == ["dev-cap"]
    warned = hooks.budget(HookRequest(email=BOB), now)
    assert warned.decision == "warn"
    assert warned.warn_key.startswith(f"dev-cap/{BOB}@0.75@")
    allowed = hooks.budget(HookRequest(session_id="s-carol"), now)
    assert (allowed.decision, allowed.warn_key) == ("allow", "")
    # Only the person's own numbers: nobody else's usage is in an answer.
    assert ANN not in orjson.dumps(allowed.to_json()).decode()


def test_warn_key_changes_with_the_threshold_and_the_period_only() -> None:
    status = {
        "budget_id": "b",
        "subject": ANN,
        "threshold_crossed": 0.75,
        "period_start": "2026-11-01T00:00:00Z",
        "enforce": "warn",
        "used": 80,
    }
    assert warn_key([status]) == warn_key([{**status, "used": 85}])
    assert warn_key([status]) != warn_key([{**status, "threshold_crossed": 0.9}])
    assert warn_key([status]) != warn_key([{**status, "period_start": "2026-12-01T00:00:00Z"}])
    assert warn_key([{**status, "enforce": "off"}]) == ""


def test_policy_denies_a_tool(store: Store, now: datetime) -> None:
    send(store, [Usage(person=ANN, at=now - timedelta(seconds=5), cost=1.0, session="s-ann")])
    Policies(store).put(
        parse_policy(
            {"id": "no-web", "name": "No web", "scope": "organization", "deny_tools": ["WebFetch"], "enforce": "block"}
        )
    )
    hooks = _service(store)
    denied = hooks.policy(HookRequest(session_id="s-ann", tool_name="WebFetch"), now)
    assert (denied.decision, denied.person, denied.policy_id) == ("deny", ANN, "no-web")
    assert denied.reason
    assert hooks.policy(HookRequest(session_id="s-ann", tool_name="Write"), now).decision == "allow"


def test_a_session_that_found_nobody_is_kept_for_a_while_an_account_is_not(store: Store, now: datetime) -> None:
    """Not finding a session costs a scan of a month of telemetry: a hook asking at every prompt of a session
    ccmon has not seen yet does not repeat it before `NOT_FOUND_CACHE_S`. An account's miss is not kept: once the
    person's telemetry is in, their next prompt (in a new session, over a cap) must be recognised at once."""
    ticks = [0.0]
    hooks = HookService(store, Budgets(store), Policies(store), lambda email: email, clock=lambda: ticks[0])
    assert hooks.identify(session_id="s-late", account_uuid="acct-late", now=now) is None
    send(
        store, [Usage(person=ANN, at=now - timedelta(seconds=5), cost=1.0, session="s-late", account_uuid="acct-late")]
    )
    ticks[0] = NOT_FOUND_CACHE_S - 1
    assert hooks.identify(session_id="s-late", now=now) is None  # still the cached miss
    assert hooks.identify(account_uuid="acct-late", now=now) == ANN
    ticks[0] = NOT_FOUND_CACHE_S + 1
    assert hooks.identify(session_id="s-late", now=now) == ANN


def test_a_pinned_token_is_answered_about_its_people_without_wider_pools(store: Store, now: datetime) -> None:
    at = now - timedelta(seconds=5)
    send(
        store,
        [
            Usage(person=ANN, at=at, cost=30.0, team="team-a", department="dept-x", cost_center="cc-1"),
            Usage(person=BOB, at=at, cost=1.0, team="team-b", department="dept-x"),
        ],
    )
    budgets = Budgets(store)
    common = {"period": "monthly", "enforce": "warn"}
    budgets.put(
        parse_budget(
            {"id": "team-a", "name": "Team A", "scope": "team", "scope_value": "team-a", "amount": 1000, **common}
        )
    )
    budgets.put(
        parse_budget(
            {"id": "dept-x", "name": "Dept X", "scope": "department", "scope_value": "dept-x", "amount": 1000, **common}
        )
    )
    budgets.put(
        parse_budget(
            {"id": "org", "name": "Company", "scope": "organization", "amount": 20, **common, "enforce": "block"}
        )
    )
    hooks = _service(store)
    assert hooks.within_pins(ANN, {"team": "team-a"}, now)
    assert hooks.within_pins(ANN, {"team": "team-a", "department": "dept-x", "cost_center": "cc-1"}, now)
    assert not hooks.within_pins(BOB, {"team": "team-a"}, now)
    assert not hooks.within_pins(ANN, {"cost_center": "cc-2"}, now)
    assert not hooks.within_pins("nobody@example.com", {"team": "team-a"}, now)  # unknown: held by no pin
    assert not hooks.within_pins(ANN, {"region": "eu"}, now)
    assert not hooks.within_pins(ANN, {"organization_id": "org-1"}, now)  # her rows name no organisation
    assert hooks.within_pins(ANN, {}, now)

    everything = hooks.budget_of(ANN, now)
    assert everything.decision == "block" and "(Company)" in everything.reason
    assert {s["budget_id"] for s in everything.statuses} == {"team-a", "dept-x", "org"}
    pinned = hooks.budget_of(ANN, now, {"team": "team-a"})
    # The company's pool still decides, but neither its figures nor the department's are shown to team A's token.
    assert (pinned.decision, pinned.reason) == ("block", HIDDEN_REASONS["block"])
    assert [s["budget_id"] for s in pinned.statuses] == ["team-a"]
    assert "Company" not in orjson.dumps(pinned.to_json()).decode()


def test_which_statuses_a_pinned_token_is_shown() -> None:
    pool = {"per_person": False, "scope": "team", "scope_value": "team-a"}
    assert shown_to_pins(pool, {"team": "team-a"})
    assert shown_to_pins(pool, {})
    assert not shown_to_pins(pool, {"team": "team-b"})
    assert not shown_to_pins(pool, {"department": "team-a"})
    assert not shown_to_pins({"per_person": False, "scope": "organization", "scope_value": ""}, {"team": "team-a"})
    assert shown_to_pins({"per_person": True, "scope": "organization", "scope_value": ""}, {"team": "team-a"})
    assert shown_to_pins({"per_person": False, "scope": "person", "scope_value": ANN}, {"team": "team-a"})
