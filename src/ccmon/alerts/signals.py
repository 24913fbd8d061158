"""What an alert rule can watch: the named signals, how each is evaluated for a rule, and its PromQL equivalent.

A signal answers one `Sample` per label set at an instant `now`, over the rule's window `[now - window, now]`, its
filters and its `group_by` labels (each signal says which it accepts). The telemetry signals ask
`ccmon.analytics.signals` with the organisation's whole scope (alerts are the organisation's; who may *see* an
instance is decided when it is shown); the budget and policy signals ask `Budgets` and `Policies`.

Each signal also says how Prometheus would compute it from the OpenTelemetry Collector's Prometheus exporter
(`claude_code_cost_usage_USD_total`, ...; attributes become labels with `.` as `_`), for `ccmon rules export
--prometheus`; None where Prometheus cannot (error events are logs, budgets and policies live in ccmon's store).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ccmon.alerts.model import Budget, Rule, Sample
from ccmon.alerts.rules import format_duration
from ccmon.analytics import Analytics, Filters, Query, Scope, TimeRange
from ccmon.analytics.prom_names import COST_METRIC, PROMETHEUS_LABELS, SESSION_METRIC, TOKEN_METRIC
from ccmon.analytics.query import UNKNOWN
from ccmon.analytics.signals import LABEL_COLUMNS, TOKEN_TYPES, Point, Signals

_HOUR, _DAY = 3600, 86_400


class BudgetStatusLike(Protocol):
    """What the budget signals read of `ccmon.alerts.budgets.BudgetStatus`."""

    @property
    def budget(self) -> Budget: ...
    @property
    def subject(self) -> str: ...
    @property
    def fraction(self) -> float: ...
    @property
    def threshold_crossed(self) -> float | None: ...
    @property
    def projected_fraction(self) -> float: ...
    @property
    def over(self) -> bool: ...
    @property
    def labels(self) -> Mapping[str, str]: ...


class BudgetSource(Protocol):
    """`ccmon.alerts.budgets.Budgets`, as the signals use it."""

    def status(self, now: dt.datetime, scope: Scope) -> Sequence[BudgetStatusLike]: ...


class ViolationLike(Protocol):
    """What `policy_violations` reads of `ccmon.alerts.policy.Violation`."""

    @property
    def person(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def requests(self) -> int: ...
    @property
    def policy_id(self) -> str: ...


class PolicySource(Protocol):
    """`ccmon.alerts.policy.Policies`, as the signals use it."""

    def violations(self, time_range: TimeRange, scope: Scope) -> Sequence[ViolationLike]: ...


@dataclass(frozen=True)
class SignalContext:
    """What signals are evaluated against (built once by the server)."""

    analytics: Analytics
    budgets: BudgetSource
    policies: PolicySource
    _budget_statuses: dict[dt.datetime, Sequence[BudgetStatusLike]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def budget_statuses(self, now: dt.datetime) -> Sequence[BudgetStatusLike]:
        """Every budget's status at `now`, computed once for all the rules of one evaluation turn (the three budget
        rules share it: it is most of what evaluating the default rules costs, bench/alerts.py)."""
        statuses = self._budget_statuses.get(now)
        if statuses is None:  # (a dry run in another thread may clear the dict meanwhile: keep our own reference)
            statuses = list(self.budgets.status(now, Scope.everyone()))
            self._budget_statuses.clear()  # only the latest turn is worth keeping
            self._budget_statuses[now] = statuses
        return statuses


@dataclass(frozen=True)
class Signal:
    name: str
    description: str
    unit: str
    group_by: tuple[str, ...]
    """The labels a rule may split this signal by."""
    params: Mapping[str, str]
    """Parameter name -> what it means (and its default)."""
    default_window_s: int
    evaluate: Callable[[SignalContext, Rule, dt.datetime], list[Sample]]
    promql: Callable[[Rule], str | None]
    """The rule (signal, condition) as a PromQL expression, or None when Prometheus cannot express it."""
    labels: tuple[str, ...] = ()
    """Labels every sample carries whatever the rule's `group_by` (e.g. a session's id and person)."""
    filterable: bool = True
    """Whether the rule's `filters` apply: not to the signals that read budgets and policies rather than telemetry
    (their samples are whole budgets and policies; `params.budget` picks a budget)."""

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "unit": self.unit,
            "group_by": list(self.group_by),
            "params": dict(self.params),
            "default_window_s": self.default_window_s,
        }


def evaluate_rule(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    """The rule's signal at `now`: one sample per label set (the condition is the caller's to apply)."""
    signal = check_rule(rule)
    return signal.evaluate(context, rule, now)


def check_rule(rule: Rule) -> Signal:
    """The rule's signal, once its name, `group_by` and `params` are known to it; else a ValueError saying which."""
    signal = SIGNALS.get(rule.signal)
    if signal is None:
        raise ValueError(f"signal: {rule.signal!r} is not one of {', '.join(SIGNALS)}")
    refused = [label for label in rule.group_by if label not in signal.group_by]
    if refused:
        allowed = ", ".join(signal.group_by) or "nothing"
        raise ValueError(f"group_by: signal {signal.name} cannot be split by {', '.join(refused)} (allowed: {allowed})")
    if rule.filters and not signal.filterable:
        telemetry = ", ".join(name for name, other in SIGNALS.items() if other.filterable)
        raise ValueError(
            f"filters: signal {signal.name} takes no filters (it reads ccmon's budgets or policies, not telemetry; "
            f"only {telemetry} can be filtered): leave filters out"
        )
    unknown = sorted(set(rule.params) - set(signal.params))
    if unknown:
        allowed = ", ".join(signal.params) or "none"
        raise ValueError(f"params: signal {signal.name} has no parameter {', '.join(unknown)} (parameters: {allowed})")
    return signal


