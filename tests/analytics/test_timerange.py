from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ccmon.analytics.timerange import DEFAULT_SPAN, InvalidQuery, TimeRange, parse_instant, rfc3339
from tests.support import REPO


def test_defaults_to_the_last_30_days() -> None:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert TimeRange.parse(None, None, now=now) == TimeRange(now - timedelta(days=30), now)
    end = datetime(2026, 11, 2, tzinfo=UTC)
    assert TimeRange.parse(None, "2026-11-02T00:00:00Z") == TimeRange(end - timedelta(days=30), end)


def test_the_api_default_window_is_the_dashboards() -> None:
    """The API and `ccmon report` without `from` show what the dashboard shows before a range is picked."""
    state = (REPO / "src" / "ccmon" / "web" / "static" / "js" / "state.js").read_text()
    default = re.search(r'const DEFAULT_RANGE = "(\w+)";', state)
    presets = re.search(r"const PRESETS = \{([^}]*)\};", state)
    assert default and presets, "state.js no longer declares DEFAULT_RANGE and PRESETS as this test reads them"
    seconds = {
        key: math.prod(int(factor) for factor in value.split("*"))
        for key, value in re.findall(r'"(\w+)":\s*([\d\s*]+)', presets.group(1))
    }
    assert timedelta(seconds=seconds[default.group(1)]) == DEFAULT_SPAN


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


def test_rfc3339_writes_utc_with_z_and_reads_back() -> None:
    berlin = timezone(timedelta(hours=1))
    assert rfc3339(datetime(2026, 11, 1, 1, tzinfo=berlin)) == "2026-11-01T00:00:00Z"
    precise = datetime(2026, 11, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert rfc3339(precise) == "2026-11-01T00:00:00.250000Z"
    assert parse_instant(rfc3339(precise), "at") == precise
    assert TimeRange(precise, precise + timedelta(days=1)).rfc3339() == (
        "2026-11-01T00:00:00.250000Z",
        "2026-11-02T00:00:00.250000Z",
    )
