"""Text checks for the access records (users, sessions, API keys); the versioned-record helpers they share with
alerting live in `ccmon.store.records`."""

from __future__ import annotations

from ccmon.store.records import TIMESTAMP, Clock, VersionClock, as_utc, insert_rows, utc_now

__all__ = ["TIMESTAMP", "Clock", "VersionClock", "as_utc", "clean_text", "insert_rows", "utc_now"]


def clean_text(value: str, field: str, max_length: int = 200) -> str:
    """A name, team or department: no control characters, bounded. Stored as given otherwise (HTML is escaped where
    it is shown, SQL is bound as a parameter)."""
    value = value.strip()
    if len(value) > max_length:
        raise ValueError(f"{field}: at most {max_length} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{field}: control characters are not allowed")
    return value
