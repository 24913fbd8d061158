"""API keys: shown once, stored as SHA-256, verified while live; revoked and expired keys fail."""

from __future__ import annotations

import datetime as dt

import pytest

from ccmon.auth.api_keys import CACHE_S, PREFIX, ApiKeyError, ApiKeys, hash_key
from ccmon.auth.principal import Role
from ccmon.store.facade import Store


def test_create_verify_and_store_only_the_hash(store: Store) -> None:
    keys = ApiKeys(store)
    record, key = keys.create("ci export", role=Role.DEVELOPER, person="dev@example.com", created_by="admin")
    assert key.startswith(PREFIX) and len(key) >= len(PREFIX) + 43
    found = ApiKeys(store).verify(key)
    assert found is not None and (found.id, found.role, found.person) == (record.id, Role.DEVELOPER, "dev@example.com")
    assert store.query("SELECT key_hash FROM api_keys") == [(hash_key(key),)]
    assert "key" not in record.public() and "key_hash" not in record.public()
    assert ApiKeys(store).verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert ApiKeys(store).verify(hash_key(key)) is None


def test_revoked_keys_fail_here_at_once_and_elsewhere_within_the_cache(store: Store) -> None:
    mono = [0.0]
    here, elsewhere = ApiKeys(store), ApiKeys(store, monotonic=lambda: mono[0])
    record, key = here.create("bot", role=Role.ADMIN)
    assert elsewhere.verify(key) is not None
    here.revoke(record.id)
    assert here.verify(key) is None
    mono[0] += CACHE_S + 1
    assert elsewhere.verify(key) is None
    assert [k.revoked for k in here.list()] == [True]


def test_expired_keys_fail(store: Store) -> None:
    now = [dt.datetime.now(dt.UTC)]
    keys = ApiKeys(store, clock=lambda: now[0])
    _, key = keys.create("temp", role=Role.VIEWER, expires_at=now[0] + dt.timedelta(hours=1))
    assert keys.verify(key) is not None
    now[0] += dt.timedelta(hours=1)
    assert keys.verify(key) is None
    with pytest.raises(ApiKeyError):
        keys.create("past", role=Role.VIEWER, expires_at=now[0] - dt.timedelta(seconds=1))


@pytest.mark.parametrize("name", ["", "a\x00b", "x" * 201])
def test_bad_names_are_refused(store: Store, name: str) -> None:
    with pytest.raises(ApiKeyError):
        ApiKeys(store).create(name, role=Role.VIEWER)
