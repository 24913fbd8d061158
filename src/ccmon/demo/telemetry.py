"""Sessions as Claude Code sends them: log-record events and counter data points, with its names, keys and types.

Pure data, no OpenTelemetry objects (`send.py` builds those). What Claude Code 2.1.3xx puts on the wire:

- Resource: `service.name=claude-code`, `service.version`, `os.type`, `os.version`, `host.arch`, plus the
  `OTEL_RESOURCE_ATTRIBUTES` keys (`team`, `department`, `cost_center`, for some teams `project`), which since 2.1.161
  are also copied onto every data point and log record.
- Every point and record: `user.id`, `session.id`, `anthropic.provider` (`firstParty`, or `bedrock`/`vertex` for the
  teams on a cloud, whose model ids take that cloud's form), `organization.id`, `user.email`, `user.account_uuid`,
  `terminal.type` and the repository (`vcs.*`, with `OTEL_METRICS_INCLUDE_REPOSITORY=true`).
- Events: body `claude_code.<name>`, `event.name`, `event.timestamp` (ISO, ms), `event.sequence` (per process, from 0),
  `prompt.id`. `api_request`/`api_error` numbers are numbers; `tool_result`'s `success` and `duration_ms` and
  `user_prompt`'s `prompt_length` are strings.
- Counters: monotonic sums of doubles. One export per prompt, a few seconds after it ends. Delta exports carry the
  series that changed since the previous export, start time = the previous export; cumulative exports re-send every
  series of the process with its running total and the time the series began.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from ccmon.demo.org import VCS_OWNER, Person, Team
from ccmon.demo.sessions import ApiError, ApiRequest, Prompt, Session, ToolUse

AttributeValue = str | int | float | bool
Attributes = dict[str, AttributeValue]

SERVICE_NAME = "claude-code"
METER_SCOPE = "com.anthropic.claude_code"
EVENTS_SCOPE = "com.anthropic.claude_code.events"
EVENT_PREFIX = "claude_code."

SESSION_COUNT = "claude_code.session.count"
LINES = "claude_code.lines_of_code.count"
PULL_REQUESTS = "claude_code.pull_request.count"
COMMITS = "claude_code.commit.count"
COST = "claude_code.cost.usage"
TOKENS = "claude_code.token.usage"
EDIT_DECISIONS = "claude_code.code_edit_tool.decision"
ACTIVE_TIME = "claude_code.active_time.total"

# name: (description, unit), as Claude Code declares its counters.
INSTRUMENTS: dict[str, tuple[str, str]] = {
    SESSION_COUNT: ("Count of CLI sessions started", ""),
    LINES: (
        "Count of lines of code modified, with the 'type' attribute indicating whether lines were added or removed "
        "and the 'model' attribute indicating which model made the change",
        "",
    ),
    PULL_REQUESTS: ("Number of pull requests created", ""),
    COMMITS: ("Number of git commits created", ""),
    COST: ("Cost of the Claude Code session", "USD"),
    TOKENS: ("Number of tokens used", "tokens"),
    EDIT_DECISIONS: (
        "Count of code editing tool permission decisions (accept/reject) for Edit, Write, and NotebookEdit tools",
        "",
    ),
    ACTIVE_TIME: ("Total active time in seconds", "s"),
}

REDACTED = "<REDACTED>"
MS = 1_000_000
"""Nanoseconds per millisecond."""


@dataclass(frozen=True)
class Event:
    time_ns: int
    body: str
    attributes: Attributes


@dataclass(frozen=True)
class Point:
    metric: str
    attributes: Attributes
    start_ns: int
    time_ns: int
    value: float


@dataclass(frozen=True)
class SessionTelemetry:
    """What one Claude Code process sends."""

    session: Session
    cumulative: bool
    events: tuple[Event, ...]
    points: tuple[Point, ...]


def _org_chart(person: Person) -> Attributes:
    """The keys a developer sets in `OTEL_RESOURCE_ATTRIBUTES`: on the resource, and copied onto every record."""
    team = person.team
    tags: Attributes = {"team": team.name, "department": team.department, "cost_center": team.cost_center}
    return tags | ({"project": team.project} if team.project else {})


def resource_attributes(person: Person) -> Attributes:
    return {
        **_org_chart(person),
        "host.arch": person.host_arch,
        "os.type": person.os_type,
        "os.version": person.os_version,
        "service.name": SERVICE_NAME,
        "service.version": person.version,
    }


def identity(session: Session, organization_id: str) -> Attributes:
    """The attributes on every data point and log record of a session."""
    person, repository = session.person, session.repository
    return {
        **_org_chart(person),
        "user.id": person.user_id,
        "session.id": session.id,
        "anthropic.provider": person.team.provider,
        "organization.id": organization_id,
        "user.email": person.email,
        "user.account_uuid": person.account_uuid,
        "terminal.type": person.terminal,
        "vcs.repository.url.full": repository.url,
        "vcs.owner.name": VCS_OWNER,
        "vcs.repository.name": repository.name,
        "vcs.provider.name": "github",
    }


def session_telemetry(session: Session, organization_id: str) -> SessionTelemetry:
    base = identity(session, organization_id)
    team = session.person.team
    return SessionTelemetry(
        session=session,
        cumulative=session.person.cumulative,
        events=tuple(replace(e, attributes=_on_provider(e.attributes, team)) for e in _events(session, base)),
        points=tuple(replace(p, attributes=_on_provider(p.attributes, team)) for p in _points(session, base)),
    )


def _on_provider(attributes: Attributes, team: Team) -> Attributes:
    """The attributes with the model named as the team's provider names it."""
    model = attributes.get("model")
    return attributes | {"model": team.model_id(model)} if isinstance(model, str) else attributes


