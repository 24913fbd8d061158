"""The instance state machine (pure `step`) and its persistence (`Instances`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from ccmon.alerts.instances import RESOLVED_KEPT, Instances, Transitions, retire, step
from ccmon.alerts.model import Instance, Rule, Sample, Severity, State
from ccmon.alerts.rules import fingerprint, parse_rule
from ccmon.store.facade import Store

# Recent: `alert_history` drops rows older than 400 days.
T0 = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
MINUTE = dt.timedelta(minutes=1)


def make_rule(**changes: Any) -> Rule:
    data: dict[str, Any] = {
        "id": "errors",
        "name": "Error rate",
        "signal": "error_rate",
        "op": ">",
        "threshold": 0.1,
        "for": "5m",
        "repeat_interval": "1h",
        "group_by": ["team"],
        "summary": "{team}: {value:.0%}",
        **changes,
    }
    return parse_rule(data)


def team(name: str, value: float) -> Sample:
    return Sample({"team": name}, value)


class Run:
    """A rule's instances carried from one `step` to the next, as the engine does through the store."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.instances: dict[str, Instance] = {}

    def at(self, when: dt.datetime, samples: list[Sample] | Exception) -> Transitions:
        transitions = step(self.rule, self.instances, samples, when)
        self.instances = {instance.fingerprint: instance for instance in transitions.instances}
        return transitions

    def state(self, labels: dict[str, str]) -> State | None:
        instance = self.instances.get(fingerprint(self.rule.id, labels))
        return instance.state if instance else None


def moves(transitions: Transitions) -> list[tuple[str, State, State]]:
    return [(entry.labels.get("team", ""), entry.from_state, entry.to_state) for entry in transitions.history]


def notified(transitions: Transitions) -> list[tuple[str, State]]:
    return [(instance.labels.get("team", ""), instance.state) for instance in transitions.notify]


def test_pending_then_firing_after_for_then_resolved() -> None:
    run = Run(make_rule())
    first = run.at(T0, [team("a", 0.5), team("b", 0.01)])
    assert moves(first) == [("a", State.NORMAL, State.PENDING)]
    assert first.notify == () and run.state({"team": "b"}) is None  # normal instances are not kept
    pending = run.instances[fingerprint("errors", {"team": "a"})]
    assert pending.active_since == T0 and pending.summary == "a: 50%" and pending.severity is Severity.WARNING
    assert run.at(T0 + 4 * MINUTE, [team("a", 0.5)]).history == ()
    fired = run.at(T0 + 5 * MINUTE, [team("a", 0.6)])
    assert moves(fired) == [("a", State.PENDING, State.FIRING)]
    assert notified(fired) == [("a", State.FIRING)]
    instance = fired.instances[0]
    assert (instance.active_since, instance.fired_at, instance.last_notified) == (
        T0,
        T0 + 5 * MINUTE,
        instance.fired_at,
    )
    resolved = run.at(T0 + 6 * MINUTE, [team("a", 0.05)])
    assert moves(resolved) == [("a", State.FIRING, State.RESOLVED)]
    assert notified(resolved) == [("a", State.RESOLVED)]
    after = resolved.instances[0]
    assert after.resolved_at == T0 + 6 * MINUTE and after.fired_at == T0 + 5 * MINUTE and after.value == 0.05


def test_pending_that_stops_holding_goes_back_to_normal_silently() -> None:
    run = Run(make_rule())
    run.at(T0, [team("a", 0.5)])
    back = run.at(T0 + MINUTE, [team("a", 0.0)])
    assert moves(back) == [("a", State.PENDING, State.NORMAL)]
    assert back.notify == () and back.instances == () and len(back.dropped) == 1
    # Holding again starts a new pending period.
    again = run.at(T0 + 2 * MINUTE, [team("a", 0.5)])
    assert again.instances[0].active_since == T0 + 2 * MINUTE


def test_for_zero_fires_at_once_and_repeats_after_the_repeat_interval() -> None:
    run = Run(make_rule(**{"for": 0}))
    fired = run.at(T0, [team("a", 0.5)])
    assert moves(fired) == [("a", State.NORMAL, State.FIRING)] and notified(fired) == [("a", State.FIRING)]
    assert run.at(T0 + 59 * MINUTE, [team("a", 0.5)]).notify == ()
    repeat = run.at(T0 + 60 * MINUTE, [team("a", 0.7)])
    assert notified(repeat) == [("a", State.FIRING)] and repeat.history == ()
    assert repeat.instances[0].last_notified == T0 + 60 * MINUTE and repeat.instances[0].fired_at == T0
    assert run.at(T0 + 61 * MINUTE, [team("a", 0.7)]).notify == ()


def test_disappearing_label_sets_resolve_or_go_back_to_normal() -> None:
    run = Run(make_rule(**{"for": "2m"}))
    run.at(T0, [team("a", 0.5), team("b", 0.5)])
    run.at(T0 + 2 * MINUTE, [team("a", 0.5)])  # a fires; b is gone while pending
    assert run.state({"team": "a"}) is State.FIRING and run.state({"team": "b"}) is None
    gone = run.at(T0 + 3 * MINUTE, [])
    assert moves(gone) == [("a", State.FIRING, State.RESOLVED)] and notified(gone) == [("a", State.RESOLVED)]
    assert gone.instances[0].value == 0.5  # the last value seen


