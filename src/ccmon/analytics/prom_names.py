"""Claude Code's metrics as Prometheus names them: the one definition of the names and labels ccmon exposes
(`/metrics/claude-code`) and writes into PromQL (`ccmon rules export --prometheus`, the `deploy/` dashboards).

The names are those of the OpenTelemetry Collector's `prometheus` exporter with its default suffixes and normalized
naming, the names the seeds' dashboards and PromQL use (../shared/reference/claude-code-telemetry.md §2.5). They are
derived here from each metric's OpenTelemetry name and unit by the Collector's rule (`prometheus_name`) rather than
typed out, so a metric added to `CLAUDE_CODE_METRICS` gets the name the Collector would give it.

Labels are the attributes with `.` as `_` (`user.email` -> `user_email`); ccmon keeps each in a column, under its
own dimension name (`person`, `repository`, ...), hence the two maps below.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from ccmon.analytics.query import DIMENSIONS

_UNIT_WORDS: Mapping[str, str] = {
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "min": "minutes",
    "h": "hours",
    "d": "days",
    "By": "bytes",
    "1": "",
}
"""The Collector's unit words (its translator's `unitMap`, the part Claude Code's units can meet); any other unit
is appended as it is written (`USD`, `tokens`)."""


def prometheus_name(otel_name: str, unit: str, *, counter: bool = True) -> str:
    """The Collector's name for a metric (normalized naming, default suffixes): the name's words joined by `_`, the
    unit's word appended unless the name has it already, and for a monotonic counter every inner `total` word moved
    to the end as `_total` (`claude_code.active_time.total` in `s` -> `claude_code_active_time_seconds_total`).
    Annotations (`{tokens}`) are not units and add nothing."""
    words = [word for word in re.split(r"[^A-Za-z0-9]+", otel_name) if word]
    if counter:
        words = [word for word in words if word != "total"]
    unit_word = "" if unit.startswith("{") else _UNIT_WORDS.get(unit, unit)
    unit_word = "_".join(word for word in re.split(r"[^A-Za-z0-9]+", unit_word) if word)
    if unit_word and unit_word not in words:
        words.append(unit_word)
    if counter:
        words.append("total")
    return "_".join(words)


@dataclass(frozen=True)
class PromMetric:
    """One of Claude Code's counters: its OpenTelemetry name (as stored in `metric_points.metric_name`), its unit
    and what it counts."""

    otel_name: str
    unit: str
    help: str

    @cached_property
    def name(self) -> str:
        """(Cached: a scrape asks it once per series.)"""
        return prometheus_name(self.otel_name, self.unit)


CLAUDE_CODE_METRICS: tuple[PromMetric, ...] = (
    PromMetric("claude_code.session.count", "", "Sessions started (Claude Code's claude_code.session.count)."),
    PromMetric("claude_code.lines_of_code.count", "", "Lines of code added or removed, by type."),
    PromMetric("claude_code.pull_request.count", "", "Pull requests created."),
    PromMetric("claude_code.commit.count", "", "Git commits created."),
    PromMetric("claude_code.cost.usage", "USD", "Cost as Claude Code estimates it, in US dollars."),
    PromMetric("claude_code.token.usage", "tokens", "Tokens used, by type (input, output, cacheRead, cacheCreation)."),
    PromMetric("claude_code.code_edit_tool.decision", "", "Edit tool permission decisions."),
    PromMetric("claude_code.active_time.total", "s", "Active time in seconds, by type (user, cli)."),
)
"""Every counter `/metrics/claude-code` exposes (Claude Code's eight metrics)."""

_BY_OTEL_NAME = {metric.otel_name: metric for metric in CLAUDE_CODE_METRICS}
COST_METRIC = _BY_OTEL_NAME["claude_code.cost.usage"].name
TOKEN_METRIC = _BY_OTEL_NAME["claude_code.token.usage"].name
SESSION_METRIC = _BY_OTEL_NAME["claude_code.session.count"].name

PROMETHEUS_LABELS: Mapping[str, str] = {
    "person": "user_email",
    "team": "team",
    "department": "department",
    "cost_center": "cost_center",
    "model": "model",
    "session_id": "session_id",
    "project": "project",
    "repository": "vcs_repository_name",
    "terminal": "terminal_type",
    "version": "service_version",
    "organization": "organization_id",
}
"""ccmon labels as the Prometheus exporter names the attributes (`user.email` -> `user_email`). `provider` is
derived by ccmon and has no Prometheus label."""

ATTRIBUTE_LABELS: Mapping[str, str] = {
    "type": "type",
    "tool_name": "tool_name",
    "decision": "decision",
    "decision_source": "source",
    "language": "language",
}
"""The metrics' own attributes: `metric_points` column -> label (`type` of tokens, cost, lines and active time;
the tool, decision, source and language of edit decisions)."""

PER_PERSON_LABELS = frozenset({"person", "session_id"})
"""Dimensions that make a series one person's: left out for a caller who sees aggregates only (the viewer)."""


def label_columns(*, session_labels: bool, per_person: bool) -> dict[str, str]:
    """Column -> Prometheus label of every label a series carries, in exposition order: the dimensions (the session
    only with `session_labels`, the person and session only for a caller who may see them), then the attributes."""
    columns: dict[str, str] = {}
    for dimension, label in PROMETHEUS_LABELS.items():
        if (dimension == "session_id" and not session_labels) or (not per_person and dimension in PER_PERSON_LABELS):
            continue
        columns["session_id" if dimension == "session_id" else DIMENSIONS[dimension]] = label
    return columns | dict(ATTRIBUTE_LABELS)
