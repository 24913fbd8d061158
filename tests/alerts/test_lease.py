"""The evaluation lease: one holder among processes sharing a store, handed over on expiry or release."""

from __future__ import annotations

import time

import pytest

from ccmon.alerts.lease import Lease
from ccmon.store.facade import Store


def test_one_holder_at_every_round_and_takeover_after_expiry(store: Store) -> None:
    first = Lease(store, "alerts", "first", ttl_s=3)
    second = Lease(store, "alerts", "second", ttl_s=3)
    for _ in range(4):
        assert [first.acquire_or_renew(), second.acquire_or_renew()] == [True, False]
        assert second.current_holder() == "first"
        time.sleep(0.5)  # renewing within the TTL keeps it, past the first claim's expiry
    # `first` stops renewing: `second` keeps losing until the TTL runs out, then wins and keeps it.
    assert second.acquire_or_renew() is False
    time.sleep(3.1)
    assert second.acquire_or_renew() is True
    assert first.acquire_or_renew() is False  # the old holder's renewal finds its term dead
    assert second.acquire_or_renew() is True
    assert first.current_holder() == "second"


def test_simultaneous_claims_have_one_winner(store: Store) -> None:
    first = Lease(store, "alerts", "b-first", ttl_s=30)
    second = Lease(store, "alerts", "a-second", ttl_s=30)
    # Both found the lease free and inserted a claim before either read: the second claim is the row its
    # conditional INSERT writes when its condition was checked before the first claim landed.
    first._claim()
    store.command(
        "INSERT INTO leases SELECT 'alerts', 'a-second', now64(6), now64(6) + toIntervalSecond(30)",
    )
    assert store.query("SELECT count() FROM leases")[0][0] == 2
    winner = first.current_holder()
    assert winner == "b-first"  # the earlier claim, not the alphabetically first holder
    assert second.current_holder() == winner
    assert [first.acquire_or_renew(), second.acquire_or_renew()] == [True, False]
    assert [first.acquire_or_renew(), second.acquire_or_renew()] == [True, False]


def test_release_hands_over_at_once(store: Store) -> None:
    first = Lease(store, "alerts", "first", ttl_s=60)
    second = Lease(store, "alerts", "second", ttl_s=60)
    assert first.acquire_or_renew() is True
    second.release()  # not the holder: nothing happens
    assert second.acquire_or_renew() is False
    first.release()
    assert first.current_holder() is None
    assert second.acquire_or_renew() is True
    assert first.acquire_or_renew() is False
    # A released holder can claim again once the lease is free.
    second.release()
    assert first.acquire_or_renew() is True


def test_leases_are_independent_by_name_and_holders_are_checked(store: Store) -> None:
    assert Lease(store, "alerts", "one").acquire_or_renew() is True
    assert Lease(store, "reports", "two").acquire_or_renew() is True
    assert Lease(store, "alerts", "two").acquire_or_renew() is False
    with pytest.raises(ValueError, match="holder"):
        Lease(store, "alerts", "")
    with pytest.raises(ValueError, match="holder"):
        Lease(store, "alerts", "x#released")
