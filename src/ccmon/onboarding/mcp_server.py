"""`ccmon mcp`: a Model Context Protocol server (stdio) through which a developer asks Claude Code about their own
usage: `my_usage`, `my_sessions`, `team_budget`, `expensive_sessions`. Read-only.

Claude Code starts it as a local MCP server (`claude mcp add ccmon -- ccmon mcp --url URL`, a project's `.mcp.json`,
or `--mcp-config`) and talks JSON-RPC over its stdin and stdout: nothing else may be written to stdout (the SDK's stdio
transport points file descriptor 1 at stderr while it serves; logging goes to stderr).

Each tool is one call to the ccmon API (`/api/v1/client/*`, see `ccmon.web.me_routes`), asked exactly as the budget
hook asks: with the ingest token Claude Code exports telemetry with (or `--token`/`CCMON_TOKEN`: an API key), about the
person `--person`/`CCMON_PERSON` names, else the login in `~/.claude.json` (email, account uuid, user id), and the
session `CLAUDE_CODE_SESSION_ID` names when Claude Code passes it. The server decides whom the token may ask about:
a developer's API key gets only its own person, a token pinned to a team only that team's people.

A tool answers readable text (a short table) and structured content validated against the tool's published output
schema; the structured content carries the same text as `summary`, since Claude Code passes the model only the
structured content when there is some.

Anything that goes wrong (the server down, a refused token, nobody identified, bad arguments) is a tool error with a
sentence saying what to do, never a crash of the server: the developer's Claude Code keeps running whatever ccmon
does.

This module imports no other ccmon package but `ccmon.onboarding` (tests/test_layers.py): it runs on a developer's
machine and reaches the server only over HTTP. No `from __future__ import annotations`: the SDK reads the tools'
signatures at runtime.
"""

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ccmon.onboarding.client_http import call_json

log = logging.getLogger("ccmon.mcp")

SERVER_NAME = "ccmon"
INSTRUCTIONS = (
    "ccmon monitors Claude Code usage. These read-only tools answer about the developer running this Claude Code "
    "(never anyone else): their spend and tokens today, this week or this month (my_usage), their recent or most "
    "expensive sessions (my_sessions, expensive_sessions), and their budgets and team's spend (team_budget). "
    "Amounts are in US dollars; times in UTC."
)
ROUTES = {
    "usage": "/api/v1/client/usage",
    "sessions": "/api/v1/client/sessions",
    "team_budget": "/api/v1/client/team-budget",
}
MAX_FIELD = 500
"""Longest identity value sent (the server refuses longer)."""
IDENTITY_FIELDS = ("session_id", "person", "email", "account_uuid", "user_id")
T = TypeVar("T", bound=BaseModel)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


@dataclass(frozen=True)
class McpSettings:
    url: str
    token: str | None
    identity: Mapping[str, str] = field(default_factory=dict)
    """What names the developer (`IDENTITY_FIELDS`): --person, the login of `~/.claude.json`, the session."""
    timeout_s: float = 10.0


# --- structured content: the tools' output schemas -------------------------------------------------------------------


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Summarised(_Answer):
    summary: str = Field("", description="the answer as a few readable lines and a short table")


class TokenCounts(_Answer):
    input: int
    output: int
    cache_read: int
    cache_creation: int


class ActiveSeconds(_Answer):
    user: float
    cli: float


class ModelCost(_Answer):
    model: str
    cost_usd: float
    share: float


class UsageAnswer(_Summarised):
    person: str
    period: str
    start: str
    end: str
    cost_usd: float
    tokens: TokenCounts
    total_tokens: int
    sessions: int
    active_time_s: ActiveSeconds
    lines_added: int
    lines_removed: int
    commits: int
    pull_requests: int
    api_requests: int
    top_models: list[ModelCost]


class SessionRow(_Answer):
    session_id: str
    started: str
    ended: str
    duration_s: float | None
    cost_usd: float
    tokens: int
    prompts: int
    model: str
    project: str
    repository: str


class SessionsAnswer(_Summarised):
    person: str
    sort: str
    days: int
    start: str
    end: str
    total: int
    sessions: list[SessionRow]


class BudgetRow(_Answer):
    budget_id: str
    name: str
    scope: str
    scope_value: str
    per_person: bool
    subject: str
    period: str
    unit: str
    period_end: str
    used: float
    amount: float
    fraction: float
    projected: float
    over: bool
    enforce: str


