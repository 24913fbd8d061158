"""Alert rules from input: strict validation (`parse_rule`), their JSON form (`dump_rule`), the summary template,
the instance fingerprint, and the `alert_rules` table (`Rules`).

A rule arrives from the API, the UI or the alerts file, so every field is checked here and an error names the field
(`"threshold: expected a number"`). Durations are seconds or Prometheus-style strings (`90s`, `15m`, `1h30m`, `2d`);
`dump_rule` writes them back as seconds under the same keys, and `parse_rule(dump_rule(rule))` is the same rule.
"""

from __future__ import annotations

import hashlib
import math
import re
import string
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ccmon.alerts.definitions import Definitions
from ccmon.alerts.fields import CONTROL, boolean, choice, required, slug
from ccmon.alerts.fields import ID as ID  # noqa: PLC0414 - re-exported: `rules.ID` is where callers found it
from ccmon.alerts.model import NoData, Op, Rule, Sample, Severity
from ccmon.analytics.query import DIMENSIONS
from ccmon.store.facade import Store

LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
DAY = 86_400

# JSON key -> (Rule attribute, least, most) for every duration.
_DURATIONS: Mapping[str, tuple[str, int, int]] = {
    "window": ("window_s", 60, 400 * DAY),
    "for": ("for_s", 0, 30 * DAY),
    "interval": ("interval_s", 10, DAY),
    "repeat_interval": ("repeat_interval_s", 60, 30 * DAY),
}
_FIELDS = frozenset(
    {"id", "name", "signal", "op", "threshold", "severity", "group_by", "filters", "params", "labels", "summary"}
    | {"channels", "no_data", "notify_resolved", "enabled", "source"}
    | set(_DURATIONS)
)
MAX_SUMMARY = 1000
MAX_RENDERED = 2000
_MAX_WIDTH = 200
"""A format spec's width or precision above this is ignored (`{value:>999999999}` must not allocate a gigabyte)."""


def parse_rule(data: Mapping[str, Any], source: str = "api", *, signals: Collection[str] | None = None) -> Rule:
    """A validated rule, or ValueError naming the field. `signals`, when given, are the known signal names.

    A `source` key in `data` (as `GET /alerts/rules` shows it) is accepted and ignored: the argument says where the
    rule comes from, so a client cannot pass its rule off as a shipped default."""
    if not isinstance(data, Mapping):
        raise ValueError("rule: expected an object")
    unknown = sorted(str(key) for key in data if key not in _FIELDS)
    if unknown:
        raise ValueError(f"unknown field {', '.join(unknown)}")
    rule_id = slug(required(data, "id"))
    signal = required(data, "signal")
    if not isinstance(signal, str) or not signal.strip():
        raise ValueError("signal: expected a signal name")
    if signals is not None and signal not in signals:
        raise ValueError(f"signal: unknown signal {signal!r}; signals are {', '.join(sorted(signals))}")
    durations = {
        attribute: _duration(data[key], key, least, most)
        for key, (attribute, least, most) in _DURATIONS.items()
        if key in data
    }
    summary = _text(data.get("summary", ""), "summary", MAX_SUMMARY, allow_newlines=True)
    _check_template(summary)
    return Rule(
        id=rule_id,
        name=_text(required(data, "name"), "name", 200, required=True),
        signal=signal,
        op=choice(required(data, "op"), "op", Op),
        threshold=_number(required(data, "threshold"), "threshold"),
        severity=choice(data.get("severity", Severity.WARNING.value), "severity", Severity),
        group_by=_label_names(data.get("group_by", []), "group_by"),
        filters=_filters(data.get("filters", {})),
        params=_params(data.get("params", {})),
        labels=_labels(data.get("labels", {})),
        summary=summary,
        notify_resolved=boolean(data.get("notify_resolved", True), "notify_resolved"),
        channels=_names(data.get("channels", []), "channels"),
        no_data=choice(data.get("no_data", NoData.OK.value), "no_data", NoData),
        enabled=boolean(data.get("enabled", True), "enabled"),
        source=source,
        **durations,
    )


def dump_rule(rule: Rule) -> dict[str, Any]:
    """The rule as JSON (every field, durations in seconds), the shape `parse_rule` reads."""
    return {
        "id": rule.id,
        "name": rule.name,
        "signal": rule.signal,
        "op": rule.op.value,
        "threshold": rule.threshold,
        "window": rule.window_s,
        "for": rule.for_s,
        "interval": rule.interval_s,
        "repeat_interval": rule.repeat_interval_s,
        "severity": rule.severity.value,
        "group_by": list(rule.group_by),
        "filters": {name: list(values) for name, values in rule.filters.items()},
        "params": dict(rule.params),
        "labels": dict(rule.labels),
        "summary": rule.summary,
        "channels": list(rule.channels),
        "no_data": rule.no_data.value,
        "notify_resolved": rule.notify_resolved,
        "enabled": rule.enabled,
    }


def fingerprint(rule_id: str, labels: Mapping[str, str]) -> str:
    """A stable id of one label set of one rule: 16 hex digits of a SHA-256 (separators no label text contains)."""
    digest = hashlib.sha256(rule_id.encode())
    for name, value in sorted(labels.items()):
        digest.update(b"\xff" + name.encode() + b"\xfe" + value.encode())
    return digest.hexdigest()[:16]


