"""Budgets: limits on spend (USD) or tokens per organisation, team, department, cost center or person, per UTC day,
week (from Monday) or month; how much of each is used, where it is heading, and what a person's prompt may do.

Two kinds of budget:
- pooled (`per_person` False): the scope's total, e.g. team platform may spend $5,000 a month. Its usage is that of
  the rows of the scope (the team's rows), as any analytics filter on the team reads them.
- per person (`per_person` True): each person's limit, Anthropic's gateway model (reference §6). Which one limits a
  person is resolved, separately for each (period, unit): a budget scoped to that person overrides; else, among
  the per-person budgets of the person's team, department and cost center, the most restrictive (the highest
  fraction used; ties: the smallest amount); else the organisation's per-person default. A person's usage is all
  of their rows in the period, whichever team the rows name: the scope says whom a limit applies to, the limit is
  on the person. A person's team, department and cost center are the directory's (`people`), else the latest their
  telemetry names.

Projection (one method for every period): usage so far + the run rate of the trailing window (the shorter of 7 days
and the period: 7 days for weeks and months, as `/cost/month-to-date` computes it, 24 hours for days) x the time
left in the period.

Nothing is cached: each answer reads the definitions and the rollups (one grouped query per budget and window, not
per person), so several processes sharing a store agree and a restart loses nothing.

A budget's validation and JSON form are `ccmon.alerts.budget_defs` (`parse_budget` and `dump_budget` are importable
from here too).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ccmon.alerts.budget_defs import ORGANIZATION
from ccmon.alerts.budget_defs import dump_budget as dump_budget  # noqa: PLC0414 - re-exported, as callers import it
from ccmon.alerts.budget_defs import parse_budget as parse_budget  # noqa: PLC0414 - re-exported, as callers import it
from ccmon.alerts.definitions import Definitions
from ccmon.alerts.model import Budget, Enforce, ModelPolicy, Period, Unit
from ccmon.analytics import spend
from ccmon.analytics.query import UNKNOWN, Filters, Query
from ccmon.analytics.scope import Scope
from ccmon.analytics.spend import PersonDims
from ccmon.analytics.timerange import TimeRange, rfc3339
from ccmon.directory.registry import Directory
from ccmon.store.facade import Store

TRAILING = timedelta(days=7)
"""The longest run-rate window (a period shorter than it uses its own length)."""
DIMS_LOOKBACK = timedelta(days=35)
"""How far back a person's team, department and cost center are looked for in their telemetry."""
_DAY = timedelta(days=1)

PeopleLookup = Callable[[str], PersonDims | None]
"""A person key -> their team, department and cost center (the directory's), None when unknown."""


# --- periods and statuses -----------------------------------------------------------------------------------------


def period_bounds(period: Period, now: datetime) -> tuple[datetime, datetime]:
    """The UTC period holding `now`, [start, end): a day from midnight, a week from Monday, a calendar month."""
    at = _utc(now)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.DAILY:
        return day, day + _DAY
    if period is Period.WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=7)
    first = day.replace(day=1)
    return first, first + timedelta(days=calendar.monthrange(first.year, first.month)[1])


def run_rate_window(period: Period) -> timedelta:
    """The trailing window whose average the projection extends: the shorter of 7 days and the period."""
    return _DAY if period is Period.DAILY else TRAILING


@dataclass(frozen=True)
class BudgetStatus:
    """One budget as it stands for one subject (the scope's total, or one person) at `as_of`."""

    budget: Budget
    subject: str
    """The team, department, cost center or person the numbers are of; `organization` for the organisation."""
    period_start: datetime
    period_end: datetime
    used: float
    amount: float
    fraction: float
    threshold_crossed: float | None
    """The highest threshold at or below `fraction`; None below the first."""
    projected: float
    """At the end of the period, at the trailing run rate (see the module docstring)."""
    projected_fraction: float
    over: bool
    """At or over the amount."""
    as_of: datetime

    @property
    def personal(self) -> bool:
        """One person's numbers (a per-person budget, or a budget of one person)."""
        return _personal(self.budget)

    @property
    def labels(self) -> dict[str, str]:
        """The status as alert labels: the budget, the subject, and the person / team / department it is of, so an
        instance is scoped like any other."""
        labels = {"budget": self.budget.id, "subject": self.subject}
        if self.personal:
            labels["person"] = self.subject
        elif self.budget.scope in ("team", "department", "cost_center"):
            labels[self.budget.scope] = self.budget.scope_value
        return labels

    def to_json(self) -> dict[str, Any]:
        """The shape of `GET /api/v1/budgets/status`'s statuses."""
        return {
            "budget_id": self.budget.id,
            "name": self.budget.name,
            "scope": self.budget.scope,
            "scope_value": self.budget.scope_value,
            "per_person": self.budget.per_person,
            "subject": self.subject,
            "period": self.budget.period.value,
            "unit": self.budget.unit.value,
            "period_start": rfc3339(self.period_start),
            "period_end": rfc3339(self.period_end),
            "used": self.used,
            "amount": self.amount,
            "fraction": self.fraction,
            "thresholds": list(self.budget.thresholds),
            "threshold_crossed": self.threshold_crossed,
            "projected": self.projected,
            "projected_fraction": self.projected_fraction,
            "over": self.over,
            "enforce": self.budget.enforce.value,
        }


