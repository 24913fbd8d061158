"""The words of alerting, shared by the rule engine, budgets, model policy, notifiers, the API and the UI.

A `Rule` is an analytics signal (a named question over a time window, answered as one `Sample` per label set) and a
condition on each sample's value; an `Instance` is one label set of one rule as the engine last saw it. The states
follow Grafana's (Normal, Pending, Alerting, NoData, Error) with Alertmanager's vocabulary for what is sent: an
instance is `firing` or `resolved`. Definitions are stored as JSON (`to_json` / the `parse_*` functions of the
modules that own them), so a change of shape is a change of code, not a migration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class State(StrEnum):
    """Where one instance of a rule stands."""

    NORMAL = "normal"
    """The condition does not hold (or an instance that was pending stopped holding it)."""
    PENDING = "pending"
    """The condition holds, for less than the rule's `for`."""
    FIRING = "firing"
    """The condition has held for at least `for`: notified."""
    RESOLVED = "resolved"
    """Was firing, holds no more: notified (when the rule asks), then kept for the history and the UI."""
    NODATA = "nodata"
    """The signal answered nothing at all (rule-level instance, empty labels), and the rule says that matters."""
    ERROR = "error"
    """The signal could not be evaluated (rule-level instance); the message is the instance's summary."""


class Op(StrEnum):
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="

    def holds(self, value: float, threshold: float) -> bool:
        if self is Op.GT:
            return value > threshold
        if self is Op.GE:
            return value >= threshold
        if self is Op.LT:
            return value < threshold
        return value <= threshold


class NoData(StrEnum):
    """What a rule does when its signal answers no sample at all."""

    OK = "ok"
    """Nothing to alert about (most rules: no spend is not a problem)."""
    NODATA = "nodata"
    """A rule-level instance in state `nodata` (shown, not notified)."""
    ALERTING = "alerting"
    """Treated as the condition holding (e.g. 'telemetry stopped' over an organisation that sends nothing)."""


SCOPE_KINDS = ("organization", "team", "department", "cost_center", "person")
"""What a budget or a model policy can apply to; `organization` takes an empty value (the whole organisation)."""


@dataclass(frozen=True)
class Rule:
    """One alert rule. Validated by `ccmon.alerts.rules.parse_rule`, which is the only way one is made from input."""

    id: str
    """A slug: lower-case letters, digits, `-` and `_`, at most 64 characters."""
    name: str
    signal: str
    """A name in `ccmon.alerts.signals.SIGNALS`."""
    op: Op
    threshold: float
    window_s: int = 3600
    """The signal reads [now - window, now]."""
    for_s: int = 0
    """How long the condition must hold before the instance fires (pending until then)."""
    severity: Severity = Severity.WARNING
    group_by: tuple[str, ...] = ()
    """Labels the signal splits its answer by (each signal says which it accepts); also the notification grouping."""
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Analytics dimension filters (`ccmon.analytics.DIMENSIONS`), applied to the signal's query."""
    params: Mapping[str, str | float] = field(default_factory=dict)
    """Signal-specific settings (e.g. `budget` for the budget signals, `baseline_days` for the anomaly)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels attached to every instance (e.g. `team: platform` for routing)."""
    summary: str = ""
    """A template: `{value}`, `{threshold}`, `{rule}` and any label name, with format specs (`{value:.2f}`)."""
    interval_s: int = 60
    repeat_interval_s: int = 4 * 3600
    """While firing, notify again after this long."""
    notify_resolved: bool = True
    channels: tuple[str, ...] = ()
    """Channel names to notify; empty: every configured channel."""
    no_data: NoData = NoData.OK
    enabled: bool = True
    source: str = "api"
    """Where the definition came from: `default` (shipped), `file` (the alerts file) or `api` (API / UI)."""