class TeamSpend(_Answer):
    team: str
    month_start: str
    as_of: str
    spend_usd: float
    projected_month_end_usd: float
    within_pins: bool


class BudgetAnswer(_Summarised):
    person: str
    team: str | None
    decision: str
    reason: str
    statuses: list[BudgetRow]
    team_month_to_date: TeamSpend | None


# --- the server ------------------------------------------------------------------------------------------------------


Limit = Annotated[int, Field(ge=1, le=50, description="how many sessions to list (1..50)")]
Days = Annotated[int, Field(ge=1, le=90, description="sessions active in the last N days (1..90)")]


def build_server(settings: McpSettings) -> MCPServer:
    """The MCP server with its four tools, asking the ccmon API at `settings.url`."""
    server: MCPServer = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS, log_level="WARNING")
    ask = functools.partial(_ask, settings)

    @server.tool(annotations=READ_ONLY)
    async def my_usage(
        period: Annotated[
            Literal["today", "week", "month"],
            Field(description="today (UTC day), week (from Monday, UTC) or month (calendar month, UTC)"),
        ] = "today",
    ) -> Annotated[CallToolResult, UsageAnswer]:
        """My Claude Code usage over today, this week or this month: cost in USD, tokens by type, sessions, active
        time, lines of code, commits, pull requests, and the models that cost the most."""
        answer = await ask("usage", {"period": period}, UsageAnswer)
        return _result(usage_text(answer), answer)

    @server.tool(annotations=READ_ONLY)
    async def my_sessions(
        limit: Limit = 10,
        sort: Annotated[
            Literal["recent", "cost"], Field(description="recent: latest first; cost: most expensive first")
        ] = "recent",
        days: Days = 7,
    ) -> Annotated[CallToolResult, SessionsAnswer]:
        """My recent Claude Code sessions: when, how long, cost, tokens, main model and project."""
        answer = await ask("sessions", {"limit": limit, "sort": sort, "days": days}, SessionsAnswer)
        return _result(sessions_text(answer, "Your sessions"), answer)

    @server.tool(annotations=READ_ONLY)
    async def expensive_sessions(limit: Limit = 5, days: Days = 7) -> Annotated[CallToolResult, SessionsAnswer]:
        """My most expensive Claude Code sessions of the last days, most expensive first."""
        answer = await ask("sessions", {"limit": limit, "sort": "cost", "days": days}, SessionsAnswer)
        return _result(sessions_text(answer, "Your most expensive sessions"), answer)

    @server.tool(annotations=READ_ONLY)
    async def team_budget() -> Annotated[CallToolResult, BudgetAnswer]:
        """My budgets and my team's: spend against each budget (used, amount, projection, enforcement), what the
        budget hook would decide now, and my team's spend this month."""
        answer = await ask("team_budget", {}, BudgetAnswer)
        return _result(budget_text(answer), answer)

    return server


def identity_body(settings: McpSettings) -> dict[str, str]:
    """The `ClientIdentity` fields of every request (empty ones left out, long ones cut to the server's limit)."""
    return {
        key: value.strip()[:MAX_FIELD]
        for key, value in settings.identity.items()
        if key in IDENTITY_FIELDS and value.strip()
    }


async def _ask(settings: McpSettings, route: str, extra: Mapping[str, Any], model: type[T]) -> T:
    """One API call, off the event loop; its answer as `model`, or a `ToolError` saying what went wrong."""
    body = {**identity_body(settings), **extra}
    call = functools.partial(
        call_json, settings.url, ROUTES[route], body, token=settings.token, timeout_s=settings.timeout_s
    )
    answer = await anyio.to_thread.run_sync(call)
    if isinstance(answer, str):
        log.info("ccmon %s: %s", route, answer)
        raise ToolError(_advice(answer))
    try:
        return model.model_validate(answer)
    except ValidationError:
        raise ToolError(
            f"{settings.url}{ROUTES[route]} did not answer as a ccmon server does (is --url right?)"
        ) from None


def _advice(problem: str) -> str:
    """The API client's reason, with what to do about it."""
    if "cannot reach" in problem or "did not answer within" in problem:
        return f"ccmon is not reachable ({problem}): check that the server runs and that --url / CCMON_URL point at it"
    if "(401)" in problem:
        return f"{problem}; or `ccmon setup` to write the ingest token into Claude Code's settings"
    return problem