@dataclass(frozen=True)
class PersonBudget:
    """What a person's next prompt may do, and the budgets that say so."""

    person: str
    as_of: datetime
    decision: str
    """`allow`, `warn` (past a budget's first threshold, or over a budget that only warns) or `block` (over a
    budget enforced with `block`)."""
    reason: str
    statuses: tuple[BudgetStatus, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "as_of": rfc3339(self.as_of),
            "decision": self.decision,
            "reason": self.reason,
            "statuses": [status.to_json() for status in self.statuses],
        }


def make_status(budget: Budget, subject: str, used: float, trailing: float, now: datetime) -> BudgetStatus:
    """A budget's status from its usage in the period so far and in the trailing run-rate window up to `now`."""
    at = _utc(now)
    start, end = period_bounds(budget.period, at)
    rate = trailing / (run_rate_window(budget.period) / _DAY)
    projected = used + rate * ((end - at) / _DAY)
    fraction = used / budget.amount
    return BudgetStatus(
        budget=budget,
        subject=subject,
        period_start=start,
        period_end=end,
        used=used,
        amount=budget.amount,
        fraction=fraction,
        threshold_crossed=max((t for t in budget.thresholds if t <= fraction), default=None),
        projected=projected,
        projected_fraction=projected / budget.amount,
        over=fraction >= 1,
        as_of=at,
    )


def decide(statuses: Iterable[BudgetStatus]) -> tuple[str, str]:
    """(decision, reason) over the budgets that apply to a person: `block` when one enforced with `block` is used
    up; `warn` when one that enforces (warn or block) is past its first threshold or used up; else `allow`. The
    reason names the budget furthest along among those that decide."""
    enforcing = [s for s in statuses if s.budget.enforce is not Enforce.OFF]
    blocking = [s for s in enforcing if s.budget.enforce is Enforce.BLOCK and s.over]
    if blocking:
        return "block", describe(max(blocking, key=lambda s: s.fraction))
    warning = [s for s in enforcing if s.over or (s.budget.thresholds and s.fraction >= s.budget.thresholds[0])]
    if warning:
        return "warn", describe(max(warning, key=lambda s: s.fraction))
    if not enforcing:
        return "allow", "No enforced budget applies."
    furthest = max(enforcing, key=lambda s: s.fraction)
    budget = furthest.budget
    return "allow", (
        f"Within budget: {_owner(furthest)} {budget.period.value} budget ({budget.name}) is at {furthest.fraction:.0%} "
        f"({_amounts(furthest)} used)."
    )


def describe(status: BudgetStatus) -> str:
    """A sentence: `Team platform's monthly budget (Platform) is exhausted: $512.40 of $500.00 used; it resets on
    2026-12-01 00:00 UTC.`"""
    budget = status.budget
    owner = _owner(status)
    state = "is exhausted" if status.over else f"is at {status.fraction:.0%}"
    resets = status.period_end.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{owner[0].upper()}{owner[1:]} {budget.period.value} budget ({budget.name}) {state}: "
        f"{_amounts(status)} used; it resets on {resets}."
    )


def _owner(status: BudgetStatus) -> str:
    budget = status.budget
    if status.personal:
        return "your"
    if budget.scope == ORGANIZATION:
        return "the organisation's"
    return f"{budget.scope.replace('_', ' ')} {budget.scope_value}'s"


def _amounts(status: BudgetStatus) -> str:
    if status.budget.unit is Unit.USD:
        return f"${status.used:,.2f} of ${status.amount:,.2f}"
    return f"{status.used:,.0f} of {status.amount:,.0f} tokens"


# --- the budgets table and its answers ----------------------------------------------------------------------------


