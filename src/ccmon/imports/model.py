"""What an importer produces, with no store behind it: the `ImportRecord`, its sources and bounds, and the outcome
of writing records. The web layer validates `POST /api/v1/imports` against these (it may not reach the store); the
writer that turns records into stored rows is `ccmon.imports.records`.

An importer (transcripts, Admin API) yields `ImportRecord`s: what its source says, with the raw email and a `key`
naming the record in its source (a transcript message's `message.id:requestId`; an Admin API row's day, actor and
model). The same records travel to a server as JSON, so attribution and pricing happen where the rows are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TRANSCRIPTS = "transcripts"
"""Claude Code's local transcripts (`ccmon.imports.transcripts`)."""
ADMIN_API = "admin-api"
"""Anthropic's Admin API Claude Code usage report (`ccmon.imports.admin_api`)."""
SOURCES = (TRANSCRIPTS, ADMIN_API)
"""Every value of `imported_usage.source`, in order of precedence (of two covering a person-day, the first wins)."""

MAX_KEY = 512
"""Longest `key` accepted (a message id and a request id are ~30 characters each)."""
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""Records before this are refused (as ingest refuses such timestamps: a clock or a file gone wrong)."""
AHEAD = timedelta(days=1)
"""How far past now a record may be (clocks differ)."""


def check_time(ts: datetime) -> None:
    """Refuse a time without a zone, or outside [`EARLIEST`, now + `AHEAD`]."""
    if ts.tzinfo is None:
        raise ValueError("ts must carry its time zone")
    if not EARLIEST <= ts <= datetime.now(UTC) + AHEAD:
        raise ValueError(f"ts {ts.isoformat()} is before {EARLIEST.year} or in the future")


def check_source(source: str) -> None:
    """Refuse a source that is not one of `SOURCES`."""
    if source not in SOURCES:
        raise ValueError(f"source {source!r} is not one of {', '.join(SOURCES)}")


@dataclass(frozen=True)
class ImportRecord:
    """One record of history as its source gives it. `cost_usd` None: to be priced from the tokens."""

    source: str
    key: str
    ts: datetime
    user_email: str = ""
    person: str = ""
    """Set only when the source names no email (an Admin API key actor); else derived from `user_email`."""
    team: str = ""
    project: str = ""
    repository: str = ""
    terminal_type: str = ""
    version: str = ""
    organization_id: str = ""
    session_id: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    """Of `cache_creation_tokens`, those written to the 1-hour cache (priced higher than the 5-minute one)."""
    cost_usd: float | None = None
    sessions: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    commits: int = 0
    pull_requests: int = 0

    def __post_init__(self) -> None:
        check_source(self.source)
        if not self.key or len(self.key) > MAX_KEY:
            raise ValueError(f"key must be 1 to {MAX_KEY} characters")
        check_time(self.ts)


@dataclass(frozen=True)
class WriteOutcome:
    imported: int
    duplicates: int
    unpriced: int
    """Rows stored without a price: the model is not in the price table."""
