"""The usage-limit series `ccmon statusline` reports, and the personal figures the status line shows.

`rate_limits` (`ccmon.ingest.limits`) holds one row per statusline report and window (`five_hour`, `seven_day`): how
much of the Claude subscription's 5-hour and 7-day limits the person had used, and when each resets. Claude Code's
telemetry does not carry these (reference §4): they come only from developers who run the statusline, with a Pro or
Max login, and only while they do; the answers say so.

`latest_limits` gives the latest report per person and window in the query's range, within the caller's scope (a
developer: themselves; a team lead: their team; the viewer: refused, it lists people). The table keys the person,
team, department and cost center (as the person's telemetry and the directory name them when the report arrived) and
the model: filters on other dimensions are refused (422) rather than ignored.

`personal_spend` is one person's spend today and this month (UTC), read like the budgets read usage (`spend.usage`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from ccmon.analytics import spend
from ccmon.analytics.query import Filters, Query
from ccmon.analytics.results import number, utc
from ccmon.analytics.scope import Scope
from ccmon.analytics.timerange import InvalidQuery, TimeRange
from ccmon.store.facade import Store

TABLE = "rate_limits"
FILTERS = ("person", "team", "department", "cost_center", "model")
"""The dimensions `rate_limits` keeps: the filters a limits query takes."""
MAX_ROWS = 10_000
NOTE = (
    "Reported by `ccmon statusline` (Claude Code's status line input, Pro/Max logins), not by Claude Code's telemetry: "
    "only people who run the statusline appear, as of their latest report."
)


class LimitRow(BaseModel):
    person: str
    team: str
    department: str
    window: str = Field(description="five_hour or seven_day")
    used_pct: float = Field(description="percent of the window's limit used, 0..100")
    resets_at: datetime | None = Field(description="when the window's usage resets; null when not reported")
    reported_at: datetime
    session_id: str
    model: str


class Limits(BaseModel):
    rows: list[LimitRow] = Field(description="the latest report per person and window, by person then window")
    note: str = NOTE


class PersonalSpend(BaseModel):
    person: str
    today_usd: float
    month_usd: float
    as_of: datetime


def latest_limits(store: Store, query: Query) -> Limits:
    """The latest report per person and window in the query's range, scope and filters."""
    query.scope.require_per_person("usage limits per person")
    unsupported = sorted(name for name, values in query.filters.values.items() if values and name not in FILTERS)
    if unsupported:
        raise InvalidQuery(
            f"usage limits cannot be filtered by {', '.join(unsupported)}; their filters are {', '.join(FILTERS)}"
        )
    where, params = query.where()
    # `resets_at` through a tuple: `argMax` skips NULLs, and the latest report's "not reported" must not be replaced
    # by an older report's time.
    rows = store.query(
        "SELECT person, argMax(team, ts), argMax(department, ts), window, argMax(used_pct, ts), "
        "argMax(tuple(resets_at), ts).1, max(ts), argMax(session_id, ts), argMax(model, ts) "
        f"FROM {TABLE} WHERE {where} AND person != '' GROUP BY person, window ORDER BY person, window "
        f"LIMIT {MAX_ROWS}",
        params,
    )
    return Limits(
        rows=[
            LimitRow(
                person=str(person),
                team=str(team),
                department=str(department),
                window=str(window),
                used_pct=number(used),
                resets_at=utc(resets) if isinstance(resets, datetime) else None,
                reported_at=utc(reported),
                session_id=str(session),
                model=str(model),
            )
            for person, team, department, window, used, resets, reported, session, model in rows
        ]
    )


def personal_spend(store: Store, person: str, now: datetime) -> PersonalSpend:
    """One person's spend in USD since the start of the UTC day and of the UTC month, up to `now` (every row of
    theirs, whichever team it names, as a per-person budget counts it)."""
    at = now.astimezone(UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    filters = Filters({"person": (person,)})

    def since(start: datetime) -> float:
        if start >= at:
            return 0.0
        used = spend.usage(store, Query(TimeRange(start, at), Scope.everyone(), filters), "usd")
        return used.get(spend.TOTAL, 0.0)

    return PersonalSpend(person=person, today_usd=since(day), month_usd=since(month), as_of=at)
