"""`ccmon forget --person EMAIL`: erase one person's data from every table and rollup, and say what was removed.

It asks a running ccmon (`--url`, an admin's `--token`: POST /api/v1/privacy/forget), or, with `--data-dir`, opens a
stopped server's data folder (the embedded engine is one process's). Both go through `PersonEraser`, which is also
what the server's route calls: it finds every key the person's rows may carry (the address as given, in lower case,
and its pseudonym when the server has a secret to compute one with), erases them (`ccmon.store.erase`) and records
`privacy.forget` in the audit log.

The audit entry names the person by an alias, `forgotten:<keyed hash>`, never by the address: the log is kept long
and read by people, and keeping the address there would keep what was just erased. An admin who is asked "was I
erased?" can compute the same alias from the address (`alias_of`) and find the entry; without the key nobody can
turn the alias back into the address.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import hmac
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import orjson

from ccmon.admin_cli import AdminCliError, add_target_arguments, open_data_folder, request_admin_api
from ccmon.auth.audit import Audit
from ccmon.directory.pseudonyms import SECRET_NAME as PSEUDONYM_SECRET
from ccmon.directory.pseudonyms import pseudonym, pseudonym_secret
from ccmon.onboarding.caller import DEFAULT_URL
from ccmon.reports_cli import TIMEOUT_S
from ccmon.store.erase import Erasure, ErasureError, erase_person
from ccmon.store.facade import Store, StoreError
from ccmon.store.secrets import server_secret, stored_secret

MAX_PERSON = 320
"""Longest person accepted: an email address is at most 254 characters; ids are shorter."""

Pseudonym = Callable[[str], str]


def alias_of(person: str, key: bytes) -> str:
    """The name the audit log keeps for an erased person: a keyed hash of their address, in lower case."""
    digest = hmac.new(key, person.strip().lower().encode(), hashlib.sha256).hexdigest()
    return f"forgotten:{digest[:20]}"


@dataclass(frozen=True)
class ForgetReport:
    person_alias: str
    removed: dict[str, int]
    sessions: int
    audit_entries_renamed: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_alias": self.person_alias,
            "removed": self.removed,
            "sessions": self.sessions,
            "audit_entries_renamed": self.audit_entries_renamed,
        }


class PersonEraser:
    """Erases a person and audits it. `pseudonym` gives an address's pseudonym (`hash_emails`); `alias_key` keys
    the alias the audit log keeps."""

    def __init__(self, store: Store, audit: Audit, *, alias_key: bytes, pseudonym: Pseudonym | None = None) -> None:
        self._store = store
        self._audit = audit
        self._alias_key = alias_key
        self._pseudonym = pseudonym

    def keys_of(self, person: str) -> list[str]:
        """Every value the person's rows may carry as their key."""
        given = person.strip()
        keys = [given]
        if self._pseudonym is not None and "@" in given:
            keys.append(self._pseudonym(given.lower()))
        return keys

    def forget(self, person: str, actor: str, address: str = "") -> ForgetReport:
        """Erase `person` (an email, or a person key as the leaderboard shows it). Raises ValueError for a person
        that cannot be one, `ErasureError` when the erasure cannot run safely."""
        given = person.strip()
        if not given or len(given) > MAX_PERSON or any(ord(c) < 32 for c in given):
            raise ValueError(f"person must be an email or a person key of 1 to {MAX_PERSON} printable characters")
        alias = alias_of(given, self._alias_key)
        try:
            erased: Erasure = erase_person(self._store, self.keys_of(given), alias)
        except Exception as exc:
            self._audit.record(actor, "privacy.forget", alias, "failed", address, type(exc).__name__)
            raise
        # Recorded after the erasure, so the entry itself is not renamed; it holds only the alias and counts.
        total = sum(erased.removed.values())
        detail = f"{total} rows removed from {sum(1 for n in erased.removed.values() if n)} tables"
        self._audit.record(actor, "privacy.forget", alias, "ok", address, detail)
        return ForgetReport(alias, erased.removed, erased.sessions, erased.audit_entries_renamed)


ALIAS_SECRET = "privacy.forget_alias"
"""The `server_secrets` row keying the aliases of erased people."""


