"""People who log in: their email, name, role, team, department and (for local logins) an argon2 password hash.

A user's `source` says how they log in: `local` (a password checked here), `oidc` (an identity provider, H2's
module creates such users on first login), `header` (an authenticating proxy). Records live in the store's `users`
table, a new row per change (read back with `FINAL`), so several processes sharing a store agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from ccmon.auth.passwords import Passwords
from ccmon.auth.principal import Role
from ccmon.auth.records import TIMESTAMP, Clock, VersionClock, clean_text, insert_rows, utc_now
from ccmon.store.facade import Store

SOURCES = ("local", "oidc", "header")
MAX_EMAIL = 254

_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+")

_SCHEMA = pa.schema(
    [
        ("email", pa.string()),
        ("name", pa.string()),
        ("role", pa.string()),
        ("team", pa.string()),
        ("department", pa.string()),
        ("password_hash", pa.string()),
        ("source", pa.string()),
        ("disabled", pa.bool_()),
        ("deleted", pa.bool_()),
        ("updated_at", TIMESTAMP),
    ]
)

_COLUMNS = "email, name, role, team, department, password_hash, source, disabled"


class UserError(ValueError):
    """A user that cannot be created or changed as asked; the message says why (HTTP 400/409/404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > MAX_EMAIL or not _EMAIL.fullmatch(value):
        raise UserError(f"{email[:80]!r} is not an email address")
    return value


@dataclass(frozen=True)
class User:
    email: str
    name: str
    role: Role
    team: str = ""
    department: str = ""
    password_hash: str = ""
    source: str = "local"
    disabled: bool = False

    def public(self) -> dict[str, Any]:
        """The user as the API shows it: never the hash."""
        return {
            "email": self.email,
            "name": self.name,
            "role": self.role.value,
            "team": self.team,
            "department": self.department,
            "disabled": self.disabled,
            "source": self.source,
        }


class Users:
    def __init__(self, store: Store, passwords: Passwords | None = None, clock: Clock = utc_now) -> None:
        self._store = store
        self.passwords = passwords or Passwords()
        self._clock = VersionClock(clock)
        self.changed: list[Callable[[str], object]] = []
        """Called with a user's email after each change (the session store revokes their sessions)."""

    def _rows(self, where: str, params: dict[str, Any]) -> list[User]:
        rows = self._store.query(
            f"SELECT {_COLUMNS} FROM users FINAL WHERE NOT deleted AND {where} ORDER BY email LIMIT 100000", params
        )
        return [User(e, n, _role(r), t, d, h, s, bool(x)) for e, n, r, t, d, h, s, x in rows]

    def get(self, email: str) -> User | None:
        try:
            key = normalize_email(email)
        except UserError:
            return None
        found = self._rows("email = {email:String}", {"email": key})
        return found[0] if found else None

    def list(self) -> list[User]:
        return self._rows("1", {})

    def any(self) -> bool:
        return bool(self._store.query("SELECT 1 FROM users FINAL WHERE NOT deleted LIMIT 1"))

    def _write(self, user: User, *, deleted: bool = False) -> None:
        row = {
            "email": user.email,
            "name": user.name,
            "role": user.role.value,
            "team": user.team,
            "department": user.department,
            "password_hash": user.password_hash,
            "source": user.source,
            "disabled": user.disabled,
            "deleted": deleted,
            "updated_at": self._clock.version(),
        }
        insert_rows(self._store, "users", _SCHEMA, [row])
        for listener in self.changed:
            listener(user.email)

    def create(
        self,
        email: str,
        *,
        role: Role,
        name: str = "",
        team: str = "",
        department: str = "",
        password: str | None = None,
        source: str = "local",
    ) -> User:
        key = normalize_email(email)
        if source not in SOURCES:
            raise UserError(f"source must be one of {', '.join(SOURCES)}")
        if self.get(key) is not None:
            raise UserError(f"{key} already exists", 409)
        if source == "local" and not password:
            raise UserError("a local user needs a password")
        try:
            user = User(
                key,
                clean_text(name, "name"),
                role,
                clean_text(team, "team"),
                clean_text(department, "department"),
                self.passwords.hash(password) if password else "",
                source,
            )
        except ValueError as exc:
            raise UserError(str(exc)) from None
        self._write(user)
        return user

    def update(
        self,
        email: str,
        *,
        name: str | None = None,
        role: Role | None = None,
        team: str | None = None,
        department: str | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> User:
        user = self.get(email)
        if user is None:
            raise UserError(f"no user {email[:80]!r}", 404)
        try:
            changed = replace(
                user,
                name=user.name if name is None else clean_text(name, "name"),
                role=user.role if role is None else role,
                team=user.team if team is None else clean_text(team, "team"),
                department=user.department if department is None else clean_text(department, "department"),
                disabled=user.disabled if disabled is None else disabled,
                password_hash=user.password_hash if password is None else self.passwords.hash(password),
            )
        except ValueError as exc:
            raise UserError(str(exc)) from None
        self._write(changed)
        return changed

    def delete(self, email: str) -> User:
        user = self.get(email)
        if user is None:
            raise UserError(f"no user {email[:80]!r}", 404)
        self._write(user, deleted=True)
        return user

    def authenticate(self, email: str, password: str) -> User | None:
        """The enabled local user with this password, or None. Takes one argon2 verification either way."""
        user = self.get(email)
        if user is None or user.source != "local" or not user.password_hash:
            self.passwords.waste(password)
            return None
        if not self.passwords.verify(user.password_hash, password) or user.disabled:
            return None
        if self.passwords.needs_rehash(user.password_hash):
            # The parameters moved on since this hash was made: store one with today's.
            try:
                rehashed = replace(user, password_hash=self.passwords.hash(password))
            except ValueError:  # a password from before the policy: keep its hash
                return user
            self._write_quietly(rehashed)
            return rehashed
        return user

    def _write_quietly(self, user: User) -> None:
        listeners, self.changed = self.changed, []
        try:
            self._write(user)
        finally:
            self.changed = listeners


def _role(text: str) -> Role:
    try:
        return Role.parse(text)
    except ValueError:
        return Role.VIEWER  # a role from a newer version: the least privilege
