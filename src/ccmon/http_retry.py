"""`Retry-After` (RFC 9110 §10.2.3) read once for every HTTP client ccmon runs: alert deliveries, OTLP forwarding and
the Admin API import.

Layer-neutral on purpose (standard library only): any layer may import it, so no client grows its own parser with its
own idea of what a date or a cap means.
"""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime

_SECONDS = re.compile(r"\d+(?:\.\d+)?")
"""delta-seconds; a decimal fraction is tolerated (some servers send one), a sign is not."""
_MAX_LENGTH = 100
"""An HTTP date is 29 characters: anything far longer is garbage, not worth parsing."""


def retry_after_seconds(value: str | None, *, cap_s: float, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date, clamped to [0, `cap_s`].

    None when the header is absent or unreadable, so the caller falls back to its own backoff. A date in the past
    means "now" (0); the cap keeps a server's typo (or a date in the next century) from parking a client for a day.
    `now` (default: the current time) is the reference for a date; a naive datetime is taken as UTC.
    """
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > _MAX_LENGTH:
        return None
    if _SECONDS.fullmatch(value):
        return _clamp(float(value), cap_s)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    reference = dt.datetime.now(dt.UTC) if now is None else now
    return _clamp((_aware(when) - _aware(reference)).total_seconds(), cap_s)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def _clamp(seconds: float, cap_s: float) -> float:
    return min(max(seconds, 0.0), cap_s)
