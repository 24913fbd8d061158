"""Budgets: definitions, periods, usage and projection to the digit, per-person resolution, decisions and scoping, on
telemetry sent through ingest.

The organisation (November 2026, `NOW` a Friday noon): ann and ben in team platform, cat in team web, all three in
department eng; dan in ops. The trailing 7 days are [Nov 13 12:00, Nov 20 12:00).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ccmon.alerts.budgets import Budgets, BudgetStatus, dump_budget, parse_budget, period_bounds
from ccmon.alerts.model import Budget, Enforce, Period, Unit
from ccmon.analytics.scope import Scope
from ccmon.analytics.spend import PersonDims
from ccmon.store.facade import Store
from tests.alerts.telemetry import Usage, store_with

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
MONTH_END = datetime(2026, 12, 1, tzinfo=UTC)
ANN, BEN, CAT, DAN = "ann@example.com", "ben@example.com", "cat@example.com", "dan@example.com"


def nov(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


USAGES = [
    Usage(ANN, nov(2), 100.0, 1000, team="platform", department="eng", cost_center="cc-1"),
    Usage(ANN, nov(15), 30.0, 300, team="platform", department="eng", cost_center="cc-1"),
    Usage(ANN, nov(20, 6), 5.0, 50, team="platform", department="eng", cost_center="cc-1"),
    Usage(BEN, nov(18), 35.0, 350, team="platform", department="eng"),
    Usage(CAT, nov(19), 14.0, 140, team="web", department="eng"),
    Usage(DAN, nov(10), 40.0, 400, team="ops", department="ops"),
    Usage(ANN, datetime(2026, 10, 25, tzinfo=UTC), 1000.0, 10_000, team="platform", department="eng"),
]
# Month to date: ann 135, ben 35, cat 14, dan 40 (platform 170, eng 184, organisation 224).
# Trailing 7 days: ann 35, ben 35, cat 14 (platform 70, organisation 84); days left in the month: 10.5.


@pytest.fixture(scope="module")
def org(chdb_path: Path, clickhouse_url: str | None) -> Iterator[Store]:
    with store_with(chdb_path, clickhouse_url, USAGES) as opened:
        yield opened


@pytest.fixture
def store(org: Store) -> Store:
    org.command("TRUNCATE TABLE budgets")
    return org


def budget(budget_id: str, scope: str = "organization", scope_value: str = "", **fields: Any) -> Budget:
    data = {"id": budget_id, "scope": scope, "period": "monthly", "amount": 100, **fields}
    if scope_value:
        data["scope_value"] = scope_value
    return parse_budget(data)


def by_subject(statuses: list[BudgetStatus]) -> dict[tuple[str, str], BudgetStatus]:
    return {(status.budget.id, status.subject): status for status in statuses}


# --- periods ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "now", "start", "end"),
    [
        (Period.MONTHLY, NOW, datetime(2026, 11, 1), datetime(2026, 12, 1)),
        (Period.MONTHLY, datetime(2026, 12, 31, 23, 59, 59), datetime(2026, 12, 1), datetime(2027, 1, 1)),
        (Period.MONTHLY, datetime(2028, 2, 29, 8), datetime(2028, 2, 1), datetime(2028, 3, 1)),  # leap year
        (Period.MONTHLY, datetime(2027, 2, 28, 8), datetime(2027, 2, 1), datetime(2027, 3, 1)),
        (Period.MONTHLY, datetime(2026, 12, 1), datetime(2026, 12, 1), datetime(2027, 1, 1)),  # on the boundary
        (Period.WEEKLY, NOW, datetime(2026, 11, 16), datetime(2026, 11, 23)),  # Friday: from Monday
        (Period.WEEKLY, datetime(2026, 11, 22, 23, 59), datetime(2026, 11, 16), datetime(2026, 11, 23)),  # Sunday
        (Period.WEEKLY, datetime(2026, 11, 23), datetime(2026, 11, 23), datetime(2026, 11, 30)),  # Monday 00:00
        (Period.WEEKLY, datetime(2026, 1, 1, 12), datetime(2025, 12, 29), datetime(2026, 1, 5)),  # across a year
        (Period.WEEKLY, datetime(2028, 3, 1), datetime(2028, 2, 28), datetime(2028, 3, 6)),  # across Feb 29
        (Period.DAILY, NOW, datetime(2026, 11, 20), datetime(2026, 11, 21)),
        (Period.DAILY, datetime(2028, 2, 29, 23, 59), datetime(2028, 2, 29), datetime(2028, 3, 1)),
    ],
)
def test_period_bounds(period: Period, now: datetime, start: datetime, end: datetime) -> None:
    utc = (now.replace(tzinfo=UTC), start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))
    assert period_bounds(period, utc[0]) == utc[1:]


def test_period_bounds_are_utc() -> None:
    # 2026-12-01 00:30 in Paris is still November in UTC
    paris = datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert period_bounds(Period.MONTHLY, paris) == (datetime(2026, 11, 1, tzinfo=UTC), MONTH_END)
    with pytest.raises(ValueError, match="aware"):
        period_bounds(Period.DAILY, datetime(2026, 11, 20))


# --- definitions --------------------------------------------------------------------------------------------------

VALID = {"id": "platform-monthly", "name": "Platform", "scope": "team", "scope_value": "platform", "period": "monthly"}


def test_parse_budget_defaults_and_round_trip() -> None:
    parsed = parse_budget({**VALID, "amount": 500})
    assert parsed == Budget(
        "platform-monthly", "Platform", "team", "platform", Period.MONTHLY, Unit.USD, 500.0, False, (0.75, 0.9, 1.0)
    )
    assert parsed.enforce is Enforce.WARN and parsed.source == "api"
    full = {**VALID, "amount": 2e6, "unit": "tokens", "per_person": True, "thresholds": [1.2, 0.5], "enforce": "block"}
    again = parse_budget(full, source="file")
    assert again.thresholds == (0.5, 1.2) and again.source == "file"
    assert parse_budget({**dump_budget(again), "source": "default"}, source="file") == again
    assert parse_budget({"id": "org", "scope": "organization", "period": "daily", "amount": 1}).name == "org"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "Platform Monthly"}, "id: expected a slug"),
        ({"id": None}, "^id: required$"),
        ({"colour": "red"}, "unknown field colour"),
        ({"name": " "}, "name: expected a non-empty string"),
        ({"scope": "galaxy"}, "scope: 'galaxy' is not one of organization, team, department, cost_center, person"),
        ({"scope_value": ""}, "scope_value: required for scope team"),
        ({"scope": "organization"}, "scope_value: the organization scope takes no value"),
        ({"scope_value": 7}, "scope_value: expected a string"),
        ({"period": "yearly"}, "period: 'yearly' is not one of daily, weekly, monthly"),
        ({"unit": "eur"}, "unit: 'eur' is not one of usd, tokens"),
        ({"amount": "500"}, "amount: expected a number"),
        ({"amount": True}, "amount: expected a number"),
        ({"amount": 0}, "amount: expected a finite number greater than 0"),
        ({"amount": -5}, "amount: expected a finite number greater than 0"),
        ({"amount": float("inf")}, "amount: expected a finite number greater than 0"),
        ({"amount": float("nan")}, "amount: expected a finite number greater than 0"),
        ({"per_person": "yes"}, "per_person: expected true or false"),
        ({"thresholds": 0.8}, "thresholds: expected a list of fractions"),
        ({"thresholds": [0.5, "x"]}, r"thresholds\[1\]: expected a number"),
        (
            {"thresholds": [75, 90]},
            r"thresholds\[0\]: 75 is not a fraction .* \(for 75 % write 0.75\); thresholds are fr",
        ),
        ({"thresholds": [0, 0.5]}, r"thresholds\[0\]: 0 is not a fraction of the amount in \(0, 10\]"),
        ({"thresholds": [0.5, 0.5]}, "thresholds: each threshold once"),
        ({"enforce": "hard"}, "enforce: 'hard' is not one of off, warn, block"),
    ],
)
def test_parse_budget_refuses_bad_input(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_budget({**VALID, "amount": 500, **change})


def test_parse_budget_requires_fields() -> None:
    for field in ("id", "scope", "period", "amount"):
        data = {**VALID, "amount": 500}
        del data[field]
        with pytest.raises(ValueError, match=f"^{field}: required$"):
            parse_budget(data)
    with pytest.raises(ValueError, match="budget: expected an object"):
        parse_budget([])  # type: ignore[arg-type]


def test_budgets_are_stored_with_their_source(store: Store) -> None:
    budgets = Budgets(store)
    budgets.put(parse_budget({**VALID, "amount": 500}, source="file"), actor="admin")
    budgets.put(budget("org"))
    assert [b.id for b in budgets.items()] == ["org", "platform-monthly"]
    stored = budgets.get("platform-monthly")
    assert stored is not None and stored.source == "file" and stored.amount == 500
    assert budgets.delete("org") and not budgets.delete("org")
    assert Budgets(store).items() == [stored]  # another process sees the same


# --- usage and projection -----------------------------------------------------------------------------------------


def test_pooled_status_usage_and_projection_are_exact(store: Store) -> None:
    budgets = Budgets(store)
    budgets.put_many(
        [budget("platform", "team", "platform", amount=500), budget("org-tokens", unit="tokens", amount=5000)]
    )
    statuses = by_subject(budgets.status(NOW))
    assert set(statuses) == {("platform", "platform"), ("org-tokens", "organization")}
    platform = statuses["platform", "platform"]
    # 170 so far; 70 over the trailing 7 days = 10 a day, x 10.5 days left
    assert (platform.used, platform.projected, platform.amount) == (170.0, 275.0, 500.0)
    assert (platform.fraction, platform.projected_fraction) == (170 / 500, 275 / 500)
    assert (platform.period_start, platform.period_end) == (datetime(2026, 11, 1, tzinfo=UTC), MONTH_END)
    assert platform.threshold_crossed is None and not platform.over
    tokens = statuses["org-tokens", "organization"]
    # 2,240 tokens so far; 840 over the trailing week = 120 a day
    assert (tokens.used, tokens.projected, tokens.fraction) == (2240.0, 2240.0 + 120 * 10.5, 2240 / 5000)
    assert tokens.to_json() == {
        "budget_id": "org-tokens",
        "name": "org-tokens",
        "scope": "organization",
        "scope_value": "",
        "per_person": False,
        "subject": "organization",
        "period": "monthly",
        "unit": "tokens",
        "period_start": "2026-11-01T00:00:00Z",
        "period_end": "2026-12-01T00:00:00Z",
        "used": 2240.0,
        "amount": 5000.0,
        "fraction": 0.448,
        "thresholds": [0.75, 0.9, 1.0],
        "threshold_crossed": None,
        "projected": 3500.0,
        "projected_fraction": 0.7,
        "over": False,
        "enforce": "warn",
    }


def test_weekly_and_daily_projection(store: Store) -> None:
    budgets = Budgets(store)
    budgets.put_many(
        [
            budget("weekly", period="weekly"),
            budget("daily-each", period="daily", amount=20, per_person=True),
        ]
    )
    statuses = by_subject(budgets.status(NOW))
    weekly = statuses["weekly", "organization"]
    # since Monday: 5 + 35 + 14; trailing week 84 = 12 a day, x 2.5 days to Monday
    assert (weekly.used, weekly.projected) == (54.0, 84.0)
    assert weekly.period_start == datetime(2026, 11, 16, tzinfo=UTC)
    # daily: the trailing 24 hours (ann's 5 this morning) x the half day left; cat spent yesterday, not today
    assert set(statuses) == {("weekly", "organization"), ("daily-each", ANN)}
    daily = statuses["daily-each", ANN]
    assert (daily.used, daily.projected, daily.projected_fraction) == (5.0, 7.5, 7.5 / 20)


def test_thresholds_crossed(store: Store) -> None:
    budgets = Budgets(store)
    budgets.put_many(
        [
            budget("at-85", "team", "platform", amount=200),
            budget("at-100", "team", "platform", amount=170),
            budget("custom", "team", "platform", amount=200, thresholds=[0.5, 0.8, 0.9]),
            budget("none-yet", "team", "platform", amount=1000, thresholds=[0.5]),
        ]
    )
    statuses = {status.budget.id: status for status in budgets.status(NOW)}
    assert statuses["at-85"].threshold_crossed == 0.75 and not statuses["at-85"].over
    assert statuses["at-100"].threshold_crossed == 1.0 and statuses["at-100"].over
    assert statuses["custom"].threshold_crossed == 0.8
    assert statuses["none-yet"].threshold_crossed is None


# --- per-person resolution ----------------------------------------------------------------------------------------

RESOLUTION = [
    budget("default-each", per_person=True, amount=100, enforce="block"),
    budget("platform-each", "team", "platform", per_person=True, amount=50),
    budget("eng-each", "department", "eng", per_person=True, amount=150),
    budget("cc1-each", "cost_center", "cc-1", per_person=True, amount=20),
    budget("ann-override", "person", ANN, amount=200),
]


def test_resolution_override_then_most_restrictive_group_then_default(store: Store) -> None:
    budgets = Budgets(store)
    budgets.put_many(RESOLUTION)
    chosen = {status.subject: status.budget.id for status in budgets.status(NOW)}
    # ann: her override beats every group; ben: platform's 50 is more restrictive than eng's 150; cat: only eng's;
    # dan: no group budget, the organisation's default
    assert chosen == {ANN: "ann-override", BEN: "platform-each", CAT: "eng-each", DAN: "default-each"}
    assert [(s.budget.id, s.used) for s in budgets.for_person(BEN, NOW).statuses] == [("platform-each", 35.0)]
    assert [(s.budget.id, s.used) for s in budgets.for_person(ANN, NOW).statuses] == [("ann-override", 135.0)]
    budgets.delete("ann-override")
    # without it, the cost center's 20 is ann's most restrictive
    assert {s.subject: s.budget.id for s in budgets.status(NOW)}[ANN] == "cc1-each"


def test_directory_places_people_before_telemetry(store: Store) -> None:
    directory = {DAN: PersonDims(team="platform", department="", cost_center="")}
    budgets = Budgets(store, people=directory.get)
    budgets.put_many(RESOLUTION)
    # dan's telemetry says ops; the directory says platform (department still ops, from telemetry)
    assert budgets.dims(DAN, NOW) == PersonDims("platform", "ops", "")
    assert [s.budget.id for s in budgets.for_person(DAN, NOW).statuses] == ["platform-each"]
    assert {s.subject: s.budget.id for s in budgets.status(NOW)}[DAN] == "platform-each"


def test_periods_resolve_separately(store: Store) -> None:
    budgets = Budgets(store)
    budgets.put_many([*RESOLUTION, budget("daily-each", period="daily", per_person=True, amount=4)])
    statuses = budgets.for_person(ANN, NOW).statuses
    assert sorted((s.budget.id, s.used) for s in statuses) == [("ann-override", 135.0), ("daily-each", 5.0)]


# --- decisions ----------------------------------------------------------------------------------------------------


def test_pooled_and_per_person_budgets_apply_together(store: Store) -> None:
    budgets = Budgets(store)
    budgets.put_many(
        [
            budget("platform", "team", "platform", name="Platform", amount=150, enforce="block"),
            budget("web", "team", "web", amount=1),
            budget("each", per_person=True, name="Per person", amount=160),
        ]
    )
    ann = budgets.for_person(ANN, NOW)
    assert [(s.budget.id, s.subject) for s in ann.statuses] == [("each", ANN), ("platform", "platform")]
    assert ann.decision == "block"
    assert ann.reason == (
        "Team platform's monthly budget (Platform) is exhausted: $170.00 of $150.00 used; "
        "it resets on 2026-12-01 00:00 UTC."
    )
    assert ann.to_json()["decision"] == "block" and ann.to_json()["as_of"] == "2026-11-20T12:00:00Z"
    budgets.delete("platform")
    ann = budgets.for_person(ANN, NOW)
    assert (ann.decision, ann.reason) == (
        "warn",
        "Your monthly budget (Per person) is at 84%: $135.00 of $160.00 used; it resets on 2026-12-01 00:00 UTC.",
    )
    ben = budgets.for_person(BEN, NOW)
    assert (ben.decision, ben.reason) == (
        "allow",
        "Within budget: your monthly budget (Per person) is at 22% ($35.00 of $160.00 used).",
    )


@pytest.mark.parametrize(
    ("enforce", "amount", "decision"),
    [
        ("block", 100, "block"),  # 135 of 100
        ("warn", 100, "warn"),  # over, but only warns
        ("off", 100, "allow"),  # alerts only
        ("block", 175, "warn"),  # 77 %: past the first threshold
        ("block", 200, "allow"),  # 67 %
    ],
)
def test_decision_follows_enforcement(store: Store, enforce: str, amount: float, decision: str) -> None:
    budgets = Budgets(store)
    budgets.put(budget("each", per_person=True, amount=amount, enforce=enforce, unit="usd"))
    assert budgets.for_person(ANN, NOW).decision == decision


def test_tokens_and_unknown_people(store: Store) -> None:
    budgets = Budgets(store, people={"new@example.com": PersonDims("platform", "eng", "")}.get)
    budgets.put_many(
        [
            budget("tokens-each", per_person=True, unit="tokens", amount=1000, enforce="block"),
            budget("platform", "team", "platform", amount=100, enforce="block"),
        ]
    )
    ann = budgets.for_person(ANN, NOW)
    assert ann.decision == "block"
    assert "Team platform's monthly budget (platform) is exhausted: $170.00 of $100.00 used" in ann.reason
    # nobody has sent anything yet: no usage of their own, but the team's pooled budget holds them too
    newcomer = budgets.for_person("new@example.com", NOW)
    assert [(s.budget.id, s.used) for s in newcomer.statuses] == [("tokens-each", 0.0), ("platform", 170.0)]
    budgets.delete("platform")
    assert budgets.for_person(ANN, NOW).reason == (
        "Your monthly budget (tokens-each) is exhausted: 1,350 of 1,000 tokens used; it resets on 2026-12-01 00:00 UTC."
    )
    assert budgets.for_person("new@example.com", NOW).decision == "allow"
    assert Budgets(store).for_person(ANN, NOW + timedelta(days=40)).statuses[0].used == 0.0
    budgets.delete("tokens-each")
    assert (budgets.for_person(ANN, NOW).decision, budgets.for_person(ANN, NOW).reason) == (
        "allow",
        "No enforced budget applies.",
    )


# --- scoping ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "visible"),
    [
        (Scope.everyone(), {"org", "platform", "web", "eng", "cc-1", ANN, BEN, CAT, DAN}),
        (Scope(content=False), {"org", "platform", "web", "eng", "cc-1", ANN, BEN, CAT, DAN}),  # finance
        (Scope(per_person=False, content=False), {"org", "platform", "web", "eng", "cc-1"}),  # viewer
        (Scope(departments=("eng",)), {"eng", ANN, BEN, CAT}),  # manager
        (Scope(teams=("platform",)), {"platform", ANN, BEN}),  # team lead
        (Scope(persons=(ANN,)), {ANN}),  # developer
        (Scope(persons=()), set()),
    ],
)
def test_status_is_scoped_to_the_caller(store: Store, scope: Scope, visible: set[str]) -> None:
    budgets = Budgets(store)
    budgets.put_many(
        [
            budget("org"),
            budget("platform", "team", "platform"),
            budget("web", "team", "web"),
            budget("eng", "department", "eng"),
            budget("cc-1", "cost_center", "cc-1"),
            budget("each", per_person=True),
        ]
    )
    assert {s.budget.id if s.budget.id != "each" else s.subject for s in budgets.status(NOW, scope)} == visible
