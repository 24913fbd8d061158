"""Single sign-on: from an OpenID Connect login to a ccmon principal, its user record and its audit entry.

The provider says who logged in (`ccmon.auth.oidc`); here that becomes a role and a user:

- a login without a user record, or whose record came from single sign-on (`source = oidc`), gets the role of its
  groups at every login (`role_map`, `default_role`: `ccmon.auth.groups.role_for`), and its record is created or
  refreshed, without a password. A changed role ends the user's other sessions (they carry the old role);
- a user an admin created as `local` (or `header`) keeps the role, team and department given there: single sign-on
  proves the email, the admin's record says what it may see;
- a disabled user, or groups that give no role (`default_role = none`), is refused (403).

Team and department come from the user record when set, else from the directory (`Authenticator.for_login`).
Every success and failure is audited (`login.ok`, `login.failed`, detail `oidc: ...`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ccmon.auth.audit import Audit
from ccmon.auth.authenticator import Authenticator
from ccmon.auth.groups import RoleRule, default_role, role_for
from ccmon.auth.oidc import OidcClient, OidcError, OidcIdentity, OidcSettings, PendingLogin
from ccmon.auth.principal import Principal, Role
from ccmon.auth.users import User, UserError, Users
from ccmon.settings import Config, ConfigError

CALLBACK_PATH = "/auth/oidc/callback"

ForLogin = Callable[..., Principal]
"""`Authenticator.for_login(email, role, *, team, department, via)`: a person's principal, with the directory's team
and department where the user record has none."""


class LoginRefused(OidcError):
    """The provider vouched for the login, and ccmon refuses it (disabled, or no role)."""

    status = 403


def cookie_key(client_secret: str) -> bytes:
    """The key sealing pending logins: derived from the client secret, which every ccmon process of one deployment
    shares (a login started on one process finishes on another); random per process for a public client."""
    if not client_secret:
        return secrets.token_bytes(32)
    return hmac.new(client_secret.encode(), b"ccmon oidc pending-login cookie key", hashlib.sha256).digest()


@dataclass(frozen=True)
class Started:
    authorization_url: str
    cookie: str
    """The sealed pending login, for the short-lived cookie."""


class OidcLogin:
    def __init__(
        self,
        client: OidcClient,
        *,
        users: Users,
        audit: Audit,
        for_login: ForLogin,
        role_map: Sequence[RoleRule],
        default_role: Role | None,
        cookie_key: bytes,
        redirect_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self._users = users
        self._audit = audit
        self._for_login = for_login
        self._role_map = tuple(role_map)
        self._default_role = default_role
        self._key = cookie_key
        self.redirect_url = redirect_url
        self._clock = clock

    def start(self, base_url: str, next_page: str | None) -> Started:
        """Where to send the browser, and the cookie to set. `base_url` (this server as the browser reached it) gives
        the callback URL unless `oidc_redirect_url` is configured."""
        redirect_uri = self.redirect_url or base_url.rstrip("/") + CALLBACK_PATH
        url, pending = self.client.begin(redirect_uri, next_page)
        return Started(url, pending.seal(self._key))

    def complete(self, cookie: str | None, params: Mapping[str, str], address: str) -> tuple[Principal, str]:
        """The principal of a callback and the page to land on; an audited `OidcError` otherwise."""
        identity: OidcIdentity | None = None
        try:
            if not cookie:
                raise OidcError("no sign-in was started in this browser (or it expired): start again")
            pending = PendingLogin.unseal(cookie, self._key, self._clock())
            identity = self.client.finish(pending, params)
            principal = self._principal(identity)
        except OidcError as exc:
            actor = identity.email if identity else ""
            self._audit.record(actor, "login.failed", actor, "denied", address, f"oidc: {exc}")
            raise
        self._audit.record(principal.name, "login.ok", principal.name, "ok", address, "oidc")
        return principal, pending.next

    def _principal(self, identity: OidcIdentity) -> Principal:
        user = self._users.get(identity.email)
        if user is not None and user.disabled:
            raise LoginRefused(f"{identity.email} is disabled in ccmon")
        if user is not None and user.source != "oidc" and not identity.verified:
            # A user an admin made (with its role) is only taken over by a provider that vouches for the address:
            # some let their users edit `email` and send no `email_verified` at all.
            raise LoginRefused(
                f"{identity.email} is a ccmon user made by an admin, and the identity provider does not say the "
                "address is verified (email_verified)"
            )
        if user is None or user.source == "oidc":
            role = role_for(identity.groups, self._role_map, self._default_role)
            if role is None:
                groups = ", ".join(identity.groups[:20]) or "none"
                raise LoginRefused(
                    f"{identity.email} has no ccmon role: no role_map rule matches the groups ({groups})"
                )
            user = self._sync(user, identity, role)
        return self._for_login(user.email, user.role, team=user.team, department=user.department, via="oidc")

    def _sync(self, user: User | None, identity: OidcIdentity, role: Role) -> User:
        """The user record as of this login (created on the first)."""
        name = "".join(c for c in identity.name if c.isprintable())
        try:
            if user is None:
                return self._users.create(identity.email, role=role, name=name, source="oidc")
            if user.role is not role or (name and user.name != name):
                return self._users.update(user.email, role=role, name=name or None)
        except UserError as exc:
            raced = self._users.get(identity.email) if exc.status == 409 else None
            if raced is not None:  # the same person's other login created it a moment ago
                return raced
            raise LoginRefused(f"cannot record the user {identity.email[:80]!r}: {exc}") from None
        return user


def open_oidc_login(config: Config, authenticator: Authenticator, audit: Audit) -> OidcLogin | None:
    """Single sign-on as configured (`oidc_*`, `role_map`, `default_role`); None without `oidc_issuer`."""
    if not config.oidc_issuer:
        if config.oidc_client_id or config.oidc_client_secret:
            raise ConfigError("oidc_client_id / oidc_client_secret are set but oidc_issuer is not")
        return None
    if not config.oidc_client_id:
        raise ConfigError("oidc_issuer needs oidc_client_id (ccmon's client id at the provider)")
    if "openid" not in config.oidc_scopes:
        raise ConfigError(f"oidc_scopes must include openid (got {','.join(config.oidc_scopes)})")
    secret = config.oidc_client_secret or ""
    client = OidcClient(
        OidcSettings(config.oidc_issuer, config.oidc_client_id, secret, config.oidc_scopes, config.oidc_groups_claim)
    )
    return OidcLogin(
        client,
        users=authenticator.users,
        audit=audit,
        for_login=authenticator.for_login,
        role_map=config.role_map,
        default_role=default_role(config.default_role),
        cookie_key=cookie_key(secret),
        redirect_url=config.oidc_redirect_url,
    )
