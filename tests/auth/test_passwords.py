"""Password hashing: argon2id round trip, the policy, rehash on changed parameters."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from ccmon.auth.passwords import MIN_LENGTH, Passwords, WeakPassword


def test_round_trip_is_argon2id_and_salted() -> None:
    passwords = Passwords()
    first, second = passwords.hash("correct horse battery"), passwords.hash("correct horse battery")
    assert first.startswith("$argon2id$") and first != second
    assert passwords.verify(first, "correct horse battery")
    assert not passwords.verify(first, "correct horse batterY")
    assert not passwords.verify(first, "")


@pytest.mark.parametrize("weak", ["", "short", "x" * (MIN_LENGTH - 1), " " * 20, "y" * 5000])
def test_policy_refuses_weak_or_absurd_passwords(weak: str) -> None:
    with pytest.raises(WeakPassword):
        Passwords().hash(weak)


@pytest.mark.parametrize("stored", ["", "not a hash", "$argon2id$v=19$m=1,t=1,p=1$broken"])
def test_a_missing_or_malformed_hash_matches_nothing(stored: str) -> None:
    assert not Passwords().verify(stored, "whatever password")


def test_changed_parameters_ask_for_a_rehash() -> None:
    old = Passwords(PasswordHasher(time_cost=1, memory_cost=8192))
    stored = old.hash("a long enough password")
    current = Passwords()
    assert current.verify(stored, "a long enough password")
    assert current.needs_rehash(stored)
    assert not current.needs_rehash(current.hash("a long enough password"))
