"""The alert engine over a real store: due rules, states kept across a restart, grouping, repeats, resolutions,
silences, errors, and one evaluating process among several sharing the store.

The signals are another module's (tests/alerts/test_signals.py): here a rule's samples are whatever the test says,
and the delivery queue is a recorder, so what is tested is what the engine decides and stores."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from ccmon.alerts.engine import AlertEngine
from ccmon.alerts.instances import Instances
from ccmon.alerts.model import Notification, Rule, Sample, State
from ccmon.alerts.rules import Rules, parse_rule
from ccmon.alerts.silences import Silences, parse_silence
from ccmon.store.facade import Store

T0 = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
MINUTE = dt.timedelta(minutes=1)


class Recorder:
    """Stands in for `Deliveries`: records what is queued and when the queue is run."""

    def __init__(self) -> None:
        self.queued: list[tuple[Notification, tuple[str, ...]]] = []
        self.runs: list[dt.datetime] = []
        self.queued_event = threading.Event()

    def enqueue(self, notification: Notification, channel_names: Sequence[str]) -> list[str]:
        self.queued.append((notification, tuple(channel_names)))
        self.queued_event.set()
        return []

    def run_due(self, now: dt.datetime) -> None:
        self.runs.append(now)

    def take(self) -> list[Notification]:
        taken, self.queued = self.queued, []
        return [notification for notification, _ in taken]


class Signals:
    """What each rule's signal answers: samples, or an exception to raise."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Sample] | Exception] = {}
        self.calls: list[tuple[str, dt.datetime]] = []

    def __call__(self, rule: Rule, now: dt.datetime) -> list[Sample]:
        self.calls.append((rule.id, now))
        answer = self.answers.get(rule.id, [])
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_rule(rule_id: str = "errors", /, **changes: Any) -> Rule:
    data: dict[str, Any] = {
        "id": rule_id,
        "name": "Error rate",
        "signal": "error_rate",
        "op": ">",
        "threshold": 0.1,
        "for": "5m",
        "interval": "1m",
        "repeat_interval": "1h",
        "group_by": ["team"],
        "channels": ["slack"],
        "summary": "{team}/{person}: {value:.0%}",
        **changes,
    }
    return parse_rule(data)


def errors(**values: float) -> list[Sample]:
    """Samples by team/person: `errors(a_p1=0.5)` is team a, person p1."""
    return [Sample(dict(zip(("team", "person"), key.split("_"), strict=True)), v) for key, v in values.items()]


@pytest.fixture
def signals() -> Signals:
    return Signals()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def engine(store: Store, signals: Signals, recorder: Recorder) -> Iterator[AlertEngine]:
    started = AlertEngine(store, signals, recorder, holder="one", external_url="https://ccmon.example.com")
    yield started
    started.close()


def alert_people(notification: Notification) -> list[tuple[str, str]]:
    return sorted((alert.labels["person"], alert.status) for alert in notification.alerts)


def test_a_pending_instance_fires_on_time_after_a_restart(
    store: Store, engine: AlertEngine, signals: Signals, recorder: Recorder
) -> None:
    Rules(store).put(make_rule())
    signals.answers["errors"] = errors(a_p1=0.5)
    assert engine.evaluate_once(T0) is True
    assert recorder.queued == [] and recorder.runs == [T0]
    engine.evaluate_once(T0 + dt.timedelta(seconds=30))  # not due: interval 1m
    assert len(signals.calls) == 1 and len(recorder.runs) == 2  # the queue runs at every turn
    engine.close()  # a restart: a new engine knows only the store
    restarted = AlertEngine(store, signals, recorder, holder="two", external_url="https://ccmon.example.com")
    try:
        restarted.evaluate_once(T0 + dt.timedelta(seconds=40))  # due by the stored last evaluation: not yet
        assert len(signals.calls) == 1
        restarted.evaluate_once(T0 + 4 * MINUTE)
        assert recorder.queued == []
        restarted.evaluate_once(T0 + 5 * MINUTE)
    finally:
        restarted.close()
    [(notification, channels)] = recorder.queued
    assert channels == ("slack",)
    assert notification.group_key == 'errors{team="a"}' and notification.status == "firing"
    assert notification.rule_name == "Error rate" and notification.group_labels == {"team": "a"}
    assert notification.external_url == "https://ccmon.example.com"
    [alert] = notification.alerts
    assert alert.labels == {"team": "a", "person": "p1"} and alert.starts_at == T0 + 5 * MINUTE
    assert alert.annotations == {"summary": "a/p1: 50%", "value": "0.5"} and alert.ends_at is None
    [instance] = Instances(store).current()
    assert instance.state is State.FIRING and instance.active_since == T0
    assert instance.last_notified == T0 + 5 * MINUTE


