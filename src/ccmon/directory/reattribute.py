"""Re-apply the directory to telemetry already stored: `ccmon directory apply` and POST /api/v1/directory/apply.

Attribution is stored with each row (`ccmon.ingest.attribution`), so a directory loaded after the fact changes
nothing stored until this runs. For each raw table (events, metric_points, spans) the rows of a listed person get the
directory's team, department and cost center (a value the directory leaves empty keeps the stored one); a row of an
unlisted person with no team gets one from the directory's email rules (not with `hash_emails`, whose stored rows
hold no address to match). That is one `ALTER TABLE ... UPDATE ... WHERE` per table, run synchronously.

Rollup keys cannot be updated, so the rollups of every day that holds a changed row are rebuilt from the raw rows:
that day's rollup rows deleted, then re-inserted by each rollup's own view query (`Rollup.select`) over the raw rows
of the day, which keeps every rollup equal to its view over the raw rows. Telemetry arriving for those days while
the rebuild runs may be counted twice in the rollups; run it when ingest is quiet, or again.

What the directory cannot know: which rows an ingest token pinned (a pin beats the directory at ingest). Re-applying
overrides those pins on the rows of listed people.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ccmon.directory.people import ATTRIBUTED
from ccmon.directory.registry import RULES_SQL, Snapshot
from ccmon.store.facade import Store
from ccmon.store.rollups import ROLLUPS

RAW_TABLES: dict[str, str] = {"events": "ts", "metric_points": "ts", "spans": "start_ts"}
"""Each re-attributed table and its time column."""
ROLLUP_SOURCES = ("events", "metric_points")
"""The raw tables the rollups are built from."""


def stored_rules_team_sql(email: str) -> str:
    """The team the directory's first email rule matching `email` gives, or '' (reads the rules' table)."""
    lowered = f"lowerUTF8({email})"
    found = f"arrayFirstIndex(p -> match({lowered}, p), {RULES_SQL}.1)"
    return f"if({found} = 0, '', replaceRegexpOne({lowered}, {RULES_SQL}.1[{found}], {RULES_SQL}.2[{found}]))"


def _new_sql(column: str, rules: bool) -> str:
    """The column's value once the directory is applied (bound: `keys` person keys, `values_<column>`)."""
    listed = f"transform(lowerUTF8(person), {{keys:Array(String)}}, {{values_{column}:Array(String)}}, '')"
    value = f"if({listed} != '', {listed}, {column})"
    if column == "team" and rules:
        by_rule = stored_rules_team_sql("user_email")
        value = f"multiIf({listed} != '', {listed}, team = '' AND NOT has({{keys:Array(String)}}, lowerUTF8(person)), "
        value += f"if({by_rule} != '', {by_rule}, team), team)"
    return value


@dataclass(frozen=True)
class PersonChange:
    person: str
    email: str
    old: dict[str, str]
    new: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {"person": self.person, "email": self.email, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Reattribution:
    """What applying the directory changed (or, with `dry_run`, would change)."""

    dry_run: bool
    tables: dict[str, int]
    """Rows changed per raw table."""
    people: tuple[PersonChange, ...] = ()
    days: tuple[date, ...] = ()
    """Days whose rollups were (would be) rebuilt."""
    rollups: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "tables": self.tables,
            "people": [change.as_dict() for change in self.people],
            "days": [day.isoformat() for day in self.days],
            "rollups": list(self.rollups),
        }

    def summary(self) -> str:
        verb = "would change" if self.dry_run else "changed"
        tables = ", ".join(f"{table} {rows}" for table, rows in self.tables.items())
        return f"{verb} {self.rows} rows ({tables}) of {len(self.people)} people over {len(self.days)} days"


