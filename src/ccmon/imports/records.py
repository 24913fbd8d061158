"""How import records (`ccmon.imports.model.ImportRecord`) become stored rows: attributed, priced, deduplicated.

The records travel to a server as JSON (`POST /api/v1/imports`), so attribution and pricing happen where the rows
are written (`ImportWriter`), with that server's directory, pseudonyms and price table, whichever way the import
arrives.

Attribution follows ingest's precedence (`ccmon.ingest.attribution`): the directory's team, department and cost
center win over what the source says, and a row without a team gets one from the email rules. The person is the
email, or its pseudonym with `hash_emails` (so an imported day and the OTLP of the same person meet).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC
from typing import TYPE_CHECKING

from ccmon.directory.pseudonyms import person_key_of
from ccmon.directory.registry import Directory, attribution_of
from ccmon.directory.rules import TeamRule, team_of
from ccmon.imports.model import ImportRecord, WriteOutcome
from ccmon.store.dimensions import provider_of
from ccmon.store.facade import Store
from ccmon.store.imports import ImportedUsage, ImportedUsageTable

if TYPE_CHECKING:  # loaded by who builds a writer
    from ccmon.pricing.table import PriceTable
    from ccmon.settings import Config


def dedup_key(source: str, key: str) -> int:
    """The stored key of a record: 64 bits of SHA-256 over its source and its key in that source."""
    digest = hashlib.sha256(f"{source}\0{key}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big")


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

    @classmethod
    def from_config(cls, config: Config, store: Store, directory: Directory | None, prices: PriceTable) -> ImportWriter:
        """The writer a server (or `ccmon import --data-dir`) uses: its price table, directory, email rules and
        pseudonyms."""
        return cls(
            store,
            prices,
            directory=directory,
            team_rules=config.team_from_email,
            person_key=person_key_of(config, store),
        )

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
