"""Every HTTP request to a `Principal`: who is asking, by which credential, or a 401/403.

Credentials are tried in this order, the first one presented decides:

1. the trusted proxy's user header, only when the request comes from a `trusted_proxies` address (from anywhere
   else the header is ignored, whatever it says);
2. `Authorization: Bearer ...`: a static `api_tokens` token (admin) or an API key (`ccmk_...`, its role and scope);
   a bearer credential that is neither is a 401, never a fall-through to the cookie;
3. the `ccmon_session` cookie of a login (local password or OpenID Connect). A state-changing request (POST, PUT,
   PATCH, DELETE) made with the cookie must carry `X-CSRF-Token` equal to its session's token, and an `Origin` or
   `Referer`, when sent, must name this host: 403 otherwise.

With none presented: when authentication is not required (a loopback-only server with no tokens, users, API keys,
single sign-on or trusted proxy), the caller is `LOOPBACK_ADMIN`, as before logins existed; else 401.
"""

from __future__ import annotations

import hmac
import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from ccmon.auth.api_keys import PREFIX, ApiKeys
from ccmon.auth.groups import RoleRule, default_role, role_for, split_groups
from ccmon.auth.principal import LOOPBACK_ADMIN, Principal, Role
from ccmon.auth.sessions import COOKIE, Sessions
from ccmon.auth.users import UserError, Users, normalize_email
from ccmon.store.facade import Store

if TYPE_CHECKING:
    from ccmon.settings import Config

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
REQUIRED_CACHE_S = 5.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class AuthSettings:
    """What authentication is configured (built from `Config` in server.py)."""

    loopback: bool = True
    """The server listens on loopback only."""
    api_tokens: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    user_header: str = "X-Forwarded-Email"
    groups_header: str = "X-Forwarded-Groups"
    role_map: tuple[RoleRule, ...] = ()
    default_role: Role | None = Role.VIEWER
    sso: bool = False
    """An OpenID Connect issuer is configured."""
    secure_cookies: bool = False
    """The API is served over TLS: cookies get `Secure`."""

    @classmethod
    def from_config(cls, config: Config) -> AuthSettings:
        return cls(
            loopback=is_loopback(config.host),
            api_tokens=config.api_tokens,
            trusted_proxies=config.trusted_proxies,
            user_header=config.trusted_user_header,
            groups_header=config.trusted_groups_header,
            role_map=config.role_map,
            default_role=default_role(config.default_role),
            sso=bool(config.oidc_issuer),
            secure_cookies=config.tls_cert_file is not None,
        )

    @property
    def networks(self) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.trusted_proxies)

    def methods(self) -> list[str]:
        """The configured login methods, for the start-up log and the exposure check (users and API keys are in the
        store: see `Authenticator.methods`)."""
        named = [
            ("api tokens", bool(self.api_tokens)),
            ("single sign-on", self.sso),
            ("trusted proxy header", bool(self.trusted_proxies)),
        ]
        return [name for name, on in named if on]


def open_authenticator(
    settings: AuthSettings,
    store: Store,
    *,
    session_ttl_hours: float = 12,
    session_idle_minutes: float = 120,
    person_of: Callable[[str], str] = lambda email: email,
    profile: Callable[[str], tuple[str, str] | None] = lambda email: None,
) -> Authenticator:
    """The authenticator over the store's users, sessions and API keys, wired so that a change to a user ends their
    sessions (a disabled user, a lowered role take effect at once) and a new user or key is seen at once."""
    users = Users(store)
    sessions = Sessions(store, ttl_hours=session_ttl_hours, idle_minutes=session_idle_minutes)
    authenticator = Authenticator(
        settings, users=users, sessions=sessions, api_keys=ApiKeys(store), person_of=person_of, profile=profile
    )
    users.changed.append(sessions.revoke_all)
    users.changed.append(lambda _: authenticator.forget_required())
    authenticator.api_keys.changed.append(authenticator.forget_required)
    return authenticator


def unauthorized(detail: str = "authentication required") -> HTTPException:
    return HTTPException(401, detail, {"WWW-Authenticate": 'Bearer realm="ccmon"'})


