"""`POST /api/v1/client/usage`, `/client/sessions` and `/client/team-budget`: what `ccmon mcp` (the MCP server a
developer's Claude Code runs) asks about the developer's own usage.

Who may ask, and about whom, is the hooks' caller model (`ccmon.web.client_caller`): an ingest token about whoever it
names (a pinned one only about the people its pins hold), an API key of a bounded role only about its own person, an
admin or finance key about anyone. Whoever asks, the answer is about ONE person: every figure is read with a `Scope`
restricted to that person, whatever the caller's role would otherwise see. A person nobody can identify is a 404
saying how to be identified.

The answers hold numbers, models, projects and session ids, never prompt text, responses or tool parameters: they are
read from the counters and rollups, which hold none.

The team figures (`/client/team-budget`) are the person's team's pooled budgets and month-to-date spend: what the
budget hook already tells a developer about the pools they are part of. For an ingest token pinned to attributes, the
pools wider than its pins are left out (`HookService.budget_of`) and the team's spend is counted within the pins.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from ccmon.alerts.budgets import Budgets, period_bounds
from ccmon.alerts.hooks import HookRequest
from ccmon.alerts.model import Period
from ccmon.analytics import UNKNOWN, Analytics, Filters, Query, Scope, TimeRange
from ccmon.analytics.summary import ActiveTime, Tokens
from ccmon.web.auth_routes import capped_route
from ccmon.web.client_caller import Caller, ClientCallers, ClientIdentity, pins_of, utc_now

MAX_BODY = 8 * 1024
TOP_MODELS = 5
PERIODS: Mapping[str, Period] = {"today": Period.DAILY, "week": Period.WEEKLY, "month": Period.MONTHLY}
SORTS: Mapping[str, str] = {"recent": "started", "cost": "cost_usd"}
PIN_FILTERS: Mapping[str, str] = {
    "team": "team",
    "department": "department",
    "cost_center": "cost_center",
    "organization_id": "organization",
}
"""An ingest token's pinned column -> the analytics filter that keeps a total within it."""

NOT_IDENTIFIED = (
    "ccmon cannot tell who you are: log in to Claude Code (its email in ~/.claude.json), pass --person "
    "you@example.com (CCMON_PERSON), or use an API key mapped to your person as --token"
)
"""Under 200 characters: the client commands show that much of a refusal."""


class UsageQuestion(ClientIdentity):
    period: Literal["today", "week", "month"] = Field("today", description="UTC day, week from Monday, or month")


class SessionsQuestion(ClientIdentity):
    limit: int = Field(10, ge=1, le=50, description="how many sessions (1..50)")
    sort: Literal["recent", "cost"] = Field("recent", description="latest first, or most expensive first")
    days: int = Field(7, ge=1, le=90, description="sessions active in the last N days (1..90)")


class ModelCost(BaseModel):
    model: str
    cost_usd: float
    share: float = Field(description="of the period's cost (0..1)")


class MyUsage(BaseModel):
    person: str
    period: str
    start: dt.datetime
    end: dt.datetime = Field(description="now: the figures are up to this instant")
    cost_usd: float
    tokens: Tokens
    total_tokens: int
    sessions: int
    active_time_s: ActiveTime
    lines_added: int
    lines_removed: int
    commits: int
    pull_requests: int
    api_requests: int
    top_models: list[ModelCost] = Field(description=f"the {TOP_MODELS} models that cost the most in the period")


class MySession(BaseModel):
    session_id: str
    started: dt.datetime
    ended: dt.datetime
    duration_s: float | None
    cost_usd: float
    tokens: int
    prompts: int
    model: str = Field(description="the model with the most tokens in the session; (unknown) when none")
    project: str
    repository: str


class MySessions(BaseModel):
    person: str
    sort: str
    days: int
    start: dt.datetime
    end: dt.datetime
    total: int = Field(description="sessions in the window (the list holds at most `limit`)")
    sessions: list[MySession]


class TeamSpend(BaseModel):
    team: str
    month_start: dt.datetime
    as_of: dt.datetime
    spend_usd: float
    projected_month_end_usd: float
    within_pins: bool = Field(description="counted only within the ingest token's pinned attributes")


class TeamBudget(BaseModel):
    person: str
    team: str | None = Field(description="the person's team (the directory's, else their telemetry's)")
    decision: str = Field(description="what the budget hook would answer now: allow, warn or block")
    reason: str
    statuses: list[dict[str, Any]] = Field(description="the person's own limits and the pools they are part of")
    team_month_to_date: TeamSpend | None


