from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from ccmon.analytics import Analytics, Query, Scope, TimeRange
from ccmon.pricing.table import PriceTable, load_prices
from ccmon.reports.recommendations import SONNET, recommendations
from ccmon.store.facade import Store
from tests.reports.data import WEEK
from tests.reports.prices import fixed_prices


def test_each_recommendation_names_its_evidence_and_estimate(analytics: Analytics) -> None:
    found = recommendations(analytics, WEEK)
    assert [(r.kind, r.estimate_usd) for r in found] == [
        ("model_mix", pytest.approx(30.0 - 0.825, abs=0.006)),
        ("sessions_without_output", 8.0),
        ("retry_loops", 7.2),  # 6 errors x $30 / 25 requests
        ("cache_efficiency", 4.32),  # 1.6 M tokens x ($3 - $0.30) / M
    ]
    mix, idle, retries, cache = found
    assert "25 of 25 claude-opus-4-1[1m] requests were short" in mix.evidence[0]
    assert mix.evidence[1].startswith("they cost $30.00; the same tokens at claude-sonnet-4-5 prices cost $0.8")
    assert idle.sessions == ["s-c"] and "session s-c (carol@example.com): $8.00" in idle.evidence
    assert retries.sessions == ["s-b"] and "6 errors, highest attempt 10" in retries.evidence[1]
    assert "0% of claude-sonnet-4-5's 2,000,000 prompt tokens" in cache.evidence[0]


def test_a_scope_without_people_gets_no_session_recommendations(analytics: Analytics) -> None:
    found = recommendations(analytics, WEEK, replace(Scope.everyone(), per_person=False))
    assert [r.kind for r in found] == ["model_mix", "cache_efficiency"]
    assert not any(r.sessions for r in found)


def test_no_evidence_no_recommendation(store: Store) -> None:
    assert recommendations(Analytics(store, fixed_prices()), WEEK) == []


def test_the_week_before_is_below_every_threshold(analytics: Analytics) -> None:
    assert recommendations(analytics, WEEK.previous()) == []


def test_an_unknown_model_is_never_priced_as_free(analytics: Analytics, store: Store) -> None:
    knows_no_model = Analytics(store, PriceTable(date(2026, 11, 30), (), ()))
    assert [r.kind for r in recommendations(knows_no_model, WEEK)] == ["sessions_without_output", "retry_loops"]


def test_priced_with_the_analytics_price_table(analytics: Analytics, store: Store) -> None:
    table = load_prices()
    one_request = table.cost(
        SONNET, WEEK.start, input_tokens=10_000, output_tokens=200, cache_read_tokens=0, cache_creation_tokens=0
    )
    assert one_request is not None
    mix = next(r for r in recommendations(Analytics(store, table), WEEK) if r.kind == "model_mix")
    assert mix.estimate_usd == pytest.approx(25 * 1.2 - 25 * one_request, abs=0.006)  # to the cent


def test_a_model_filter_keeps_what_a_session_produced(analytics: Analytics) -> None:
    # Commits and pull requests carry no model: filtering them by model would make bob's session look idle.
    week = Query(TimeRange(WEEK.start, WEEK.end))
    (whole,) = [o for o in analytics.session_outcomes(week, min_cost_usd=0, min_errors=0) if o.commits]
    (opus,) = analytics.session_outcomes(week.with_filter("model", "claude-opus-4-1[1m]"), min_cost_usd=0, min_errors=0)
    assert opus.session_id == whole.session_id
    assert (opus.commits, opus.pull_requests) == (whole.commits, whole.pull_requests) == (4, 2)
