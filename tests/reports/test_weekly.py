from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ccmon.analytics import Analytics
from ccmon.reports.weekly import Week, WeekError, weekly_figures
from tests.reports.data import WEEK


def test_weeks_run_monday_to_monday_utc() -> None:
    assert WEEK.label == "2026-W47"
    assert Week.parse("2026-W47") == WEEK == Week.parse("2026-11-22")
    assert Week.last_complete(datetime(2026, 11, 23, 0, 0, tzinfo=UTC)) == WEEK
    assert Week.last_complete(datetime(2026, 11, 29, 23, 59, tzinfo=UTC)) == WEEK
    assert Week.parse("2026-W01").start == datetime(2025, 12, 29, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-W54", "2026-47", "last week", "2026-W4x", "x" * 10_000])
def test_a_week_that_cannot_be_read_says_the_expected_form(text: str) -> None:
    with pytest.raises(WeekError, match="ISO week such as 2026-W47"):
        Week.parse(text)


def test_figures_of_a_known_week(analytics: Analytics) -> None:
    report = weekly_figures(analytics, WEEK)
    values = {f.name: (f.value, f.previous, f.change_pct) for f in report.figures}
    assert values == {
        "cost_usd": (48.0, 20.0, 140.0),
        "active_users": (3, 1, 200.0),
        "sessions": (3, 1, 200.0),
        "pull_requests": (2, 1, 100.0),
        "commits": (4, 0, None),
        "cost_per_pull_request": (24.0, 20.0, 20.0),
        "cost_per_user": (16.0, 20.0, -20.0),
        "lines_changed": (120, 0, None),
        "api_error_rate": (6 / 32, None, None),
    }
    assert [(r.key, r.value, r.share) for r in report.top_teams] == [
        ("data", 38.0, 38 / 48),
        ("platform", 10.0, 10 / 48),
    ]
    assert [(r.key, r.value) for r in report.top_models] == [("claude-opus-4-1[1m]", 30.0), ("claude-sonnet-4-5", 18.0)]
    assert [(r.key, r.value, r.share) for r in report.top_tools] == [("Edit", 3, 0.75), ("Bash", 1, 0.25)]
    assert [(d.day, d.cost_usd) for d in report.daily_cost] == [
        (date(2026, 11, day), 48.0 if day == 20 else 0.0) for day in range(16, 23)
    ]
