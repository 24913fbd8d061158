"""The state of each rule's instances: the state machine (`step`, pure) and its persistence (`Instances`).

One evaluation of a rule gives a list of samples (or an exception). Each sample is an instance, keyed by the
fingerprint of the rule id and its labels (the sample's labels over the rule's extra labels):

    normal ──holds──▶ pending ──held for `for`──▶ firing ──stops holding / disappears──▶ resolved ──1 h──▶ dropped
       ▲                 │                           │ (notified; again every `repeat_interval`)   (notified)
       └──stops holding──┘ (dropped)                 └──────────────── holds again ─────────────────▶ pending/firing

Normal instances are not kept (a rule split by session would otherwise keep one per session). The rule-level
instance, labelled with the rule's extra labels only, also carries the states of the rule as a whole: `nodata` (no
sample at all, when the rule says it matters) and `error` (the evaluation raised; the message is the summary).
Entering either pauses an instance at that fingerprint (it keeps its `active_since` / `fired_at`, and leaves as it
would have from the state it paused) and notifies nothing; the other instances keep their state through an error.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from ccmon.alerts.model import Instance, NoData, Rule, Sample, Severity, State
from ccmon.alerts.rules import fingerprint, render_summary
from ccmon.store.facade import Store
from ccmon.store.records import TIMESTAMP, VersionClock, as_utc, insert_rows

RESOLVED_KEPT = dt.timedelta(hours=1)
"""How long a resolved instance stays in `current()` (the history keeps it for good)."""
MAX_ERROR = 500


@dataclass(frozen=True)
class HistoryEntry:
    """One change of state of one instance (`alert_history`)."""

    ts: dt.datetime
    rule_id: str
    fingerprint: str
    labels: Mapping[str, str]
    from_state: State
    to_state: State
    severity: str
    value: float
    summary: str


@dataclass(frozen=True)
class Transitions:
    """What one evaluation of one rule changed."""

    instances: tuple[Instance, ...]
    """The rule's instances now (to write)."""
    dropped: tuple[Instance, ...]
    """Instances no longer kept (to delete)."""
    history: tuple[HistoryEntry, ...]
    """Changes of state, in order."""
    notify: tuple[Instance, ...]
    """Instances to notify now: newly firing, firing for `repeat_interval` since the last notice, resolved (when the
    rule notifies resolutions and the firing was notified). Their `last_notified` is `now` in `instances`."""


def step(
    rule: Rule, previous: Mapping[str, Instance], samples: list[Sample] | BaseException, now: dt.datetime
) -> Transitions:
    """The rule's instances after one evaluation at `now`, given its instances before (by fingerprint)."""
    changes = _Changes(rule, now)
    rule_level = fingerprint(rule.id, rule.labels)
    if isinstance(samples, BaseException):
        message = (str(samples) or type(samples).__name__)[:MAX_ERROR]
        changes.pause(previous.get(rule_level), State.ERROR, message)
        for fp, instance in previous.items():
            if fp != rule_level:
                changes.keep(instance)
        return changes.result()
    forced = not samples and rule.no_data is NoData.ALERTING
    if forced:
        samples = [Sample({}, 0.0)]
    seen = set()
    for sample in samples:
        labels = {**rule.labels, **sample.labels}
        fp = fingerprint(rule.id, labels)
        seen.add(fp)
        holds = forced or rule.op.holds(sample.value, rule.threshold)
        changes.evaluate(previous.get(fp), fp, labels, sample.value, holds)
    if not samples and rule.no_data is NoData.NODATA:
        seen.add(rule_level)
        changes.pause(previous.get(rule_level), State.NODATA, f"{rule.name}: no data")
    for fp, instance in previous.items():
        if fp not in seen:
            changes.evaluate(instance, fp, instance.labels, instance.value, None)
    return changes.result()


def retire(rule: Rule, previous: Mapping[str, Instance], now: dt.datetime) -> Transitions:
    """The end of a rule's instances when the rule is disabled or deleted (or the alerts file drops it): each leaves
    as a label set that disappeared does (a firing one resolves, notified when the rule notifies resolutions and the
    firing was notified; a pending one returns to normal), with its history, and none is kept: `instances` holds the
    resolved ones only for the notification, the caller drops them with `dropped`."""
    changes = _Changes(rule, now)
    for fp, instance in previous.items():
        changes.evaluate(instance, fp, instance.labels, instance.value, None)
    return changes.result()