def test_groups_repeats_and_resolutions(
    store: Store, engine: AlertEngine, signals: Signals, recorder: Recorder
) -> None:
    Rules(store).put(make_rule(**{"for": 0}))
    signals.answers["errors"] = errors(a_p1=0.5, a_p2=0.3, b_p3=0.2, b_p4=0.0)
    engine.evaluate_once(T0)
    first = recorder.take()
    assert [(n.group_key, n.status, alert_people(n)) for n in first] == [
        ('errors{team="a"}', "firing", [("p1", "firing"), ("p2", "firing")]),
        ('errors{team="b"}', "firing", [("p3", "firing")]),
    ]
    # A new alert in group a: the group is sent again with every alert of it still firing.
    signals.answers["errors"] = errors(a_p1=0.5, a_p2=0.3, a_p5=0.9, b_p3=0.2)
    engine.evaluate_once(T0 + MINUTE)
    [grown] = recorder.take()
    assert grown.group_key == 'errors{team="a"}' and alert_people(grown) == [(p, "firing") for p in ("p1", "p2", "p5")]
    engine.evaluate_once(T0 + 30 * MINUTE)
    assert recorder.take() == []
    # The repeat interval runs per alert: group b's hour is up first, then group a's (its alerts were resent at +1m).
    engine.evaluate_once(T0 + 60 * MINUTE)
    assert [n.group_key for n in recorder.take()] == ['errors{team="b"}']
    engine.evaluate_once(T0 + 61 * MINUTE)
    assert [n.group_key for n in recorder.take()] == ['errors{team="a"}']
    # p2 resolves: its group says so, with the alerts still firing; b resolves entirely.
    signals.answers["errors"] = errors(a_p1=0.5, a_p5=0.9, b_p3=0.0)
    engine.evaluate_once(T0 + 62 * MINUTE)
    partial, resolved = recorder.take()
    assert partial.status == "firing"
    assert alert_people(partial) == [("p1", "firing"), ("p2", "resolved"), ("p5", "firing")]
    assert resolved.status == "resolved" and alert_people(resolved) == [("p3", "resolved")]
    assert resolved.alerts[0].ends_at == T0 + 62 * MINUTE and resolved.alerts[0].starts_at == T0
    states = sorted((i.labels["person"], i.state) for i in Instances(store).current())
    assert states == [("p1", State.FIRING), ("p2", State.RESOLVED), ("p3", State.RESOLVED), ("p5", State.FIRING)]


def test_silenced_alerts_fire_unnotified_until_the_silence_ends(
    store: Store, engine: AlertEngine, signals: Signals, recorder: Recorder
) -> None:
    Rules(store).put(make_rule(**{"for": 0}))
    silence = parse_silence(
        {"matchers": [{"label": "team", "op": "=", "value": "a"}], "ends_at": (T0 + 10 * MINUTE).isoformat()},
        now=T0,
        created_by="admin",
    )
    Silences(store).put(silence)
    signals.answers["errors"] = errors(a_p1=0.5, b_p2=0.5)
    engine.evaluate_once(T0)
    assert [n.group_key for n in recorder.take()] == ['errors{team="b"}']
    firing = {i.labels["team"]: i for i in Instances(store).current()}
    assert firing["a"].state is State.FIRING and firing["a"].last_notified is None
    engine.evaluate_once(T0 + 5 * MINUTE)
    assert recorder.take() == []
    engine.evaluate_once(T0 + 10 * MINUTE)  # the silence is over: a is told at once, b is not repeated
    [late] = recorder.take()
    assert late.group_key == 'errors{team="a"}' and alert_people(late) == [("p1", "firing")]
    # A silence on the rule (matchers see `rule`) mutes resolutions of alerts it kept quiet only.
    Silences(store).put(
        parse_silence(
            {"matchers": [{"label": "rule", "op": "=", "value": "errors"}], "ends_at": (T0 + 60 * MINUTE).isoformat()},
            now=T0 + 10 * MINUTE,
            created_by="admin",
        )
    )
    signals.answers["errors"] = errors(a_p1=0.5, b_p2=0.5, c_p3=0.5)
    engine.evaluate_once(T0 + 11 * MINUTE)
    assert recorder.take() == []
    signals.answers["errors"] = []
    engine.evaluate_once(T0 + 12 * MINUTE)
    # a and b were notified firing, so their resolutions are sent; c never was, so nothing closes it.
    assert [(n.group_key, n.status) for n in recorder.take()] == [
        ('errors{team="a"}', "resolved"),
        ('errors{team="b"}', "resolved"),
    ]


