"""What an importer produces, and how it becomes stored rows: attributed, priced, deduplicated.

An importer (transcripts, Admin API) yields `ImportRecord`s: what its source says, with the raw email and a `key`
naming the record in its source (a transcript message's `message.id:requestId`; an Admin API row's day, actor and
model). The same records travel to a server as JSON (`POST /api/v1/imports`), so attribution and pricing happen
where the rows are written (`ImportWriter`), with that server's directory, pseudonyms and price table, whichever way
the import arrives.

Attribution follows ingest's precedence (`ccmon.ingest.attribution`): the directory's team, department and cost
center win over what the source says, and a row without a team gets one from the email rules. The person is the
email, or its pseudonym with `hash_emails` (so an imported day and the OTLP of the same person meet).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ccmon.directory.registry import Directory, attribution_of
from ccmon.directory.rules import TeamRule, team_of
from ccmon.store.dimensions import provider_of
from ccmon.store.facade import Store
from ccmon.store.imports import SOURCES, ImportedUsage, ImportedUsageTable

if TYPE_CHECKING:  # loaded by who builds a writer; records travel without it
    from ccmon.pricing.table import PriceTable

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
        if self.source not in SOURCES:
            raise ValueError(f"source {self.source!r} is not one of {', '.join(SOURCES)}")
        if not self.key or len(self.key) > MAX_KEY:
            raise ValueError(f"key must be 1 to {MAX_KEY} characters")
        check_time(self.ts)


def dedup_key(source: str, key: str) -> int:
    """The stored key of a record: 64 bits of SHA-256 over its source and its key in that source."""
    digest = hashlib.sha256(f"{source}\0{key}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class WriteOutcome:
    imported: int
    duplicates: int
    unpriced: int
    """Rows stored without a price: the model is not in the price table."""


class ImportWriter:
    """Turns records into stored rows: the person key, the directory's attribution, the price, the dedup key."""

    def __init__(
        self,
        store: Store,
        prices: PriceTable,
        *,
        directory: Directory | None = None,
        team_rules: Sequence[TeamRule] = (),
        person_key: Callable[[str], str] = lambda email: email,
    ) -> None:
        self._table = ImportedUsageTable(store)
        self._prices = prices
        self._directory = directory
        self._team_rules = tuple(team_rules)
        self._person_key = person_key

    def write(self, records: Sequence[ImportRecord]) -> WriteOutcome:
        rows = [self.row(record) for record in records]
        imported, duplicates = self._table.add(rows)
        return WriteOutcome(imported, duplicates, sum(1 for row in rows if not row.priced))

    def row(self, record: ImportRecord) -> ImportedUsage:
        email = record.user_email.strip()
        attribution = {"team": record.team, "department": "", "cost_center": ""}
        rules = self._team_rules
        if self._directory is not None and email:
            snapshot = self._directory.snapshot()
            attribution |= attribution_of(snapshot, email)
            rules = (*snapshot.rules, *rules)
        if rules and email and not attribution["team"]:
            attribution["team"] = team_of(rules, email)
        person_email = self._person_key(email) if email else ""
        cost, priced = record.cost_usd, True
        if cost is None:
            cost = self._prices.cost(
                record.model,
                record.ts,
                input_tokens=record.input_tokens,
                output_tokens=record.output_tokens,
                cache_read_tokens=record.cache_read_tokens,
                cache_creation_tokens=record.cache_creation_tokens,
                cache_creation_1h_tokens=record.cache_creation_1h_tokens,
            )
            priced = cost is not None
        return ImportedUsage(
            ts=record.ts.astimezone(UTC),
            source=record.source,
            dedup_key=dedup_key(record.source, record.key),
            person=person_email or record.person,
            user_email=person_email,
            **attribution,
            project=record.project,
            terminal_type=record.terminal_type,
            repository=record.repository,
            version=record.version,
            provider=provider_of({}, {}, record.model),
            organization_id=record.organization_id,
            session_id=record.session_id,
            model=record.model,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            cache_read_tokens=record.cache_read_tokens,
            cache_creation_tokens=record.cache_creation_tokens,
            cache_creation_1h_tokens=record.cache_creation_1h_tokens,
            cost_usd=cost or 0.0,
            priced=priced,
            sessions=record.sessions,
            lines_added=record.lines_added,
            lines_removed=record.lines_removed,
            commits=record.commits,
            pull_requests=record.pull_requests,
        )