def reattribute(
    store: Store,
    snapshot: Snapshot,
    *,
    dry_run: bool,
    person_key: Callable[[str], str] = lambda email: email,
    hashed: bool = False,
) -> Reattribution:
    """Apply the directory `snapshot` to the stored rows (see the module docstring). `person_key` maps a
    directory email to the person key rows carry (its pseudonym with `hash_emails`, then `hashed` is True)."""
    emails = {person_key(email): email for email in snapshot.people}
    params: dict[str, Any] = {"keys": list(emails)}
    for number, column in enumerate(ATTRIBUTED):
        params[f"values_{column}"] = [snapshot.people[email].attribution[number] for email in emails.values()]
    rules = bool(snapshot.rules) and not hashed
    new = {column: _new_sql(column, rules) for column in ATTRIBUTED}
    changed = " OR ".join(f"{column} != {sql}" for column, sql in new.items())
    scope = "has({keys:Array(String)}, lowerUTF8(person))" + (" OR (team = '' AND user_email != '')" if rules else "")
    where = f"({scope}) AND ({changed})"
    if not emails and not rules:
        return Reattribution(dry_run, dict.fromkeys(RAW_TABLES, 0))
    tables = {
        table: int(store.query(f"SELECT count() FROM {table} WHERE {where}", params)[0][0]) for table in RAW_TABLES
    }
    people = _people(store, where, new, params, emails)
    days = _days(store, where, params)
    rebuilt: tuple[str, ...] = ()
    if not dry_run and any(tables.values()):
        assignments = ", ".join(f"{column} = {sql}" for column, sql in new.items())
        for table in RAW_TABLES:
            if tables[table]:
                store.command(
                    f"ALTER TABLE {table} UPDATE {assignments} WHERE {where} SETTINGS mutations_sync = 2", params
                )
        rebuilt = rebuild_rollups(store, days)
    return Reattribution(dry_run, tables, people, days, rebuilt or tuple(r.table for r in ROLLUPS if days))


def _people(
    store: Store, where: str, new: dict[str, str], params: dict[str, Any], emails: dict[str, str]
) -> tuple[PersonChange, ...]:
    """Per person whose rows change: the attribution of their latest changed row, and what it becomes."""
    columns = [*ATTRIBUTED, *(f"{sql} AS new_{column}" for column, sql in new.items())]
    union = " UNION ALL ".join(
        f"SELECT person, user_email, {time} AS t, {', '.join(columns)} FROM {table} WHERE {where}"
        for table, time in RAW_TABLES.items()
    )
    picked = ", ".join(f"argMax({name}, t)" for name in (*ATTRIBUTED, *(f"new_{c}" for c in ATTRIBUTED)))
    rows = store.query(
        f"SELECT person, argMax(user_email, t), {picked} FROM ({union}) GROUP BY person ORDER BY person", params
    )
    count = len(ATTRIBUTED)
    return tuple(
        PersonChange(
            person,
            emails.get(person, email),
            dict(zip(ATTRIBUTED, values[:count], strict=True)),
            dict(zip(ATTRIBUTED, values[count:], strict=True)),
        )
        for person, email, *values in rows
    )


def _days(store: Store, where: str, params: dict[str, Any]) -> tuple[date, ...]:
    union = " UNION DISTINCT ".join(
        f"SELECT DISTINCT toDate({RAW_TABLES[table]}) AS day FROM {table} WHERE {where}" for table in ROLLUP_SOURCES
    )
    return tuple(row[0] for row in store.query(f"SELECT day FROM ({union}) ORDER BY day", params))


def rebuild_rollups(store: Store, days: tuple[date, ...]) -> tuple[str, ...]:
    """Every rollup's rows of `days` rebuilt from the raw rows by the rollup's own view query."""
    if not days:
        return ()
    params = {"days": list(days)}
    for rollup in ROLLUPS:
        store.command(
            f"ALTER TABLE {rollup.table} DELETE WHERE toDate(hour) IN {{days:Array(Date)}} SETTINGS mutations_sync = 2",
            params,
        )
        for source, _ in rollup.sources:
            select = rollup.select(source, where="toDate(ts) IN {days:Array(Date)}")
            store.command(f"INSERT INTO {rollup.table} ({rollup.names}) {select}", params)
    return tuple(rollup.table for rollup in ROLLUPS)