def test_errors_and_no_data_are_states_and_never_stop_the_turn(
    store: Store, engine: AlertEngine, signals: Signals, recorder: Recorder
) -> None:
    rules = Rules(store)
    rules.put(make_rule("broken", **{"for": 0}))
    rules.put(make_rule("quiet", no_data="nodata"))
    rules.put(make_rule("working", **{"for": 0}))
    signals.answers["broken"] = RuntimeError("signal exploded")
    signals.answers["working"] = errors(a_p1=0.5)
    engine.evaluate_once(T0)
    assert [n.rule_id for n in recorder.take()] == ["working"]
    states = {(i.rule_id, i.state, i.summary) for i in Instances(store).current()}
    assert states == {
        ("broken", State.ERROR, "signal exploded"),
        ("quiet", State.NODATA, "Error rate: no data"),
        ("working", State.FIRING, "a/p1: 50%"),
    }
    history = {(e.rule_id, e.to_state) for e in Instances(store).history()}
    assert history == {("broken", State.ERROR), ("quiet", State.NODATA), ("working", State.FIRING)}


def test_a_deleted_or_disabled_rule_resolves_its_firing_instances_then_keeps_none(
    store: Store, engine: AlertEngine, signals: Signals, recorder: Recorder
) -> None:
    rules = Rules(store)
    for rule_id in ("gone", "off", "kept"):
        rules.put(make_rule(rule_id, **{"for": 0}))
        signals.answers[rule_id] = errors(a_p1=0.5)
    rules.put(make_rule("waiting"))  # `for` 5m: only pending
    signals.answers["waiting"] = errors(b_p2=0.5)
    engine.evaluate_once(T0)
    assert len(recorder.take()) == 3
    rules.delete("gone")
    rules.put(make_rule("off", enabled=False))
    rules.delete("waiting")
    engine.evaluate_once(T0 + MINUTE)
    # Each firing alert is resolved as the rule last said: same group (so the receiver closes what it opened), same
    # channels; the pending one was never notified, so nothing is said of it.
    queued = [(n.group_key, n.status, alert_people(n), channels) for n, channels in recorder.queued]
    assert queued == [
        ('gone{team="a"}', "resolved", [("p1", "resolved")], ("slack",)),
        ('off{team="a"}', "resolved", [("p1", "resolved")], ("slack",)),
    ]
    [(gone, _), _] = recorder.queued
    assert gone.alerts[0].ends_at == T0 + MINUTE and gone.alerts[0].starts_at == T0
    assert [i.rule_id for i in Instances(store).current()] == ["kept"]
    ended = {(e.rule_id, e.from_state, e.to_state) for e in Instances(store).history() if e.ts >= T0 + MINUTE}
    assert ended == {
        ("gone", State.FIRING, State.RESOLVED),
        ("off", State.FIRING, State.RESOLVED),
        ("waiting", State.PENDING, State.NORMAL),
    }
    assert {call[0] for call in signals.calls if call[1] == T0 + MINUTE} == {"kept"}
    recorder.take()
    engine.evaluate_once(T0 + 2 * MINUTE)  # said once: nothing left to end
    assert recorder.take() == []
    assert len(Instances(store).history()) == 4 + 3  # the first turn's four, the three endings


