"""The numbers the demo data must add up to, computed from the generated sessions (not from the wire format)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ccmon.demo.sessions import ApiError, ApiRequest, Session, ToolUse
from ccmon.demo.telemetry import SessionTelemetry
from ccmon.text import plural


@dataclass
class DemoTotals:
    """What was (or would be) sent, in the terms of ccmon's `/api/v1/summary` plus the volume on the wire."""

    cost_usd: float = 0.0
    tokens: dict[str, int] = field(
        default_factory=lambda: {"input": 0, "output": 0, "cache_read": 0, "cache_creation": 0}
    )
    sessions: int = 0
    users: int = 0
    api_requests: int = 0
    api_errors: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    commits: int = 0
    pull_requests: int = 0
    edit_decisions: dict[str, int] = field(default_factory=lambda: {"accept": 0, "reject": 0})
    tool_decisions: dict[str, int] = field(default_factory=lambda: {"accept": 0, "reject": 0})
    tool_calls: int = 0
    active_time_s: dict[str, float] = field(default_factory=lambda: {"user": 0.0, "cli": 0.0})
    events: int = 0
    """Log records sent."""
    metric_points: int = 0
    """Data points sent (cumulative series are re-sent at every export)."""
    requests: int = 0
    """OTLP export requests sent (filled in by `run`)."""
    seconds: float = 0.0
    """How long generating and sending took (filled in by `run`)."""
    start: datetime | None = None
    end: datetime | None = None
    """The window the data covers, [start, end) (filled in by `run`)."""

    @classmethod
    def merge(cls, parts: Iterable[DemoTotals]) -> DemoTotals:
        """The totals of disjoint sets of developers (shards) added up."""
        total = cls()
        for part in parts:
            total.cost_usd += part.cost_usd
            for counts, more in (
                (total.tokens, part.tokens),
                (total.edit_decisions, part.edit_decisions),
                (total.tool_decisions, part.tool_decisions),
            ):
                for key, value in more.items():
                    counts[key] += value
            for kind, seconds in part.active_time_s.items():
                total.active_time_s[kind] += seconds
            for name in _COUNTS:
                setattr(total, name, getattr(total, name) + getattr(part, name))
        total.cost_usd = round(total.cost_usd, 6)
        total.active_time_s = {kind: round(seconds, 3) for kind, seconds in total.active_time_s.items()}
        return total

    def summary(self) -> dict[str, Any]:
        """The same keys and shape as `GET /api/v1/summary` over the whole demo window."""
        return {
            "cost_usd": self.cost_usd,
            "tokens": dict(self.tokens),
            "sessions": self.sessions,
            "users": self.users,
            "api_requests": self.api_requests,
            "api_errors": self.api_errors,
            "lines_added": self.lines_added,
            "lines_removed": self.lines_removed,
            "commits": self.commits,
            "pull_requests": self.pull_requests,
            "edit_decisions": dict(self.edit_decisions),
            "tool_decisions": dict(self.tool_decisions),
            "tool_calls": self.tool_calls,
            "active_time_s": dict(self.active_time_s),
        }

    def describe(self) -> str:
        """A few lines for people: what was sent and what it adds up to."""
        window = ""
        if self.start is not None and self.end is not None:
            window = f" from {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d %H:%M} UTC"
        tokens = " · ".join(f"{kind.replace('_', ' ')} {count:,}" for kind, count in self.tokens.items())
        p = plural
        return "\n".join(
            [
                f"sent {p(self.events, 'event')} and {p(self.metric_points, 'data point')} in"
                f" {p(self.requests, 'OTLP request')} in {self.seconds:.1f} s{window}",
                f"  sessions      {p(self.sessions, 'session')} by {p(self.users, 'developer')}",
                f"  cost          ${self.cost_usd:,.2f}",
                f"  tokens        {tokens}",
                f"  API requests  {self.api_requests:,}, {p(self.api_errors, 'error')}",
                f"  tools         {p(self.tool_calls, 'call')}; {self.tool_decisions['accept']:,} accepted,"
                f" {self.tool_decisions['reject']:,} rejected ({self.edit_decisions['reject']:,} of them edits)",
                f"  code          +{self.lines_added:,} / -{self.lines_removed:,} lines, {p(self.commits, 'commit')},"
                f" {p(self.pull_requests, 'pull request')}",
                f"  active time   user {self.active_time_s['user'] / 3600:,.1f} h,"
                f" CLI {self.active_time_s['cli'] / 3600:,.1f} h",
            ]
        )


_COUNTS = (
    "sessions", "users", "api_requests", "api_errors", "lines_added", "lines_removed", "commits", "pull_requests",
    "tool_calls", "events", "metric_points", "requests",
)  # fmt: skip


def expected_totals(sessions: Sequence[Session], telemetry: Iterable[SessionTelemetry] = ()) -> DemoTotals:
    totals = DemoTotals()
    totals.sessions = len({s.id for s in sessions})
    totals.users = len({s.person.email for s in sessions})
    for session in sessions:
        for prompt in session.prompts:
            totals.active_time_s["user"] += prompt.user_active_s
            totals.active_time_s["cli"] += prompt.cli_active_s
            for step in prompt.steps:
                if isinstance(step, ApiRequest):
                    _add_request(totals, step)
                elif isinstance(step, ApiError):
                    totals.api_errors += 1
                else:
                    _add_tool(totals, step)
    totals.cost_usd = round(totals.cost_usd, 6)
    for kind in ("user", "cli"):
        totals.active_time_s[kind] = round(totals.active_time_s[kind], 3)
    for part in telemetry:
        totals.events += len(part.events)
        totals.metric_points += len(part.points)
    return totals


def _add_request(totals: DemoTotals, step: ApiRequest) -> None:
    totals.api_requests += 1
    totals.cost_usd += step.cost_usd
    totals.tokens["input"] += step.input_tokens
    totals.tokens["output"] += step.output_tokens
    totals.tokens["cache_read"] += step.cache_read_tokens
    totals.tokens["cache_creation"] += step.cache_creation_tokens


def _add_tool(totals: DemoTotals, step: ToolUse) -> None:
    totals.tool_decisions[step.decision] += 1
    if step.edit:
        totals.edit_decisions[step.decision] += 1
    if step.result_ms is None:
        return
    totals.tool_calls += 1
    if step.edit and step.success:
        totals.lines_added += step.lines_added
        totals.lines_removed += step.lines_removed
    totals.commits += step.commit
    totals.pull_requests += step.pull_request
