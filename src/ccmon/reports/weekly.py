"""The weekly report's figures: seed 000's numbers for one ISO week, each next to the week before.

A week runs from Monday 00:00 UTC to the next Monday 00:00 UTC (`Week`); by default the last complete one. Every
figure comes from an existing `Analytics` query — the overview, the cost breakdown, the tools and the API errors — so
a number in the report is the number the UI and `ccmon report overview` show for the same week. The week before gets
an overview of its own: the overview pairs a week's summary with the one before, but its ratios (active users, cost
per user, lines changed) are of the week asked for only. That second overview also sums the week before it, which
the report does not show: one summary more per report, the price of not computing those ratios a second way here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel

from ccmon.analytics import Analytics, Filters, Query, Scope, TimeRange
from ccmon.analytics.overview import Overview
from ccmon.analytics.results import ratio

TOP = 5
"""Teams, models and tools listed."""

_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class WeekError(ValueError):
    """A week that cannot be read; the message names the expected form."""


@dataclass(frozen=True)
class Week:
    start: datetime
    """A Monday, 00:00 UTC."""

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=7)

    @property
    def label(self) -> str:
        """ISO 8601: `2026-W47`."""
        year, number, _ = self.start.isocalendar()
        return f"{year}-W{number:02d}"

    def previous(self) -> Week:
        return Week(self.start - timedelta(days=7))

    @classmethod
    def containing(cls, day: date | datetime) -> Week:
        """The week a day (or instant, in UTC) falls in."""
        if isinstance(day, datetime):
            day = day.astimezone(UTC).date()
        monday = day - timedelta(days=day.weekday())
        return cls(datetime(monday.year, monday.month, monday.day, tzinfo=UTC))

    @classmethod
    def last_complete(cls, now: datetime) -> Week:
        """The latest week that has ended by `now`."""
        return cls.containing(now).previous()

    @classmethod
    def parse(cls, text: str) -> Week:
        """`2026-W47` (ISO week) or a date `2026-11-18` (the week holding it)."""
        match = _ISO_WEEK.match(text.strip())
        try:
            if match:
                return cls.containing(date.fromisocalendar(int(match[1]), int(match[2]), 1))
            return cls.containing(date.fromisoformat(text.strip()))
        except ValueError:
            pass
        raise WeekError(f"week {text[:40]!r}: expected an ISO week such as 2026-W47, or a date such as 2026-11-18")


class Figure(BaseModel):
    name: str
    label: str
    unit: str
    """usd, count or rate (a fraction 0..1)."""
    value: float | None
    previous: float | None
    change_pct: float | None
    """(value - previous) / previous in percent; null when either is unknown or the previous week had zero."""


class Ranked(BaseModel):
    key: str
    value: float
    share: float | None
    """Of the week's total (cost for teams and models, calls for tools)."""


class DailyCost(BaseModel):
    day: date
    cost_usd: float


class WeeklyFigures(BaseModel):
    week: str
    start: datetime
    end: datetime
    figures: list[Figure]
    top_teams: list[Ranked]
    top_models: list[Ranked]
    top_tools: list[Ranked]
    daily_cost: list[DailyCost]
    """Cost per UTC day of the week, seven entries."""

    def figure(self, name: str) -> Figure:
        return next(figure for figure in self.figures if figure.name == name)


def week_query(week: Week, scope: Scope | None = None, filters: Filters | None = None) -> Query:
    return Query(TimeRange(week.start, week.end), scope or Scope.everyone(), filters or Filters(), bucket="1d")


def weekly_figures(
    analytics: Analytics, week: Week, scope: Scope | None = None, filters: Filters | None = None
) -> WeeklyFigures:
    """The week's figures within the caller's scope and filters (a team lead gets their teams' report)."""
    query = week_query(week, scope, filters)
    # `before.current`, not `now.previous` (the same summary): `before` also has the week before's ratios.
    now, before = analytics.overview(query), analytics.overview(query.previous())
    errors_now, errors_before = analytics.errors(query), analytics.errors(query.previous())
    figures = [
        _figure("cost_usd", "Total cost", "usd", now.current.cost_usd, before.current.cost_usd),
        _figure("active_users", "Active users", "count", now.active_users, before.active_users),
        _figure("sessions", "Sessions", "count", now.current.sessions, before.current.sessions),
        _figure("pull_requests", "Pull requests", "count", now.current.pull_requests, before.current.pull_requests),
        _figure("commits", "Commits", "count", now.current.commits, before.current.commits),
        _figure("cost_per_pull_request", "Cost per PR", "usd", *_pair(now, before, "cost_per_pull_request")),
        _figure("cost_per_user", "Cost per user", "usd", *_pair(now, before, "cost_per_user")),
        _figure("lines_changed", "Lines changed", "count", now.lines_changed, before.lines_changed),
        _figure("api_error_rate", "API error rate", "rate", errors_now.error_rate, errors_before.error_rate),
    ]
    teams = analytics.cost_by(query, "team", TOP)
    models = analytics.cost_by(query, "model", TOP)
    tools = analytics.tools(query).rows
    calls = sum(tool.calls for tool in tools)
    return WeeklyFigures(
        week=week.label,
        start=week.start,
        end=week.end,
        figures=figures,
        top_teams=[Ranked(key=row.key, value=row.cost_usd, share=row.share) for row in teams.rows],
        top_models=[Ranked(key=row.key, value=row.cost_usd, share=row.share) for row in models.rows],
        top_tools=[Ranked(key=t.tool, value=t.calls, share=ratio(t.calls, calls)) for t in tools[:TOP] if t.calls],
        daily_cost=_daily(analytics, query, week),
    )


def _pair(now: Overview, before: Overview, name: str) -> tuple[float | None, float | None]:
    value, previous = getattr(now, name), getattr(before, name)
    assert value is None or isinstance(value, float | int)
    return value, previous


def _figure(name: str, label: str, unit: str, value: float | None, previous: float | None) -> Figure:
    change = None if value is None or previous is None else ratio(value - previous, previous)
    return Figure(
        name=name,
        label=label,
        unit=unit,
        value=value,
        previous=previous,
        change_pct=None if change is None else round(change * 100, 2),
    )


def _daily(analytics: Analytics, query: Query, week: Week) -> list[DailyCost]:
    by_day: dict[date, float] = {}
    for point in analytics.cost_over_time(query).rows:
        day = point.t.astimezone(UTC).date()
        by_day[day] = by_day.get(day, 0.0) + point.value
    days = [(week.start + timedelta(days=offset)).date() for offset in range(7)]
    return [DailyCost(day=day, cost_usd=round(by_day.get(day, 0.0), 6)) for day in days]