def format_number(value: float) -> str:
    """A value as people read it: `12`, `1234.57`, `0.0421`."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"


def render_summary(rule: Rule, sample: Sample) -> str:
    """The rule's summary for one sample. Never raises and never evaluates more than a name: `{value}`,
    `{threshold}`, `{rule}` (the rule's name) and label names are known, anything else renders as ``."""
    labels = {**rule.labels, **sample.labels}
    if not rule.summary:
        described = ", ".join(f"{name}={value}" for name, value in sorted(labels.items()))
        text = f"{rule.name}: {format_number(sample.value)} {rule.op.value} {format_number(rule.threshold)}"
        return f"{text} ({described})" if described else text
    names: dict[str, object] = {**labels, "value": sample.value, "threshold": rule.threshold, "rule": rule.name}
    try:
        return _SafeFormatter().vformat(rule.summary, (), names)[:MAX_RENDERED]
    except (ValueError, TypeError, IndexError, KeyError):  # a malformed template (only a stored, older one can be)
        return rule.summary[:MAX_RENDERED]


class Rules(Definitions[Rule]):
    """The `alert_rules` table. The stored JSON is `dump_rule` plus the rule's `source`."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, "alert_rules", _load, _store_form)

    def seed_defaults(self, defaults: Sequence[Rule], actor: str = "ccmon") -> list[Rule]:
        """Write the shipped rules never stored before; returns those written. A default a user edited or deleted
        has a row already (a deletion is a row too), so it is left as the user left it."""
        seen = {str(row[0]) for row in self._store.query("SELECT DISTINCT id FROM alert_rules")}
        new = [rule for rule in defaults if rule.id not in seen]
        if new:
            self.put_many(new, actor)
        return new


def _load(data: Mapping[str, Any]) -> Rule:
    return parse_rule(data, str(data.get("source", "api")))


def _store_form(rule: Rule) -> dict[str, Any]:
    return {**dump_rule(rule), "source": rule.source}


class _SafeFormatter(string.Formatter):
    """`str.format` reduced to names: no attribute or index access, no positional fields, unknown names empty."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        return kwargs.get(field_name, "") if LABEL.fullmatch(field_name) else "", field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        if any(int(digits) > _MAX_WIDTH for digits in re.findall(r"\d+", format_spec)):
            return str(value)
        try:
            return format(value, format_spec)
        except (ValueError, TypeError):
            return str(value)


def _check_template(summary: str) -> None:
    try:
        fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(summary) if name is not None]
    except ValueError as exc:
        raise ValueError(f"summary: not a valid template ({exc})") from None
    for name, spec in fields:
        if not LABEL.fullmatch(name):
            raise ValueError(f"summary: {{{name}}} is not a name (use {{value}}, {{threshold}}, {{rule}} or a label)")
        if "{" in (spec or ""):
            raise ValueError(f"summary: {{{name}}} has a nested field in its format spec")


def _text(value: Any, key: str, most: int, *, required: bool = False, allow_newlines: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string")
    if required and not value.strip():
        raise ValueError(f"{key}: must not be empty")
    if len(value) > most:
        raise ValueError(f"{key}: at most {most} characters")
    if CONTROL.search(value.replace("\n", "").replace("\t", "") if allow_newlines else value):
        raise ValueError(f"{key}: control characters are not allowed")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key}: expected a number")
    return float(value)


def _duration(value: Any, key: str, least: int, most: int) -> int:
    if isinstance(value, str) and (text := value.strip()) and _DURATION.sub("", text) == "":
        seconds = sum(int(count) * _UNITS[unit] for count, unit in _DURATION.findall(text))
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value % 1 == 0:
        seconds = int(value)
    else:
        raise ValueError(f"{key}: expected seconds or a duration like 90s, 15m, 1h, 2d")
    if not least <= seconds <= most:
        raise ValueError(f"{key}: must be between {format_duration(least)} and {format_duration(most)}")
    return seconds


def format_duration(seconds: int) -> str:
    """Seconds in the largest unit that divides them, as rules are written: `90s`, `15m`, `6h`, `7d`."""
    for unit, size in (("d", DAY), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{key}: expected a list of strings")
    if len(set(value)) != len(value):
        raise ValueError(f"{key}: duplicate entries")
    return tuple(value)


def _label_names(value: Any, key: str) -> tuple[str, ...]:
    names = _strings(value, key)
    for name in names:
        if not LABEL.fullmatch(name):
            raise ValueError(f"{key}: {name!r} is not a label name (letters, digits and '_')")
    return names


def _names(value: Any, key: str) -> tuple[str, ...]:
    names = _strings(value, key)
    if any(not name.strip() or len(name) > 200 for name in names):
        raise ValueError(f"{key}: names must be non-empty, at most 200 characters")
    return names


def _mapping(value: Any, key: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}: expected an object")
    for name in value:
        if not isinstance(name, str):
            raise ValueError(f"{key}: keys must be strings")
    return value


def _filters(value: Any) -> dict[str, tuple[str, ...]]:
    filters = {}
    for name, values in _mapping(value, "filters").items():
        if name not in DIMENSIONS:
            raise ValueError(f"filters: unknown dimension {name!r}; dimensions are {', '.join(DIMENSIONS)}")
        filters[name] = _strings(values, f"filters.{name}")
    return filters


def _params(value: Any) -> dict[str, str | float]:
    params: dict[str, str | float] = {}
    for name, item in _mapping(value, "params").items():
        params[name] = item if isinstance(item, str) else _number(item, f"params.{name}")
        if isinstance(item, str) and len(item) > 1000:
            raise ValueError(f"params.{name}: at most 1000 characters")
    return params


def _labels(value: Any) -> dict[str, str]:
    labels = {}
    for name, item in _mapping(value, "labels").items():
        if not LABEL.fullmatch(name):
            raise ValueError(f"labels: {name!r} is not a label name (letters, digits and '_')")
        labels[name] = _text(item, f"labels.{name}", 200)
    return labels
