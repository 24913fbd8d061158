"""The alert engine: a thread that, while this process holds the evaluation lease, evaluates each enabled rule when
it is due, moves its instances through their states (`ccmon.alerts.instances.step`), stores them, and hands what
must be said to the delivery queue, which it then runs (retries are due even when no rule is).

Notifications are grouped as Alertmanager groups them: one per rule and value of the rule's `group_by` labels. A
group is sent when one of its alerts must be notified (newly firing, firing for `repeat_interval` since its last
notice, or resolved); it carries that alert and every other alert of the group still firing, and its status is
`firing` when any of them fires, else `resolved`.

A silenced instance is still evaluated, stored and shown, but it is left out of notifications and its `last_notified`
is not advanced, so when the silence ends a still-firing alert is notified at the next evaluation. A resolution is
sent even under a silence when the firing was notified, so no receiver keeps an incident open for ever.

The engine builds its `Rules`, `Silences` and `Instances` over the store unless given them. A rule that is disabled
or deleted (from the API, or by the alerts file leaving it out) ends its instances at the next turn as if their label
sets had disappeared: a firing one resolves, with its history entry and, when the rule notifies resolutions, a
resolved notification (so a PagerDuty incident it opened is closed), and then none is kept. A deleted rule is read
as it was last seen (this process's memory of the previous turns, else its last stored version). When the process
does not hold the lease it does nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

import orjson

from ccmon.alerts.instances import Instances, Transitions, retire, step
from ccmon.alerts.lease import Lease
from ccmon.alerts.model import Instance, Notification, NotifiedAlert, Op, Rule, Sample, Silence, State
from ccmon.alerts.rules import Rules, format_number, parse_rule
from ccmon.alerts.silences import Silences, matching_labels, silenced_by
from ccmon.store.facade import Store
from ccmon.store.records import Clock, utc_now

log = logging.getLogger(__name__)

LEASE_NAME = "alert-engine"
DUE_SLACK_S = 1.0
"""A rule evaluated `interval - 1 s` ago is due: the loop's own period must not push it to the next turn."""

Evaluate = Callable[[Rule, dt.datetime], list[Sample]]


class Deliverer(Protocol):
    """What the engine needs of `ccmon.alerts.deliveries.Deliveries`."""

    def enqueue(self, notification: Notification, channel_names: Sequence[str]) -> object: ...

    def run_due(self, now: dt.datetime) -> None: ...


