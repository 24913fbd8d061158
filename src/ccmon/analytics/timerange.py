"""Time ranges of analytics queries: RFC 3339 in UTC, half-open [start, end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_SPAN = timedelta(days=30)
"""The range of a query that gives no `from`: the last 30 days, the dashboard's default range too (`DEFAULT_RANGE` in
web/static/js/state.js; a test keeps them equal), so the API, `ccmon report` and the dashboard answer alike."""
DEFAULT_SPAN_TEXT = "30 days"
"""`DEFAULT_SPAN` in words, for help texts and messages."""
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
    def parse(
        cls, start: str | None, end: str | None, now: datetime | None = None, names: tuple[str, str] = ("from", "to")
    ) -> TimeRange:
        """From optional `from`/`to` parameters: `to` defaults to now, `from` to `DEFAULT_SPAN` (30 days) before `to`.

        `names` are what messages call the two (the API's parameters, or the command line's `--from` and `--to`).
        """
        start_name, end_name = names
        end_at = parse_instant(end, end_name) if end else (now or datetime.now(UTC))
        start_at = parse_instant(start, start_name) if start else end_at - DEFAULT_SPAN
        if start_at >= end_at:
            raise InvalidQuery(
                f"{start_name} ({start_at.isoformat()}) must be before {end_name} ({end_at.isoformat()})"
            )
        return cls(start_at, end_at)

    def rfc3339(self) -> tuple[str, str]:
        """The two ends as RFC 3339 in UTC, as the API reads them back (`2026-11-01T00:00:00Z`)."""
        return rfc3339(self.start), rfc3339(self.end)

    def sql(self, column: str = "ts") -> tuple[str, dict[str, Any]]:
        """A WHERE fragment on a DateTime64 column and its bound parameters (nanoseconds since the epoch)."""
        return (
            f"{column} >= {RANGE_START_SQL} AND {column} < {RANGE_END_SQL}",
            {"range_start": _ns(self.start), "range_end": _ns(self.end)},
        )


ALL_TIME = TimeRange(datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))
"""Every instant a row can have (ingest repairs times outside [2000, now + 1 day]): for queries that take no range."""


def rfc3339(instant: datetime) -> str:
    """An aware instant as RFC 3339 in UTC ending with `Z` (`2026-11-01T00:00:00Z`), the one form the API and stored
    records use for times; microseconds are kept when present, so `parse_instant` reads it back unchanged."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ns(instant: datetime) -> int:
    delta = instant - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
