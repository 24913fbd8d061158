"""Erasure of one person's data from every table: the right to be forgotten (`ccmon forget`, POST
/api/v1/privacy/forget).

What holds a person is found from the database itself, not from a list kept by hand, so a table added later cannot
be forgotten: every MergeTree table with an identity column (`IDENTITY_COLUMNS`: the person key, the email, the
account and user ids) or a `session_id` loses the rows that match the person's keys or one of their sessions (found
first in the raw rows). That covers the raw telemetry, every rollup keyed by person or session, logins, login
sessions, API keys, the directory, and alerting's label sets and documents (`LABELS_COLUMNS`, `DOCUMENT_COLUMNS`: an
alert about the person, a budget or silence naming them, a notification listing them). Rollups that sum across
people without keeping the person (`metrics_by_day`, `events_by_day`) are rebuilt, for the days the person had data,
from their hourly rollup once the person is gone from it; so the rollups still equal the raw rows. A table that
holds none of these columns must be declared in `NOT_PERSONAL` or be such a rebuilt rollup, else the erasure refuses
to run (and the tests fail) rather than leave a copy behind.

The audit log keeps what happened but not who: the person's keys in it are replaced by an alias the caller gives (a
keyed hash, so an admin holding the email can still tell the entries apart, and nobody without the server's secret
can reverse it).

Deletions are synchronous mutations (`mutations_sync = 2`): when `erase_person` returns, no query sees the rows. The
keys are passed through a temporary in-memory table, so ClickHouse's record of the mutations (kept on disk as text)
names that table, never the email. ClickHouse removes the files of the replaced parts a few minutes later
(`old_parts_lifetime`, 8 minutes by default).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from ccmon.store.facade import Store
from ccmon.store.rollups import CURRENT, Rollup

log = logging.getLogger(__name__)

IDENTITY_COLUMNS = ("person", "user_email", "user_id", "user_account_uuid", "email")
"""Columns whose value can name a person (an email, its pseudonym, an account uuid, a user id)."""

SESSION_COLUMN = "session_id"

LABELS_COLUMNS = ("labels",)
"""Label sets (`Map(String, String)`: alert instances and their history): a row goes when one of its label values is
one of the person's keys or sessions."""

DOCUMENT_COLUMNS = ("definition", "notification")
"""JSON documents (rules, silences, budgets and policies; queued notifications) that may name a person in a filter,
a matcher, a scope or a label: a row goes when one of the person's keys occurs in it."""

NOT_PERSONAL = frozenset(
    {
        "schema_migrations",
        "ingest_requests",  # digests of export requests
        "ingest_suspects",  # dedup keys
        "client_pings",  # ids of `ccmon doctor`'s test signals
        "report_runs",  # when each scheduled report was sent
        "server_secrets",
        "ingest_tokens",  # pinned organisation/team/department; `created_by` names an admin, kept as a record
        "ingest_token_seen",
        "directory_rules",  # email patterns and teams, not people
        "audit_log",  # rewritten, not deleted from: see the module docstring
        "leases",  # which ccmon process evaluates alerts (host:pid)
    }
)
"""Tables that hold nothing that names a person (or, the audit log, are handled apart)."""

AUDIT_TABLE = "audit_log"


class ErasureError(RuntimeError):
    """The erasure cannot run safely; the message says why."""


@dataclass(frozen=True)
class Erasure:
    removed: dict[str, int]
    """Rows removed per table (for a rebuilt rollup: how many fewer rows it holds)."""
    sessions: int
    """The person's sessions found, whose rows were removed also where they carried no identity."""
    audit_entries_renamed: int
    rebuilt: tuple[str, ...] = field(default=())


def _rebuilt_rollups() -> dict[str, tuple[Rollup, Rollup]]:
    """Rollups without a person key, and the finer rollup (with the person) each is rebuilt from."""
    return {
        rollup.table: (rollup, source)
        for rollup, source in CURRENT
        if source is not None and "person" not in rollup.column_names and SESSION_COLUMN not in rollup.column_names
    }