def test_a_rule_deleted_while_no_engine_ran_is_resolved_as_stored(
    store: Store, signals: Signals, recorder: Recorder
) -> None:
    rules = Rules(store)
    rules.put(make_rule(**{"for": 0}))
    rules.put(make_rule("quiet-end", **{"for": 0, "notify_resolved": False}))
    signals.answers["errors"] = signals.answers["quiet-end"] = errors(a_p1=0.5)
    first = AlertEngine(store, signals, recorder, holder="first")
    try:
        first.evaluate_once(T0)
    finally:
        first.close()
    assert len(recorder.take()) == 2
    rules.delete("errors")
    rules.delete("quiet-end")
    restarted = AlertEngine(store, signals, recorder, holder="second")  # remembers no rule: reads the last version
    try:
        restarted.evaluate_once(T0 + MINUTE)
    finally:
        restarted.close()
    [(resolved, channels)] = recorder.queued
    assert (resolved.group_key, resolved.status, resolved.rule_name, channels) == (
        'errors{team="a"}',
        "resolved",
        "Error rate",
        ("slack",),
    )
    assert Instances(store).current() == []
    ended = {(e.rule_id, e.to_state) for e in Instances(store).history() if e.ts >= T0 + MINUTE}
    assert ended == {("errors", State.RESOLVED), ("quiet-end", State.RESOLVED)}


def test_two_engines_sharing_a_store_notify_once(store: Store, signals: Signals) -> None:
    Rules(store).put(make_rule(**{"for": 0}))
    signals.answers["errors"] = errors(a_p1=0.5)
    one, two = Recorder(), Recorder()
    first = AlertEngine(store, signals, one, holder="first")
    second = AlertEngine(store, signals, two, holder="second")
    try:
        for turn in range(3):
            now = T0 + turn * MINUTE
            assert [second.evaluate_once(now), first.evaluate_once(now)] == [True, False]
        assert len(one.queued) == 0 and len(two.queued) == 1 and one.runs == []
        # The holder stops (and hands over): the other takes over from the stored state, without a second notice.
        second.close()
        assert first.evaluate_once(T0 + 3 * MINUTE) is True
        assert one.queued == [] and one.runs == [T0 + 3 * MINUTE]
    finally:
        first.close()
        second.close()


def test_the_thread_evaluates_until_closed(store: Store, signals: Signals, recorder: Recorder) -> None:
    Rules(store).put(make_rule(**{"for": 0}))
    signals.answers["errors"] = errors(a_p1=0.5)
    engine = AlertEngine(store, signals, recorder, holder="threaded", interval_s=0.05)
    engine.start()
    try:
        assert recorder.queued_event.wait(60)
    finally:
        engine.close()
    assert engine.lease.current_holder() is None  # released at close
    calls = len(signals.calls)
    assert calls >= 1 and [n.rule_id for n in recorder.take()] == ["errors"]
    threading.Event().wait(0.2)
    assert len(signals.calls) == calls  # stopped


def test_a_holder_that_loses_the_lease_during_a_long_turn_sends_nothing(store: Store, signals: Signals) -> None:
    rules = Rules(store)
    rules.put(make_rule("first", **{"for": 0}))
    rules.put(make_rule("second", **{"for": 0}))
    signals.answers["first"] = signals.answers["second"] = errors(a_p1=0.5)
    slow_one, two = Recorder(), Recorder()
    other = AlertEngine(store, signals, two, holder="other", lease_ttl_s=1)

    def slow(rule: Rule, now: dt.datetime) -> list[Sample]:
        # The lease expires while this evaluation runs, and the other process takes over meanwhile.
        threading.Event().wait(1.2)
        assert other.evaluate_once(now) is True
        return signals(rule, now)

    stalled = AlertEngine(store, slow, slow_one, holder="stalled", lease_ttl_s=1)
    try:
        assert stalled.evaluate_once(T0) is False
        assert slow_one.queued == [] and slow_one.runs == []
        assert sorted(n.rule_id for n in two.take()) == ["first", "second"]
        assert other.evaluate_once(T0 + MINUTE) is True and two.take() == []
        assert {i.rule_id: i.state for i in Instances(store).current()} == {
            "first": State.FIRING,
            "second": State.FIRING,
        }
    finally:
        stalled.close()
        other.close()
