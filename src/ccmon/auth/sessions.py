"""Login sessions: a random cookie for a browser, its CSRF token, absolute expiry and idle timeout.

Interface for other login methods (OpenID Connect, `ccmon.auth.oidc`):

    cookie, csrf = sessions.create(principal)        # after the login is verified
    set_session_cookie(response, cookie, secure=tls, max_age_s=sessions.ttl_s)
    clear_session_cookie(response)                    # on logout

The cookie value is 32 random bytes (urlsafe base64). Only its SHA-256 is stored (`login_sessions.id_hash`), so a copy
of the store cannot be replayed as a login; the id has 256 bits of entropy, so a fast hash is enough (nothing to
brute-force). The CSRF token is stored as is: it proves a request came from our own page, and without the cookie it
is worth nothing. A session ends at `expires_at` (absolute, `session_ttl_hours` after login), after
`session_idle_minutes` without a request, or at logout (a `revoked` row).

State lives in the store, so several processes share sessions; each keeps a few seconds' cache of what it read, so a
logout or revocation made by another process takes effect there within `CACHE_S`.
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
from starlette.responses import Response

from ccmon.auth.principal import Principal, Role
from ccmon.auth.records import TIMESTAMP, Clock, VersionClock, as_utc, insert_rows, utc_now
from ccmon.store.facade import Store

COOKIE = "ccmon_session"
CACHE_S = 3.0
TOUCH_S = 60.0
"""A session's last request is written at most this often: idle timeouts are minutes, not seconds."""
MAX_COOKIE = 100

_SCHEMA = pa.schema(
    [
        ("id_hash", pa.string()),
        ("email", pa.string()),
        ("role", pa.string()),
        ("person", pa.string()),
        ("team", pa.string()),
        ("department", pa.string()),
        ("via", pa.string()),
        ("csrf", pa.string()),
        ("created_at", TIMESTAMP),
        ("expires_at", TIMESTAMP),
        ("last_seen", TIMESTAMP),
        ("revoked", pa.bool_()),
        ("updated_at", TIMESTAMP),
    ]
)


def set_session_cookie(response: Response, value: str, *, secure: bool, max_age_s: int) -> None:
    """HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site POSTs), Secure when served over TLS."""
    response.set_cookie(COOKIE, value, max_age=max_age_s, path="/", secure=secure, httponly=True, samesite="lax")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


def hash_id(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    id_hash: str
    principal: Principal
    csrf: str
    created_at: dt.datetime
    expires_at: dt.datetime
    last_seen: dt.datetime
    revoked: bool = False


class Sessions:
    def __init__(
        self,
        store: Store,
        *,
        ttl_hours: float = 12,
        idle_minutes: float = 120,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self.ttl = dt.timedelta(hours=ttl_hours)
        self.idle = dt.timedelta(minutes=idle_minutes)
        self._clock = VersionClock(clock)
        self._monotonic = monotonic
        self._cache: OrderedDict[str, tuple[float, Session | None]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def ttl_s(self) -> int:
        return int(self.ttl.total_seconds())

    def create(self, principal: Principal) -> tuple[str, str]:
        """A new session for a verified login: (cookie value, CSRF token)."""
        value = secrets.token_urlsafe(32)
        now = self._clock.wall()
        session = Session(hash_id(value), principal, secrets.token_urlsafe(32), now, now + self.ttl, now)
        self._write(session)
        return value, session.csrf

    def resolve(self, value: str) -> Session | None:
        """The live session of a cookie value, or None (unknown, expired, idle too long, revoked)."""
        if not value or len(value) > MAX_COOKIE:
            return None
        id_hash = hash_id(value)
        session = self._cached(id_hash)
        now = self._clock.wall()
        if session is None or session.revoked or now >= session.expires_at or now - session.last_seen >= self.idle:
            return None
        if (now - session.last_seen).total_seconds() >= TOUCH_S:
            # Read the stored row again, not the cache: writing a cached copy (`revoked` false) with a newer version
            # would undo a revocation made meanwhile by another process, the CLI or another thread.
            fresh = self._load("id_hash = {id_hash:String}", {"id_hash": id_hash, "now": now})
            if not fresh:
                self._remember(id_hash, None)
                return None
            session = replace(fresh[0], last_seen=now)
            self._write(session)
        return session

    def revoke(self, value: str) -> None:
        session = self._cached(hash_id(value)) if value and len(value) <= MAX_COOKIE else None
        if session is not None and not session.revoked:
            self._write(replace(session, revoked=True))

    def revoke_all(self, email: str) -> int:
        """End every session of a login (their user was changed, disabled or removed); returns how many."""
        sessions = self._load("email = {email:String}", {"email": email, "now": self._clock.wall()})
        for session in sessions:
            self._write(replace(session, revoked=True))
        return len(sessions)

    def _cached(self, id_hash: str) -> Session | None:
        now = self._monotonic()
        with self._lock:
            hit = self._cache.get(id_hash)
            if hit is not None and now - hit[0] < CACHE_S:
                return hit[1]
        found = self._load("id_hash = {id_hash:String}", {"id_hash": id_hash, "now": self._clock.wall()})
        session = found[0] if found else None
        self._remember(id_hash, session)
        return session

    def _remember(self, id_hash: str, session: Session | None) -> None:
        with self._lock:
            self._cache[id_hash] = (self._monotonic(), session)
            self._cache.move_to_end(id_hash)
            while len(self._cache) > 10_000:
                self._cache.popitem(last=False)

    def _load(self, where: str, params: dict[str, Any]) -> list[Session]:
        rows = self._store.query(
            "SELECT id_hash, email, role, person, team, department, via, csrf, created_at, expires_at, last_seen, "
            f"revoked FROM login_sessions FINAL WHERE {where} AND NOT revoked AND expires_at > {{now:DateTime64(6)}} "
            "LIMIT 10000",
            params,
        )
        sessions = []
        for id_hash, email, role, person, team, department, via, csrf, created, expires, seen, revoked in rows:
            try:
                parsed_role = Role.parse(role)
            except ValueError:
                continue
            principal = Principal(email, parsed_role, person, team, department, via)
            sessions.append(
                Session(
                    id_hash,
                    principal,
                    csrf,
                    _aware(created),
                    _aware(expires),
                    _aware(seen),
                    bool(revoked),
                )
            )
        return sessions

    def _write(self, session: Session) -> None:
        p = session.principal
        row = {
            "id_hash": session.id_hash,
            "email": p.name,
            "role": p.role.value,
            "person": p.person,
            "team": p.team,
            "department": p.department,
            "via": p.via,
            "csrf": session.csrf,
            "created_at": session.created_at,
            "expires_at": session.expires_at,
            "last_seen": session.last_seen,
            "revoked": session.revoked,
            "updated_at": self._clock.version(),
        }
        insert_rows(self._store, "login_sessions", _SCHEMA, [row])
        self._remember(session.id_hash, session)


def _aware(value: dt.datetime) -> dt.datetime:
    aware = as_utc(value)
    assert aware is not None
    return aware