class _Changes:
    """The transitions of one evaluation, collected instance by instance."""

    def __init__(self, rule: Rule, now: dt.datetime) -> None:
        self.rule = rule
        self.now = now
        self.instances: list[Instance] = []
        self.dropped: list[Instance] = []
        self.history: list[HistoryEntry] = []
        self.notify: list[Instance] = []

    def result(self) -> Transitions:
        return Transitions(tuple(self.instances), tuple(self.dropped), tuple(self.history), tuple(self.notify))

    def keep(self, instance: Instance) -> None:
        self.instances.append(instance)

    def pause(self, before: Instance | None, state: State, summary: str) -> None:
        """The rule-level instance enters `nodata` or `error`, remembering whether it was pending or firing."""
        labels = dict(self.rule.labels)
        fp = fingerprint(self.rule.id, labels)
        base = before or Instance(self.rule.id, fp, labels, State.NORMAL, 0.0, "", None, None, None, self.now, None)
        paused = replace(base, state=state, summary=summary, last_eval=self.now, severity=self.rule.severity)
        self._record(before, paused)
        self.instances.append(paused)

    def evaluate(
        self, before: Instance | None, fp: str, labels: Mapping[str, str], value: float, holds: bool | None
    ) -> None:
        """One label set: `holds` is whether the condition holds, None when the label set is gone."""
        rule, now = self.rule, self.now
        summary = render_summary(rule, Sample(labels, value))
        was = _underlying(before)
        common: dict[str, Any] = {"value": value, "summary": summary, "last_eval": now, "severity": rule.severity}
        after: Instance | None
        if holds:
            since = before.active_since if before and was in (State.PENDING, State.FIRING) else None
            since = since or now
            if was is State.FIRING and before is not None:
                after = replace(before, state=State.FIRING, **common)
                last = before.last_notified
                if last is None or now - last >= dt.timedelta(seconds=rule.repeat_interval_s):
                    after = replace(after, last_notified=now)
                    self.notify.append(after)
            elif now - since >= dt.timedelta(seconds=rule.for_s):
                after = Instance(rule.id, fp, labels, State.FIRING, value, summary, since, now, None, now, now)
                after = replace(after, severity=rule.severity)
                self.notify.append(after)
            else:
                after = Instance(rule.id, fp, labels, State.PENDING, value, summary, since, None, None, now, None)
                after = replace(after, severity=rule.severity)
        elif was is State.FIRING and before is not None:
            after = replace(before, state=State.RESOLVED, active_since=None, resolved_at=now, **common)
            if rule.notify_resolved and before.last_notified is not None:
                after = replace(after, last_notified=now)
                self.notify.append(after)
        elif before is not None and before.state is State.RESOLVED:
            resolved_at = before.resolved_at or before.last_eval
            after = replace(before, last_eval=now) if now - resolved_at < RESOLVED_KEPT else None
            if holds is False:
                after = after and replace(after, **common)
        else:
            after = None  # normal: not kept
        if after is None:
            if before is not None:
                self._record(before, replace(before, state=State.NORMAL, value=value, summary=summary))
                self.dropped.append(before)
            return
        self._record(before, after)
        self.instances.append(after)

    def _record(self, before: Instance | None, after: Instance) -> None:
        was = before.state if before else State.NORMAL
        if was is after.state or (was is State.RESOLVED and after.state is State.NORMAL):
            return  # a resolved instance leaving the display is no change of state
        self.history.append(
            HistoryEntry(
                ts=self.now,
                rule_id=after.rule_id,
                fingerprint=after.fingerprint,
                labels=after.labels,
                from_state=was,
                to_state=after.state,
                severity=self.rule.severity.value,
                value=after.value,
                summary=after.summary,
            )
        )


def _underlying(instance: Instance | None) -> State:
    """The state an instance is in for the state machine: a paused one (nodata, error) is what it was before."""
    if instance is None:
        return State.NORMAL
    if instance.state in (State.NODATA, State.ERROR):
        if instance.fired_at is not None and instance.resolved_at is None and instance.active_since is not None:
            return State.FIRING
        return State.PENDING if instance.active_since is not None else State.NORMAL
    return instance.state


_INSTANCE_SCHEMA = pa.schema(
    [
        ("rule_id", pa.string()),
        ("fingerprint", pa.string()),
        ("labels", pa.map_(pa.string(), pa.string())),
        ("state", pa.string()),
        ("severity", pa.string()),
        ("value", pa.float64()),
        ("summary", pa.string()),
        ("active_since", TIMESTAMP),
        ("fired_at", TIMESTAMP),
        ("resolved_at", TIMESTAMP),
        ("last_eval", TIMESTAMP),
        ("last_notified", TIMESTAMP),
        ("deleted", pa.bool_()),
        ("updated_at", TIMESTAMP),
    ]
)
_HISTORY_SCHEMA = pa.schema(
    [
        ("ts", TIMESTAMP),
        ("rule_id", pa.string()),
        ("fingerprint", pa.string()),
        ("labels", pa.map_(pa.string(), pa.string())),
        ("from_state", pa.string()),
        ("to_state", pa.string()),
        ("severity", pa.string()),
        ("value", pa.float64()),
        ("summary", pa.string()),
    ]
)
_COLUMNS = (
    "rule_id, fingerprint, labels, state, severity, value, summary, active_since, fired_at, resolved_at, last_eval, "
    "last_notified"
)


