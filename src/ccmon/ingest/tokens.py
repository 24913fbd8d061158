"""Ingest tokens kept in the store: created, listed, rotated and revoked by admins, each pinning attributes.

A token is `ccmi_` followed by 32 random bytes (urlsafe base64). Only its SHA-256 is stored. A fast, unsalted hash is
the right tool here, unlike for passwords: 256 random bits cannot be guessed or looked up in a table, so slowing each
try (argon2, bcrypt) would buy nothing, while every export request pays for the hash.

Pinned attributes (organisation, team, department, cost centre) travel with each request authorised by the token
(`IngestBatch.pins`) and override what the client claims, so one team cannot write as another.

Every process keeps all tokens in memory, keyed by hash, and reloads them from the store every `refresh_s` seconds:
a token revoked by another process sharing the store stops working within that delay, in this process at once. Each
token's last use is kept in memory and written to `ingest_token_seen` every `flush_s` seconds and at shutdown.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import pyarrow as pa

from ccmon.ingest.ratelimit import TokenBucket
from ccmon.store.facade import Store

log = logging.getLogger(__name__)

PREFIX = "ccmi_"
REFRESH_S = 5.0
FLUSH_SEEN_S = 30.0
MAX_TEXT = 200
"""Longest name or pinned value accepted."""

PIN_COLUMNS: dict[str, str] = {
    "organization": "organization_id",
    "team": "team",
    "department": "department",
    "cost_center": "cost_center",
}
"""Each pinnable attribute and the telemetry column it overrides."""

_TS = pa.timestamp("us", tz="UTC")
_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("name", pa.string()),
        ("token_hash", pa.string()),
        ("organization", pa.string()),
        ("team", pa.string()),
        ("department", pa.string()),
        ("cost_center", pa.string()),
        ("rate_limit_per_s", pa.float64()),
        ("rate_limit_burst", pa.float64()),
        ("created_by", pa.string()),
        ("created_at", _TS),
        ("expires_at", _TS),
        ("revoked", pa.bool_()),
        ("updated_at", _TS),
    ]
)
_SEEN_SCHEMA = pa.schema([("id", pa.string()), ("seen_at", _TS)])


class TokenNotFound(LookupError):
    """No token has this id."""


@dataclass(frozen=True)
class Grant:
    """What an export request's credential allows: who it is (a token's id, "static" for a configured token, "open"
    when none is asked) and the attributes pinned to its rows."""

    token: str
    pins: tuple[tuple[str, str], ...] = ()
    limiter: TokenBucket | None = field(default=None, compare=False)


STATIC = Grant("static")
OPEN = Grant("open")


@dataclass(frozen=True)
class TokenInfo:
    """A token as admins see it (never its secret nor its hash)."""

    id: str
    name: str
    organization: str
    team: str
    department: str
    cost_center: str
    rate_limit_per_s: float | None
    rate_limit_burst: float | None
    created_by: str
    created_at: str
    expires_at: str | None
    revoked: bool
    last_seen: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Record:
    id: str
    name: str
    token_hash: str
    organization: str
    team: str
    department: str
    cost_center: str
    rate_limit_per_s: float
    rate_limit_burst: float
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked: bool
    updated_at: dt.datetime

    @property
    def pins(self) -> tuple[tuple[str, str], ...]:
        return tuple((column, value) for key, column in PIN_COLUMNS.items() if (value := getattr(self, key)))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def _text(what: str, value: str, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{what} is longer than {MAX_TEXT} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{what} must not contain control characters")
    return value


def _instant(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class IngestTokens:
    """The registry of ingest tokens over the store. Thread-safe: both receivers call `authorize`."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        refresh_s: float = REFRESH_S,
        flush_s: float = FLUSH_SEEN_S,
    ) -> None:
        self._store = store
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.refresh_s = refresh_s
        self.flush_s = flush_s
        self._lock = threading.Lock()
        self._by_hash: dict[str, _Record] = {}
        self._records: dict[str, _Record] = {}
        self._limiters: dict[str, TokenBucket] = {}
        self._seen: dict[str, dt.datetime] = {}
        self._unflushed: dict[str, dt.datetime] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- admin operations -------------------------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        organization: str = "",
        team: str = "",
        department: str = "",
        cost_center: str = "",
        rate_limit_per_s: float | None = None,
        rate_limit_burst: float | None = None,
        expires_at: dt.datetime | None = None,
        created_by: str = "",
    ) -> tuple[TokenInfo, str]:
        """A new token and its secret, which is shown this once and never stored."""
        now = self._clock()
        if rate_limit_per_s is not None and not (math.isfinite(rate_limit_per_s) and rate_limit_per_s > 0):
            raise ValueError("rate_limit_per_s must be a number greater than 0")
        if rate_limit_burst is not None:
            if rate_limit_per_s is None:
                raise ValueError("rate_limit_burst needs rate_limit_per_s")
            if not (math.isfinite(rate_limit_burst) and rate_limit_burst >= 1):
                raise ValueError("rate_limit_burst must be a number of at least 1")
        if expires_at is not None and _utc(expires_at) <= now:
            raise ValueError("expires_at is in the past")
        secret = new_secret()
        record = _Record(
            id=secrets.token_hex(8),
            name=_text("name", name, required=True),
            token_hash=hash_token(secret),
            organization=_text("organization", organization),
            team=_text("team", team),
            department=_text("department", department),
            cost_center=_text("cost_center", cost_center),
            rate_limit_per_s=rate_limit_per_s or 0.0,
            rate_limit_burst=rate_limit_burst or (rate_limit_per_s or 0.0),
            created_by=_text("created_by", created_by[:MAX_TEXT]),
            created_at=now,
            expires_at=None if expires_at is None else _utc(expires_at),
            revoked=False,
            updated_at=now,
        )
        self._write(record)
        return self._info(record), secret

    def list(self) -> list[TokenInfo]:
        """Every token, revoked ones too, oldest first."""
        self.refresh()
        seen = self._stored_seen()
        with self._lock:
            records = sorted(self._records.values(), key=lambda r: (r.created_at, r.id))
            for token_id, at in self._seen.items():
                if token_id not in seen or seen[token_id] < at:
                    seen[token_id] = at
        return [self._info(r, seen.get(r.id)) for r in records]

    def rotate(self, token_id: str) -> tuple[TokenInfo, str]:
        """A new secret for the token (same id, pins and limit); the old secret stops working."""
        record = self._current(token_id)
        if record.revoked:
            raise ValueError(f"token {token_id} is revoked")
        secret = new_secret()
        self._write(replace(record, token_hash=hash_token(secret), updated_at=self._next_version(record)))
        return self._info(self._current(token_id)), secret

    def revoke(self, token_id: str) -> TokenInfo:
        record = self._current(token_id)
        if not record.revoked:
            self._write(replace(record, revoked=True, updated_at=self._next_version(record)))
        return self._info(self._current(token_id))

    # --- authorisation ----------------------------------------------------------------------------------------

    def required(self) -> bool:
        """Whether exports must present a token: once any token was created, revoked ones included, so revoking
        the last token closes ingest rather than opening it to anyone."""
        with self._lock:
            return bool(self._records)

    def authorize(self, presented: str) -> Grant | None:
        """The grant for a presented secret, or None (unknown, rotated, revoked or expired)."""
        if not presented.startswith(PREFIX):
            return None
        # A dictionary lookup by hash: timing can at most tell how a guess's SHA-256 compares with stored hashes,
        # which says nothing usable about any secret (finding an input with a chosen hash is the hard problem).
        digest = hash_token(presented)
        with self._lock:
            record = self._by_hash.get(digest)
        if record is None:
            return None
        now = self._clock()
        if record.expires_at is not None and record.expires_at <= now:
            return None
        with self._lock:
            self._seen[record.id] = now
            self._unflushed[record.id] = now
            limiter = self._limiters.get(record.id)
        return Grant(record.id, record.pins, limiter)

    # --- cache and background work ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload every token from the store."""
        rows = self._store.query(
            "SELECT id, name, token_hash, organization, team, department, cost_center, rate_limit_per_s, "
            "rate_limit_burst, created_by, created_at, expires_at, revoked, updated_at FROM ingest_tokens FINAL"
        )
        records = {}
        for row in rows:
            values = list(row)
            for i in (10, 11, 13):
                if values[i] is not None:
                    values[i] = _utc(values[i])
            record = _Record(*values)
            records[record.id] = record
        with self._lock:
            self._records = records
            self._by_hash = {r.token_hash: r for r in records.values() if not r.revoked}
            limiters = {}
            for r in records.values():
                if r.revoked or r.rate_limit_per_s <= 0:
                    continue
                old = self._limiters.get(r.id)
                same = old is not None and old.rate == r.rate_limit_per_s and old.burst == max(r.rate_limit_burst, 1)
                limiters[r.id] = old if same and old else TokenBucket(r.rate_limit_per_s, r.rate_limit_burst)
            self._limiters = limiters

    def flush_seen(self) -> None:
        """Write the last-use times gathered since the previous flush."""
        with self._lock:
            pending, self._unflushed = self._unflushed, {}
        if not pending:
            return
        table = pa.table(
            {"id": list(pending), "seen_at": list(pending.values())},
            schema=_SEEN_SCHEMA,
        )
        try:
            self._store.insert("ingest_token_seen", table)
        except Exception:
            log.exception("could not record when ingest tokens were last used")
            with self._lock:
                for token_id, at in pending.items():
                    self._unflushed.setdefault(token_id, at)

    def start(self) -> None:
        """Load the tokens, then keep them fresh and flush last-use times in a background thread."""
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="ccmon-ingest-tokens", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush_seen()

    def _run(self) -> None:
        clock = 0.0
        while not self._stop.wait(self.refresh_s):
            clock += self.refresh_s
            try:
                self.refresh()
            except Exception:
                log.exception("could not reload the ingest tokens (the previous ones stay in use)")
            if clock >= self.flush_s:
                clock = 0.0
                self.flush_seen()

    # --- store ------------------------------------------------------------------------------------------------

    def _current(self, token_id: str) -> _Record:
        self.refresh()
        with self._lock:
            record = self._records.get(token_id)
        if record is None:
            raise TokenNotFound(f"no ingest token with id {token_id[:64]!r}")
        return record

    def _next_version(self, record: _Record) -> dt.datetime:
        """A version after the record's, even within one microsecond of its write."""
        return max(self._clock(), record.updated_at + dt.timedelta(microseconds=1))

    def _write(self, record: _Record) -> None:
        values = asdict(record)
        self._store.insert("ingest_tokens", pa.table({k: [v] for k, v in values.items()}, schema=_SCHEMA))
        self.refresh()

    def _stored_seen(self) -> dict[str, dt.datetime]:
        rows = self._store.query("SELECT id, max(seen_at) FROM ingest_token_seen GROUP BY id")
        return {token_id: _utc(at) for token_id, at in rows}

    def _info(self, record: _Record, last_seen: dt.datetime | None = None) -> TokenInfo:
        if last_seen is None:
            with self._lock:
                last_seen = self._seen.get(record.id)
        return TokenInfo(
            id=record.id,
            name=record.name,
            organization=record.organization,
            team=record.team,
            department=record.department,
            cost_center=record.cost_center,
            rate_limit_per_s=record.rate_limit_per_s or None,
            rate_limit_burst=record.rate_limit_burst or None,
            created_by=record.created_by,
            created_at=_instant(record.created_at) or "",
            expires_at=_instant(record.expires_at),
            revoked=record.revoked,
            last_seen=_instant(last_seen),
        )
