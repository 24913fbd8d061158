from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ccmon.reports.cron import Cron, CronError


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 9 * * 1", "2026-11-25T12:00", "2026-11-30T09:00"),  # Mondays 09:00
        ("0 9 * * mon", "2026-11-30T09:00", "2026-12-07T09:00"),  # strictly after
        ("*/15 * * * *", "2026-11-30T09:07", "2026-11-30T09:15"),
        ("5-10/5 8 * * *", "2026-11-30T08:06", "2026-11-30T08:10"),
        ("30 7 1 jan,jul *", "2026-11-30T00:00", "2027-01-01T07:30"),
        ("0 0 * * 7", "2026-11-30T00:00", "2026-12-06T00:00"),  # 7 is Sunday
        ("0 0 13 * fri", "2026-11-01T00:00", "2026-11-06T00:00"),  # either day field (Vixie cron)
        ("0 0 29 2 *", "2026-03-01T00:00", "2028-02-29T00:00"),
        ("59 23 31 12 *", "2026-12-31T23:58", "2026-12-31T23:59"),
    ],
)
def test_next_firing(expression: str, after: str, expected: str) -> None:
    assert Cron.parse(expression).next_after(at(after)) == at(expected)


def test_a_date_that_never_comes_has_no_next_firing() -> None:
    assert Cron.parse("0 0 30 2 *").next_after(at("2026-01-01T00:00")) is None


def test_latest_firing_within_a_window() -> None:
    cron = Cron.parse("0 9 * * 1")
    assert cron.previous_at_or_before(at("2026-11-30T09:30"), timedelta(hours=1)) == at("2026-11-30T09:00")
    assert cron.previous_at_or_before(at("2026-11-30T10:30"), timedelta(hours=1)) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "expected 5 fields"),
        ("* * * *", "expected 5 fields"),
        ("0 0 0 * * *", "expected 5 fields"),
        ("@weekly", "expected 5 fields"),
        ("60 * * * *", "minute: 60 is out of range 0-59"),
        ("* 24 * * *", "hour: 24 is out of range"),
        ("* * 0 * *", "day of month: 0 is out of range 1-31"),
        ("* * * 13 *", "month: 13 is out of range"),
        ("* * * * 8", "day of week: 8 is out of range 0-7"),
        ("10-5 * * * *", "minute: range '10-5' runs backwards"),
        ("*/0 * * * *", "minute: 0 is out of range"),
        ("* * * foo *", "month: 'foo' is not a number"),
        ("-1 * * * *", "minute: '' is not a number"),
        ("1,,2 * * * *", "minute: '' is not a number"),
        ("٣ * * * *", "is not a number"),  # a digit, but not an ASCII one
        ("99999999999999999999 * * * *", "is not a number"),
        ("0 9 * * 1 " + "1," * 200, "at most 200"),
    ],
)
def test_hostile_expressions_are_refused_naming_the_field(expression: str, message: str) -> None:
    with pytest.raises(CronError, match=message.replace("(", r"\(")):
        Cron.parse(expression)
