"""Password hashing: argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile), and the password policy.

A stored hash names its own parameters, so when argon2-cffi's defaults move on, `needs_rehash` says so at the next
successful login and the new hash replaces the old one. Unknown logins are checked against a dummy hash, so a
failed login takes about as long whether or not the account exists.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 1024
"""Longer passwords are refused: argon2 would hash a megabyte happily, and nobody types one."""


class WeakPassword(ValueError):
    """A password that does not meet the policy; the message says why."""


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password may have at most {MAX_LENGTH} characters")
    if not password.strip():
        raise WeakPassword("a password cannot be only spaces")


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy = self._hasher.hash("ccmon dummy password, never a real one")

    def hash(self, password: str) -> str:
        check_policy(password)
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        """Whether the password matches; an empty or malformed stored hash (a user of SSO or of the trusted header,
        who has no password here) matches nothing, after the same work as a real check."""
        if len(password) > MAX_LENGTH:
            return False
        try:
            return self._hasher.verify(stored or self._dummy, password) and bool(stored)
        except (VerificationError, InvalidHashError):
            return False

    def waste(self, password: str) -> None:
        """The work of one verification, for a login that does not exist."""
        self.verify("", password[:MAX_LENGTH])

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return False
