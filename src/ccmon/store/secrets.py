"""Secrets the server generates for itself once and keeps in the store (`server_secrets`, migration 6).

`server_secret(store, name)` gets the secret named `name`, creating it on first use. Several processes may share a
store (a ClickHouse server), and two may create the same secret at once: each inserts its own and then reads back
the first row of the name (earliest `created_at`, then smallest value), so all of them settle on the same one and
the others' are never used. A secret is kept as hex text; it never changes (rotating one means a new name).
"""

from __future__ import annotations

import secrets

from ccmon.store.facade import Store

SIZE = 32
"""Bytes of a generated secret."""

_FIRST = "SELECT value FROM server_secrets WHERE name = {name:String} ORDER BY created_at, value LIMIT 1"


def stored_secret(store: Store, name: str) -> bytes | None:
    """The secret named `name`, or None when none was ever generated."""
    rows = store.query(_FIRST, {"name": name})
    return bytes.fromhex(str(rows[0][0])) if rows else None


def server_secret(store: Store, name: str) -> bytes:
    """The secret named `name`, generated (`SIZE` random bytes) and stored if there is none yet."""
    found = stored_secret(store, name)
    if found is not None:
        return found
    store.command(
        "INSERT INTO server_secrets (name, value, created_at) VALUES ({name:String}, {value:String}, now64(6))",
        {"name": name, "value": secrets.token_hex(SIZE)},
    )
    created = stored_secret(store, name)
    assert created is not None, "a secret just inserted is read back"
    return created
