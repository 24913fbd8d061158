"""Model policies: which models (and tools) a scope may use, the requests that broke a policy, and what a client's
hook may do about one.

A policy applies to a person when its scope holds them (the organisation; their team, department or cost center,
the directory's, else the latest their telemetry names; or them). Every policy that applies has its say: a model is
denied when it matches one of an applying policy's `deny` patterns, or when an applying policy lists `allow`
patterns and it matches none. Patterns are shell-style (`claude-*-4-5*`, `*haiku*`) and case-insensitive; a model
name's own brackets (`claude-opus-4-5[1m]`) are just characters. What a denial does is the policy's `enforce`: `block`
denies (the hook refuses), `warn` warns, `off` only alerts (the request is listed as a violation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from ccmon.alerts.budget_defs import parse_scope
from ccmon.alerts.budgets import PeopleLookup, applies, lookup_dims, merge_dims
from ccmon.alerts.definitions import Definitions
from ccmon.alerts.fields import CONTROL, choice, required, slug
from ccmon.alerts.model import Enforce, ModelPolicy
from ccmon.analytics import spend
from ccmon.analytics.query import Query
from ccmon.analytics.scope import Scope
from ccmon.analytics.spend import PersonDims
from ccmon.analytics.timerange import TimeRange, rfc3339
from ccmon.store.facade import Store

_FIELDS = frozenset({"id", "name", "scope", "scope_value", "allow", "deny", "deny_tools", "enforce", "source"})
MAX_PATTERNS = 100
SESSION_LOOKBACK = timedelta(days=7)
"""How far back a session's model is looked for when the hook names only the session."""
_STRENGTH = {"allow": 0, "warn": 1, "deny": 2}


def parse_policy(data: Mapping[str, Any], source: str = "api") -> ModelPolicy:
    """A validated policy, or ValueError naming the field. A `source` key in `data` is accepted and ignored."""
    if not isinstance(data, Mapping):
        raise ValueError("policy: expected an object")
    unknown = sorted(str(key) for key in data if key not in _FIELDS)
    if unknown:
        raise ValueError(f"unknown field {', '.join(unknown)}; fields are {', '.join(sorted(_FIELDS - {'source'}))}")
    policy_id = slug(required(data, "id"))
    name = data.get("name", policy_id)
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValueError("name: expected a non-empty string of at most 200 characters")
    scope, scope_value = parse_scope(data)
    policy = ModelPolicy(
        id=policy_id,
        name=name.strip(),
        scope=scope,
        scope_value=scope_value,
        allow=_patterns(data.get("allow", []), "allow"),
        deny=_patterns(data.get("deny", []), "deny"),
        deny_tools=_patterns(data.get("deny_tools", []), "deny_tools"),
        enforce=choice(data.get("enforce", Enforce.OFF.value), "enforce", Enforce),
        source=source,
    )
    if not (policy.allow or policy.deny or policy.deny_tools):
        raise ValueError("policy: give at least one of allow, deny or deny_tools")
    return policy


def dump_policy(policy: ModelPolicy) -> dict[str, Any]:
    """The policy as JSON, the shape `parse_policy` reads (without `source`)."""
    return {
        "id": policy.id,
        "name": policy.name,
        "scope": policy.scope,
        "scope_value": policy.scope_value,
        "allow": list(policy.allow),
        "deny": list(policy.deny),
        "deny_tools": list(policy.deny_tools),
        "enforce": policy.enforce.value,
    }


def _patterns(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f'{key}: expected a list of patterns (e.g. ["claude-*-4-5*"])')
    if len(value) > MAX_PATTERNS:
        raise ValueError(f"{key}: at most {MAX_PATTERNS} patterns")
    patterns = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"{key}[{i}]: expected a non-empty pattern")
        if len(item) > 200 or CONTROL.search(item):
            raise ValueError(f"{key}[{i}]: at most 200 characters, no control characters")
        patterns.append(item.strip())
    return tuple(patterns)


def matches(pattern: str, name: str) -> bool:
    """A shell-style pattern against a model or tool name, case-insensitively."""
    return fnmatchcase(name.casefold(), pattern.casefold())


def denies_model(policy: ModelPolicy, model: str) -> bool:
    """Whether this policy denies the model: it matches a `deny` pattern, or `allow` is given and it matches none."""
    if any(matches(pattern, model) for pattern in policy.deny):
        return True
    return bool(policy.allow) and not any(matches(pattern, model) for pattern in policy.allow)


def model_allowed(policies: Iterable[ModelPolicy], model: str) -> tuple[bool, ModelPolicy | None]:
    """(False, the first policy denying it) when one of `policies` (those applying) denies the model, else (True,
    None). A request of no known model is allowed: there is nothing to judge."""
    if not model:
        return True, None
    for policy in policies:
        if denies_model(policy, model):
            return False, policy
    return True, None


