"""One weekly report: the week's figures and its recommendations, made once and rendered in every format."""

from __future__ import annotations

from pydantic import BaseModel

from ccmon.analytics import Analytics, Filters
from ccmon.analytics.scope import Scope
from ccmon.reports.recommendations import Recommendation, recommendations
from ccmon.reports.weekly import Week, WeeklyFigures, weekly_figures


class WeeklyReport(BaseModel):
    figures: WeeklyFigures
    recommendations: list[Recommendation]
    title: str


def build_report(
    analytics: Analytics, week: Week, scope: Scope | None = None, filters: Filters | None = None
) -> WeeklyReport:
    """The week's report; its estimates are priced with the analytics' price table (`Analytics.prices`)."""
    return WeeklyReport(
        figures=weekly_figures(analytics, week, scope, filters),
        recommendations=recommendations(analytics, week, scope, filters),
        title=f"Claude Code weekly report {week.label}",
    )
