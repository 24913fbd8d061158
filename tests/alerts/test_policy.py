"""Model policies: definitions, patterns, violations listed from the requests sent through ingest, hook decisions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ccmon.alerts.model import Enforce, ModelPolicy
from ccmon.alerts.policy import (
    Policies,
    PolicyDecision,
    dump_policy,
    matches,
    model_allowed,
    parse_policy,
)
from ccmon.analytics.scope import Forbidden, Scope
from ccmon.analytics.spend import PersonDims
from ccmon.analytics.timerange import TimeRange
from ccmon.store.facade import Store
from tests.alerts.telemetry import Usage, store_with

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
NOV = TimeRange(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
ANN, BEN, CAT, DAN = "ann@example.com", "ben@example.com", "cat@example.com", "dan@example.com"
OPUS, SONNET, HAIKU, OPUS_1M = "claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5[1m]"


def nov(day: int) -> datetime:
    return datetime(2026, 11, day, 10, tzinfo=UTC)


USAGES = [
    Usage(ANN, nov(2), 1.0, 10, OPUS, "s-ann-1", "platform", "eng", requests=3),
    Usage(ANN, nov(15), 1.0, 10, SONNET, "s-ann-2", "platform", "eng"),
    Usage(BEN, nov(18), 1.0, 10, HAIKU, "s-ben", "platform", "eng", requests=2),
    Usage(CAT, nov(19), 1.0, 10, OPUS_1M, "s-cat", "web", "eng"),
    Usage(DAN, nov(10), 1.0, 10, SONNET, "s-dan", "ops", "ops"),
]


def policy(policy_id: str, scope: str = "organization", scope_value: str = "", **fields: Any) -> ModelPolicy:
    data = {"id": policy_id, "scope": scope, **fields}
    if scope_value:
        data["scope_value"] = scope_value
    return parse_policy(data)


POLICIES = [
    policy("no-opus", name="No Opus", deny=["*OPUS*"], enforce="block"),
    policy("platform-sonnet", "team", "platform", allow=["claude-sonnet-*"], enforce="warn"),
    policy("ops-tools", "department", "ops", deny_tools=["mcp__*", "WebFetch"], enforce="block"),
    policy("eng-haiku", "department", "eng", deny=["*haiku*"]),  # enforce off: alerts only
]


@pytest.fixture(scope="module")
def org(chdb_path: Path, clickhouse_url: str | None) -> Iterator[Store]:
    with store_with(chdb_path, clickhouse_url, USAGES) as opened:
        yield opened


@pytest.fixture
def policies(org: Store) -> Policies:
    org.command("TRUNCATE TABLE model_policies")
    stored = Policies(org)
    stored.put_many(POLICIES)
    return stored


# --- definitions and patterns -------------------------------------------------------------------------------------


def test_parse_policy_defaults_and_round_trip() -> None:
    parsed = parse_policy({"id": "p", "scope": "team", "scope_value": "web", "allow": ["claude-*"]}, source="file")
    assert parsed == ModelPolicy("p", "p", "team", "web", allow=("claude-*",), enforce=Enforce.OFF, source="file")
    full = POLICIES[0]
    assert parse_policy({**dump_policy(full), "source": "x"}) == full
    assert dump_policy(full) == {
        "id": "no-opus",
        "name": "No Opus",
        "scope": "organization",
        "scope_value": "",
        "allow": [],
        "deny": ["*OPUS*"],
        "deny_tools": [],
        "enforce": "block",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "p", "scope": "organization"}, "policy: give at least one of allow, deny or deny_tools"),
        ({"id": "P!", "scope": "organization", "deny": ["x"]}, "id: expected a slug"),
        ({"scope": "organization", "deny": ["x"]}, "id: required"),
        ({"id": "p", "deny": ["x"]}, "scope: required"),
        ({"id": "p", "scope": "team", "deny": ["x"]}, "scope_value: required for scope team"),
        ({"id": "p", "scope": "planet", "deny": ["x"]}, "scope: 'planet' is not one of"),
        ({"id": "p", "scope": "organization", "allow": "claude-*"}, "allow: expected a list of patterns"),
        ({"id": "p", "scope": "organization", "deny": ["ok", " "]}, r"deny\[1\]: expected a non-empty pattern"),
        ({"id": "p", "scope": "organization", "deny_tools": [3]}, r"deny_tools\[0\]: expected a non-empty pattern"),
        ({"id": "p", "scope": "organization", "deny": ["a\nb"]}, r"deny\[0\]: at most 200 characters, no control"),
        ({"id": "p", "scope": "organization", "deny": ["x"] * 101}, "deny: at most 100 patterns"),
        ({"id": "p", "scope": "organization", "deny": ["x"], "enforce": "yes"}, "enforce: 'yes' is not one of off,"),
        ({"id": "p", "scope": "organization", "deny": ["x"], "models": []}, "unknown field models"),
        ({"id": "p", "scope": "organization", "deny": ["x"], "name": ""}, "name: expected a non-empty string"),
    ],
)
def test_parse_policy_refuses_bad_input(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_policy(data)


def test_patterns_are_shell_style_and_case_insensitive() -> None:
    assert matches("*OPUS*", OPUS_1M) and matches("claude-*-4-5*", "Claude-Sonnet-4-5")
    assert not matches("claude-sonnet-*", HAIKU)
    assert matches("mcp__*", "mcp__github__create_issue") and matches("WebFetch", "webfetch")
    no_opus, platform_sonnet = POLICIES[0], POLICIES[1]
    assert model_allowed([no_opus, platform_sonnet], SONNET) == (True, None)
    assert model_allowed([no_opus, platform_sonnet], OPUS_1M) == (False, no_opus)  # denied by name
    assert model_allowed([platform_sonnet, no_opus], HAIKU) == (False, platform_sonnet)  # not in the allow list
    assert model_allowed([], OPUS) == (True, None)
    assert model_allowed([no_opus], "") == (True, None)


def test_policies_are_stored(policies: Policies) -> None:
    assert [p.id for p in policies.items()] == ["eng-haiku", "no-opus", "ops-tools", "platform-sonnet"]
    assert policies.get("no-opus") == POLICIES[0]
    assert policies.delete("no-opus") and policies.get("no-opus") is None
    dims = PersonDims("platform", "eng", "")
    assert [p.id for p in policies.applying(ANN, dims)] == ["eng-haiku", "platform-sonnet"]
    assert [p.id for p in policies.applying(DAN, PersonDims("ops", "ops", ""))] == ["ops-tools"]


# --- violations ---------------------------------------------------------------------------------------------------


def test_violations_list_each_person_model_and_session(policies: Policies) -> None:
    found = [(v.person, v.model, v.session_id, v.requests, v.policy_id, v.enforce) for v in policies.violations(NOV)]
    assert found == [
        (ANN, OPUS, "s-ann-1", 3, "no-opus", Enforce.BLOCK),
        (BEN, HAIKU, "s-ben", 2, "eng-haiku", Enforce.OFF),
        (CAT, OPUS_1M, "s-cat", 1, "no-opus", Enforce.BLOCK),
    ]
    ann = policies.violations(NOV)[0]
    assert ann.to_json() == {
        "person": ANN,
        "team": "platform",
        "department": "eng",
        "cost_center": "",
        "model": OPUS,
        "session_id": "s-ann-1",
        "requests": 3,
        "first_seen": "2026-11-02T10:00:00Z",
        "last_seen": "2026-11-02T10:00:00.002000Z",
        "policy_id": "no-opus",
        "policy_name": "No Opus",
        "enforce": "block",
    }


def test_violations_follow_range_scope_and_directory(org: Store, policies: Policies) -> None:
    later = TimeRange(nov(3), NOV.end)
    assert [v.person for v in policies.violations(later)] == [BEN, CAT]
    assert [v.person for v in policies.violations(NOV, Scope(teams=("web",)))] == [CAT]
    assert policies.violations(NOV, Scope(persons=(DAN,))) == []
    with pytest.raises(Forbidden):
        policies.violations(NOV, Scope(per_person=False))
    # the directory puts ben in ops, where haiku is fine
    moved = Policies(org, people={BEN: PersonDims("ops", "ops", "")}.get)
    assert [v.person for v in moved.violations(NOV)] == [ANN, CAT]
    policies.delete("no-opus")
    policies.delete("eng-haiku")
    # only platform's allow list is left: ann's opus and ben's haiku break it; cat is not in platform
    assert [(v.person, v.policy_id) for v in policies.violations(NOV)] == [
        (ANN, "platform-sonnet"),
        (BEN, "platform-sonnet"),
    ]


# --- decisions ----------------------------------------------------------------------------------------------------


def test_check_models(policies: Policies) -> None:
    assert policies.check(ANN, NOW, model=OPUS) == PolicyDecision(
        "deny", "The model claude-opus-4-5 is not allowed by the model policy 'No Opus' (no-opus).", "no-opus"
    )
    # the session's latest model when none is given
    assert policies.check(CAT, NOW, session_id="s-cat").decision == "deny"
    # a session whose last request is older than the lookback (7 days) has no known model
    assert policies.check(ANN, NOW, session_id="s-ann-1").decision == "allow"
    assert policies.check(ANN, NOW, session_id="s-ann-2") == PolicyDecision(
        "allow", "Allowed by every model policy that applies."
    )
    assert policies.check(ANN, NOW, session_id="s-unknown").decision == "allow"
    # ben: haiku is outside platform's allow list (warn) and denied by eng's alert-only policy: the warning wins
    ben = policies.check(BEN, NOW, model=HAIKU)
    assert (ben.decision, ben.policy_id) == ("warn", "platform-sonnet")
    cat = policies.check(CAT, NOW, model=HAIKU)
    assert cat == PolicyDecision(
        "allow",
        "The model claude-haiku-4-5 is not allowed by the model policy 'eng-haiku' (eng-haiku) (recorded as a "
        "violation).",
        "eng-haiku",
    )
    assert policies.check(CAT, NOW, model=OPUS_1M).decision == "deny"


def test_check_tools(policies: Policies) -> None:
    assert policies.check(DAN, NOW, tool="mcp__github__create_issue") == PolicyDecision(
        "deny",
        "The tool mcp__github__create_issue is not allowed by the model policy 'ops-tools' (ops-tools).",
        "ops-tools",
    )
    assert policies.check(DAN, NOW, tool="webfetch").decision == "deny"
    assert policies.check(DAN, NOW, tool="Bash").decision == "allow"
    assert policies.check(ANN, NOW, tool="WebFetch").decision == "allow"  # not in ops
    # a tool with a denied model: the model's denial counts too
    assert policies.check(DAN, NOW, tool="Bash", model=OPUS).policy_id == "no-opus"
    policies.put(policy("ops-tools", "department", "ops", deny_tools=["mcp__*"], enforce="off"))
    assert policies.check(DAN, NOW, tool="mcp__x").decision == "warn"


def test_check_without_applying_policies(org: Store, policies: Policies) -> None:
    for stored in POLICIES:
        if stored.scope != "department":
            policies.delete(stored.id)
    assert policies.check("zed@example.com", NOW, model=OPUS) == PolicyDecision("allow", "No model policy applies.")
    # the directory places a person the telemetry never saw
    placed = Policies(org, people={"zed@example.com": PersonDims("", "ops", "")}.get)
    assert placed.check("zed@example.com", NOW, tool="mcp__x").decision == "deny"