def test_resolved_instances_stay_an_hour_then_leave_without_history() -> None:
    run = Run(make_rule(**{"for": 0}))
    run.at(T0, [team("a", 0.5)])
    run.at(T0 + MINUTE, [team("a", 0.0)])
    kept = run.at(T0 + MINUTE + RESOLVED_KEPT - dt.timedelta(seconds=1), [team("a", 0.0)])
    assert [instance.state for instance in kept.instances] == [State.RESOLVED]
    assert kept.history == () and kept.notify == ()
    dropped = run.at(T0 + MINUTE + RESOLVED_KEPT, [])
    assert dropped.instances == () and [i.state for i in dropped.dropped] == [State.RESOLVED] and dropped.history == ()


def test_resolved_that_holds_again_fires_anew() -> None:
    run = Run(make_rule(**{"for": 0}))
    run.at(T0, [team("a", 0.5)])
    run.at(T0 + MINUTE, [team("a", 0.0)])
    again = run.at(T0 + 2 * MINUTE, [team("a", 0.5)])
    assert moves(again) == [("a", State.RESOLVED, State.FIRING)] and notified(again) == [("a", State.FIRING)]
    assert again.instances[0].fired_at == T0 + 2 * MINUTE and again.instances[0].resolved_at is None


def test_resolution_is_not_notified_when_the_rule_says_so() -> None:
    run = Run(make_rule(**{"for": 0, "notify_resolved": False}))
    run.at(T0, [team("a", 0.5)])
    resolved = run.at(T0 + MINUTE, [team("a", 0.0)])
    assert moves(resolved) == [("a", State.FIRING, State.RESOLVED)] and resolved.notify == ()


def test_no_data_ok_nodata_and_alerting() -> None:
    assert step(make_rule(), {}, [], T0) == Transitions((), (), (), ())
    run = Run(make_rule(no_data="nodata", labels={"routing": "ops"}))
    nodata = run.at(T0, [])
    assert moves(nodata) == [("", State.NORMAL, State.NODATA)] and nodata.notify == ()
    assert nodata.instances[0].labels == {"routing": "ops"}
    assert nodata.instances[0].fingerprint == fingerprint("errors", {"routing": "ops"})
    assert run.at(T0 + MINUTE, []).history == ()
    back = run.at(T0 + 2 * MINUTE, [team("a", 0.0)])
    assert moves(back) == [("", State.NODATA, State.NORMAL)] and back.instances == ()
    alerting = Run(make_rule(no_data="alerting", **{"for": 0}))
    fired = alerting.at(T0, [])
    assert moves(fired) == [("", State.NORMAL, State.FIRING)] and notified(fired) == [("", State.FIRING)]
    assert fired.instances[0].labels == {} and fired.instances[0].value == 0.0
    assert notified(alerting.at(T0 + MINUTE, [team("a", 0.0)])) == [("", State.RESOLVED)]


def test_an_error_is_a_rule_level_state_and_other_instances_keep_theirs() -> None:
    run = Run(make_rule(**{"for": 0}))
    run.at(T0, [team("a", 0.5)])
    failed = run.at(T0 + MINUTE, RuntimeError("x" * 600))
    assert moves(failed) == [("", State.NORMAL, State.ERROR)] and failed.notify == ()
    error = run.instances[fingerprint("errors", {})]
    assert error.summary == "x" * 500 and error.labels == {}
    firing = run.instances[fingerprint("errors", {"team": "a"})]
    assert firing.state is State.FIRING and firing.last_eval == T0  # kept as it was, not evaluated
    again = run.at(T0 + 2 * MINUTE, ValueError())
    assert again.history == () and run.instances[fingerprint("errors", {})].summary == "ValueError"
    recovered = run.at(T0 + 3 * MINUTE, [team("a", 0.5)])
    assert moves(recovered) == [("", State.ERROR, State.NORMAL)] and recovered.notify == ()
    assert [instance.state for instance in recovered.instances] == [State.FIRING]


def test_an_ungrouped_firing_instance_paused_by_an_error_resumes_without_a_new_notice() -> None:
    run = Run(make_rule(group_by=[], summary="", **{"for": 0}))
    assert notified(run.at(T0, [Sample({}, 0.5)])) == [("", State.FIRING)]
    paused = run.at(T0 + MINUTE, RuntimeError("store down"))
    assert moves(paused) == [("", State.FIRING, State.ERROR)]
    assert paused.instances[0].fired_at == T0 and paused.instances[0].summary == "store down"
    resumed = run.at(T0 + 2 * MINUTE, [Sample({}, 0.5)])
    assert moves(resumed) == [("", State.ERROR, State.FIRING)] and resumed.notify == ()
    assert resumed.instances[0].fired_at == T0 and resumed.instances[0].summary == "Error rate: 0.5 > 0.1"
    resolved = run.at(T0 + 3 * MINUTE, [Sample({}, 0.0)])
    assert notified(resolved) == [("", State.RESOLVED)]