# --- parameters ---------------------------------------------------------------------------------------------------


def number_param(rule: Rule, name: str, default: float) -> float:
    raw = rule.params.get(name, default)
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"params.{name}: expected a number, got {raw!r}") from None


def _text_param(rule: Rule, name: str) -> str | None:
    raw = rule.params.get(name)
    return None if raw is None or raw == "" else str(raw)


def _token_types(rule: Rule) -> tuple[str, ...]:
    """`type`: token types separated by commas (`input,output`); none: every type."""
    text = _text_param(rule, "type") or ""
    types = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in types if name not in TOKEN_TYPES]
    if unknown:
        raise ValueError(f"params.type: {', '.join(unknown)} is not one of {', '.join(TOKEN_TYPES)}")
    return types


# --- evaluation ---------------------------------------------------------------------------------------------------


def _query(rule: Rule, now: dt.datetime, window_s: float | None = None) -> Query:
    span = dt.timedelta(seconds=rule.window_s if window_s is None else window_s)
    return Query(TimeRange(now - span, now), Scope.everyone(), Filters(dict(rule.filters)))


def _samples(points: list[Point]) -> list[Sample]:
    return [Sample(point.labels, point.value) for point in points]


def _signals(context: SignalContext) -> Signals:
    return context.analytics.signals


