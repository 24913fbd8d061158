"""The dry run: the signal at each step, and the intervals in which the rule would have fired, `for` honoured."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from ccmon.alerts.budgets import Budgets
from ccmon.alerts.dry_run import MAX_STEPS, dry_run, evaluation_steps, firing_intervals
from ccmon.alerts.model import NoData, Op, Rule
from ccmon.alerts.policy import Policies
from ccmon.alerts.signals import SignalContext
from ccmon.analytics import Analytics
from ccmon.store.facade import Store
from tests.analytics.test_signals import ANN, BEN, NOW, cost, send

HOUR = timedelta(hours=1)
START = NOW - 10 * HOUR
RULE = Rule(
    id="hourly-spend",
    name="Hourly spend",
    signal="cost",
    op=Op.GT,
    threshold=10,
    window_s=3600,
    group_by=("person",),
)


def context(store: Store) -> SignalContext:
    return SignalContext(Analytics(store), Budgets(store), Policies(store))


def at(hours: int) -> datetime:
    """The end of the `hours`th hour after START."""
    return START + hours * HOUR


def test_series_and_firing_intervals_honour_for(store: Store) -> None:
    # Ann spends $20 in hours 3, 4 and 5 (ending at steps 3..5) and in hour 8; Ben $5 an hour throughout.
    spend = [cost(at(h) - timedelta(minutes=30), 20.0, ANN) for h in (3, 4, 5, 8)]
    send(store, *spend, *(cost(at(h) - timedelta(minutes=30), 5.0, BEN) for h in range(1, 11)))
    run = dry_run(context(store), RULE, START, NOW, 3600)
    assert run.steps == tuple(at(h) for h in range(1, 11))
    ann = {"person": ANN.person}
    series = {s.labels["person"]: dict(s.points) for s in run.series}
    assert series[ANN.person] == {at(h): 20.0 for h in (3, 4, 5, 8)}
    assert series[BEN.person] == {at(h): 5.0 for h in range(1, 11)}
    # Without `for`: firing from the first step that holds, until the first that does not.
    assert [(f.labels, f.start, f.end) for f in run.firing] == [(ann, at(3), at(6)), (ann, at(8), at(9))]
    # `for: 2h`: pending at 3 and 4, firing at 5 (held for 2 h), resolved at 6; hour 8 alone never fires.
    held = dry_run(context(store), dataclasses.replace(RULE, for_s=7200), START, NOW, 3600)
    assert [(f.start, f.end) for f in held.firing] == [(at(5), at(6))]
    # `for: 3h` is never reached.
    assert dry_run(context(store), dataclasses.replace(RULE, for_s=3 * 3600), START, NOW, 3600).firing == ()
    body = run.to_json()
    assert body["threshold"] == 10 and body["op"] == ">"
    assert body["firing"] == [
        {"labels": ann, "start": "2026-11-20T05:00:00Z", "end": "2026-11-20T08:00:00Z"},
        {"labels": ann, "start": "2026-11-20T10:00:00Z", "end": "2026-11-20T11:00:00Z"},
    ]
    assert body["series"][0]["labels"] == ann
    assert body["series"][0]["points"][0] == ["2026-11-20T05:00:00Z", 20.0]


def test_still_firing_at_the_end_and_no_data_alerting() -> None:
    steps = [datetime(2026, 11, 20, h, tzinfo=UTC) for h in range(4)]
    key = (("team", "api"),)
    assert firing_intervals(RULE, key, steps, [set(), {key}, {key}, {key}])[0].end is None
    # Absent at a step (no sample for the label set): no longer holding.
    assert [(f.start, f.end) for f in firing_intervals(RULE, key, steps, [{key}, set(), {key}, set()])] == [
        (steps[0], steps[1]),
        (steps[2], steps[3]),
    ]


def test_no_data_alerting_holds_where_the_signal_answers_nothing(store: Store) -> None:
    rule = dataclasses.replace(RULE, group_by=(), no_data=NoData.ALERTING, op=Op.LT, threshold=1)
    send(store, cost(at(2) - timedelta(minutes=30), 5.0, ANN))
    run = dry_run(context(store), rule, START, at(4), 3600)
    assert [(f.labels, f.start, f.end) for f in run.firing] == [({}, at(1), at(2)), ({}, at(3), None)]


def test_bad_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match=f"more than {MAX_STEPS}"):
        evaluation_steps(NOW - timedelta(days=30), NOW, 60)
    with pytest.raises(ValueError, match="must be positive"):
        evaluation_steps(START, NOW, 0)
    with pytest.raises(ValueError, match="before its end"):
        evaluation_steps(NOW, START, 3600)
    with pytest.raises(ValueError, match="longer than"):
        evaluation_steps(NOW - HOUR, NOW, 7200)
    assert len(evaluation_steps(NOW - timedelta(days=7), NOW, 3600)) == 168