def test_a_pending_instance_paused_by_no_data_keeps_its_start() -> None:
    run = Run(make_rule(group_by=[], no_data="nodata"))
    run.at(T0, [Sample({}, 0.5)])
    run.at(T0 + MINUTE, [])
    assert run.state({}) is State.NODATA
    fired = run.at(T0 + 5 * MINUTE, [Sample({}, 0.5)])
    assert moves(fired) == [("", State.NODATA, State.FIRING)]
    assert fired.instances[0].active_since == T0


def test_severity_and_extra_labels_come_from_the_rule_and_sample_labels_win() -> None:
    rule = make_rule(severity="critical", labels={"routing": "ops", "team": "rule-team"}, **{"for": 0})
    transitions = step(rule, {}, [team("a", 0.5)], T0)
    instance = transitions.instances[0]
    assert instance.labels == {"routing": "ops", "team": "a"} and instance.severity is Severity.CRITICAL
    assert transitions.history[0].severity == "critical"


def test_retiring_a_rule_ends_every_instance_as_if_its_label_set_disappeared() -> None:
    run = Run(make_rule(**{"for": 0}))
    run.at(T0, [team("a", 0.5)])
    run.rule = make_rule(**{"for": "5m"})
    run.at(T0 + MINUTE, [team("a", 0.5), team("b", 0.5)])  # a keeps firing, b is pending
    run.at(T0 + 2 * MINUTE, [team("a", 0.5), team("b", 0.5), team("c", 0.5)])
    run.at(T0 + 3 * MINUTE, [team("b", 0.5), team("c", 0.5)])  # a resolved (kept an hour), b and c pending
    run.at(T0 + 4 * MINUTE, RuntimeError("down"))  # the rule-level instance in error
    ended = retire(run.rule, run.instances, T0 + 5 * MINUTE)
    assert sorted(moves(ended)) == [
        ("", State.ERROR, State.NORMAL),
        ("b", State.PENDING, State.NORMAL),
        ("c", State.PENDING, State.NORMAL),
    ]
    assert ended.notify == ()
    assert [(i.labels["team"], i.state) for i in ended.instances] == [("a", State.RESOLVED)]  # unchanged, no news
    firing = Run(make_rule(**{"for": 0}))
    firing.at(T0, [team("a", 0.5)])
    ended = retire(firing.rule, firing.instances, T0 + MINUTE)
    assert moves(ended) == [("a", State.FIRING, State.RESOLVED)] and notified(ended) == [("a", State.RESOLVED)]
    assert ended.instances[0].resolved_at == T0 + MINUTE
    quiet = retire(make_rule(**{"for": 0, "notify_resolved": False}), firing.instances, T0 + MINUTE)
    assert moves(quiet) == [("a", State.FIRING, State.RESOLVED)] and quiet.notify == ()


def history_of(instances: Instances, **kwargs: Any) -> Sequence[tuple[str, State, State]]:
    return [(entry.rule_id, entry.from_state, entry.to_state) for entry in instances.history(**kwargs)]


def test_instances_persist_transitions(store: Store) -> None:
    instances = Instances(store)
    run = Run(make_rule(**{"for": 0}))
    other = Run(make_rule(id="other", summary=""))
    assert instances.current() == [] and instances.history() == []
    instances.save(run.at(T0, [team("a", 0.5), team("b", 0.5)]))
    instances.save(other.at(T0, [team("a", 0.5)]))
    assert {i.fingerprint: i for i in instances.current()} == {**run.instances, **other.instances}
    assert instances.for_rule("other") == list(other.instances.values())
    instances.save(run.at(T0 + MINUTE, [team("a", 0.0)]))  # a resolves, b is gone: resolved too
    assert sorted((i.labels["team"], i.state) for i in instances.for_rule("errors")) == [
        ("a", State.RESOLVED),
        ("b", State.RESOLVED),
    ]
    instances.save(run.at(T0 + 2 * MINUTE + RESOLVED_KEPT, []))
    assert instances.for_rule("errors") == []
    assert history_of(instances, limit=2) == [
        ("errors", State.FIRING, State.RESOLVED),
        ("errors", State.FIRING, State.RESOLVED),
    ]
    assert history_of(instances, rule_id="other") == [("other", State.NORMAL, State.PENDING)]
    assert sorted(history_of(instances, before=T0 + MINUTE)) == [
        ("errors", State.NORMAL, State.FIRING),
        ("errors", State.NORMAL, State.FIRING),
        ("other", State.NORMAL, State.PENDING),
    ]
    assert len(instances.history()) == 5
    # Entries of one evaluation are a microsecond apart, so paging by `before` never skips one.
    page = instances.history(limit=1)
    assert [entry.ts for entry in page] == [T0 + MINUTE + dt.timedelta(microseconds=1)]
    assert len(instances.history(before=page[0].ts)) == 4
    entry = page[0]
    assert entry.labels in ({"team": "a"}, {"team": "b"}) and entry.ts.tzinfo is dt.UTC
    with pytest.raises(ValueError, match="limit"):
        instances.history(limit=0)