@dataclass(frozen=True)
class Sample:
    """One answer of a signal: a label set and its value."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Instance:
    """One label set of one rule, as last evaluated (persisted in `alert_instances`)."""

    rule_id: str
    fingerprint: str
    """A stable hash of the rule id and the labels (hex), as Alertmanager's."""
    labels: Mapping[str, str]
    state: State
    value: float
    summary: str
    active_since: dt.datetime | None
    """When the condition started to hold (pending or firing), else None."""
    fired_at: dt.datetime | None
    resolved_at: dt.datetime | None
    last_eval: dt.datetime
    last_notified: dt.datetime | None
    severity: Severity = Severity.WARNING


@dataclass(frozen=True)
class Matcher:
    """A silence's label matcher: `=`, `!=`, `=~` (RE2 full match) or `!~`."""

    label: str
    op: str
    value: str


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_by: str
    comment: str


@dataclass(frozen=True)
class Channel:
    """A notification channel, from the alerts file. `settings` holds the kind's options (URL, keys, SMTP...)."""

    name: str
    kind: str
    """slack, teams, pagerduty, alertmanager, webhook or email."""
    settings: Mapping[str, str | int | bool | tuple[str, ...]]
    send_resolved: bool = True


@dataclass(frozen=True)
class NotifiedAlert:
    """One instance inside a notification (Alertmanager's `alerts[]`)."""

    status: str
    """firing or resolved"""
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    """`summary` always; `description` and `value` when known."""
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    fingerprint: str
    value: float


@dataclass(frozen=True)
class Notification:
    """What one group of instances says at one evaluation: one message per channel."""

    group_key: str
    """rule id + the rule's `group_by` label values; PagerDuty's dedup key is derived from it."""
    status: str
    """firing when any alert of the group fires, else resolved"""
    rule_id: str
    rule_name: str
    severity: Severity
    group_labels: Mapping[str, str]
    alerts: tuple[NotifiedAlert, ...]
    external_url: str = ""
    """The ccmon UI's base URL, for links (setting `external_url`)."""


class Period(StrEnum):
    """Budget periods, on UTC boundaries; weeks start on Monday."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Unit(StrEnum):
    USD = "usd"
    TOKENS = "tokens"


class Enforce(StrEnum):
    """What the client-side hook does once a budget (or policy) is exceeded."""

    OFF = "off"
    """Alerts only."""
    WARN = "warn"
    """The hook warns past the first threshold and at 100 %, never blocks."""
    BLOCK = "block"
    """The hook warns past the first threshold and blocks prompts at 100 % (a hard cap)."""


@dataclass(frozen=True)
class Budget:
    """A spending limit. Validated by `ccmon.alerts.budgets.parse_budget`."""

    id: str
    name: str
    scope: str
    """One of `SCOPE_KINDS`."""
    scope_value: str
    """The team, department, cost center or person key; empty for the organisation."""
    period: Period
    unit: Unit
    amount: float
    per_person: bool = False
    """True: the amount is each person's limit within the scope (the gateway model: a person override, else the most
    restrictive group's, else the organisation's default); False: the scope's pooled total."""
    thresholds: tuple[float, ...] = (0.75, 0.9, 1.0)
    """Fractions of the amount that alert (and, the first one, make the hook warn)."""
    enforce: Enforce = Enforce.WARN
    source: str = "api"


@dataclass(frozen=True)
class ModelPolicy:
    """Which models (and tools) a scope may use. Validated by `ccmon.alerts.policy.parse_policy`."""

    id: str
    name: str
    scope: str
    scope_value: str
    allow: tuple[str, ...] = ()
    """Model patterns (shell-style, case-insensitive: `claude-*-4-5*`); empty: every model not denied."""
    deny: tuple[str, ...] = ()
    deny_tools: tuple[str, ...] = ()
    """Tool-name patterns the `PreToolUse` hook denies (e.g. `WebFetch`, `mcp__*`)."""
    enforce: Enforce = Enforce.OFF
    source: str = "api"
