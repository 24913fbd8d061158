"""What the Claude Code hooks ask (`ccmon hook budget`, `ccmon hook policy`): may this person send a prompt, use this
tool or model? Answered from the person's budgets and the model policy.

A hook knows the developer as Claude Code does: a `session_id` (every event has one), and the login of
`~/.claude.json` (an OAuth login's email and account uuid; every installation's user id). ccmon keys telemetry by
person (`user.email`, else `user.account_uuid`, else `user.id`; the email pseudonymised with `hash_emails`), so each
is mapped to that key: an email through `person_key` (as logins are), the others through the telemetry that already
carries them. A session's first prompt has no telemetry yet: when nothing names the person, the answer is `allow`
with a note saying so — the hook must not stop a new developer, and their usage is zero anyway.

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

from ccmon.analytics.cost import COST
from ccmon.analytics.query import latest_sql
from ccmon.analytics.spend import person_by_account, person_of_session
from ccmon.analytics.timerange import ALL_TIME, TimeRange
from ccmon.store.facade import Store

IDENTITY_LOOKBACK = timedelta(days=35)
"""How far back telemetry is searched for a session, account or user id: a month's budget period and a little more
(someone with no usage in that time has nothing a budget would count)."""
IDENTITY_CACHE_S = 600.0
"""How long a found mapping is kept (a session's or an account's person does not change); not-found is not kept,
since a new session's telemetry arrives within seconds."""
MAX_CACHED = 10_000

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
    """Found identities, kept for `IDENTITY_CACHE_S` (thread-safe: routes run in a thread pool)."""

    clock: Callable[[], float] = time.monotonic
    entries: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple[str, str]) -> str | None:
        with self.lock:
            entry = self.entries.get(key)
        if entry is None or self.clock() - entry[0] > IDENTITY_CACHE_S:
            return None
        return entry[1]

    def put(self, key: tuple[str, str], person: str) -> None:
        with self.lock:
            if len(self.entries) >= MAX_CACHED:
                self.entries.clear()
            self.entries[key] = (self.clock(), person)


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
        """The person key telemetry stores for whoever these name, in this order: the person (an email is mapped),
        the email, the session's person, the account's, the installation's; None when none is known."""
        for given in (person, email):
            if given and given.strip():
                text = given.strip()
                return self.person_key(text) if "@" in text else text
        since = now - IDENTITY_LOOKBACK
        lookups: tuple[tuple[str, str | None, Callable[[Store, str, datetime], str | None]], ...] = (
            ("session", session_id, person_of_session),
            ("account", account_uuid, person_by_account),
            ("user", user_id, person_by_user_id),
        )
        for kind, value, lookup in lookups:
            if not value:
                continue
            cached = self._cache.get((kind, value))
            if cached is not None:
                return cached
            found = lookup(self.store, value, since)
            if found:
                self._cache.put((kind, value), found)
                return found
        return None

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

    def budget_of(self, person: str | None, now: datetime) -> HookAnswer:
        """May this person (already identified; None: nobody) send a prompt?"""
        if person is None:
            return HookAnswer("allow", "", None, note=UNKNOWN_NOTE)
        state = self.budgets.for_person(person, now)
        statuses = tuple(dict(status.to_json()) for status in state.statuses)
        decision = str(state.decision)
        key = (warn_key(statuses) or state.reason) if decision == "warn" else ""
        return HookAnswer(decision, state.reason, person, statuses, key)

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


def person_by_user_id(store: Store, user_id: str, since: datetime) -> str | None:
    """The person of the cost rows whose `user.id` (Claude Code's installation id) is this since `since` (the
    latest); None when none. An API-key login sends neither email nor account, and then `user.id` is the person."""
    if not user_id:
        return None
    time_sql, params = TimeRange(since, ALL_TIME.end).sql("ts")
    rows = store.query(
        f"SELECT {latest_sql('person', 'ts')} FROM metric_points WHERE metric_name = {{metric:String}} AND {time_sql} "
        "AND user_id = {user:String}",
        params | {"metric": COST, "user": user_id},
    )
    value = str(rows[0][0]) if rows else ""
    return value or None