def _result(text: str, answer: _Summarised) -> CallToolResult:
    """The text, and the structured content with the same text as its `summary`: Claude Code hands the model the
    structured content alone when there is one (2.1.330), and the model should read the table too."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=answer.model_copy(update={"summary": text}).model_dump(mode="json"),
    )


# --- text: what the model reads ---------------------------------------------------------------------------------------


def usage_text(answer: UsageAnswer) -> str:
    tokens = answer.tokens
    active = answer.active_time_s
    lines = [
        f"Claude Code usage of {answer.person}, {_PERIODS.get(answer.period, answer.period)} "
        f"({_when(answer.start)} to {_when(answer.end)} UTC):",
        _table(
            [
                ("cost", _usd(answer.cost_usd)),
                (
                    "tokens",
                    f"{answer.total_tokens:,} (input {tokens.input:,}, output {tokens.output:,}, "
                    f"cache read {tokens.cache_read:,}, cache write {tokens.cache_creation:,})",
                ),
                ("sessions", f"{answer.sessions:,}"),
                ("API requests", f"{answer.api_requests:,}"),
                ("active time", f"{_duration(active.user)} yours, {_duration(active.cli)} Claude's"),
                ("lines", f"+{answer.lines_added:,} / -{answer.lines_removed:,}"),
                ("commits / PRs", f"{answer.commits:,} / {answer.pull_requests:,}"),
            ]
        ),
    ]
    if answer.top_models:
        rows = [(m.model, _usd(m.cost_usd), f"{m.share:.0%}") for m in answer.top_models]
        lines += ["", "Top models by cost:", _table([("model", "cost", "share"), *rows])]
    return "\n".join(lines)


def sessions_text(answer: SessionsAnswer, title: str) -> str:
    head = (
        f"{title} ({answer.person}, last {answer.days} days, {len(answer.sessions)} of {answer.total} "
        f"{'session' if answer.total == 1 else 'sessions'}):"
    )
    if not answer.sessions:
        return f"{head}\nNo session in that time."
    rows = [
        (
            s.session_id,
            _when(s.started),
            _duration(s.duration_s),
            _usd(s.cost_usd),
            f"{s.tokens:,}",
            str(s.prompts),
            s.model,
            s.project,
        )
        for s in answer.sessions
    ]
    header = ("session", "started (UTC)", "duration", "cost", "tokens", "prompts", "model", "project")
    return f"{head}\n{_table([header, *rows])}"


def budget_text(answer: BudgetAnswer) -> str:
    lines = [f"Budgets of {answer.person}{f' (team {answer.team})' if answer.team else ''}: {answer.decision}."]
    if answer.reason:
        lines.append(answer.reason)
    if answer.statuses:
        rows = [
            (
                b.name or b.budget_id,
                "you" if b.per_person or b.scope == "person" else f"{b.scope} {b.scope_value}".strip(),
                b.period,
                f"{_amount(b.used, b.unit)} of {_amount(b.amount, b.unit)}",
                f"{b.fraction:.0%}",
                _amount(b.projected, b.unit),
                b.enforce,
                _when(b.period_end),
            )
            for b in answer.statuses
        ]
        header = ("budget", "whose", "period", "used", "%", "projected", "enforce", "resets (UTC)")
        lines += ["", _table([header, *rows])]
    else:
        lines.append("No budget applies to you.")
    if spend := answer.team_month_to_date:
        within = " (within this token's pinned attributes)" if spend.within_pins else ""
        lines += [
            "",
            f"Team {spend.team} this month{within}: {_usd(spend.spend_usd)} so far, "
            f"{_usd(spend.projected_month_end_usd)} projected by the month's end.",
        ]
    return "\n".join(lines)


_PERIODS = {"today": "today", "week": "this week", "month": "this month"}


def _table(rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell (the last one is not padded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _amount(value: float, unit: str) -> str:
    return _usd(value) if unit == "usd" else f"{value:,.0f} tokens"


def _when(instant: str) -> str:
    """`2026-11-24T10:03:04.123Z` -> `2026-11-24 10:03`."""
    return instant.replace("T", " ")[:16]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{seconds:.0f} s" if seconds < 60 else f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
