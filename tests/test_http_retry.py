"""`Retry-After` parsing shared by every HTTP client: seconds, HTTP dates, the cap, and what is not a value."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import pytest

from ccmon.http_retry import retry_after_seconds

NOW = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)


def _http_date(moment: dt.datetime) -> str:
    return format_datetime(moment, usegmt=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), (" 120 ", 120.0), ("0", 0.0), ("1.5", 1.5), ("0007", 7.0)],
)
def test_delta_seconds(value: str, expected: float) -> None:
    assert retry_after_seconds(value, cap_s=600) == expected


def test_seconds_are_capped() -> None:
    assert retry_after_seconds("99999", cap_s=600) == 600
    assert retry_after_seconds("9" * 99, cap_s=60) == 60  # any size of number


def test_http_date_is_seconds_from_now() -> None:
    assert retry_after_seconds(_http_date(NOW + dt.timedelta(seconds=30)), cap_s=600, now=NOW) == 30


def test_http_date_in_the_past_means_now() -> None:
    assert retry_after_seconds(_http_date(NOW - dt.timedelta(hours=1)), cap_s=600, now=NOW) == 0


def test_http_date_far_ahead_is_capped() -> None:
    assert retry_after_seconds(_http_date(NOW + dt.timedelta(days=3)), cap_s=600, now=NOW) == 600


def test_obsolete_date_formats_and_naive_now() -> None:
    """RFC 850 and asctime dates are valid `Retry-After` values; a naive `now` is UTC."""
    naive = NOW.replace(tzinfo=None)
    assert retry_after_seconds("Tuesday, 01-Dec-26 12:01:00 GMT", cap_s=600, now=naive) == 60
    assert retry_after_seconds("Tue Dec  1 12:02:00 2026", cap_s=600, now=NOW) == 120


def test_default_now_is_the_current_time() -> None:
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=100)
    assert retry_after_seconds(_http_date(ahead), cap_s=600) == pytest.approx(100, abs=2)


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "-5", "+5", "soon", "1e3", "nan", "inf", "1_000", "Mon, 99 Foo 2026 25:61:00 GMT", "9" * 200],
)
def test_absent_or_unreadable_is_none(value: str | None) -> None:
    assert retry_after_seconds(value, cap_s=600, now=NOW) is None
