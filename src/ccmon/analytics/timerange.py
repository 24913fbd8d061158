"""Time ranges of analytics queries: RFC 3339 in UTC, half-open [start, end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_SPAN = timedelta(hours=24)
# The range's ends as SQL over the parameters `TimeRange.sql` binds.
RANGE_START_SQL = "fromUnixTimestamp64Nano({range_start:Int64}, 'UTC')"
RANGE_END_SQL = "fromUnixTimestamp64Nano({range_end:Int64}, 'UTC')"


class InvalidQuery(ValueError):
    """A query parameter cannot be used; the message says which and why (the API answers 422)."""


def parse_instant(raw: str, name: str) -> datetime:
    """An RFC 3339 timestamp in UTC (`Z` or `+00:00`); other offsets are refused rather than guessed at."""
    text = raw.strip()
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidQuery(f"{name}: {raw!r} is not an RFC 3339 timestamp (e.g. 2026-11-24T00:00:00Z)") from None
    if value.tzinfo is None:
        raise InvalidQuery(f"{name}: {raw!r} has no UTC offset; end it with Z")
    if value.utcoffset() != timedelta(0):
        raise InvalidQuery(f"{name}: {raw!r} is not in UTC; give times in UTC, ending with Z")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    @classmethod
    def parse(cls, start: str | None, end: str | None, now: datetime | None = None) -> TimeRange:
        """From optional `from`/`to` parameters; missing ends default to the last 24 hours."""
        end_at = parse_instant(end, "to") if end else (now or datetime.now(UTC))
        start_at = parse_instant(start, "from") if start else end_at - DEFAULT_SPAN
        if start_at >= end_at:
            raise InvalidQuery(f"from ({start_at.isoformat()}) must be before to ({end_at.isoformat()})")
        return cls(start_at, end_at)

    def sql(self, column: str = "ts") -> tuple[str, dict[str, Any]]:
        """A WHERE fragment on a DateTime64 column and its bound parameters (nanoseconds since the epoch)."""
        return (
            f"{column} >= {RANGE_START_SQL} AND {column} < {RANGE_END_SQL}",
            {"range_start": _ns(self.start), "range_end": _ns(self.end)},
        )


ALL_TIME = TimeRange(datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))
"""Every instant a row can have (ingest repairs times outside [2000, now + 1 day]): for queries that take no range."""


def _ns(instant: datetime) -> int:
    delta = instant - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
