"""`POST /api/v1/client/statusline`: what `ccmon statusline` asks (the person's spend today and this month, and their
budgets) and reports (the 5 h / 7 d usage limits Claude Code shows a Pro/Max login); and `GET /api/v1/people/limits`,
the latest of those reports per person, for the dashboard.

Who may ask, and about whom: `ccmon.web.client_caller` (as the budget hook). The answer is about one person, and
holds the budgets `HookService.budget_of` gives them (without the pools wider than an ingest token's pins). A report's
limits are recorded only for an identified person; they are stored with the person's team, department and cost
center, so the limits table is scoped like every other answer.

The body is validated strictly (422): known fields only, percentages in 0..100, reset times within the years
2000-2200, finite numbers; and capped in size (413) before it is read whole.

`GET /people/limits` takes the analytics routes' query parameters (`ccmon.web.params.QueryDependencies`: the caller's
scope, from/to, filters); it lists people, so the viewer role is refused (403).

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi import Query as Param
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from ccmon.alerts.hooks import HookRequest
from ccmon.analytics import Analytics, Query
from ccmon.analytics.limits import Limits
from ccmon.onboarding.statusline import MAX_EPOCH, MIN_EPOCH, WINDOWS, Limit, LimitReport
from ccmon.web.auth_routes import capped_route
from ccmon.web.client_caller import MAX_FIELD, Caller, ClientCallers, ClientIdentity, pins_of, utc_now
from ccmon.web.params import Format, QueryDependencies, tabular

MAX_BODY = 8 * 1024
NOT_IDENTIFIED = (
    "ccmon cannot tell who you are yet (no telemetry names this session, and no login email was sent): set "
    "--person or CCMON_PERSON; the figures appear once your Claude Code has sent telemetry"
)


class LimitWindow(BaseModel):
    """One window of Claude Code's `rate_limits` (status line input)."""

    model_config = ConfigDict(extra="forbid")

    used_percentage: StrictFloat | StrictInt = Field(ge=0, le=100, allow_inf_nan=False)
    resets_at: StrictFloat | StrictInt | None = Field(
        None, ge=MIN_EPOCH, le=MAX_EPOCH, allow_inf_nan=False, description="epoch seconds"
    )


class RateLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    five_hour: LimitWindow | None = None
    seven_day: LimitWindow | None = None

    def limits(self) -> dict[str, Limit]:
        windows = {"five_hour": self.five_hour, "seven_day": self.seven_day}
        assert tuple(windows) == WINDOWS
        return {
            name: Limit(float(w.used_percentage), None if w.resets_at is None else int(w.resets_at))
            for name, w in windows.items()
            if w is not None
        }


class StatuslineReport(ClientIdentity):
    """Who is asking (`ClientIdentity`), the session's model and its usage limits (both optional)."""

    model: str = Field("", max_length=MAX_FIELD, description="the session's model (`model.id`)")
    rate_limits: RateLimits | None = Field(None, description="Claude Code's `rate_limits`, as the status line got it")

    def request(self) -> HookRequest:
        identity = {name: str(getattr(self, name)).strip() for name in ClientIdentity.model_fields}
        return HookRequest(**identity, model=self.model.strip())


class StatuslineAnswer(BaseModel):
    person: str | None = Field(description="the person key answered for; null when nobody could be identified")
    today_usd: float | None = Field(description="the person's spend since 00:00 UTC")
    month_usd: float | None = Field(description="the person's spend since the first of the month (UTC)")
    budgets: list[dict[str, Any]] = Field(description="the person's budgets, as the budget hook gives them")
    recorded: int = Field(description="usage-limit rows recorded from this report (one per window)")
    note: str = ""


def statusline_routes(
    callers: ClientCallers,
    analytics: Analytics,
    record: Callable[[LimitReport], int],
    *,
    clock: Callable[[], dt.datetime] = utc_now,
) -> APIRouter:
    """The router (mount it under /api/v1)."""
    router = APIRouter(route_class=capped_route(MAX_BODY))
    hooks = callers.hooks
    Asker = Annotated[Caller, Depends(callers.dependency)]
    QueryParams = Annotated[Query, Depends(QueryDependencies(callers.authenticate).ranged)]

    @router.post("/client/statusline", tags=["client"])
    def statusline(body: StatuslineReport, caller: Asker) -> StatuslineAnswer:
        """The person's spend today and this month and their budgets, for `ccmon statusline`; records the usage
        limits the report holds (`rate_limits`, Pro/Max logins) when the person is identified."""
        now = clock()
        person = callers.person_for(caller, body.request(), now)
        if person is None:
            return StatuslineAnswer(
                person=None, today_usd=None, month_usd=None, budgets=[], recorded=0, note=NOT_IDENTIFIED
            )
        recorded = 0
        limits = body.rate_limits.limits() if body.rate_limits is not None else {}
        if limits:
            dims = hooks.budgets.dims(person, now)
            report = LimitReport(
                at=now.timestamp(),
                person=person,
                session_id=body.session_id.strip(),
                limits=limits,
                model=body.model.strip(),
                team=dims.team,
                department=dims.department,
                cost_center=dims.cost_center,
            )
            recorded = record(report)
        spent = analytics.personal_spend(person, now)
        budgets = hooks.budget_of(person, now, pins_of(caller)).statuses
        return StatuslineAnswer(
            person=person,
            today_usd=spent.today_usd,
            month_usd=spent.month_usd,
            budgets=[dict(status) for status in budgets],
            recorded=recorded,
        )

    @router.get("/people/limits", tags=["analytics"], response_model=Limits)
    def people_limits(
        query: QueryParams,
        fmt: Annotated[Format, Param(alias="format", description="json, or csv for the rows")] = "json",
    ) -> Any:
        """The latest 5 h / 7 d usage-limit report per person and window in [from, to), as `ccmon statusline`
        reported it (Claude Code's telemetry does not carry these limits); within the caller's scope."""
        result = analytics.limits(query)
        return tabular(result, result.rows, fmt)

    return router