class AlertEngine:
    def __init__(
        self,
        store: Store,
        evaluate: Evaluate,
        deliveries: Deliverer,
        *,
        holder: str,
        external_url: str = "",
        interval_s: float = 15,
        clock: Clock = utc_now,
        rules: Rules | None = None,
        silences: Silences | None = None,
        instances: Instances | None = None,
        lease_ttl_s: float | None = None,
    ) -> None:
        """`interval_s` is the loop's period (each rule has its own interval, checked at every turn); the lease
        lasts `lease_ttl_s` (default: four turns, at least a minute) unless renewed."""
        if interval_s <= 0:
            raise ValueError("interval_s: must be positive")
        self._store = store
        self._evaluate = evaluate
        self._deliveries = deliveries
        self.external_url = external_url
        self.interval_s = interval_s
        self._clock = clock
        self.rules = rules or Rules(store)
        self.silences = silences or Silences(store)
        self.instances = instances or Instances(store)
        self.lease = Lease(store, LEASE_NAME, holder, lease_ttl_s or max(60.0, 4 * interval_s))
        self._last_eval: dict[str, dt.datetime] = {}
        self._seen_rules: dict[str, Rule] = {}
        """Every rule of the previous turn by id, so a deleted one's resolution is grouped and routed as before."""
        self._renewed_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def holder(self) -> str:
        return self.lease.holder

    def start(self) -> None:
        """Evaluate every `interval_s` in a daemon thread until `close()`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alert-engine", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread (after the evaluation under way, if any) and hand the lease over."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        try:
            self.lease.release()
        except Exception:  # shutting down: the lease expires by itself
            log.warning("could not release the alert engine's lease", exc_info=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.evaluate_once(self._clock())
            except Exception:
                log.exception("alert evaluation failed")
            self._stop.wait(self.interval_s)

    def evaluate_once(self, now: dt.datetime) -> bool:
        """One turn: when this process holds the lease, evaluate the due rules and run the delivery queue. Returns
        whether it held the lease."""
        if not self._hold_lease():
            return False
        rules = {rule.id: rule for rule in self.rules.items()}
        enabled = {rule_id: rule for rule_id, rule in rules.items() if rule.enabled}
        by_rule: dict[str, dict[str, Instance]] = {}
        for instance in self.instances.current():
            by_rule.setdefault(instance.rule_id, {})[instance.fingerprint] = instance
        silences = self.silences.active(now)
        for rule_id in sorted(set(by_rule) - set(enabled)):  # disabled or deleted
            ended = by_rule[rule_id]
            try:
                self._retire_rule(rules.get(rule_id) or self._last_seen(rule_id, ended), ended, silences, now)
            except Exception:  # e.g. the store refused a write: tried again next turn
                log.exception("alert rule %s: its instances could not be ended", rule_id)
            self._last_eval.pop(rule_id, None)
        self._seen_rules = rules
        for rule in enabled.values():
            previous = by_rule.get(rule.id, {})
            if not self._due(rule, previous, now):
                continue
            try:
                if not self._evaluate_rule(rule, previous, silences, now):
                    return False
            except Exception:  # e.g. the store refused a write: the other rules still get their turn
                log.exception("alert rule %s: evaluation could not be completed", rule.id)
        try:
            self._deliveries.run_due(now)
        except Exception:
            log.exception("running the alert delivery queue failed")
        return True

    def _hold_lease(self) -> bool:
        if self.lease.acquire_or_renew():
            self._renewed_at = time.monotonic()
            return True
        self._last_eval.clear()  # another process evaluates: what it did is in the store, not here
        self._seen_rules.clear()
        return False

    def _due(self, rule: Rule, previous: Mapping[str, Instance], now: dt.datetime) -> bool:
        """Due when never evaluated, or `interval` ago: by this process's memory, else by the stored instances
        (after a restart, or when the lease changed hands)."""
        times = [instance.last_eval for instance in previous.values()]
        if rule.id in self._last_eval:
            times.append(self._last_eval[rule.id])
        return not times or (now - max(times)).total_seconds() >= rule.interval_s - DUE_SLACK_S

    def _evaluate_rule(
        self, rule: Rule, previous: Mapping[str, Instance], silences: list[Silence], now: dt.datetime
    ) -> bool:
        """Evaluate, notify and store one rule; False when the lease was lost meanwhile (nothing is then done: the
        new holder carries on from the store)."""
        samples: list[Sample] | Exception
        try:
            samples = self._evaluate(rule, now)
        except Exception as exc:
            log.warning("alert rule %s could not be evaluated: %s", rule.id, exc)
            samples = exc
        if time.monotonic() - self._renewed_at > self.lease.ttl_s / 3 and not self._hold_lease():
            log.warning("alert engine %s lost the lease during a long evaluation", self.holder)
            return False
        transitions = step(rule, previous, samples, now)
        transitions, notifications = self._notifications(rule, previous, transitions, silences, now)
        for notification in notifications:
            try:
                self._deliveries.enqueue(notification, rule.channels)
            except Exception:
                log.exception("alert rule %s: could not queue the notification %s", rule.id, notification.group_key)
        self.instances.save(transitions)
        self._last_eval[rule.id] = now
        return True

    def _retire_rule(
        self, rule: Rule, previous: Mapping[str, Instance], silences: list[Silence], now: dt.datetime
    ) -> None:
        """End the instances of a disabled or deleted rule: resolve, notify and record as usual, then keep none."""
        transitions, notifications = self._notifications(rule, previous, retire(rule, previous, now), silences, now)
        for notification in notifications:
            try:
                self._deliveries.enqueue(notification, rule.channels)
            except Exception:
                log.exception("alert rule %s: could not queue the notification %s", rule.id, notification.group_key)
        ended = replace(transitions, instances=(), dropped=transitions.dropped + transitions.instances)
        self.instances.save(ended)

    def _last_seen(self, rule_id: str, previous: Mapping[str, Instance]) -> Rule:
        """A deleted rule as it was: remembered from an earlier turn, else its latest stored version (until the
        store merges the versions away), else a stand-in named by its id (notified ungrouped, to every channel)."""
        if rule_id in self._seen_rules:
            return self._seen_rules[rule_id]
        rows = self._store.query(
            "SELECT definition, source FROM alert_rules WHERE id = {id:String} AND NOT deleted "
            "ORDER BY updated_at DESC LIMIT 1",
            {"id": rule_id},
        )
        for definition, source in rows:
            try:
                return parse_rule(orjson.loads(str(definition)), str(source))
            except (ValueError, TypeError):
                break
        severity = next(iter(previous.values())).severity
        return Rule(id=rule_id, name=rule_id, signal="", op=Op.GT, threshold=0, severity=severity)

    def _notifications(
        self,
        rule: Rule,
        previous: Mapping[str, Instance],
        transitions: Transitions,
        silences: list[Silence],
        now: dt.datetime,
    ) -> tuple[Transitions, list[Notification]]:
        """The groups to send, and the transitions with `last_notified` as sent (not advanced for a silenced
        alert, advanced for every firing alert a notification carries)."""
        due = {instance.fingerprint for instance in transitions.notify}
        muted = {
            instance.fingerprint
            for instance in transitions.instances
            if instance.state is not State.RESOLVED and silenced_by(silences, matching_labels(instance), now)
        }
        groups: dict[str, list[Instance]] = {}
        for instance in transitions.instances:
            if instance.fingerprint in muted or not (instance.fingerprint in due or instance.state is State.FIRING):
                continue
            groups.setdefault(group_key(rule, instance.labels), []).append(instance)
        sent: dict[str, Instance] = {}
        notifications = []
        for key, members in sorted(groups.items()):
            if not any(member.fingerprint in due for member in members):
                continue  # only alerts that keep firing, not due for a repeat: nothing to say
            carried = [replace(member, last_notified=now) for member in members]
            sent.update((member.fingerprint, member) for member in carried)
            notifications.append(self._notification(rule, key, carried))
        instances = tuple(_as_sent(instance, sent, due, previous) for instance in transitions.instances)
        outcome = replace(transitions, instances=instances, notify=tuple(sent.values()))
        return outcome, notifications

    def _notification(self, rule: Rule, key: str, alerts: list[Instance]) -> Notification:
        firing = any(alert.state is State.FIRING for alert in alerts)
        return Notification(
            group_key=key,
            status="firing" if firing else "resolved",
            rule_id=rule.id,
            rule_name=rule.name,
            severity=rule.severity,
            group_labels={name: alerts[0].labels.get(name, "") for name in rule.group_by},
            alerts=tuple(_notified(alert) for alert in alerts),
            external_url=self.external_url,
        )


def group_key(rule: Rule, labels: Mapping[str, str]) -> str:
    """The rule id and its `group_by` label values: `cost-per-team{team="platform"}`."""
    if not rule.group_by:
        return rule.id
    values = ",".join(f"{name}={json.dumps(labels.get(name, ''))}" for name in rule.group_by)
    return f"{rule.id}{{{values}}}"


def _notified(instance: Instance) -> NotifiedAlert:
    resolved = instance.state is State.RESOLVED
    return NotifiedAlert(
        status="resolved" if resolved else "firing",
        labels=dict(instance.labels),
        annotations={"summary": instance.summary, "value": format_number(instance.value)},
        starts_at=instance.fired_at or instance.active_since or instance.last_eval,
        ends_at=instance.resolved_at if resolved else None,
        fingerprint=instance.fingerprint,
        value=instance.value,
    )


def _as_sent(
    instance: Instance, sent: Mapping[str, Instance], due: set[str], previous: Mapping[str, Instance]
) -> Instance:
    """The instance with `last_notified` as notified: now when carried, the previous notice when muted."""
    if instance.fingerprint in sent:
        return sent[instance.fingerprint]
    if instance.fingerprint not in due:
        return instance
    before = previous.get(instance.fingerprint)
    if before is None or before.state not in (State.FIRING, State.NODATA, State.ERROR):
        return replace(instance, last_notified=None)  # it only now started firing: never notified
    return replace(instance, last_notified=before.last_notified)