class Instances:
    """`alert_instances` (the latest state of each instance) and `alert_history` (every change of state)."""

    def __init__(self, store: Store, clock: VersionClock | None = None) -> None:
        self._store = store
        self._clock = clock or VersionClock()
        self._tie: tuple[dt.datetime, int] = (dt.datetime.min.replace(tzinfo=dt.UTC), 0)
        self._lock = threading.Lock()

    def save(self, transitions: Transitions) -> None:
        """Write one evaluation's outcome: the instances, the dropped ones as deleted, the history."""
        version = self._clock.version
        rows = [_instance_row(i, False, version()) for i in transitions.instances]
        rows += [_instance_row(i, True, version()) for i in transitions.dropped]
        insert_rows(self._store, "alert_instances", _INSTANCE_SCHEMA, rows)
        history = [_history_row(replace(entry, ts=self._untied(entry.ts))) for entry in transitions.history]
        insert_rows(self._store, "alert_history", _HISTORY_SCHEMA, history)

    def _untied(self, ts: dt.datetime) -> dt.datetime:
        """Entries of one evaluation share its time: each after the first is moved a microsecond later, so that a
        page of `history` ending inside them does not make the next page (`before` its last) skip the rest."""
        with self._lock:
            base, offset = self._tie
            self._tie = (base, offset + 1) if ts == base else (ts, 0)
            return ts + dt.timedelta(microseconds=self._tie[1])

    def current(self) -> list[Instance]:
        """Every kept instance (pending, firing, recently resolved, nodata, error), by rule and fingerprint."""
        sql = f"SELECT {_COLUMNS} FROM alert_instances FINAL WHERE NOT deleted ORDER BY rule_id, fingerprint"
        return [_instance(row) for row in self._store.query(sql)]

    def for_rule(self, rule_id: str) -> list[Instance]:
        sql = (
            f"SELECT {_COLUMNS} FROM alert_instances FINAL WHERE rule_id = {{rule:String}} AND NOT deleted "
            "ORDER BY fingerprint"
        )
        return [_instance(row) for row in self._store.query(sql, {"rule": rule_id})]

    def history(
        self, limit: int = 100, before: dt.datetime | None = None, rule_id: str | None = None
    ) -> list[HistoryEntry]:
        """The latest changes of state, newest first: those strictly before `before` when given (a page's cursor is
        the `ts` of its last entry), of one rule when given."""
        if not 1 <= limit <= 10_000:
            raise ValueError("limit: expected 1 to 10000")
        clauses = ["1"]
        parameters: dict[str, object] = {"limit": limit}
        if before is not None:
            clauses.append("ts < {before:DateTime64(6, 'UTC')}")
            parameters["before"] = before
        if rule_id is not None:
            clauses.append("rule_id = {rule:String}")
            parameters["rule"] = rule_id
        rows = self._store.query(
            "SELECT ts, rule_id, fingerprint, labels, from_state, to_state, severity, value, summary "
            f"FROM alert_history WHERE {' AND '.join(clauses)} ORDER BY ts DESC, fingerprint LIMIT {{limit:UInt32}}",
            parameters,
        )
        return [
            HistoryEntry(_utc(ts), str(rule), str(fp), dict(labels), State(src), State(dst), str(sev), float(v), str(s))
            for ts, rule, fp, labels, src, dst, sev, v, s in rows
        ]


def _instance_row(instance: Instance, deleted: bool, version: dt.datetime) -> Mapping[str, Any]:
    return {
        "rule_id": instance.rule_id,
        "fingerprint": instance.fingerprint,
        "labels": dict(instance.labels),
        "state": instance.state.value,
        "severity": instance.severity.value,
        "value": instance.value,
        "summary": instance.summary,
        "active_since": instance.active_since,
        "fired_at": instance.fired_at,
        "resolved_at": instance.resolved_at,
        "last_eval": instance.last_eval,
        "last_notified": instance.last_notified,
        "deleted": deleted,
        "updated_at": version,
    }


def _history_row(entry: HistoryEntry) -> Mapping[str, Any]:
    return {
        "ts": entry.ts,
        "rule_id": entry.rule_id,
        "fingerprint": entry.fingerprint,
        "labels": dict(entry.labels),
        "from_state": entry.from_state.value,
        "to_state": entry.to_state.value,
        "severity": entry.severity,
        "value": entry.value,
        "summary": entry.summary,
    }


def _instance(row: tuple[Any, ...]) -> Instance:
    rule_id, fp, labels, state, severity, value, summary, since, fired, resolved, last_eval, notified = row
    return Instance(
        rule_id=str(rule_id),
        fingerprint=str(fp),
        labels=dict(labels or {}),
        state=State(state),
        value=float(value),
        summary=str(summary),
        active_since=as_utc(since),
        fired_at=as_utc(fired),
        resolved_at=as_utc(resolved),
        last_eval=_utc(last_eval),
        last_notified=as_utc(notified),
        severity=Severity(severity),
    )


def _utc(value: object) -> dt.datetime:
    assert isinstance(value, dt.datetime)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