class Budgets(Definitions[Budget]):
    """The `budgets` table (the stored JSON is `dump_budget` plus `source`), and the budgets' state."""

    def __init__(self, store: Store, people: PeopleLookup | None = None) -> None:
        super().__init__(store, "budgets", _load, _store_form)
        self._people = people

    def status(self, now: datetime, scope: Scope | None = None) -> list[BudgetStatus]:
        """Every budget's status at `now`: a pooled budget's total (subject: its scope value, or `organization`), and
        for per-person budgets one status per person with usage in the period, under the budget that limits them
        (see the module docstring). Only what `scope` may see: a pooled status when the caller sees every row of
        its scope (a team lead their team's, a manager their department's; a developer none), a person's status
        when the caller sees that person's rows (never without `per_person`)."""
        caller = scope or Scope.everyone()
        at = _utc(now)
        budgets = self.items()
        statuses = [
            make_status(budget, budget.scope_value or ORGANIZATION, *self._measure(budget, at), at)
            for budget in budgets
            if not _personal(budget) and _sees_total(caller, budget)
        ]
        personal = [budget for budget in budgets if _personal(budget)]
        if personal and caller.per_person:
            statuses.extend(self._personal_statuses(personal, caller, at))
        return statuses

    def for_person(self, person: str, now: datetime) -> PersonBudget:
        """The budgets that apply to `person` at `now` (the one limiting them per period and unit, and every pooled
        budget whose scope holds them), and what their next prompt may do."""
        at = _utc(now)
        dims = self.dims(person, at)
        statuses: list[BudgetStatus] = []
        candidates: dict[tuple[Period, Unit], list[Budget]] = {}
        for budget in self.items():
            if not applies(budget, person, dims):
                continue
            if _personal(budget):
                candidates.setdefault((budget.period, budget.unit), []).append(budget)
            else:
                statuses.append(make_status(budget, budget.scope_value or ORGANIZATION, *self._measure(budget, at), at))
        for (period, unit), budgets in candidates.items():
            used, trailing = self._person_usage(person, period, unit, at)
            chosen = resolve(budgets, person, dims, used)
            if chosen is not None:
                statuses.insert(0, make_status(chosen, person, used, trailing, at))
        decision, reason = decide(statuses)
        return PersonBudget(person, at, decision, reason, tuple(statuses))

    def dims(self, person: str, now: datetime) -> PersonDims:
        """A person's team, department and cost center: the directory's, each missing one from their telemetry."""
        return lookup_dims(self._store, self._people, person, now)

    def _measure(self, budget: Budget, now: datetime) -> tuple[float, float]:
        """A pooled budget's usage in its period so far and in the trailing window."""
        filters = Filters(scope_filter(budget))
        used = _usage(self._store, budget.period, budget.unit, now, filters, by=None, trailing=False)
        trailing = _usage(self._store, budget.period, budget.unit, now, filters, by=None, trailing=True)
        return used.get(spend.TOTAL, 0.0), trailing.get(spend.TOTAL, 0.0)

    def _person_usage(self, person: str, period: Period, unit: Unit, now: datetime) -> tuple[float, float]:
        filters = Filters({"person": (person,)})
        used = _usage(self._store, period, unit, now, filters, by=None, trailing=False)
        trailing = _usage(self._store, period, unit, now, filters, by=None, trailing=True)
        return used.get(spend.TOTAL, 0.0), trailing.get(spend.TOTAL, 0.0)

    def _personal_statuses(self, budgets: list[Budget], caller: Scope, now: datetime) -> list[BudgetStatus]:
        """Per person with usage, per (period, unit) of the per-person budgets: the resolved budget's status. One
        grouped query per (period, unit) and window, and one for everyone's team, department and cost center."""
        groups: dict[tuple[Period, Unit], list[Budget]] = {}
        for budget in budgets:
            groups.setdefault((budget.period, budget.unit), []).append(budget)
        none = Filters()
        usage = {
            key: (
                _usage(self._store, key[0], key[1], now, none, by="person", trailing=False),
                _usage(self._store, key[0], key[1], now, none, by="person", trailing=True),
            )
            for key in groups
        }
        people = sorted({p for used, _ in usage.values() for p in used if p != UNKNOWN})
        seen = spend.dims_by_person(self._store, Query(TimeRange(now - DIMS_LOOKBACK, now)))
        statuses = []
        for person in people:
            known = self._people(person) if self._people else None
            dims = merge_dims(known, seen.get(person))
            if not _sees_person(caller, person, dims):
                continue
            for key, candidates in groups.items():
                used, trailing = usage[key][0].get(person, 0.0), usage[key][1].get(person, 0.0)
                chosen = resolve(candidates, person, dims, used)
                if used and chosen is not None:
                    statuses.append(make_status(chosen, person, used, trailing, now))
        return statuses


