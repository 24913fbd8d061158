"""Claude Code's series for Prometheus: cumulative sums per label set over crafted telemetry sent through the real
ingest path, the caller's scope, the cardinality guard, and the text format (escaping, empty store)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ccmon.analytics import Scope
from ccmon.analytics.prom_names import CLAUDE_CODE_METRICS, prometheus_name
from ccmon.analytics.prom_series import DROPPED_GAUGE, Exposition, PromSeries, claude_code_series, render
from ccmon.store.facade import Store
from tests.analytics.test_signals import ANN, BEN, CAT, NOW, Measure, Who, cost, send, session_start, tokens

HOUR = timedelta(hours=1)
EVERYONE = Scope.everyone()


def series_of(exposition: Exposition, metric: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {s.labels: round(s.value, 9) for s in exposition.series if s.metric.name == metric}


def test_names_follow_the_collectors_rule() -> None:
    assert [m.name for m in CLAUDE_CODE_METRICS] == [
        "claude_code_session_count_total",
        "claude_code_lines_of_code_count_total",
        "claude_code_pull_request_count_total",
        "claude_code_commit_count_total",
        "claude_code_cost_usage_USD_total",
        "claude_code_token_usage_tokens_total",
        "claude_code_code_edit_tool_decision_total",
        "claude_code_active_time_seconds_total",
    ]
    assert prometheus_name("http.server.duration", "ms") == "http_server_duration_milliseconds_total"
    assert prometheus_name("a.tokens", "{tokens}") == "a_tokens_total"
    assert prometheus_name("a.tokens", "tokens") == "a_tokens_total"


def test_sums_every_increment_per_label_set_in_both_readings(store: Store) -> None:
    send(
        store,
        cost(NOW - 30 * 24 * HOUR, 1.25),  # a month ago: still counted, never expired
        cost(NOW - HOUR, 0.5),
        cost(NOW, 2.0, BEN),
        tokens(NOW, 100, "input"),
        tokens(NOW + timedelta(minutes=3), 50, "input"),
        tokens(NOW, 7, "cacheRead", CAT),
        session_start(NOW, ANN),
        session_start(NOW, Who("ann@example.com", "s-ann-2", "api")),
    )
    for session_labels in (False, True):
        exposition = claude_code_series(store, EVERYONE, session_labels=session_labels, max_series=100)
        costs = series_of(exposition, "claude_code_cost_usage_USD_total")
        ann: tuple[tuple[str, str], ...] = (
            ("user_email", "ann@example.com"),
            ("team", "api"),
            ("model", "claude-sonnet-4-5"),
        )
        ben: tuple[tuple[str, str], ...] = (
            ("user_email", "ben@example.com"),
            ("team", "web"),
            ("model", "claude-sonnet-4-5"),
        )
        if session_labels:
            ann = (*ann, ("session_id", "s-ann"))
            ben = (*ben, ("session_id", "s-ben"))
        assert costs == {ann: 1.75, ben: 2.0}
        token_series = series_of(exposition, "claude_code_token_usage_tokens_total")
        assert token_series[(*ann, ("type", "input"))] == 150
        assert sum(token_series.values()) == 157
        assert sum(series_of(exposition, "claude_code_session_count_total").values()) == 2
        assert len(series_of(exposition, "claude_code_session_count_total")) == (2 if session_labels else 1)
        assert exposition.dropped == 0


def test_a_scope_never_shows_rows_outside_it(store: Store) -> None:
    send(store, cost(NOW, 1.0, ANN), cost(NOW, 2.0, BEN), cost(NOW, 4.0, CAT))
    team_lead = claude_code_series(store, Scope(teams=("web",)), session_labels=True, max_series=100)
    people = {dict(s.labels)["user_email"] for s in team_lead.series}
    assert people == {"ben@example.com", "cat@example.com"}
    assert sum(s.value for s in team_lead.series) == 6.0
    # A viewer sees aggregates only: no person, no session, whatever the setting; the totals stay whole.
    viewer = claude_code_series(store, Scope(per_person=False, content=False), session_labels=True, max_series=100)
    assert all(name not in ("user_email", "session_id") for s in viewer.series for name, _ in s.labels)
    assert series_of(viewer, "claude_code_cost_usage_USD_total") == {
        (("team", "api"), ("model", "claude-sonnet-4-5")): 1.0,
        (("team", "web"), ("model", "claude-sonnet-4-5")): 2.0,
        (("team", "web"), ("model", "claude-opus-4-5")): 4.0,
    }
    nobody = claude_code_series(store, Scope(persons=()), session_labels=False, max_series=100)
    assert nobody.series == [] and nobody.dropped == 0


def test_the_guard_keeps_the_most_recently_active_series(store: Store) -> None:
    people = [Who(f"p{i}@example.com", f"s{i}", "api") for i in range(5)]
    send(store, *(cost(NOW - (5 - i) * HOUR, 1.0 + i, who) for i, who in enumerate(people)))
    for session_labels in (False, True):
        guarded = claude_code_series(store, EVERYONE, session_labels=session_labels, max_series=2)
        assert {dict(s.labels)["user_email"] for s in guarded.series} == {"p3@example.com", "p4@example.com"}
        assert guarded.dropped == 3
        assert f"{DROPPED_GAUGE} 3\n" in render(guarded)
    with pytest.raises(ValueError, match="max_series"):
        claude_code_series(store, EVERYONE, session_labels=False, max_series=0)


def test_an_empty_store_renders_every_family_and_no_series(store: Store) -> None:
    text = render(claude_code_series(store, EVERYONE, session_labels=False, max_series=10))
    lines = text.splitlines()
    assert [line for line in lines if not line.startswith("#")] == [f"{DROPPED_GAUGE} 0"]
    assert f"# TYPE {CLAUDE_CODE_METRICS[0].name} counter" in lines
    assert text.endswith("\n")


def test_hostile_label_values_are_escaped(store: Store) -> None:
    hostile = 'evil"} 1\nclaude_code_cost_usage_USD_total{user_email="x'
    send(store, Measure(NOW, "claude_code.cost.usage", 0.25, Who(hostile, "s\\1", "t\tab", model="m\u00e9")))
    exposition = claude_code_series(store, EVERYONE, session_labels=True, max_series=10)
    text = render(exposition)
    samples = [line for line in text.splitlines() if line.startswith("claude_code_cost_usage_USD_total")]
    assert samples == [
        'claude_code_cost_usage_USD_total{user_email="evil\\"} 1\\nclaude_code_cost_usage_USD_total'
        '{user_email=\\"x",team="t\tab",model="m\u00e9",session_id="s\\\\1"} 0.25'
    ]


def test_render_numbers_and_family_order() -> None:
    cost_metric, tokens_metric = CLAUDE_CODE_METRICS[4], CLAUDE_CODE_METRICS[5]
    exposition = Exposition(
        [
            PromSeries(cost_metric, (), 0.1 + 0.2),
            PromSeries(tokens_metric, (("type", "input"),), 3e20),
            PromSeries(tokens_metric, (("type", "output"),), 12.0),
        ],
        dropped=0,
    )
    lines = render(exposition).splitlines()
    assert "claude_code_cost_usage_USD_total 0.30000000000000004" in lines
    assert 'claude_code_token_usage_tokens_total{type="input"} 3e+20' in lines
    assert 'claude_code_token_usage_tokens_total{type="output"} 12' in lines
    # Each family's HELP, TYPE and samples are together, as the text format requires.
    names = [line.split()[2] if line.startswith("#") else line.split("{")[0].split()[0] for line in lines]
    assert len(set(names)) == len(CLAUDE_CODE_METRICS) + 1
    runs = [name for i, name in enumerate(names) if i == 0 or names[i - 1] != name]
    assert len(runs) == len(set(runs))
