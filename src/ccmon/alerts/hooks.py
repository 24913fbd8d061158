"""What the Claude Code hooks ask (`ccmon hook budget`, `ccmon hook policy`): may this person send a prompt, use this
tool or model? Answered from the person's budgets and the model policy.

A hook knows the developer as Claude Code does: a `session_id` (every event has one), and the login of
`~/.claude.json` (an OAuth login's email and account uuid; every installation's user id). ccmon keys telemetry by
person (`user.email`, else `user.account_uuid`, else `user.id`; the email pseudonymised with `hash_emails`), so each
is mapped to that key: an email through `person_key` (as logins are), the others through the telemetry that already
carries them. A session's first prompt has no telemetry yet: when nothing names the person, the answer is `allow`
with a note saying so — the hook must not stop a new developer, and their usage is zero anyway.

When telemetry knows the session, the session's person is the one answered for, whatever person or email the request
also names: those come from the developer's own settings (`CCMON_PERSON`, `~/.claude.json`), and a developer past a
hard cap must not get through by naming a colleague. (Refusing would not do: the hook fails open on a refusal.)

A machine asking with an ingest token pinned to attributes (`TokenGrant`) is answered only about people those pins
hold, and without the figures of pooled budgets wider than the pins (a team's token learns its team's total, not the
department's or the organisation's).

The answers are the budgets' and policies' own (`Budgets.for_person`, `Policies.check`); this module adds who, and
a `warn_key` the client uses to warn once per session and threshold rather than at every prompt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from ccmon.analytics.spend import (
    PersonDims,
    person_by_account,
    person_by_user_id,
    person_of_session,
    person_organization,
)
from ccmon.store.facade import Store

IDENTITY_LOOKBACK = timedelta(days=35)
"""How far back telemetry is searched for a session, account or user id: a month's budget period and a little more
(someone with no usage in that time has nothing a budget would count)."""
IDENTITY_CACHE_S = 600.0
"""How long a found mapping is kept (a session's or an account's person does not change)."""
NOT_FOUND_CACHE_S = 60.0
"""How long a session lookup that found nobody is kept: each is a scan of `IDENTITY_LOOKBACK` of telemetry, and a hook
asks at every prompt; a new session's telemetry (exported every minute or so) is then picked up within about this
delay. Misses of the lasting identities (account uuid, user id) are not kept: they are how a new session of someone
over a hard cap is recognised, and a kept miss would let their prompts through for that long once their first
telemetry has arrived (the token's rate limit bounds what repeated misses cost)."""
MAX_CACHED = 10_000
PIN_DIMS = {"team": "team", "department": "department", "cost_center": "cost_center"}
"""Pinned telemetry columns a person's `PersonDims` answer (`organization_id` is read from their telemetry)."""

UNKNOWN_NOTE = (
    "ccmon has no telemetry naming this person yet (a new session's or developer's first prompt): allowed; budgets "
    "and policies apply once their usage is recorded"
)


class BudgetStatusView(Protocol):
    def to_json(self) -> Mapping[str, Any]: ...


class PersonBudgetView(Protocol):
    """`ccmon.alerts.budgets.PersonBudget`, as far as the hook needs it."""

    @property
    def decision(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def statuses(self) -> Sequence[BudgetStatusView]: ...


class BudgetOracle(Protocol):
    def for_person(self, person: str, now: datetime) -> PersonBudgetView: ...

    def dims(self, person: str, now: datetime) -> PersonDims: ...


class PolicyDecisionView(Protocol):
    @property
    def decision(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def policy_id(self) -> str | None: ...


class PolicyOracle(Protocol):
    def check(
        self,
        person: str,
        now: datetime,
        *,
        model: str | None = None,
        session_id: str | None = None,
        tool: str | None = None,
    ) -> PolicyDecisionView: ...


def _no_limit() -> float:
    return 0.0


@dataclass(frozen=True)
class TokenGrant:
    """What the ingest token a hook presents allows (`ccmon.ingest.tokens.Grant` as the hooks see it: this package
    cannot import ingest). A configured (static) token pins nothing and has no rate limit."""

    pins: Mapping[str, str] = field(default_factory=dict)
    """Telemetry column (`organization_id`, `team`, `department`, `cost_center`) -> the value the token pins."""
    admit: Callable[[], float] = _no_limit
    """Takes one request from the token's rate limit (the one its exports use): 0 when let in, else the seconds to
    wait."""


@dataclass(frozen=True)
class HookRequest:
    """What a hook sends: any of the ways to name the person, and for the policy the tool and model."""

    session_id: str = ""
    person: str = ""
    """A person key, or an email (mapped like `email`)."""
    email: str = ""
    account_uuid: str = ""
    user_id: str = ""
    model: str = ""
    tool_name: str = ""


@dataclass(frozen=True)
class HookAnswer:
    decision: str
    """budget: allow, warn or block; policy: allow, warn or deny."""
    reason: str
    person: str | None
    """The person key answered for; None when nobody could be identified."""
    statuses: tuple[Mapping[str, Any], ...] = ()
    """The budgets that apply to the person (their own limits and the pools they are part of)."""
    warn_key: str = ""
    """What the warning is about (budgets, thresholds and periods): the client warns once per session and key."""
    policy_id: str = ""
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "reason": self.reason,
            "person": self.person,
            "statuses": [dict(status) for status in self.statuses],
            "warn_key": self.warn_key,
            "policy_id": self.policy_id,
            "note": self.note,
        }


@dataclass
class _Cache:
    """Lookups in telemetry: what was found, kept for `IDENTITY_CACHE_S`; that nothing was, for `NOT_FOUND_CACHE_S`.
    At most `MAX_CACHED` entries (then it starts over). Thread-safe: routes run in a thread pool."""

    clock: Callable[[], float] = time.monotonic
    entries: dict[tuple[str, str], tuple[float, str | None]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple[str, str]) -> tuple[bool, str | None]:
        """(whether the key is cached, what was found: None for nothing)."""
        with self.lock:
            entry = self.entries.get(key)
        if entry is None:
            return False, None
        at, found = entry
        if self.clock() - at > (IDENTITY_CACHE_S if found is not None else NOT_FOUND_CACHE_S):
            return False, None
        return True, found

    def put(self, key: tuple[str, str], found: str | None) -> None:
        with self.lock:
            if len(self.entries) >= MAX_CACHED:
                self.entries.clear()
            self.entries[key] = (self.clock(), found)


class HookService:
    def __init__(
        self,
        store: Store,
        budgets: BudgetOracle,
        policies: PolicyOracle,
        person_key: Callable[[str], str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.budgets = budgets
        self.policies = policies
        self.person_key = person_key
        self._cache = _Cache(clock)

    def identify(
        self,
        person: str | None = None,
        email: str | None = None,
        account_uuid: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        *,
        now: datetime,
    ) -> str | None:
        """The person key telemetry stores for whoever these name, in this order: the session's person (when
        telemetry knows the session, it wins over a person or email that names someone else: see the module
        docstring), the person (an email is mapped), the email, the account's person, the installation's; None when
        none is known."""
        if session_id:
            found = self._lookup("session", session_id, person_of_session, now)
            if found:
                return found
        for given in (person, email):
            if given and given.strip():
                text = given.strip()
                return self.person_key(text) if "@" in text else text
        if account_uuid and (found := self._lookup("account", account_uuid, person_by_account, now)):
            return found
        if user_id and (found := self._lookup("user", user_id, person_by_user_id, now)):
            return found
        return None

    def _lookup(
        self, kind: str, value: str, find: Callable[[Store, str, datetime], str | None], now: datetime
    ) -> str | None:
        """`find` in the telemetry of the last `IDENTITY_LOOKBACK`, through the cache (a session's misses too: see
        `NOT_FOUND_CACHE_S`)."""
        cached, found = self._cache.get((kind, value))
        if not cached:
            found = find(self.store, value, now - IDENTITY_LOOKBACK) or None
            if found is not None or kind == "session":
                self._cache.put((kind, value), found)
        return found

    def within_pins(self, person: str, pins: Mapping[str, str], now: datetime) -> bool:
        """Whether the person is one of those an ingest token's pins hold: their team, department and cost center
        (the directory's, else their telemetry's) and organisation (their telemetry's) equal every pin. Someone whose
        attributes are unknown is held by no pin."""
        if not pins:
            return True
        dims = self.budgets.dims(person, now)
        for column, pinned in pins.items():
            if column == "organization_id":
                value = self._lookup("organization", person, person_organization, now)
            elif column in PIN_DIMS:
                value = getattr(dims, PIN_DIMS[column])
            else:
                return False  # a pin this check does not know: hold nobody rather than everybody
            if value != pinned:
                return False
        return True

    def identify_request(self, request: HookRequest, now: datetime) -> str | None:
        return self.identify(
            request.person,
            request.email,
            request.account_uuid,
            request.session_id,
            request.user_id,
            now=now,
        )

    def budget(self, request: HookRequest, now: datetime) -> HookAnswer:
        """May whoever the request names send a prompt?"""
        return self.budget_of(self.identify_request(request, now), now)

    def budget_of(self, person: str | None, now: datetime, pins: Mapping[str, str] | None = None) -> HookAnswer:
        """May this person (already identified; None: nobody) send a prompt? With an ingest token's `pins`, the
        pooled budgets wider than the pins still decide, but their figures are left out (`shown_to_pins`)."""
        if person is None:
            return HookAnswer("allow", "", None, note=UNKNOWN_NOTE)
        state = self.budgets.for_person(person, now)
        decision, reason = str(state.decision), state.reason
        shown: list[dict[str, Any]] = []
        hidden: list[dict[str, Any]] = []
        for status in state.statuses:
            data = dict(status.to_json())
            (shown if shown_to_pins(data, pins or {}) else hidden).append(data)
        statuses = tuple(shown)
        # The reason names the budget deciding (`budgets.describe`): not one whose figures are left out.
        if any(f"({status.get('name')})" in reason for status in hidden):
            reason = HIDDEN_REASONS.get(decision, HIDDEN_REASONS["allow"])
        key = (warn_key(statuses) or reason) if decision == "warn" else ""
        return HookAnswer(decision, reason, person, statuses, key)

    def policy(self, request: HookRequest, now: datetime) -> HookAnswer:
        """May whoever the request names use its tool (and the session's model)?"""
        return self.policy_of(self.identify_request(request, now), request, now)

    def policy_of(self, person: str | None, request: HookRequest, now: datetime) -> HookAnswer:
        """May this person (already identified; None: nobody) use the request's tool and model?"""
        if person is None:
            return HookAnswer("allow", "", None, note=UNKNOWN_NOTE)
        verdict = self.policies.check(
            person,
            now,
            model=request.model or None,
            session_id=request.session_id or None,
            tool=request.tool_name or None,
        )
        decision, policy_id = str(verdict.decision), verdict.policy_id or ""
        key = f"{policy_id}:{request.model or request.tool_name}" if decision == "warn" else ""
        return HookAnswer(decision, verdict.reason, person, warn_key=key, policy_id=policy_id)


HIDDEN_REASONS = {
    "block": "A shared budget you are part of is used up (its figures are not shown to this ingest token).",
    "warn": "A shared budget you are part of is past a threshold (its figures are not shown to this ingest token).",
    "allow": "Within budget.",
}
"""The reason given instead of one describing a budget left out of an answer (`shown_to_pins`)."""


def shown_to_pins(status: Mapping[str, Any], pins: Mapping[str, str]) -> bool:
    """Whether a status (`BudgetStatus.to_json()`) of a person the pins hold may be shown to the pinned token: the
    person's own limit, and a pooled budget whose scope is a pinned team, department or cost center; not a pooled
    budget of another group, nor the organisation's (the total of every row, whichever their pins)."""
    if not pins or status.get("per_person") or status.get("scope") == "person":
        return True
    scope = str(status.get("scope") or "")
    return scope in PIN_DIMS and pins.get(scope) == status.get("scope_value")


def warn_key(statuses: Sequence[Mapping[str, Any]]) -> str:
    """The budgets past a threshold, with that threshold and their period: a new threshold or a new period warns
    again, a growing amount within one does not."""
    parts = []
    for status in statuses:
        crossed = status.get("threshold_crossed")
        if crossed is None or status.get("enforce") == "off":
            continue
        budget = status.get("budget_id") or status.get("id") or status.get("name") or ""
        subject = status.get("subject") or ""
        parts.append(f"{budget}/{subject}@{crossed}@{status.get('period_start') or ''}")
    return ",".join(sorted(parts))