def open_eraser(store: Store, *, hash_emails: bool = False, hash_secret: str | None = None) -> PersonEraser:
    """The eraser of a migrated store, as the server and the offline command use it.

    The pseudonym of the address is erased too whenever one may have been stored: with `hash_emails` on, and also
    when it is off but a pseudonym secret exists (it was on before, and rows of then hold pseudonyms)."""
    key = pseudonym_secret(store, hash_secret) if hash_emails or hash_secret else stored_secret(store, PSEUDONYM_SECRET)
    return PersonEraser(
        store,
        Audit(store),
        alias_key=server_secret(store, ALIAS_SECRET),
        pseudonym=(lambda email: pseudonym(key, email)) if key is not None else None,
    )


@dataclass(frozen=True)
class ForgetArgs:
    person: str
    url: str = DEFAULT_URL
    token: str | None = None
    data_dir: str | None = None
    database: str = "ccmon"
    json: bool = False
    hash_emails: bool = False
    hash_secret: str | None = None
    """Offline: the server's `hash_emails` and `hash_secret` (from CCMON_* or CCMON_CONFIG), to erase pseudonyms."""


class ForgetError(AdminCliError):
    """`ccmon forget`'s one-line failures."""


def _remote(args: ForgetArgs) -> dict[str, Any]:
    body: dict[str, Any] = request_admin_api(
        args.url,
        args.token,
        lambda client: client.post("/api/v1/privacy/forget", json={"person": args.person}),
        forbidden="erasing a person needs the admin role",
        credential="an admin's API key or token",
        timeout=TIMEOUT_S * 5,  # an erasure of a busy person can take a while
        timed_out="did not answer in time: the erasure may still be running; see its log",
        not_found="has no /api/v1/privacy/forget (404): is it a ccmon server as new as this one?",
        error=ForgetError,
    )
    return body


def _offline(args: ForgetArgs) -> dict[str, Any]:
    with open_data_folder(args.data_dir or "", args.database, error=ForgetError) as store:
        actor = f"cli:{getpass.getuser()}@{socket.gethostname()}"
        eraser = open_eraser(store, hash_emails=args.hash_emails, hash_secret=args.hash_secret)
        return eraser.forget(args.person, actor).as_dict()


def run(args: ForgetArgs, out: TextIO = sys.stdout) -> int:
    try:
        report = _offline(args) if args.data_dir else _remote(args)
    except ValueError as exc:
        print(f"ccmon forget: {exc}", file=sys.stderr)
        return 2
    except (ForgetError, StoreError, ErasureError) as exc:
        print(f"ccmon forget: {exc}", file=sys.stderr)
        return exc.status if isinstance(exc, ForgetError) else 1
    if args.json:
        out.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    removed: dict[str, int] = report["removed"]
    width = max((len(t) for t in removed), default=5)
    out.write(f"erased {report['person_alias']} (the audit log's name for them)\n")
    for table, rows in sorted(removed.items()):
        if rows:
            out.write(f"  {table:<{width}}  {rows:>10,} rows\n")
    out.write(
        f"{sum(removed.values()):,} rows removed in total, {report['sessions']} sessions; "
        f"{report['audit_entries_renamed']} audit entries renamed\n"
    )
    return 0


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """`ccmon forget`'s parser, added to the command line's subcommands."""
    forget = commands.add_parser(
        "forget",
        help="erase one person's data from every table and rollup",
        description="Erase a person's telemetry, rollup rows, login, sessions, API keys and directory entry, and "
        "rename them in the audit log. Asks a running ccmon (an admin's --token), or opens a stopped server's "
        "--data-dir. Stop the person's telemetry first: what they send afterwards is stored again.",
    )
    forget.add_argument("--person", required=True, help="the person's email, or their person key")
    add_target_arguments(forget)
    return forget  # type: ignore[no-any-return]


def main(args: argparse.Namespace) -> int:
    from ccmon.settings import ConfigError, load_config

    try:
        config = load_config()  # the server's hash_emails and hash_secret, as `ccmon serve` would read them
    except ConfigError as exc:
        print(f"ccmon forget: {exc}", file=sys.stderr)
        return 2
    return run(
        ForgetArgs(
            args.person,
            args.url,
            args.token,
            args.data_dir,
            args.database,
            args.json,
            hash_emails=config.hash_emails,
            hash_secret=config.hash_secret,
        )
    )
