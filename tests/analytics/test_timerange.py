from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ccmon.analytics.timerange import InvalidQuery, TimeRange


def test_defaults_to_the_last_24_hours() -> None:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert TimeRange.parse(None, None, now=now) == TimeRange(now - timedelta(hours=24), now)


def test_parses_rfc3339_in_utc() -> None:
    parsed = TimeRange.parse("2026-11-01T00:00:00Z", "2026-11-02T00:00:00.5+00:00")
    assert parsed.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert parsed.end == datetime(2026, 11, 2, 0, 0, 0, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z", "must be before"),
        ("2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z", "must be before"),
        ("yesterday", None, "not an RFC 3339"),
        ("2026-11-01T00:00:00", None, "no UTC offset"),
        ("2026-11-01T00:00:00+02:00", None, "not in UTC"),
    ],
)
def test_bad_ranges_say_what_is_wrong(start: str, end: str | None, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        TimeRange.parse(start, end)
