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


def test_budget_usage_selects_one_budget_by_param(store: Store) -> None:
    budgets = Budgets(store)
    budgets.put(Budget("org", "Organisation", "organization", "", Period.MONTHLY, Unit.USD, amount=1000))
    budgets.put(Budget("api", "API team", "team", "api", Period.MONTHLY, Unit.USD, amount=100))
    send(store, cost(NOW - timedelta(hours=2), 50.0, ANN), cost(NOW - timedelta(hours=2), 150.0, BEN))
    usage = RULES["budget-threshold"]
    by_budget = {s.labels["budget"]: s for s in evaluate_rule(context(store), usage, NOW)}
    assert by_budget["org"].value == pytest.approx(20.0)
    assert by_budget["api"].value == pytest.approx(50.0) and by_budget["api"].labels["subject"] == "api"
    one = dataclasses.replace(usage, params={"budget": "api"})
    assert [s.labels["budget"] for s in evaluate_rule(context(store), one, NOW)] == ["api"]


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
    assert [prometheus_duration(s) for s in (900, 3600, 86_400, 7 * 86_400, 90, 36 * 3600)] == [
        "15m",
        "1h",
        "24h",
        "7d",
        "90s",
        "36h",
    ]
