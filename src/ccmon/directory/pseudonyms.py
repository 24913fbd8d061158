"""Stable pseudonyms for email addresses: what `hash_emails` stores instead of an address.

A pseudonym is `anon-` and the first 16 hex digits (64 bits) of HMAC-SHA256(secret, address with ASCII letters
lower-cased). Keyed, so that nobody without the server's secret can confirm a guessed address by hashing it; stable,
so that one person's rows stay together and a login can be mapped to its pseudonym (`pseudonym`) to scope what the
person sees. 64 bits keep pseudonyms short in tables and URLs; two addresses of an organisation share one with a
chance of about n²/2⁶⁵ (one in 10¹¹ for 20,000 people).

Declared once with its two readings side by side: `pseudonym` in Python (metric rows, the auth layer) and
`pseudonym_sql` in ClickHouse SQL (event and span rows are built by the engine, `ccmon.ingest.engine_rows`). SQL has
no HMAC, so it is spelled out from SHA-256 with the key's padded forms computed here (`Pads`), passed to the query as
parameters rather than pasted into its text. Lower-casing is ASCII-only in both readings (`bytes.lower`, ClickHouse's
`lower`), so they agree on any input; a test checks that they do.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ccmon.store.facade import Store
from ccmon.store.secrets import server_secret

if TYPE_CHECKING:
    from ccmon.settings import Config

PREFIX = "anon-"
DIGITS = 16
"""Hex digits of the HMAC kept in a pseudonym."""

SECRET_NAME = "email_pseudonyms"
"""The name of the generated secret in the store's `server_secrets` (when `hash_secret` is not set)."""

_BLOCK = 64  # SHA-256's block size, in bytes


def pseudonym(secret: bytes, email: str) -> str:
    """The pseudonym of an email address under `secret` (see the module docstring)."""
    digest = hmac.new(secret, email.encode("utf-8", "surrogatepass").lower(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:DIGITS]


@dataclass(frozen=True)
class Pads:
    """HMAC's inner and outer keys (the key, padded to a block, XOR 0x36 and XOR 0x5c), as hex."""

    inner: str
    outer: str

    @classmethod
    def of(cls, secret: bytes) -> Pads:
        key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
        key = key.ljust(_BLOCK, b"\0")
        return cls(bytes(b ^ 0x36 for b in key).hex(), bytes(b ^ 0x5C for b in key).hex())


def pseudonym_sql(value: str, inner: str, outer: str) -> str:
    """`pseudonym` in SQL over the String expression `value`, with the pads' hex given by the SQL expressions `inner`
    and `outer` (query parameters such as `{email_inner:String}`)."""
    mac = f"SHA256(concat(unhex({outer}), SHA256(concat(unhex({inner}), lower({value})))))"
    return f"concat('{PREFIX}', substring(lower(hex({mac})), 1, {DIGITS}))"


def pseudonym_secret(store: Store, configured: str | None) -> bytes:
    """The secret pseudonyms are keyed with: the `hash_secret` setting when set, else the one generated once and
    kept in the store (the same for every process sharing it)."""
    if configured:
        return configured.encode("utf-8", "surrogatepass")
    return server_secret(store, SECRET_NAME)


def person_key_of(config: Config, store: Store) -> Callable[[str], str]:
    """How a directory email maps to the person key rows carry: itself, or its pseudonym with `hash_emails`."""
    if not config.hash_emails:
        return lambda email: email
    secret = pseudonym_secret(store, config.hash_secret)
    return lambda email: pseudonym(secret, email)
