"""Users: created, changed, removed; emails lower-cased; passwords checked in about the same time either way;
hostile text refused or stored inert."""

from __future__ import annotations

import time

import pytest
from argon2 import PasswordHasher

from ccmon.auth.passwords import Passwords
from ccmon.auth.principal import Role
from ccmon.auth.users import UserError, Users
from ccmon.store.facade import Store

PASSWORD = "a long enough password"
SQL = "x'or'1'='1--@example.com"
DROP = "x'); DROP TABLE users; --@example.com"
XSS = "<script>alert(1)</script>"


def test_create_authenticate_update_delete(store: Store) -> None:
    users = Users(store)
    changed: list[str] = []
    users.changed.append(changed.append)
    users.create(" Alice@Example.COM ", role=Role.MANAGER, name="Alice", department="eng", password=PASSWORD)
    assert users.get("alice@example.com") is not None and users.any()
    user = users.authenticate("ALICE@example.com", PASSWORD)
    assert user is not None and (user.email, user.role, user.department) == ("alice@example.com", Role.MANAGER, "eng")
    assert users.authenticate("alice@example.com", PASSWORD + "!") is None
    with pytest.raises(UserError) as exists:
        users.create("alice@example.com", role=Role.VIEWER, password=PASSWORD)
    assert exists.value.status == 409
    users.update("alice@example.com", disabled=True)
    assert users.authenticate("alice@example.com", PASSWORD) is None
    users.update("alice@example.com", disabled=False, role=Role.ADMIN)
    assert Users(store).get("alice@example.com").role is Role.ADMIN  # type: ignore[union-attr]
    users.delete("alice@example.com")
    assert users.get("alice@example.com") is None and not users.any()
    assert changed == ["alice@example.com"] * 4


def test_unknown_logins_take_about_as_long_as_wrong_passwords(store: Store) -> None:
    users = Users(store)
    users.create("bob@example.com", role=Role.VIEWER, password=PASSWORD)

    def timed(email: str) -> float:
        start = time.perf_counter()
        assert users.authenticate(email, "wrong password!!") is None
        return time.perf_counter() - start

    known = min(timed("bob@example.com") for _ in range(3))
    unknown = min(timed("nobody@example.com") for _ in range(3))
    assert unknown > known * 0.5  # an argon2 verification either way, not an early return


def test_an_old_hash_is_replaced_at_login(store: Store) -> None:
    old = Users(store, Passwords(PasswordHasher(time_cost=1, memory_cost=8192)))
    old.create("carol@example.com", role=Role.VIEWER, password=PASSWORD)
    before = old.get("carol@example.com").password_hash  # type: ignore[union-attr]
    assert Users(store).authenticate("carol@example.com", PASSWORD) is not None
    after = Users(store).get("carol@example.com").password_hash  # type: ignore[union-attr]
    assert after != before and Passwords().verify(after, PASSWORD) and not Passwords().needs_rehash(after)


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b@c", "a b@example.com", "x" * 300 + "@example.com", XSS, DROP])
def test_bad_emails_are_refused(store: Store, email: str) -> None:
    with pytest.raises(UserError):
        Users(store).create(email, role=Role.VIEWER, password=PASSWORD)


def test_hostile_text_is_refused_or_stored_inert(store: Store) -> None:
    users = Users(store)
    users.create(SQL, role=Role.VIEWER, name=XSS, team="'; --", password=PASSWORD)
    (user,) = users.list()
    assert (user.email, user.name, user.team) == (SQL.lower(), XSS, "'; --")
    for field in ("name", "team", "department"):
        with pytest.raises(UserError):
            users.update(user.email, **{field: "bad\x00text"})  # type: ignore[arg-type]
    with pytest.raises(UserError):
        users.update(user.email, name="n" * 201)
    with pytest.raises(UserError):
        users.create("weak@example.com", role=Role.VIEWER, password="short")
