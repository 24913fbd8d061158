"""The signal registry: rules are checked against their signal, evaluated over their window, filters and group_by,
and each signal says its PromQL (seed 000's own expressions where it gives them)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from ccmon.alerts.budgets import Budgets
from ccmon.alerts.defaults import DEFAULT_RULES
from ccmon.alerts.model import Budget, Op, Period, Rule, Sample, Unit
from ccmon.alerts.policy import Policies
from ccmon.alerts.rules import render_summary
from ccmon.alerts.signals import SIGNALS, SignalContext, check_rule, evaluate_rule, prometheus_duration
from ccmon.analytics import Analytics
from ccmon.store.facade import Store
from tests.analytics.test_signals import ANN, BEN, CAT, NOW, cost, send

RULES = {rule.id: rule for rule in DEFAULT_RULES}
COST = Rule(id="spend", name="Spend", signal="cost", op=Op.GT, threshold=50, window_s=86_400)


def context(store: Store) -> SignalContext:
    return SignalContext(Analytics(store), Budgets(store), Policies(store))


def test_rules_are_checked_against_their_signal() -> None:
    with pytest.raises(ValueError, match="signal: 'colour' is not one of cost, tokens"):
        check_rule(dataclasses.replace(COST, signal="colour"))
    with pytest.raises(ValueError, match=r"group_by: signal active_people cannot be split by person \(allowed: team"):
        check_rule(dataclasses.replace(COST, signal="active_people", group_by=("person",)))
    with pytest.raises(ValueError, match="params: signal cost has no parameter min_requests"):
        check_rule(dataclasses.replace(COST, params={"min_requests": 3}))
    with pytest.raises(ValueError, match=r"params\.type: cacheRead is not one of"):
        SIGNALS["tokens"].promql(dataclasses.replace(COST, signal="tokens", params={"type": "cacheRead"}))
    assert all(signal.to_json()["name"] == name for name, signal in SIGNALS.items())


def test_a_rule_reads_its_window_filters_and_group_by(store: Store) -> None:
    send(store, cost(NOW - timedelta(hours=2), 30.0, ANN), cost(NOW - timedelta(hours=5), 70.0, BEN))
    send(store, cost(NOW - timedelta(hours=30), 500.0, CAT))
    assert evaluate_rule(context(store), COST, NOW) == [Sample({}, 100.0)]
    by_team = dataclasses.replace(COST, group_by=("team",))
    assert sorted(evaluate_rule(context(store), by_team, NOW), key=lambda s: s.value) == [
        Sample({"team": "api"}, 30.0),
        Sample({"team": "web"}, 70.0),
    ]
    web = dataclasses.replace(COST, filters={"team": ("web",)}, window_s=2 * 86_400)
    assert evaluate_rule(context(store), web, NOW) == [Sample({}, 570.0)]
    with pytest.raises(ValueError, match="group_by"):
        evaluate_rule(context(store), dataclasses.replace(COST, signal="policy_violations", group_by=("team",)), NOW)


def test_budget_usage_selects_one_budget_by_param_and_names_whom_it_is_of(store: Store) -> None:
    budgets = Budgets(store)
    budgets.put(Budget("org", "Organisation", "organization", "", Period.MONTHLY, Unit.USD, amount=1000))
    budgets.put(Budget("api", "API team", "team", "api", Period.MONTHLY, Unit.USD, amount=100))
    budgets.put(Budget("web-each", "Web, each", "team", "web", Period.MONTHLY, Unit.USD, amount=200, per_person=True))
    send(store, cost(NOW - timedelta(hours=2), 50.0, ANN), cost(NOW - timedelta(hours=2), 150.0, BEN))
    usage = RULES["budget-exceeded"]
    by_subject = {(s.labels["budget"], s.labels["subject"]): s for s in evaluate_rule(context(store), usage, NOW)}
    assert sorted(by_subject) == [("api", "api"), ("org", "organization"), ("web-each", BEN.person)]
    assert by_subject["org", "organization"].value == pytest.approx(20.0)
    assert by_subject["api", "api"].value == pytest.approx(50.0)
    assert by_subject["web-each", BEN.person].value == pytest.approx(75.0)
    # Whom the numbers are of, as the dimension an instance is scoped by: nobody, a team, a person (not the team:
    # a per-person budget of team web is one person's spend, which the team's viewers must not see by the team).
    assert "person" not in by_subject["org", "organization"].labels
    assert "team" not in by_subject["org", "organization"].labels
    assert by_subject["api", "api"].labels["team"] == "api" and "person" not in by_subject["api", "api"].labels
    personal = by_subject["web-each", BEN.person].labels
    assert personal["person"] == BEN.person and "team" not in personal and personal["scope"] == "team"
    one = dataclasses.replace(usage, params={"budget": "api"})
    assert [s.labels["budget"] for s in evaluate_rule(context(store), one, NOW)] == ["api"]
    projected = {
        s.labels["subject"]: s.labels for s in evaluate_rule(context(store), RULES["budget-projected-overrun"], NOW)
    }
    assert projected[BEN.person]["person"] == BEN.person


def test_budget_threshold_names_the_highest_of_the_budgets_own_thresholds_below_its_amount(store: Store) -> None:
    Budgets(store).put(
        Budget("team", "API team", "team", "api", Period.MONTHLY, Unit.USD, amount=100, thresholds=(0.5, 0.8, 1.0))
    )
    Budgets(store).put(Budget("org", "Organisation", "organization", "", Period.MONTHLY, Unit.USD, amount=1000))
    rule = RULES["budget-threshold"]

    def crossed() -> list[tuple[str, str, float]]:
        samples = evaluate_rule(context(store), rule, NOW)
        assert all(rule.op.holds(s.value, rule.threshold) for s in samples)
        return sorted((s.labels["budget"], s.labels["threshold_crossed"], round(s.value, 6)) for s in samples)

    send(store, cost(NOW - timedelta(hours=3), 40.0, ANN))
    assert crossed() == []  # 40 % of team, 4 % of org: below the first threshold of each
    send(store, cost(NOW - timedelta(hours=2), 15.0, ANN))
    assert crossed() == [("team", "50 %", 55.0)]
    send(store, cost(NOW - timedelta(hours=1), 30.0, ANN))
    assert crossed() == [("team", "80 %", 85.0)]  # a new label set: a new alert
    [sample] = evaluate_rule(context(store), rule, NOW)
    assert sample.labels["team"] == "api" and sample.labels["subject"] == "api"
    assert render_summary(rule, sample) == "API team: api has used 85 % of its monthly budget (past its 80 % threshold)"
    send(store, cost(NOW - timedelta(minutes=30), 20.0, ANN), cost(NOW - timedelta(minutes=30), 700.0, BEN))
    assert crossed() == [("org", "75 %", 80.5)]  # team over its amount: budget-exceeded's, not this rule's
    assert [
        s.labels["budget"] for s in evaluate_rule(context(store), RULES["budget-exceeded"], NOW) if s.value >= 100
    ] == ["team"]


def test_budget_and_policy_signals_refuse_filters() -> None:
    for signal in ("budget_usage", "budget_projection", "budget_threshold", "policy_violations"):
        filtered = dataclasses.replace(COST, signal=signal, filters={"team": ("web",)})
        with pytest.raises(ValueError, match=rf"filters: signal {signal} takes no filters .*only cost, tokens, "):
            check_rule(filtered)
        check_rule(dataclasses.replace(filtered, filters={}))
    check_rule(dataclasses.replace(COST, filters={"team": ("web",)}))


def test_promql_uses_seed_000s_expressions() -> None:
    promql = {rule.id: SIGNALS[rule.signal].promql(rule) for rule in DEFAULT_RULES}
    assert promql["high-daily-cost"] == "sum(increase(claude_code_cost_usage_USD_total[24h])) > 500"
    assert promql["high-person-daily-cost"] == (
        "sum by (user_email) (increase(claude_code_cost_usage_USD_total[24h])) > 50"
    )
    assert promql["low-adoption"] == (
        "count(count by (user_email) (increase(claude_code_session_count_total[7d]) > 0)) < 10"
    )
    assert promql["excessive-sessions"] == "sum by (user_email) (increase(claude_code_session_count_total[24h])) > 50"
    assert promql["high-token-usage"] == (
        "sum by (session_id, user_email) "
        '(increase(claude_code_token_usage_tokens_total{type=~"input|output"}[24h])) > 1000000'
    )
    for unexpressible in ("api-error-spike", "budget-threshold", "budget-projected-overrun", "model-policy-violation"):
        assert promql[unexpressible] is None
    filtered = dataclasses.replace(COST, filters={"team": ("a", 'b"c'), "person": ("(unknown)",)}, group_by=("team",))
    assert SIGNALS["cost"].promql(filtered) == (
        'sum by (team) (increase(claude_code_cost_usage_USD_total{user_email="", team=~"a|b\\"c"}[24h])) > 50'
    )
    assert SIGNALS["cost"].promql(dataclasses.replace(COST, filters={"provider": ("bedrock",)})) is None


def test_prometheus_durations() -> None:
    assert [prometheus_duration(s) for s in (900, 3600, 86_400, 2 * 86_400, 7 * 86_400, 90, 36 * 3600)] == [
        "15m",
        "1h",
        "24h",
        "2d",
        "7d",
        "90s",
        "36h",
    ]
