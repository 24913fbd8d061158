"""The audit log: who did what to ccmon's access and data, when, from where, and whether it worked.

Every module that changes access or data records here (`Audit(store).record(...)`): logins and their failures,
logouts, users, API keys, ingest tokens, directory loads, erasures and exports. Admins read it newest first
(`GET /api/v1/audit`), a page at a time.

Actions are dotted names: `login.ok`, `login.failed`, `logout`, `user.create`, `user.update`, `user.delete`,
`apikey.create`, `apikey.revoke`, `token.create`, `token.rotate`, `token.revoke`, `directory.load`,
`directory.apply`, `privacy.forget`, `export`, ...

Never pass a password, a token, a session id or an API key in `detail` or `target`: the log is read by people, copied
into tickets and kept long. Name the thing (an email, a key's id or name) instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from ccmon.store.facade import Store

log = logging.getLogger(__name__)

MAX_FIELD = 2000
"""Longest value kept per field: an audit entry describes, it does not carry data (nor a hostile 1 MiB name)."""

MAX_PAGE = 1000

_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("us", tz="UTC")),
        ("actor", pa.string()),
        ("action", pa.string()),
        ("target", pa.string()),
        ("outcome", pa.string()),
        ("address", pa.string()),
        ("detail", pa.string()),
    ]
)

# The row's place in the newest-first order: its instant, then a hash of its content, so entries of the same
# microsecond are neither repeated nor skipped across pages.
_ORDER = "(toUnixTimestamp64Micro(ts), cityHash64(actor, action, target, outcome, address, detail))"


@dataclass(frozen=True)
class AuditEntry:
    ts: str
    """RFC 3339, UTC, microseconds."""
    actor: str
    action: str
    target: str
    outcome: str
    address: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: str | None
    """Pass as `before` for the next (older) page; None when this was the last."""


class InvalidCursor(ValueError):
    """A `before` cursor that is not one this module gave out."""


def _clip(value: str) -> str:
    return value if len(value) <= MAX_FIELD else value[: MAX_FIELD - 1] + "…"


class Audit:
    """Writes and reads `audit_log`. Thread-safe (the store gives each thread its own client)."""

    def __init__(self, store: Store, clock: Callable[[], dt.datetime] | None = None) -> None:
        self._store = store
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def record(  # noqa: PLR0917 - the shared contract takes them in this order
        self,
        actor: str,
        action: str,
        target: str,
        outcome: str = "ok",
        address: str = "",
        detail: str = "",
    ) -> None:
        """Append one entry. A failure to write is logged, not raised: an audit hiccup must not turn a login or a
        revocation into an error page (and the action itself already happened)."""
        row = {
            "ts": [self._clock()],
            "actor": [_clip(actor)],
            "action": [_clip(action)],
            "target": [_clip(target)],
            "outcome": [_clip(outcome)],
            "address": [_clip(address)],
            "detail": [_clip(detail)],
        }
        try:
            self._store.insert("audit_log", pa.table(row, schema=_SCHEMA))
        except Exception:
            log.exception("could not write an audit entry", extra={"action": action, "actor": actor[:200]})

    def entries(self, limit: int = 100, before: str | None = None) -> AuditPage:
        """A page of entries, newest first; `before` is the previous page's `next_cursor`."""
        limit = max(1, min(limit, MAX_PAGE))
        params: dict[str, Any] = {"limit": limit + 1}
        where = "1"
        if before:
            micros, hashed = _parse_cursor(before)
            where = f"{_ORDER} < ({{before_us:Int64}}, {{before_hash:UInt64}})"
            params.update(before_us=micros, before_hash=hashed)
        rows = self._store.query(
            f"""
            SELECT ts, actor, action, target, outcome, address, detail,
                   toUnixTimestamp64Micro(ts), cityHash64(actor, action, target, outcome, address, detail)
            FROM audit_log
            WHERE {where}
            ORDER BY {_ORDER} DESC
            LIMIT {{limit:UInt32}}
            """,
            params,
        )
        page = rows[:limit]
        entries = [
            AuditEntry(_instant(ts), actor, action, target, outcome, address, detail)
            for ts, actor, action, target, outcome, address, detail, _, _ in page
        ]
        next_cursor = f"{page[-1][7]}.{page[-1][8]}" if len(rows) > limit else None
        return AuditPage(entries, next_cursor)


def _parse_cursor(cursor: str) -> tuple[int, int]:
    micros, sep, hashed = cursor.partition(".")
    try:
        if not sep:
            raise ValueError
        value = int(micros), int(hashed)
    except ValueError:
        raise InvalidCursor(f"before: {cursor[:64]!r} is not a cursor from a previous page") from None
    if not (0 <= value[0] < 2**63 and 0 <= value[1] < 2**64):
        raise InvalidCursor(f"before: {cursor[:64]!r} is not a cursor from a previous page")
    return value


def _instant(ts: dt.datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