@dataclass(frozen=True)
class Violation:
    """One person's requests to a model a policy denies them, in one session."""

    person: str
    team: str
    department: str
    cost_center: str
    model: str
    session_id: str
    requests: int
    first_seen: datetime
    last_seen: datetime
    policy_id: str
    policy_name: str
    enforce: Enforce

    def to_json(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "team": self.team,
            "department": self.department,
            "cost_center": self.cost_center,
            "model": self.model,
            "session_id": self.session_id,
            "requests": self.requests,
            "first_seen": rfc3339(self.first_seen),
            "last_seen": rfc3339(self.last_seen),
            "policy_id": self.policy_id,
            "policy_name": self.policy_name,
            "enforce": self.enforce.value,
        }


@dataclass(frozen=True)
class PolicyDecision:
    decision: str
    """`allow`, `warn` or `deny`."""
    reason: str
    policy_id: str | None = None
    """The policy that decided (None when none objected)."""

    def to_json(self) -> dict[str, Any]:
        return {"decision": self.decision, "reason": self.reason, "policy_id": self.policy_id}


class Policies(Definitions[ModelPolicy]):
    """The `model_policies` table (the stored JSON is `dump_policy` plus `source`), its violations and decisions."""

    def __init__(self, store: Store, people: PeopleLookup | None = None) -> None:
        super().__init__(store, "model_policies", _load, _store_form)
        self._people = people

    def applying(
        self, person: str, dims: PersonDims, policies: Iterable[ModelPolicy] | None = None
    ) -> list[ModelPolicy]:
        """The policies (by default every stored one) whose scope holds the person."""
        return [policy for policy in (self.items() if policies is None else policies) if applies(policy, person, dims)]

    def violations(self, time_range: TimeRange, scope: Scope | None = None) -> list[Violation]:
        """Requests in the range (and the caller's scope) to a model a policy applying to the requester denies: one
        per person, model and session. Reads the models used, then the requests of only the suspect models. Raises
        `Forbidden` for a scope without `per_person` (the answer names people and sessions)."""
        query = Query(time_range, scope or Scope.everyone())
        query.scope.require_per_person("policy violations")
        policies = self.items()
        suspects = [model for model in spend.models(self._store, query) if not model_allowed(policies, model)[0]]
        if not suspects:
            return []
        violations = []
        for use in spend.models_used(self._store, query.with_filter("model", *suspects)):
            known = self._people(use.person) if self._people else None
            dims = merge_dims(known, PersonDims(use.team, use.department, use.cost_center))
            allowed, policy = model_allowed(self.applying(use.person, dims, policies), use.model)
            if allowed or policy is None:
                continue
            violations.append(
                Violation(
                    person=use.person,
                    team=dims.team,
                    department=dims.department,
                    cost_center=dims.cost_center,
                    model=use.model,
                    session_id=use.session_id,
                    requests=use.requests,
                    first_seen=use.first_seen,
                    last_seen=use.last_seen,
                    policy_id=policy.id,
                    policy_name=policy.name,
                    enforce=policy.enforce,
                )
            )
        return violations

    def check(
        self,
        person: str,
        now: datetime,
        *,
        model: str | None = None,
        session_id: str | None = None,
        tool: str | None = None,
    ) -> PolicyDecision:
        """What the hook may do for `person` about to use `tool` with `model` (given, else the session's latest model):
        a tool a policy denies is denied when that policy enforces `block`, else warned about; a model a policy
        denies is denied (`block`), warned about (`warn`) or allowed and only recorded (`off`). The strongest
        finding of every applying policy decides."""
        policies = self.applying(person, lookup_dims(self._store, self._people, person, now))
        if not policies:
            return PolicyDecision("allow", "No model policy applies.")
        if not model and session_id:
            model = spend.session_model(self._store, session_id, now - SESSION_LOOKBACK)
        findings = [PolicyDecision("allow", "Allowed by every model policy that applies.")]
        for policy in policies:
            if tool and any(matches(pattern, tool) for pattern in policy.deny_tools):
                decision = "deny" if policy.enforce is Enforce.BLOCK else "warn"
                findings.append(
                    PolicyDecision(decision, f"The tool {tool} is not allowed by {_named(policy)}.", policy.id)
                )
            if model and denies_model(policy, model):
                decision = {Enforce.BLOCK: "deny", Enforce.WARN: "warn", Enforce.OFF: "allow"}[policy.enforce]
                note = " (recorded as a violation)" if policy.enforce is Enforce.OFF else ""
                reason = f"The model {model} is not allowed by {_named(policy)}{note}."
                findings.append(PolicyDecision(decision, reason, policy.id))
        return max(findings, key=lambda finding: (_STRENGTH[finding.decision], finding.policy_id is not None))


def _named(policy: ModelPolicy) -> str:
    return f"the model policy {policy.name!r} ({policy.id})"


def _load(data: Mapping[str, Any]) -> ModelPolicy:
    return parse_policy(data, str(data.get("source", "api")))


def _store_form(policy: ModelPolicy) -> dict[str, Any]:
    return {**dump_policy(policy), "source": policy.source}
