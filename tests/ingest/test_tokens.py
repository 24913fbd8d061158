"""The ingest token registry over a real store: secrets hashed, rotate, revoke, expiry, pins, last use, refresh."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from ccmon.ingest.ratelimit import TokenBucket
from ccmon.ingest.tokens import PREFIX, IngestTokens, TokenNotFound
from ccmon.store.facade import Store

HOSTILE = "'; DROP TABLE ingest_tokens; -- <script>alert(1)</script> {x:String}"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def test_create_returns_the_secret_once_and_stores_only_its_hash(store: Store) -> None:
    tokens = IngestTokens(store)
    info, secret = tokens.create("laptops", team="platform", cost_center="ENG-1")
    assert secret.startswith(PREFIX) and len(secret) == len(PREFIX) + 43
    stored = store.query("SELECT token_hash, name, team, cost_center FROM ingest_tokens")
    assert stored == [(hashlib.sha256(secret.encode()).hexdigest(), "laptops", "platform", "ENG-1")]
    assert secret not in repr(store.query("SELECT * FROM ingest_tokens"))
    assert "token" not in info.as_dict() and "token_hash" not in info.as_dict()
    grant = tokens.authorize(secret)
    assert grant is not None and grant.token == info.id
    assert grant.pins == (("team", "platform"), ("cost_center", "ENG-1"))
    assert tokens.authorize(secret + "x") is None
    assert tokens.authorize("") is None
    assert tokens.required()


def test_no_tokens_means_none_required_and_revoking_the_last_does_not_open_ingest(store: Store) -> None:
    tokens = IngestTokens(store)
    tokens.refresh()
    assert not tokens.required()
    info, _ = tokens.create("only")
    assert tokens.required()
    tokens.revoke(info.id)
    assert tokens.required()  # else revoking the last token would let anyone write, unpinned
    fresh = IngestTokens(store)
    fresh.refresh()
    assert fresh.required()


def test_rotate_keeps_id_and_pins_and_retires_the_old_secret(store: Store) -> None:
    tokens = IngestTokens(store)
    info, old = tokens.create("ci", organization="acme", department="eng", rate_limit_per_s=50)
    rotated, new = tokens.rotate(info.id)
    assert new != old and rotated.id == info.id
    assert (rotated.organization, rotated.department, rotated.rate_limit_per_s) == ("acme", "eng", 50)
    assert tokens.authorize(old) is None
    grant = tokens.authorize(new)
    assert grant is not None and grant.pins == (("organization_id", "acme"), ("department", "eng"))
    assert [t.id for t in tokens.list()] == [info.id]


def test_revoked_tokens_fail_and_stay_listed(store: Store) -> None:
    tokens = IngestTokens(store)
    info, secret = tokens.create("gone")
    assert tokens.authorize(secret) is not None
    revoked = tokens.revoke(info.id)
    assert revoked.revoked
    assert tokens.authorize(secret) is None
    assert [(t.id, t.revoked) for t in tokens.list()] == [(info.id, True)]
    with pytest.raises(ValueError, match="revoked"):
        tokens.rotate(info.id)
    with pytest.raises(TokenNotFound):
        tokens.revoke("nope")


def test_expired_tokens_fail(store: Store) -> None:
    clock = Clock()
    tokens = IngestTokens(store, clock=clock)
    _, secret = tokens.create("temp", expires_at=clock.now + dt.timedelta(hours=1))
    assert tokens.authorize(secret) is not None
    clock.now += dt.timedelta(hours=1)
    assert tokens.authorize(secret) is None
    with pytest.raises(ValueError, match="past"):
        tokens.create("late", expires_at=clock.now - dt.timedelta(seconds=1))


def test_a_revoke_by_another_process_applies_at_the_next_refresh(store: Store) -> None:
    here, there = IngestTokens(store), IngestTokens(store)
    info, secret = here.create("shared")
    there.refresh()
    assert there.authorize(secret) is not None
    here.revoke(info.id)
    assert there.authorize(secret) is not None  # cached until the refresh
    there.refresh()
    assert there.authorize(secret) is None


def test_background_refresh_picks_up_changes(store: Store) -> None:
    here, there = IngestTokens(store), IngestTokens(store, refresh_s=0.05)
    there.start()
    try:
        info, secret = here.create("watched")
        _wait(lambda: there.authorize(secret) is not None)
        here.revoke(info.id)
        _wait(lambda: there.authorize(secret) is None)
    finally:
        there.close()


def test_last_seen_is_kept_in_memory_and_flushed(store: Store) -> None:
    clock = Clock()
    tokens = IngestTokens(store, clock=clock)
    info, secret = tokens.create("seen")
    assert tokens.list()[0].last_seen is None
    clock.now += dt.timedelta(minutes=5)
    tokens.authorize(secret)
    assert tokens.list()[0].last_seen == "2026-11-30T12:05:00Z"
    assert store.query("SELECT count() FROM ingest_token_seen") == [(0,)]
    tokens.flush_seen()
    assert store.query("SELECT id, seen_at FROM ingest_token_seen")[0][0] == info.id
    # Another process (or this one after a restart) reads it from the store.
    assert IngestTokens(store).list()[0].last_seen == "2026-11-30T12:05:00Z"
    tokens.close()  # flushes nothing new, and does not fail


def test_hostile_names_and_pins_are_inert(store: Store) -> None:
    tokens = IngestTokens(store)
    info, secret = tokens.create(HOSTILE, team=HOSTILE, organization="{team:String}")
    assert (info.name, info.team, info.organization) == (HOSTILE, HOSTILE, "{team:String}")
    listed = tokens.list()[0]
    assert (listed.name, listed.team) == (HOSTILE, HOSTILE)
    grant = tokens.authorize(secret)
    assert grant is not None and ("team", HOSTILE) in grant.pins
    assert store.query("SELECT count() FROM ingest_tokens") == [(1,)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "empty"),
        ({"name": "x" * 201}, "longer"),
        ({"name": "a\nb"}, "control"),
        ({"name": "ok", "team": "t" * 201}, "team"),
        ({"name": "ok", "rate_limit_per_s": 0}, "greater than 0"),
        ({"name": "ok", "rate_limit_per_s": float("nan")}, "greater than 0"),
        ({"name": "ok", "rate_limit_burst": 5}, "needs rate_limit_per_s"),
    ],
)
def test_invalid_values_are_refused(store: Store, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IngestTokens(store).create(**kwargs)  # type: ignore[arg-type]
    assert store.query("SELECT count() FROM ingest_tokens") == [(0,)]


def test_rate_limited_tokens_carry_a_bucket(store: Store) -> None:
    tokens = IngestTokens(store)
    _, limited = tokens.create("slow", rate_limit_per_s=2, rate_limit_burst=10)
    _, free = tokens.create("fast")
    grant = tokens.authorize(limited)
    assert grant is not None and grant.limiter is not None
    assert (grant.limiter.rate, grant.limiter.burst) == (2, 10)
    same = tokens.authorize(limited)
    assert same is not None and same.limiter is grant.limiter  # one bucket per token, across requests and refreshes
    tokens.refresh()
    again = tokens.authorize(limited)
    assert again is not None and again.limiter is grant.limiter
    unlimited = tokens.authorize(free)
    assert unlimited is not None and unlimited.limiter is None


def test_token_bucket_lets_a_burst_in_then_makes_the_debt_wait() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=20, clock=lambda: now[0])
    assert bucket.take(15) == 0
    assert bucket.take(30) == 0  # the bucket was not empty: a large batch gets in, leaving a debt of 25
    wait = bucket.take(1)
    assert wait == pytest.approx(2.6)
    assert bucket.retry_after() == pytest.approx(2.6)
    now[0] += 2.6
    assert bucket.take(1) == 0
    now[0] += 1000
    assert bucket.take(20) == 0 and bucket.take(1) > 0  # refills to the burst, no further


def _wait(condition: object, timeout: float = 10) -> None:
    import time

    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
