"""The directory as stored: people (`directory_people`) and email rules (`directory_rules`), replaced or merged
as a whole, read back through a snapshot cached in memory and refreshed every few seconds.

Several parts read it: the API and CLI (list, load), ingest (metric rows are attributed in Python from the snapshot;
event and span rows in the engine's SQL, which reads the tables themselves through `PEOPLE_SQL` and `RULES_SQL` at
each INSERT, so a change made through the API applies to the next commit without a restart) and re-attribution of
stored rows (`ccmon.directory.reattribute`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from ccmon.directory.people import ATTRIBUTED, FIELDS, DirectoryContent, Person
from ccmon.directory.rules import TeamRule, team_of
from ccmon.store.facade import Store

REFRESH_S = 5.0

PEOPLE_SQL = (
    "(SELECT (groupArray(email), groupArray(team), groupArray(department), groupArray(cost_center)) "
    "FROM (SELECT email, team, department, cost_center FROM directory_people FINAL WHERE NOT deleted))"
)
"""A scalar subquery: (emails, teams, departments, cost centers) of the directory, four parallel arrays. ClickHouse
evaluates it once per query, as a constant."""
RULES_SQL = (
    "(SELECT (groupArray(regex), groupArray(replacement)) FROM (SELECT regex, replacement FROM directory_rules "
    "WHERE generation = (SELECT max(generation) FROM directory_rules) AND pattern != '' ORDER BY position))"
)
"""A scalar subquery: (regexes, replacements) of the current email rules, in order."""

_PEOPLE_SCHEMA = pa.schema(
    [*((name, pa.string()) for name in FIELDS), ("deleted", pa.bool_()), ("updated_at", pa.timestamp("us", "UTC"))]
)
_RULES_SCHEMA = pa.schema(
    [
        ("generation", pa.timestamp("us", "UTC")),
        ("position", pa.uint32()),
        *((name, pa.string()) for name in ("pattern", "team", "regex", "replacement")),
    ]
)


@dataclass(frozen=True)
class Snapshot:
    """The directory at one moment."""

    people: Mapping[str, Person] = field(default_factory=dict)
    rules: tuple[TeamRule, ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.people or self.rules)

    def lookup(self, email: str) -> Person | None:
        return self.people.get(email.strip().lower())

    def team_by_rule(self, email: str) -> str:
        return team_of(self.rules, email)


@dataclass(frozen=True)
class Change:
    """What a load changed: emails added, updated (any field) and removed; the rules now in force, if replaced."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    rules: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "added": list(self.added),
            "updated": list(self.updated),
            "removed": list(self.removed),
            "unchanged": self.unchanged,
            "rules": None if self.rules is None else list(self.rules),
        }

    def summary(self) -> str:
        rules = "" if self.rules is None else f", {len(self.rules)} rules"
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{self.unchanged} unchanged{rules}"
        )


class Directory:
    """The stored directory, with a snapshot cached for `refresh_s` seconds (other processes sharing a ClickHouse
    server may change it too)."""

    def __init__(self, store: Store, refresh_s: float = REFRESH_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._read_at = 0.0

    def snapshot(self) -> Snapshot:
        """The directory as last read, read again when older than `refresh_s`."""
        with self._lock:
            if self._snapshot is not None and self._clock() - self._read_at < self.refresh_s:
                return self._snapshot
        return self.refresh()

    def refresh(self) -> Snapshot:
        people = {
            row[0]: Person(*row)
            for row in self.store.query(
                f"SELECT {', '.join(FIELDS)} FROM directory_people FINAL WHERE NOT deleted ORDER BY email"
            )
        }
        rules = tuple(
            TeamRule(pattern, team)
            for pattern, team in self.store.query(
                "SELECT pattern, team FROM directory_rules WHERE generation = "
                "(SELECT max(generation) FROM directory_rules) AND pattern != '' ORDER BY position"
            )
        )
        snapshot = Snapshot(people, rules)
        with self._lock:
            self._snapshot, self._read_at = snapshot, self._clock()
        return snapshot

    def people(self) -> tuple[Person, ...]:
        return tuple(self.refresh().people.values())

    def lookup(self, email: str) -> Person | None:
        return self.snapshot().lookup(email)

    def replace(self, content: DirectoryContent) -> Change:
        """The directory becomes `content`: people it does not list are removed; the rules are replaced when the
        content says anything about rules (a CSV does not: the stored rules stay)."""
        return self._write(content, remove_missing=True)

    def merge(self, content: DirectoryContent) -> Change:
        """Add or update the people of `content`, keep the others; rules as for `replace`."""
        return self._write(content, remove_missing=False)

    def _write(self, content: DirectoryContent, *, remove_missing: bool) -> Change:
        current = self.refresh().people
        listed = {person.email: person for person in content.people}
        added = tuple(email for email in listed if email not in current)
        updated = tuple(email for email, p in listed.items() if email in current and current[email] != p)
        removed = tuple(email for email in current if email not in listed) if remove_missing else ()
        now = datetime.now(UTC)
        rows = [p for p in listed.values() if p.email in added or p.email in updated]
        tombstones = [Person(email) for email in removed]
        if rows or tombstones:
            self.store.insert("directory_people", _people_table([*rows, *tombstones], len(rows), now))
        rules = None
        if content.has_rules:
            self.store.insert("directory_rules", _rules_table(content.rules, now))
            rules = tuple(str(rule) for rule in content.rules)
        self.refresh()
        return Change(added, updated, removed, len(listed) - len(added) - len(updated), rules)


def _people_table(people: Iterable[Person], live: int, now: datetime) -> pa.Table:
    people = list(people)
    columns: dict[str, list[object]] = {name: [getattr(p, name) for p in people] for name in FIELDS}
    columns["deleted"] = [index >= live for index in range(len(people))]
    columns["updated_at"] = [now] * len(people)
    return pa.table(columns, schema=_PEOPLE_SCHEMA)


def _rules_table(rules: tuple[TeamRule, ...], generation: datetime) -> pa.Table:
    # An empty set is one row with no pattern, so that it, too, is the latest generation.
    entries = [(str(r.pattern), r.team, r.anchored, r.replacement) for r in rules] or [("", "", "", "")]
    columns: dict[str, list[object]] = {
        "generation": [generation] * len(entries),
        "position": list(range(len(entries))),
    }
    for number, name in enumerate(("pattern", "team", "regex", "replacement")):
        columns[name] = [entry[number] for entry in entries]
    return pa.table(columns, schema=_RULES_SCHEMA)


def attribution_of(snapshot: Snapshot, email: str) -> dict[str, str]:
    """The non-empty columns the directory decides for an email: its person's team, department and cost center."""
    person = snapshot.lookup(email)
    if person is None:
        return {}
    return {column: value for column, value in zip(ATTRIBUTED, person.attribution, strict=True) if value}