def personal_tables(store: Store) -> dict[str, tuple[str, ...]]:
    """Every MergeTree table of the store's database with the identity and session columns it holds; raises
    `ErasureError` for a table that holds none and is neither declared `NOT_PERSONAL` nor a rebuilt rollup."""
    rows = store.query(
        "SELECT t.name, groupArray(c.name) FROM system.tables AS t "
        "LEFT JOIN system.columns AS c ON c.database = t.database AND c.table = t.name "
        "WHERE t.database = {db:String} AND t.engine LIKE '%MergeTree' GROUP BY t.name ORDER BY t.name",
        {"db": store.database},
    )
    known = set(NOT_PERSONAL) | set(_rebuilt_rollups())
    found: dict[str, tuple[str, ...]] = {}
    unknown = []
    for table, columns in rows:
        matched = tuple(
            c for c in (*IDENTITY_COLUMNS, SESSION_COLUMN, *LABELS_COLUMNS, *DOCUMENT_COLUMNS) if c in columns
        )
        if table in NOT_PERSONAL:
            continue
        if matched:
            found[str(table)] = matched
        elif table not in known:
            unknown.append(str(table))
    if unknown:
        raise ErasureError(
            f"tables {', '.join(unknown)} have no identity column and are not declared in ccmon.store.erase: "
            "say how a person is erased from them"
        )
    return found


def erase_person(store: Store, keys: Sequence[str], alias: str) -> Erasure:
    """Remove every row naming one of `keys` (a person's email, its pseudonym, their person key, account or user
    id) or one of their sessions, from every table; rename them `alias` in the audit log."""
    # Compared in lower case: an address is the same whatever its case (ids and pseudonyms are lower-case hex).
    wanted = sorted({k.strip().lower() for k in keys if k.strip()})
    if not wanted:
        raise ErasureError("no person to erase: give an email or a person key")
    tables = personal_tables(store)
    rebuilt = _rebuilt_rollups()
    marks = f"ccmon_forget_{uuid.uuid4().hex}"
    store.command(f"CREATE TABLE {marks} (kind LowCardinality(String), value String) ENGINE = Memory")
    try:
        store.command(f"INSERT INTO {marks} SELECT 'key', arrayJoin({{keys:Array(String)}})", {"keys": wanted})
        in_keys = f"(SELECT value FROM {marks} WHERE kind = 'key')"
        in_sessions = f"(SELECT value FROM {marks} WHERE kind = 'session')"

        all_keys = f"(SELECT groupArray(value) FROM {marks} WHERE kind = 'key')"
        all_sessions = f"(SELECT groupArray(value) FROM {marks} WHERE kind = 'session')"

        def matches(columns: tuple[str, ...], sessions: bool = True) -> str:
            terms = [f"lower({c}) IN {in_keys}" for c in columns if c in IDENTITY_COLUMNS]
            if sessions and SESSION_COLUMN in columns:
                terms.append(f"{SESSION_COLUMN} IN {in_sessions}")
            for c in columns:
                if c in LABELS_COLUMNS:
                    values = f"arrayMap(v -> lower(v), mapValues({c}))"
                    terms.append(f"hasAny({values}, {all_keys})")
                    if sessions:
                        terms.append(f"hasAny(mapValues({c}), {all_sessions})")
                elif c in DOCUMENT_COLUMNS:
                    terms.append(f"multiSearchAnyCaseInsensitive({c}, {all_keys})")
            return " OR ".join(terms) or "0"

        for table, columns in tables.items():
            if SESSION_COLUMN in columns and len(columns) > 1:
                store.command(
                    f"INSERT INTO {marks} SELECT DISTINCT 'session', {SESSION_COLUMN} FROM {table} "
                    f"WHERE ({matches(columns, sessions=False)}) AND {SESSION_COLUMN} != '' "
                    f"AND {SESSION_COLUMN} NOT IN {in_sessions}"
                )
        sessions = int(store.query(f"SELECT count() FROM {marks} WHERE kind = 'session'")[0][0])
        # The days a person-less rollup must be rebuilt for, read before the person leaves its source.
        days = {
            table: [
                int(row[0])
                for row in store.query(
                    f"SELECT DISTINCT toUnixTimestamp({rollup.truncate('hour')}) FROM {source.table} "
                    f"WHERE lower(person) IN {in_keys}"
                )
            ]
            for table, (rollup, source) in rebuilt.items()
        }
        removed: dict[str, int] = {}
        for table, columns in tables.items():
            where = matches(columns)
            count = int(store.query(f"SELECT count() FROM {table} WHERE {where}")[0][0])
            if count:
                store.command(f"ALTER TABLE {table} DELETE WHERE {where} SETTINGS mutations_sync = 2")
            removed[table] = count
        for table, (rollup, source) in rebuilt.items():
            removed[table] = _rebuild(store, rollup, source, days[table]) if days[table] else 0
        renamed = _rename_in_audit(store, marks, alias)
    finally:
        store.command(f"DROP TABLE IF EXISTS {marks} SYNC")
    result = Erasure(removed, sessions, renamed, tuple(rebuilt))
    log.info(
        "erased a person",
        extra={"alias": alias, "rows_removed": sum(removed.values()), "sessions": sessions, "audit_renamed": renamed},
    )
    return result