class Authenticator:
    def __init__(
        self,
        settings: AuthSettings,
        *,
        users: Users,
        sessions: Sessions,
        api_keys: ApiKeys,
        person_of: Callable[[str], str] = lambda email: email,
        profile: Callable[[str], tuple[str, str] | None] = lambda email: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.users = users
        self.sessions = sessions
        self.api_keys = api_keys
        self.person_of = person_of
        self.profile = profile
        self._networks = settings.networks
        self._tokens = tuple(t.encode() for t in settings.api_tokens)
        self._monotonic = monotonic
        self._required: tuple[float, bool] | None = None
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Principal:
        principal = self._from_header(request)
        if principal is not None:
            # The proxy knows the browser by its own cookie, so a hostile page's request would carry the login too.
            check_same_origin(request)
            return principal
        authorization = request.headers.get("authorization")
        if authorization:
            return self._from_bearer(authorization)
        cookie = request.cookies.get(COOKIE)
        if cookie:
            session = self.sessions.resolve(cookie)
            if session is not None:
                check_csrf(request, session.csrf)
                request.state.csrf_token = session.csrf
                return session.principal
        if not self.required():
            check_local(request)
            return LOOPBACK_ADMIN
        raise unauthorized("session expired or not logged in" if cookie else "authentication required")

    # -- what is configured --------------------------------------------------------------------------------------

    def required(self) -> bool:
        """Whether a request must authenticate: any non-loopback address or any configured login method. Users and
        API keys are in the store (and may be added by another process): checked every few seconds."""
        if not self.settings.loopback or self.settings.methods():
            return True
        now = self._monotonic()
        with self._lock:
            if self._required is not None and now - self._required[0] < REQUIRED_CACHE_S:
                return self._required[1]
        required = self.users.any() or self.api_keys.any()
        with self._lock:
            self._required = (now, required)
        return required

    def forget_required(self) -> None:
        """A user or key was just added or removed here: decide again at the next request."""
        with self._lock:
            self._required = None

    def methods(self) -> list[str]:
        named = self.settings.methods()
        if self.users.any():
            named.append("local users")
        if self.api_keys.any():
            named.append("API keys")
        return named

    # -- principals ----------------------------------------------------------------------------------------------

    def for_login(self, email: str, role: Role, *, team: str = "", department: str = "", via: str) -> Principal:
        """The principal of a person's login: their person key, and their team and department from the user record
        when set, else from the directory. For H2's OpenID Connect logins too."""
        directory = self.profile(email) or ("", "")
        return Principal(email, role, self.person_of(email), team or directory[0], department or directory[1], via=via)

    def _from_header(self, request: Request) -> Principal | None:
        if not self._networks or request.client is None or not self._trusted(request.client.host):
            return None
        raw = request.headers.get(self.settings.user_header, "").strip()
        if not raw:
            return None
        try:
            email = normalize_email(raw)
        except UserError:
            raise HTTPException(403, "the proxy's user header is not an email address") from None
        user = self.users.get(email)
        if user is not None:
            if user.disabled:
                raise HTTPException(403, f"{email} is disabled")
            return self.for_login(email, user.role, team=user.team, department=user.department, via="header")
        groups = split_groups(request.headers.get(self.settings.groups_header, ""))
        role = role_for(groups, self.settings.role_map, self.settings.default_role)
        if role is None:
            raise HTTPException(403, f"{email}: no role for these groups (role_map, default_role = none)")
        return self.for_login(email, role, via="header")

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def _from_bearer(self, authorization: str) -> Principal:
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise unauthorized("expected Authorization: Bearer <token or API key>")
        if credential.startswith(PREFIX):
            key = self.api_keys.verify(credential)
            if key is None:
                raise unauthorized("invalid, expired or revoked API key")
            owner = self.users.get(key.person) if "@" in key.person else None
            if owner is not None and owner.disabled:
                raise unauthorized(f"the API key's person {key.person} is disabled")
            person = self.person_of(key.person) if "@" in key.person else key.person
            return Principal(key.name, key.role, person, key.team, key.department, via="api_key")
        presented = credential.encode()
        # Compare with every token, without stopping at a match, so timing tells nothing.
        if self._tokens and any([hmac.compare_digest(presented, t) for t in self._tokens]):
            return Principal("api-token", Role.ADMIN, via="token")
        raise unauthorized("invalid bearer token")


def check_csrf(request: Request, csrf: str) -> None:
    """A state-changing request made with a session cookie: the session's token in `X-CSRF-Token`, and no other
    site's `Origin`."""
    if request.method in SAFE_METHODS:
        return
    presented = request.headers.get(CSRF_HEADER, "")
    if not presented or not hmac.compare_digest(presented.encode(), csrf.encode()):
        raise HTTPException(403, "missing or wrong X-CSRF-Token header for a request made with a session cookie")
    check_origin(request)


def check_same_origin(request: Request) -> None:
    """A state-changing request a browser could have been made to send from another site: its `Origin` (else
    `Referer`), when sent, must be this host. Browsers send `Origin` with every cross-site POST, fetch included."""
    if request.method not in SAFE_METHODS:
        check_origin(request)


def check_local(request: Request) -> None:
    """The no-login loopback admin is for this machine only: a `Host` other than a loopback name is a page that
    rebound its own DNS name to 127.0.0.1 (it could then read everything), and a state-changing request from another
    site's page is refused (it could create an admin or erase data)."""
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if host and not is_loopback(name.strip("[]")):
        raise HTTPException(403, f"Host {host[:100]!r} is not a loopback name: this server answers 127.0.0.1 only")
    check_same_origin(request)


def check_origin(request: Request) -> None:
    """A browser names the page a request comes from (`Origin`, else `Referer`): it must be this host."""
    host = request.headers.get("host", "")
    for header in ("origin", "referer"):
        value = request.headers.get(header)
        if value:
            try:
                netloc = urlsplit(value).netloc.lower()
            except ValueError:  # a malformed URL is no origin of ours
                netloc = ""
            if value == "null" or netloc != host.lower():
                raise HTTPException(403, f"cross-origin request refused ({header} is not this host)")
            return
