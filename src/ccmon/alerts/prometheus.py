"""`ccmon rules export --prometheus`: the rules as a Prometheus rule file, for teams that run Alertmanager.

Each rule becomes an alerting rule over the OpenTelemetry Collector's Prometheus exporter metrics (each signal's
`promql`), with its `for`, severity and labels, and its summary template in Prometheus's template language
(`{person}` -> `{{ $labels.user_email }}`, `{value:.2f}` -> `{{ printf "%.2f" $value }}`). A rule Prometheus cannot
express (API errors are log events; budgets and policies live in ccmon's store) is listed as a comment saying why.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

import yaml

from ccmon.alerts.model import Rule
from ccmon.alerts.signals import SIGNALS, prometheus_duration, prometheus_number
from ccmon.analytics.prom_names import PROMETHEUS_LABELS

SEED_ALERT_NAMES = {
    "high-daily-cost": "HighDailyClaudeCost",
    "high-person-daily-cost": "HighUserClaudeCost",
    "low-adoption": "LowClaudeAdoption",
}
"""The default rules seed 000 names: the same alert names as its Prometheus rules."""

_WHY_NOT = {
    "api_error_rate": "API errors are log events (api_error), not metrics: Prometheus never receives them",
    "budget_usage": "budgets are kept in ccmon's store",
    "budget_projection": "budgets are kept in ccmon's store",
    "budget_threshold": "budgets are kept in ccmon's store",
    "policy_violations": "model policies are kept in ccmon's store",
}
_PRINTF_SPEC = re.compile(r"^[-+ 0#]*\d*(\.\d+)?[dfeg]?$")


def alert_name(rule: Rule) -> str:
    """`high-daily-cost` -> `HighDailyCost` (seed 000's own names for its three rules)."""
    if rule.source == "default" and rule.id in SEED_ALERT_NAMES:
        return SEED_ALERT_NAMES[rule.id]
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]+", rule.id) if part)


def prometheus_rules(rules: Iterable[Rule]) -> str:
    """A rule file (`groups: [{name: ccmon, rules: [...]}]`) for the enabled rules Prometheus can express, followed
    by a comment per rule it cannot, saying why."""
    exported: list[dict[str, object]] = []
    skipped: list[str] = []
    for rule in rules:
        if not rule.enabled:
            continue
        signal = SIGNALS.get(rule.signal)
        expression = signal.promql(rule) if signal else None
        if expression is None:
            reason = _WHY_NOT.get(rule.signal, "its signal, filters or labels have no Prometheus equivalent")
            skipped.append(f"# {rule.id} ({rule.name}): not exported, {reason}")
            continue
        entry: dict[str, object] = {"alert": alert_name(rule), "expr": expression}
        if rule.for_s:
            entry["for"] = prometheus_duration(rule.for_s)
        entry["labels"] = {"severity": str(rule.severity), "ccmon_rule": rule.id, **dict(rule.labels)}
        entry["annotations"] = {"summary": prometheus_template(rule)}
        exported.append(entry)
    text = yaml.safe_dump(
        {"groups": [{"name": "ccmon", "rules": exported}]}, sort_keys=False, allow_unicode=True, width=1000
    )
    header = "# Prometheus alerting rules exported by `ccmon rules export --prometheus`.\n"
    footer = "".join(f"{line}\n" for line in skipped)
    return header + text + footer


def prometheus_template(rule: Rule) -> str:
    """The rule's summary in Prometheus's template language: label names as the exporter's labels, `{value}` as
    `$value` (with a printf format when the spec is one), `{threshold}` and `{rule}` as their text."""
    template = rule.summary or f"{rule.name}: {{value}}"
    parts: list[str] = []
    for literal, field, spec, _conversion in string.Formatter().parse(template):
        parts.append(literal.replace("{{", '{{ "{{" }}'))
        if field is None:
            continue
        if field == "value":
            printf = _printf(spec or "")
            parts.append(f'{{{{ printf "{printf}" $value }}}}' if printf else "{{ $value }}")
        elif field == "threshold":
            parts.append(_python_format(rule.threshold, spec or "") or prometheus_number(rule.threshold))
        elif field == "rule":
            parts.append(rule.name)
        else:
            parts.append(f"{{{{ $labels.{PROMETHEUS_LABELS.get(field, field)} }}}}")
    return "".join(parts)


def _printf(spec: str) -> str | None:
    """A Python format spec as Go's printf verb, when it has one (`.2f` -> `%.2f`, `,.0f` -> `%.0f`)."""
    spec = spec.replace(",", "").replace("_", "")
    if not spec or not _PRINTF_SPEC.match(spec):
        return None
    if spec.endswith("d"):  # $value is a float: an integer is printed with no decimals
        spec = spec[:-1] + ".0f"
    return "%" + (spec if spec[-1:].isalpha() else f"{spec}f")


def _python_format(value: float, spec: str) -> str | None:
    try:
        return format(value, spec) if spec else None
    except ValueError:
        return None