def me_routes(
    callers: ClientCallers,
    analytics: Analytics,
    budgets: Budgets,
    *,
    clock: Callable[[], dt.datetime] = utc_now,
) -> APIRouter:
    """The router (mount it under /api/v1)."""
    router = APIRouter(tags=["client"], route_class=capped_route(MAX_BODY))
    Asker = Annotated[Caller, Depends(callers.dependency)]

    def person_of(caller: Caller, body: ClientIdentity, now: dt.datetime) -> str:
        # The identity fields only (`ClientIdentity.request` would pass the question's own fields too).
        question = HookRequest(**{name: str(getattr(body, name)).strip() for name in ClientIdentity.model_fields})
        person = callers.person_for(caller, question, now)
        if person is None:
            raise HTTPException(404, NOT_IDENTIFIED)
        return person

    @router.post("/client/usage")
    def usage(body: UsageQuestion, caller: Asker) -> MyUsage:
        """The caller's own usage over this UTC day, week (from Monday) or month: cost, tokens by type, sessions,
        active time, lines, commits, pull requests and the models that cost the most."""
        now = clock()
        person = person_of(caller, body, now)
        start, _ = period_bounds(PERIODS[body.period], now)
        query = _own(person, start, now)
        totals = analytics.summary(query)
        models = analytics.cost_by(query, "model", top=TOP_MODELS)
        return MyUsage(
            person=person,
            period=body.period,
            start=start,
            end=now,
            cost_usd=totals.cost_usd,
            tokens=totals.tokens,
            total_tokens=sum(totals.tokens.model_dump().values()),
            sessions=totals.sessions,
            active_time_s=totals.active_time_s,
            lines_added=totals.lines_added,
            lines_removed=totals.lines_removed,
            commits=totals.commits,
            pull_requests=totals.pull_requests,
            api_requests=totals.api_requests,
            top_models=[ModelCost(model=r.key, cost_usd=r.cost_usd, share=r.share) for r in models.rows],
        )

    @router.post("/client/sessions")
    def sessions(body: SessionsQuestion, caller: Asker) -> MySessions:
        """The caller's own sessions active in the last `days` days, latest or most expensive first, with their
        cost, tokens, main model and project."""
        now = clock()
        person = person_of(caller, body, now)
        start = now - dt.timedelta(days=body.days)
        query = _own(person, start, now)
        # One more than asked: the row of the data without a session id is not a session and is left out.
        page = analytics.sessions(query, sort=SORTS[body.sort], descending=True, limit=body.limit + 1, offset=0)
        rows = [row for row in page.rows if row.session_id != UNKNOWN][: body.limit]
        total = round(sum(point.value for point in analytics.signals.sessions(query)))
        main = _main_models(analytics, query)
        return MySessions(
            person=person,
            sort=body.sort,
            days=body.days,
            start=start,
            end=now,
            total=total,
            sessions=[
                MySession(
                    session_id=row.session_id,
                    started=row.started,
                    ended=row.ended,
                    duration_s=row.duration_s,
                    cost_usd=row.cost_usd,
                    tokens=row.tokens,
                    prompts=row.prompts,
                    model=main.get(row.session_id, UNKNOWN),
                    project=row.project,
                    repository=row.repository,
                )
                for row in rows
            ],
        )

    @router.post("/client/team-budget")
    def team_budget(body: ClientIdentity, caller: Asker) -> TeamBudget:
        """The caller's budgets (their own limits and their team's and other pools', spend against amount) and
        their team's spend this month."""
        now = clock()
        person = person_of(caller, body, now)
        pins = pins_of(caller)
        answer = callers.hooks.budget_of(person, now, pins)
        team = budgets.dims(person, now).team or None
        return TeamBudget(
            person=person,
            team=team,
            decision=answer.decision,
            reason=answer.reason,
            statuses=[dict(status) for status in answer.statuses],
            team_month_to_date=None if team is None else _team_spend(analytics, team, pins or {}, now),
        )

    return router


def _own(person: str, start: dt.datetime, now: dt.datetime) -> Query:
    """One person's rows over [start, now): the scope holds that person only, whoever asks."""
    end = max(now, start + dt.timedelta(seconds=1))
    return Query(TimeRange(start, end), Scope(persons=(person,), content=False))


def _main_models(analytics: Analytics, query: Query) -> dict[str, str]:
    """Each session's model with the most tokens in the query (ties: the name first in order)."""
    best: dict[str, tuple[float, str]] = {}
    for point in analytics.signals.tokens_per_session(query, group_by=("model",)):
        session, model = point.labels["session_id"], point.labels["model"]
        if model == UNKNOWN:
            continue
        current = best.get(session)
        if current is None or (point.value, model) > (current[0], current[1]):
            best[session] = (point.value, model)
    return {session: model for session, (_, model) in best.items()}


def _team_spend(analytics: Analytics, team: str, pins: Mapping[str, str], now: dt.datetime) -> TeamSpend | None:
    """The team's spend since the first of the month; for a pinned token, only within its pins (None when a pin
    cannot be expressed as a filter: better no figure than one wider than the token may see)."""
    filters: dict[str, tuple[str, ...]] = {"team": (team,)}
    for column, value in pins.items():
        if column not in PIN_FILTERS:
            return None
        filters[PIN_FILTERS[column]] = (value,) if PIN_FILTERS[column] != "team" else (team,)
    query = Query(TimeRange(now - dt.timedelta(days=1), now), Scope(content=False), Filters(filters))
    mtd = analytics.month_to_date(query, now)
    return TeamSpend(
        team=team,
        month_start=mtd.month_start,
        as_of=mtd.as_of,
        spend_usd=mtd.spend_usd,
        projected_month_end_usd=mtd.projected_month_end_usd,
        within_pins=bool(pins),
    )
