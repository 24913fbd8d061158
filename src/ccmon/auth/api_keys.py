"""API keys for automation: `Authorization: Bearer ccmk_...`, each with a role and an optional person, team or
department it stands for, an optional expiry, revocable.

A key is `ccmk_` and 32 random bytes (urlsafe base64), shown once when created. Only its SHA-256 is stored. Not
argon2: a slow hash protects low-entropy secrets people choose (passwords) against guessing from a stolen hash;
a 256-bit random key cannot be guessed whatever the hash costs, and the key is checked on every API request, where
argon2's ~50 ms and 64 MiB per check would be a denial of service. SHA-256 also lets the store find the key by
its hash directly (`WHERE key_hash = ...`), which a salted hash would not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from ccmon.auth.principal import Role
from ccmon.auth.records import TIMESTAMP, Clock, VersionClock, as_utc, clean_text, insert_rows, utc_now
from ccmon.store.facade import Store

PREFIX = "ccmk_"
CACHE_S = 3.0
MAX_KEY = 100
MAX_YEAR = 2200

_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("name", pa.string()),
        ("key_hash", pa.string()),
        ("role", pa.string()),
        ("person", pa.string()),
        ("team", pa.string()),
        ("department", pa.string()),
        ("created_by", pa.string()),
        ("created_at", TIMESTAMP),
        ("expires_at", TIMESTAMP),
        ("revoked", pa.bool_()),
        ("updated_at", TIMESTAMP),
    ]
)

_COLUMNS = "id, name, key_hash, role, person, team, department, created_by, created_at, expires_at, revoked"


class ApiKeyError(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    key_hash: str
    role: Role
    person: str
    team: str
    department: str
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked: bool

    def public(self) -> dict[str, Any]:
        """The key as the API lists it: never the key or its hash."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "person": self.person,
            "team": self.team,
            "department": self.department,
            "created_by": self.created_by,
            "created_at": _text(self.created_at),
            "expires_at": _text(self.expires_at) if self.expires_at else None,
            "revoked": self.revoked,
        }


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    def __init__(self, store: Store, clock: Clock = utc_now, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._clock = VersionClock(clock)
        self._monotonic = monotonic
        self._cache: OrderedDict[str, tuple[float, ApiKey | None]] = OrderedDict()
        self._lock = threading.Lock()
        self.changed: list[Callable[[], object]] = []
        """Called after each change (the authenticator decides again whether logins are required)."""

    def _rows(self, where: str, params: dict[str, Any]) -> list[ApiKey]:
        rows = self._store.query(
            f"SELECT {_COLUMNS} FROM api_keys FINAL WHERE {where} ORDER BY created_at DESC, id LIMIT 100000", params
        )
        keys = []
        for i, name, key_hash, role, person, team, dept, by, created, expires, revoked in rows:
            try:
                parsed = Role.parse(role)
            except ValueError:
                continue
            created_at = as_utc(created)
            assert created_at is not None
            keys.append(ApiKey(i, name, key_hash, parsed, person, team, dept, by, created_at, as_utc(expires), revoked))
        return keys

    def list(self) -> list[ApiKey]:
        return self._rows("1", {})

    def get(self, key_id: str) -> ApiKey | None:
        found = self._rows("id = {id:String}", {"id": key_id[:100]})
        return found[0] if found else None

    def any(self) -> bool:
        return bool(self._store.query("SELECT 1 FROM api_keys FINAL WHERE NOT revoked LIMIT 1"))

    def create(
        self,
        name: str,
        *,
        role: Role,
        person: str = "",
        team: str = "",
        department: str = "",
        expires_at: dt.datetime | None = None,
        created_by: str = "",
    ) -> tuple[ApiKey, str]:
        """A new key: (its record, the key itself, to show once)."""
        try:
            name = clean_text(name, "name")
            person, team, department = (
                clean_text(person, "person", 254),
                clean_text(team, "team"),
                clean_text(department, "department"),
            )
        except ValueError as exc:
            raise ApiKeyError(str(exc)) from None
        if not name:
            raise ApiKeyError("an API key needs a name")
        now = self._clock.wall()
        if expires_at is not None:
            expires_at = as_utc(expires_at)
            if expires_at is None or expires_at <= now:
                raise ApiKeyError("expires_at is in the past")
            if expires_at.year >= MAX_YEAR:  # beyond what the store's DateTime64 holds
                raise ApiKeyError(f"expires_at must be before {MAX_YEAR}")
        key = PREFIX + secrets.token_urlsafe(32)
        record = ApiKey(
            "k_" + secrets.token_hex(8), name, hash_key(key), role, person, team, department, created_by, now,
            expires_at, False,
        )  # fmt: skip
        self._write(record)
        return record, key

    def revoke(self, key_id: str) -> ApiKey:
        record = self.get(key_id)
        if record is None:
            raise ApiKeyError(f"no API key {key_id[:80]!r}", 404)
        revoked = replace(record, revoked=True)
        self._write(revoked)
        with self._lock:
            self._cache.pop(record.key_hash, None)
        return revoked

    def verify(self, key: str) -> ApiKey | None:
        """The live key (not revoked, not expired) this bearer credential is, or None."""
        if not key.startswith(PREFIX) or len(key) > MAX_KEY:
            return None
        key_hash = hash_key(key)
        now = self._monotonic()
        with self._lock:
            hit = self._cache.get(key_hash)
        if hit is not None and now - hit[0] < CACHE_S:
            record = hit[1]
        else:
            found = self._rows("key_hash = {h:String}", {"h": key_hash})
            record = found[0] if found else None
            with self._lock:
                self._cache[key_hash] = (now, record)
                self._cache.move_to_end(key_hash)
                while len(self._cache) > 10_000:
                    self._cache.popitem(last=False)
        if record is None or record.revoked:
            return None
        if record.expires_at is not None and self._clock.wall() >= record.expires_at:
            return None
        return record

    def _write(self, record: ApiKey) -> None:
        row = {
            "id": record.id,
            "name": record.name,
            "key_hash": record.key_hash,
            "role": record.role.value,
            "person": record.person,
            "team": record.team,
            "department": record.department,
            "created_by": record.created_by,
            "created_at": record.created_at,
            "expires_at": record.expires_at,
            "revoked": record.revoked,
            "updated_at": self._clock.version(),
        }
        insert_rows(self._store, "api_keys", _SCHEMA, [row])
        for listener in self.changed:
            listener()


def _text(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
