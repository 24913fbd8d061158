"""Sessions: created with a random id stored only as its SHA-256, absolute expiry, idle timeout, revocation."""

from __future__ import annotations

import datetime as dt

from ccmon.auth.principal import Principal, Role
from ccmon.auth.sessions import CACHE_S, Sessions, hash_id
from ccmon.store.facade import Store

ALICE = Principal("alice@example.com", Role.DEVELOPER, "alice@example.com", "payments", "eng", via="session")


class Clocks:
    """A wall clock and a monotonic one, moved by the test (no sleeps)."""

    def __init__(self) -> None:
        # From now: login_sessions has a TTL, and ClickHouse drops rows of a session that ended days ago.
        self.wall = dt.datetime.now(dt.UTC)
        self.mono = 0.0

    def advance(self, **delta: float) -> None:
        step = dt.timedelta(**delta)
        self.wall += step
        self.mono += step.total_seconds()


def _sessions(store: Store, clocks: Clocks, **kwargs: float) -> Sessions:
    return Sessions(store, clock=lambda: clocks.wall, monotonic=lambda: clocks.mono, **kwargs)


def test_a_session_round_trips_and_only_its_hash_is_stored(store: Store) -> None:
    clocks = Clocks()
    cookie, csrf = _sessions(store, clocks).create(ALICE)
    assert len(cookie) >= 43 and len(csrf) >= 43 and cookie != csrf
    session = _sessions(store, clocks).resolve(cookie)  # a fresh process: no cache
    assert session is not None and session.principal == ALICE and session.csrf == csrf
    stored = store.query("SELECT id_hash FROM login_sessions")
    assert stored == [(hash_id(cookie),)]
    assert _sessions(store, clocks).resolve(hash_id(cookie)) is None  # the stored value does not log in
    assert _sessions(store, clocks).resolve("x" * 5000) is None


def test_absolute_expiry(store: Store) -> None:
    clocks = Clocks()
    sessions = _sessions(store, clocks, ttl_hours=12, idle_minutes=120)
    cookie, _ = sessions.create(ALICE)
    for _ in range(11):  # active every hour: the idle timeout never strikes
        clocks.advance(hours=1)
        assert sessions.resolve(cookie) is not None
    clocks.advance(minutes=59)
    assert sessions.resolve(cookie) is not None
    clocks.advance(minutes=1)
    assert sessions.resolve(cookie) is None
    assert _sessions(store, clocks).resolve(cookie) is None


def test_idle_timeout(store: Store) -> None:
    clocks = Clocks()
    sessions = _sessions(store, clocks, ttl_hours=12, idle_minutes=30)
    cookie, _ = sessions.create(ALICE)
    clocks.advance(minutes=29)
    assert sessions.resolve(cookie) is not None  # and this request counts as activity...
    clocks.advance(minutes=29)
    assert _sessions(store, clocks, idle_minutes=30).resolve(cookie) is not None  # ...seen by another process too
    clocks.advance(minutes=30)
    assert sessions.resolve(cookie) is None


def test_logout_and_revoke_all(store: Store) -> None:
    clocks = Clocks()
    sessions = _sessions(store, clocks)
    other_process = _sessions(store, clocks)
    first, _ = sessions.create(ALICE)
    second, _ = sessions.create(ALICE)
    bob, _ = sessions.create(Principal("bob@example.com", Role.VIEWER, via="session"))
    assert other_process.resolve(first) is not None
    sessions.revoke(first)
    assert sessions.resolve(first) is None
    clocks.advance(seconds=CACHE_S + 1)  # another process's cache lasts a few seconds
    assert other_process.resolve(first) is None
    assert sessions.revoke_all("alice@example.com") == 1
    assert sessions.resolve(second) is None and sessions.resolve(bob) is not None