def resolve(budgets: Iterable[Budget], person: str, dims: PersonDims, used: float) -> Budget | None:
    """Of the per-person budgets of one period and unit, the one limiting `person` (who used `used`): a budget of
    that person; else the most restrictive of their team's, department's and cost center's (the highest fraction
    used, ties: the smallest amount); else the organisation's. Budgets that do not apply to the person are
    ignored."""
    applying = [budget for budget in budgets if applies(budget, person, dims)]
    for level in (("person",), ("team", "department", "cost_center"), (ORGANIZATION,)):
        found = [budget for budget in applying if budget.scope in level]
        if found:
            return min(found, key=lambda budget: (-used / budget.amount, budget.amount, budget.id))
    return None


def scope_filter(budget: Budget) -> dict[str, tuple[str, ...]]:
    """The analytics filter of a budget's scope (none for the organisation)."""
    return {} if budget.scope == ORGANIZATION else {budget.scope: (budget.scope_value,)}


def lookup_dims(store: Store, people: PeopleLookup | None, person: str, now: datetime) -> PersonDims:
    """A person's team, department and cost center: the directory's (`people`), each missing one from the latest
    of their telemetry in the last `DIMS_LOOKBACK` (read only when the directory lacks one)."""
    known = people(person) if people else None
    if known and known.team and known.department and known.cost_center:
        return known
    return merge_dims(known, spend.person_dims(store, person, _utc(now) - DIMS_LOOKBACK))


def directory_people(directory: Directory) -> PeopleLookup:
    """The `people` lookup of `Budgets` and `Policies` from the directory (people are keyed by email)."""

    def lookup(person: str) -> PersonDims | None:
        found = directory.lookup(person)
        return PersonDims(found.team, found.department, found.cost_center) if found else None

    return lookup


def _usage(
    store: Store, period: Period, unit: Unit, now: datetime, filters: Filters, *, by: str | None, trailing: bool
) -> dict[str, float]:
    start = now - run_rate_window(period) if trailing else period_bounds(period, now)[0]
    if start >= now:
        return {}
    return spend.usage(store, Query(TimeRange(start, now), Scope.everyone(), filters), unit.value, by)


def _personal(budget: Budget) -> bool:
    return budget.per_person or budget.scope == "person"


def applies(budget: Budget | ModelPolicy, person: str, dims: PersonDims) -> bool:
    """Whether a budget's (or a policy's) scope holds the person: the organisation always, a person scope theirs
    (emails compare case-insensitively), a team, department or cost center the person's."""
    if budget.scope == ORGANIZATION:
        return True
    if budget.scope == "person":
        return budget.scope_value.casefold() == person.casefold()
    groups = {"team": dims.team, "department": dims.department, "cost_center": dims.cost_center}
    return budget.scope_value == groups.get(budget.scope)


def _sees_total(caller: Scope, budget: Budget) -> bool:
    """Whether the caller sees every row of a pooled budget's scope (each restriction of theirs must allow it)."""
    if caller.persons is not None:
        return False
    if caller.teams is not None and not (budget.scope == "team" and budget.scope_value in caller.teams):
        return False
    return caller.departments is None or (budget.scope == "department" and budget.scope_value in caller.departments)


def _sees_person(caller: Scope, person: str, dims: PersonDims) -> bool:
    return (
        caller.per_person
        and (caller.persons is None or person in caller.persons)
        and (caller.teams is None or dims.team in caller.teams)
        and (caller.departments is None or dims.department in caller.departments)
    )


def merge_dims(known: PersonDims | None, seen: PersonDims | None) -> PersonDims:
    """The directory's dims (`known`), each empty one from telemetry (`seen`)."""
    known, seen = known or PersonDims(), seen or PersonDims()
    return PersonDims(
        known.team or seen.team, known.department or seen.department, known.cost_center or seen.cost_center
    )


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now: expected an aware datetime (UTC)")
    return now.astimezone(UTC)


def _load(data: Mapping[str, Any]) -> Budget:
    return parse_budget(data, str(data.get("source", "api")))


def _store_form(budget: Budget) -> dict[str, Any]:
    return {**dump_budget(budget), "source": budget.source}
