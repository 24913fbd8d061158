"""A rule's dry run: "would this have fired over the last 7 days, and when?", for the rule editor.

The rule's signal is evaluated as the engine would have at each step's end over [start, end], and the condition
applied per label set with `for` as the engine applies it: an instance is pending from the first step where the
condition holds, firing once it has held at every step for at least `for`, and no longer firing at the first step
where it does not hold (or its label set is not answered). A rule whose `no_data` is `alerting` holds, with no
labels, at the steps where the signal answers nothing. Nothing is written and nothing is sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ccmon.alerts.model import NoData, Rule
from ccmon.alerts.signals import SignalContext, evaluate_rule
from ccmon.analytics.timerange import rfc3339

MAX_STEPS = 500
"""More evaluations than this are refused: a larger step, or a shorter range."""

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: tuple[tuple[dt.datetime, float], ...]


@dataclass(frozen=True)
class Firing:
    labels: dict[str, str]
    start: dt.datetime
    """The step at which the instance would have started firing (the condition had held for `for`)."""
    end: dt.datetime | None
    """The first step at which it no longer held; None: still firing at the range's end."""


@dataclass(frozen=True)
class DryRun:
    rule: Rule
    steps: tuple[dt.datetime, ...]
    series: tuple[Series, ...]
    firing: tuple[Firing, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "series": [
                {"labels": s.labels, "points": [[rfc3339(t), value] for t, value in s.points]} for s in self.series
            ],
            "firing": [
                {"labels": f.labels, "start": rfc3339(f.start), "end": f.end and rfc3339(f.end)} for f in self.firing
            ],
            "threshold": self.rule.threshold,
            "op": self.rule.op.value,
        }


def dry_run(context: SignalContext, rule: Rule, start: dt.datetime, end: dt.datetime, step_s: float) -> DryRun:
    """Evaluate `rule` at every `step_s` after `start` up to `end` (each step's end is the evaluation's `now`)."""
    steps = evaluation_steps(start, end, step_s)
    values: dict[Labels, list[tuple[dt.datetime, float]]] = {}
    holding: list[set[Labels]] = []
    for now in steps:
        samples = evaluate_rule(context, rule, now)
        held: set[Labels] = set()
        for sample in samples:
            labels = tuple(sorted(sample.labels.items()))
            values.setdefault(labels, []).append((now, sample.value))
            if rule.op.holds(sample.value, rule.threshold):
                held.add(labels)
        if not samples and rule.no_data is NoData.ALERTING:
            held.add(())
        holding.append(held)
    every = sorted(set(values) | {labels for held in holding for labels in held})
    firing = [interval for labels in every for interval in firing_intervals(rule, labels, steps, holding)]
    return DryRun(
        rule=rule,
        steps=tuple(steps),
        series=tuple(Series(dict(labels), tuple(points)) for labels, points in sorted(values.items())),
        firing=tuple(sorted(firing, key=lambda f: (f.start, sorted(f.labels.items())))),
    )


def evaluation_steps(start: dt.datetime, end: dt.datetime, step_s: float) -> list[dt.datetime]:
    if step_s <= 0:
        raise ValueError("step_s: must be positive")
    if end <= start:
        raise ValueError("the dry run's start must be before its end")
    step = dt.timedelta(seconds=step_s)
    count = int((end - start) / step)
    if count < 1:
        raise ValueError("step_s: longer than the dry run's range")
    if count > MAX_STEPS:
        raise ValueError(f"step_s: {count} steps over this range, more than {MAX_STEPS}; use a larger step")
    return [start + step * (i + 1) for i in range(count)]


def firing_intervals(rule: Rule, labels: Labels, steps: list[dt.datetime], holding: list[set[Labels]]) -> list[Firing]:
    """When the instance of `labels` would have been firing, given at which steps its condition held."""
    intervals: list[Firing] = []
    active_since: dt.datetime | None = None
    fired_at: dt.datetime | None = None
    for now, held in zip(steps, holding, strict=True):
        if labels in held:
            active_since = active_since or now
            if fired_at is None and (now - active_since).total_seconds() >= rule.for_s:
                fired_at = now
        else:
            if fired_at is not None:
                intervals.append(Firing(dict(labels), fired_at, now))
            active_since = fired_at = None
    if fired_at is not None:
        intervals.append(Firing(dict(labels), fired_at, None))
    return intervals