def _cost(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    return _samples(_signals(context).cost(_query(rule, now), rule.group_by))


def _tokens(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    return _samples(_signals(context).tokens(_query(rule, now), rule.group_by, _token_types(rule)))


def _tokens_per_session(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    return _samples(_signals(context).tokens_per_session(_query(rule, now), rule.group_by, _token_types(rule)))


def _sessions(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    return _samples(_signals(context).sessions(_query(rule, now), rule.group_by))


def _active_people(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    return _samples(_signals(context).active_people(_query(rule, now), rule.group_by))


def _api_error_rate(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    minimum = number_param(rule, "min_requests", 20)
    return _samples(_signals(context).api_error_rate(_query(rule, now), rule.group_by, minimum))


def _silence_hours(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    lookback = number_param(rule, "lookback_days", 7) * _DAY
    return _samples(_signals(context).silence_hours(_query(rule, now, lookback), rule.group_by or ("team",)))


def _cost_anomaly(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    baseline, minimum = number_param(rule, "baseline_days", 7), number_param(rule, "min_baseline_usd", 1)
    return _samples(_signals(context).cost_anomaly(_query(rule, now), rule.group_by, baseline, minimum))


def _budget_labels(status: BudgetStatusLike) -> dict[str, str]:
    """The budget and its subject, and whom the numbers are of as the dimension they name (`person` for one person's
    numbers, `team` / `department` / `cost_center` for a pooled budget of one), so an instance is shown to those who
    may see that person or group and to no one else."""
    budget = status.budget
    return {
        "budget": budget.id,
        "budget_name": budget.name,
        "scope": budget.scope,
        "subject": status.subject,
        "period": str(budget.period),
        "unit": str(budget.unit),
        **status.labels,
    }


def _budget_statuses(context: SignalContext, rule: Rule, now: dt.datetime) -> list[BudgetStatusLike]:
    wanted = _text_param(rule, "budget")
    return [status for status in context.budget_statuses(now) if wanted is None or status.budget.id == wanted]


def _budget_usage(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    return [Sample(_budget_labels(s), 100 * s.fraction) for s in _budget_statuses(context, rule, now)]


def _budget_projection(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    return [Sample(_budget_labels(s), 100 * s.projected_fraction) for s in _budget_statuses(context, rule, now)]


def _budget_threshold(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    """The budgets past one of their own thresholds but not yet over their amount (`budget_usage` >= 100 says that),
    labelled with the highest threshold crossed: crossing the next one is a new instance, hence a new notification."""
    samples = []
    for status in _budget_statuses(context, rule, now):
        crossed = status.threshold_crossed
        if crossed is None or crossed >= 1 or status.over:
            continue
        labels = {**_budget_labels(status), "threshold_crossed": _percent_text(crossed)}
        samples.append(Sample(labels, 100 * status.fraction))
    return samples


def _percent_text(fraction: float) -> str:
    """`0.75` -> `75 %`, `0.333` -> `33.3 %`."""
    return f"{round(100 * fraction, 1):g} %"


def _policy_violations(context: SignalContext, rule: Rule, now: dt.datetime) -> list[Sample]:
    query = _query(rule, now)
    requests: dict[tuple[str, str, str], int] = {}
    for violation in context.policies.violations(query.time_range, query.scope):
        key = (violation.person, violation.model, violation.policy_id)
        requests[key] = requests.get(key, 0) + violation.requests
    return [
        Sample({"person": person or UNKNOWN, "model": model or UNKNOWN, "policy": policy}, float(count))
        for (person, model, policy), count in sorted(requests.items())
    ]


# --- PromQL -------------------------------------------------------------------------------------------------------

# The names and labels: `ccmon.analytics.prom_names` (shared with `/metrics/claude-code`).


def prometheus_duration(seconds: float) -> str:
    """As rules are written (`format_duration`: `15m`, `7d`), but one day as `24h`, as seed 000 writes it."""
    whole = round(seconds)
    return "24h" if whole == _DAY else format_duration(whole)


def prometheus_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _prom_labels(names: Sequence[str]) -> list[str] | None:
    if any(name not in PROMETHEUS_LABELS for name in names):
        return None
    return [PROMETHEUS_LABELS[name] for name in names]


def _selector(rule: Rule, metric: str, extra: Mapping[str, str] | None = None) -> str | None:
    """`metric{label="value", label=~"a|b"}` for the rule's filters (and `extra` matchers)."""
    # `extra`: label -> value, or `label=~` -> regular expression.
    matchers = [
        f'{name}"{_escape(value)}"' if name.endswith("=~") else f'{name}="{_escape(value)}"'
        for name, value in (extra or {}).items()
    ]
    for name, values in sorted(rule.filters.items()):
        if not values:
            continue
        label = PROMETHEUS_LABELS.get(name)
        if label is None:
            return None
        wanted = ["" if value == UNKNOWN else value for value in values]
        if len(wanted) == 1:
            matchers.append(f'{label}="{_escape(wanted[0])}"')
        else:
            matchers.append(f'{label}=~"{_escape("|".join(re.escape(v) for v in wanted))}"')
    return f"{metric}{{{', '.join(matchers)}}}" if matchers else metric


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _by(labels: Sequence[str]) -> str:
    """The grouping of an aggregation, with the space before its argument: `sum(x)`, `sum by (team) (x)`."""
    return f" by ({', '.join(labels)}) " if labels else ""


def _condition(expression: str, rule: Rule) -> str:
    return f"{expression} {rule.op.value} {prometheus_number(rule.threshold)}"


def _increase_sum(rule: Rule, metric: str, labels: Sequence[str], extra: Mapping[str, str] | None = None) -> str | None:
    selector, by = _selector(rule, metric, extra), _prom_labels(labels)
    if selector is None or by is None:
        return None
    return f"sum{_by(by)}(increase({selector}[{prometheus_duration(rule.window_s)}]))"


def _promql_cost(rule: Rule) -> str | None:
    expression = _increase_sum(rule, COST_METRIC, rule.group_by)
    return expression and _condition(expression, rule)


def _type_matcher(rule: Rule) -> dict[str, str] | None:
    types = [TOKEN_TYPES[name] for name in _token_types(rule)]
    if not types:
        return None
    return {"type": types[0]} if len(types) == 1 else {"type=~": "|".join(types)}


def _promql_tokens(rule: Rule) -> str | None:
    expression = _increase_sum(rule, TOKEN_METRIC, rule.group_by, _type_matcher(rule))
    return expression and _condition(expression, rule)


def _promql_tokens_per_session(rule: Rule) -> str | None:
    labels = tuple(dict.fromkeys(("session_id", "person", *rule.group_by)))
    expression = _increase_sum(rule, TOKEN_METRIC, labels, _type_matcher(rule))
    return expression and _condition(expression, rule)


def _promql_sessions(rule: Rule) -> str | None:
    expression = _increase_sum(rule, SESSION_METRIC, rule.group_by)
    return expression and _condition(expression, rule)


def _promql_active_people(rule: Rule) -> str | None:
    # Seed 000's "LowClaudeAdoption": people with a session started in the window.
    selector, by = _selector(rule, SESSION_METRIC), _prom_labels(rule.group_by)
    if selector is None or by is None:
        return None
    window = prometheus_duration(rule.window_s)
    inner = f"count by ({', '.join([*by, 'user_email'])}) (increase({selector}[{window}]) > 0)"
    return _condition(f"count{_by(by)}({inner})", rule)


def _promql_silence_hours(rule: Rule) -> str | None:
    # The newest sample time of any cost series of the group within the look-back, then hours since.
    selector, by = _selector(rule, COST_METRIC), _prom_labels(rule.group_by or ("team",))
    if selector is None or by is None:
        return None
    lookback = prometheus_duration(number_param(rule, "lookback_days", 7) * _DAY)
    last = f"max{_by(by)}(max_over_time(timestamp({selector})[{lookback}:5m]))"
    return _condition(f"(time() - {last}) / 3600", rule)


def _promql_cost_anomaly(rule: Rule) -> str | None:
    current = _increase_sum(rule, COST_METRIC, rule.group_by)
    selector, by = _selector(rule, COST_METRIC), _prom_labels(rule.group_by)
    if current is None or selector is None or by is None:
        return None
    baseline_s = number_param(rule, "baseline_days", 7) * _DAY
    windows = prometheus_number(baseline_s / rule.window_s)
    offset = prometheus_duration(rule.window_s)
    baseline = f"(sum{_by(by)}(increase({selector}[{prometheus_duration(baseline_s)}] offset {offset})) / {windows})"
    minimum = prometheus_number(number_param(rule, "min_baseline_usd", 1))
    return f"({_condition(f'{current} / {baseline}', rule)}) and {baseline} >= {minimum}"


def _no_promql(_rule: Rule) -> str | None:
    return None


# --- the registry -------------------------------------------------------------------------------------------------

_DIMENSIONS = tuple(name for name in LABEL_COLUMNS if name != "session_id")
_BUDGET_LABELS = ("budget", "budget_name", "scope", "subject", "period", "unit")
_BUDGET_GROUPS = (*_BUDGET_LABELS, "person", "team", "department", "cost_center")
"""What a budget rule may group by: its labels, and the dimension whom its numbers are of (`_budget_labels`)."""
_POLICY_LABELS = ("person", "model", "policy")


SIGNALS: Mapping[str, Signal] = {
    signal.name: signal
    for signal in (
        Signal(
            "cost",
            "USD spent over the window",
            "usd",
            _DIMENSIONS,
            {},
            _DAY,
            _cost,
            _promql_cost,
        ),
        Signal(
            "tokens",
            "tokens used over the window",
            "tokens",
            _DIMENSIONS,
            {"type": f"only tokens of these types, separated by commas ({', '.join(TOKEN_TYPES)}); default all"},
            _DAY,
            _tokens,
            _promql_tokens,
        ),
        Signal(
            "tokens_per_session",
            "each session's tokens within the window (every type, cache included, unless `type` says)",
            "tokens",
            ("session_id", "person", "team", "department", "cost_center", "project", "repository"),
            {"type": f"only tokens of these types, separated by commas ({', '.join(TOKEN_TYPES)}); default all"},
            _DAY,
            _tokens_per_session,
            _promql_tokens_per_session,
            labels=("session_id", "person"),
        ),
        Signal(
            "sessions",
            "distinct sessions with activity in the window",
            "sessions",
            _DIMENSIONS,
            {},
            _DAY,
            _sessions,
            _promql_sessions,
        ),
        Signal(
            "api_error_rate",
            "failed API requests (api_error events) / all API requests, in percent",
            "percent",
            _DIMENSIONS,
            {"min_requests": "leave out groups with fewer requests than this (default 20)"},
            15 * 60,
            _api_error_rate,
            _no_promql,
        ),
        Signal(
            "active_people",
            "distinct people with any activity in the window",
            "people",
            tuple(name for name in _DIMENSIONS if name != "person"),
            {},
            7 * _DAY,
            _active_people,
            _promql_active_people,
        ),
        Signal(
            "silence_hours",
            "per group (team by default) that sent data in the look-back: hours since its last data",
            "hours",
            _DIMENSIONS,
            {"lookback_days": "only groups with data in this many days before now (default 7); replaces the window"},
            7 * _DAY,
            _silence_hours,
            _promql_silence_hours,
        ),
        Signal(
            "cost_anomaly",
            "cost over the window / the average cost of a window as long over the baseline before it",
            "ratio",
            _DIMENSIONS,
            {
                "baseline_days": "days of the trailing baseline before the window (default 7)",
                "min_baseline_usd": "leave out groups whose average baseline cost is below this (default 1)",
            },
            _DAY,
            _cost_anomaly,
            _promql_cost_anomaly,
        ),
        Signal(
            "budget_usage",
            "each budget's usage in its current period, in percent of its amount",
            "percent",
            _BUDGET_GROUPS,
            {"budget": "only this budget id; default every budget"},
            _DAY,
            _budget_usage,
            _no_promql,
            labels=_BUDGET_LABELS,
            filterable=False,
        ),
        Signal(
            "budget_threshold",
            "usage in percent of each budget past one of its own thresholds (the highest: label threshold_crossed, "
            "e.g. `90 %`) and not yet over its amount",
            "percent",
            (*_BUDGET_GROUPS, "threshold_crossed"),
            {"budget": "only this budget id; default every budget"},
            _DAY,
            _budget_threshold,
            _no_promql,
            labels=(*_BUDGET_LABELS, "threshold_crossed"),
            filterable=False,
        ),
        Signal(
            "budget_projection",
            "each budget's projected usage at the end of its period (usage + trailing run rate), in percent",
            "percent",
            _BUDGET_GROUPS,
            {"budget": "only this budget id; default every budget"},
            _DAY,
            _budget_projection,
            _no_promql,
            labels=_BUDGET_LABELS,
            filterable=False,
        ),
        Signal(
            "policy_violations",
            "requests with a model a policy denies (or does not allow), per person, model and policy",
            "requests",
            _POLICY_LABELS,
            {},
            _HOUR,
            _policy_violations,
            _no_promql,
            labels=_POLICY_LABELS,
            filterable=False,
        ),
    )
}
"""Every signal, by name."""