def _rebuild(store: Store, rollup: Rollup, source: Rollup, days: list[int]) -> int:
    """Recompute `rollup`'s rows of `days` from `source`; returns how many fewer rows it holds.

    Rows that ingest adds to these days between the deletion and the insert would count twice in this rollup (its
    view adds them, and so does the insert): an erasure is rare and short, but run it when the person no longer sends.
    """
    params = {"days": days}
    in_days = "toUnixTimestamp(hour) IN {days:Array(UInt32)}"
    in_source_days = f"toUnixTimestamp({rollup.truncate('hour')}) IN {{days:Array(UInt32)}}"
    before = int(store.query(f"SELECT count() FROM {rollup.table} WHERE {in_days}", params)[0][0])
    store.command(f"ALTER TABLE {rollup.table} DELETE WHERE {in_days} SETTINGS mutations_sync = 2", params)
    select = rollup.select_from(source).replace(
        f" FROM {source.table} ", f" FROM {source.table} WHERE {in_source_days} "
    )
    store.command(f"INSERT INTO {rollup.table} {select}", params)
    after = int(store.query(f"SELECT count() FROM {rollup.table} WHERE {in_days}", params)[0][0])
    return max(before - after, 0)


def _rename_in_audit(store: Store, marks: str, alias: str) -> int:
    """Replace the person's keys by `alias` in the audit log (whole fields, and within the free-text detail)."""
    keys = f"(SELECT groupArray(value) FROM {marks} WHERE kind = 'key')"
    in_keys = f"(SELECT value FROM {marks} WHERE kind = 'key')"
    where = f"multiSearchAnyCaseInsensitive(concat(actor, ' ', target, ' ', detail), {keys})"
    count = int(store.query(f"SELECT count() FROM {AUDIT_TABLE} WHERE {where}")[0][0])
    if count:
        store.command(
            f"ALTER TABLE {AUDIT_TABLE} UPDATE "
            f"actor = if(lower(actor) IN {in_keys}, {{alias:String}}, actor), "
            f"target = if(lower(target) IN {in_keys}, {{alias:String}}, target), "
            "detail = arrayFold((acc, k) -> replaceRegexpAll(acc, concat('(?i)', regexpQuoteMeta(k)), {alias:String}), "
            f"{keys}, detail) "
            f"WHERE {where} SETTINGS mutations_sync = 2",
            {"alias": alias},
        )
    return count