def iso_ms(time_ms: int) -> str:
    """`new Date(ms).toISOString()`, e.g. `2026-11-24T02:24:04.008Z`."""
    day, in_day = divmod(time_ms, 86_400_000)
    seconds, millis = divmod(in_day, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{_date(day)}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"


@functools.lru_cache(maxsize=4096)
def _date(day: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).date().isoformat()


# Events ----------------------------------------------------------------------------------------------------------


def _events(session: Session, base: Attributes) -> list[Event]:
    drafts: list[tuple[int, str, Attributes]] = []
    for prompt in session.prompts:
        drafts.extend(_prompt_events(prompt))
    drafts.sort(key=lambda draft: draft[0])  # stable: same-millisecond events keep their order
    events = []
    for sequence, (time_ms, name, attributes) in enumerate(drafts):
        envelope: Attributes = {
            **base,
            "event.name": name,
            "event.timestamp": iso_ms(time_ms),
            "event.sequence": sequence,
        }
        events.append(Event(time_ms * MS, EVENT_PREFIX + name, envelope | attributes))
    return events


def _prompt_events(prompt: Prompt) -> list[tuple[int, str, Attributes]]:
    context: Attributes = {"prompt.id": prompt.id}
    drafts: list[tuple[int, str, Attributes]] = [
        (prompt.time_ms, "user_prompt", {**context, "prompt_length": str(prompt.length), "prompt": REDACTED})
    ]
    for step in prompt.steps:
        if isinstance(step, ApiRequest):
            drafts.append((step.time_ms, "api_request", context | _api_request(step)))
        elif isinstance(step, ApiError):
            drafts.append((step.time_ms, "api_error", context | _api_error(step)))
        else:
            drafts.extend(_tool_events(step, context))
    if prompt.answered:
        response: Attributes = {
            "response_length": prompt.response_length,
            "response": REDACTED,
            "model": prompt.model,
            "query_source": "repl_main_thread",
        }
        drafts.append((prompt.end_ms, "assistant_response", context | response))
    return drafts


def _api_request(step: ApiRequest) -> Attributes:
    attributes: Attributes = {
        "model": step.model,
        "input_tokens": step.input_tokens,
        "output_tokens": step.output_tokens,
        "cache_read_tokens": step.cache_read_tokens,
        "cache_creation_tokens": step.cache_creation_tokens,
        "cost_usd": step.cost_usd,
        "duration_ms": step.duration_ms,
        "ttft_ms": step.ttft_ms,
        "speed": step.speed,
        "query_source": step.agent,
    }
    if step.effort is not None:
        attributes["effort"] = step.effort
    return attributes


def _api_error(step: ApiError) -> Attributes:
    attributes: Attributes = {"model": step.model, "error": step.error}
    if step.status_code is not None:  # absent for errors that are not HTTP errors
        attributes["status_code"] = step.status_code
    attributes |= {
        "duration_ms": step.duration_ms,
        "attempt": step.attempt,
        "speed": step.speed,
        "query_source": step.agent,
    }
    if step.effort is not None:
        attributes["effort"] = step.effort
    return attributes


def _tool_events(step: ToolUse, context: Attributes) -> list[tuple[int, str, Attributes]]:
    decision: Attributes = {
        "decision": step.decision,
        "source": step.source,
        "tool_name": step.tool_name,
        "tool_use_id": step.tool_use_id,
        "tool_source": "builtin",
    }
    drafts = [(step.decision_ms, "tool_decision", context | decision)]
    if step.result_ms is not None:
        result: Attributes = {
            "tool_name": step.tool_name,
            "tool_use_id": step.tool_use_id,
            "success": "true" if step.success else "false",
            "duration_ms": str(step.duration_ms),
        }
        if not step.success:
            result["error_type"] = "ShellError" if step.tool_name == "Bash" else "Error"
        drafts.append((step.result_ms, "tool_result", context | result))
    return drafts


# Counters --------------------------------------------------------------------------------------------------------

SeriesKey = tuple[str, tuple[tuple[str, AttributeValue], ...]]


def _points(session: Session, base: Attributes) -> list[Point]:
    points: list[Point] = []
    running: dict[SeriesKey, float] = {}
    began: dict[SeriesKey, int] = {}
    previous_export = session.start_ms
    for index, prompt in enumerate(session.prompts):
        changed: dict[SeriesKey, float] = defaultdict(float)
        for time_ms, metric, attributes, value in _measurements(session, prompt, first=index == 0):
            key = (metric, tuple(attributes.items()))
            changed[key] += value
            began.setdefault(key, time_ms)
            running[key] = running.get(key, 0.0) + value
        if session.person.cumulative:
            for key, total in running.items():
                points.append(_point(base, key, began[key], prompt.export_ms, total))
        else:
            for key, increment in changed.items():
                points.append(_point(base, key, previous_export, prompt.export_ms, increment))
        previous_export = prompt.export_ms
    return points


def _point(base: Attributes, key: SeriesKey, start_ms: int, time_ms: int, value: float) -> Point:
    metric, attributes = key
    return Point(metric, base | dict(attributes), start_ms * MS, time_ms * MS, value)


def _measurements(session: Session, prompt: Prompt, *, first: bool) -> list[tuple[int, str, Attributes, float]]:
    """Every counter `add` of one prompt: (time, metric, attributes, value)."""
    adds: list[tuple[int, str, Attributes, float]] = []
    if first:
        adds.append((session.start_ms, SESSION_COUNT, {"start_type": session.start_type}, 1.0))
    adds.append((prompt.time_ms, ACTIVE_TIME, {"type": "user"}, prompt.user_active_s))
    for step in prompt.steps:
        if isinstance(step, ApiRequest):
            labels: Attributes = {"model": step.model, "query_source": step.query_source}
            if step.speed == "fast":
                labels["speed"] = "fast"
            if step.effort is not None:
                labels["effort"] = step.effort
            adds.append((step.time_ms, COST, labels, step.cost_usd))
            for kind, count in (
                ("input", step.input_tokens),
                ("output", step.output_tokens),
                ("cacheRead", step.cache_read_tokens),
                ("cacheCreation", step.cache_creation_tokens),
            ):
                adds.append((step.time_ms, TOKENS, labels | {"type": kind}, float(count)))
        elif isinstance(step, ToolUse):
            adds.extend(_tool_measurements(step))
    adds.append((prompt.end_ms, ACTIVE_TIME, {"type": "cli"}, prompt.cli_active_s))
    return adds


def _tool_measurements(step: ToolUse) -> list[tuple[int, str, Attributes, float]]:
    adds: list[tuple[int, str, Attributes, float]] = []
    if step.edit:
        labels: Attributes = {"tool_name": step.tool_name, "decision": step.decision, "source": step.source}
        if step.language is not None:
            labels["language"] = step.language
        adds.append((step.decision_ms, EDIT_DECISIONS, labels, 1.0))
    if step.result_ms is None:
        return adds
    if step.edit and step.success:
        adds.append((step.result_ms, LINES, {"type": "added", "model": step.model}, float(step.lines_added)))
        adds.append((step.result_ms, LINES, {"type": "removed", "model": step.model}, float(step.lines_removed)))
    if step.commit:
        adds.append((step.result_ms, COMMITS, {}, 1.0))
    if step.pull_request:
        adds.append((step.result_ms, PULL_REQUESTS, {}, 1.0))
    return adds
