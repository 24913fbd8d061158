"""OpenID Connect login against one identity provider: the authorization code flow with PKCE (S256), `state` and
`nonce`, as a confidential client (or a public one, without a secret).

`OidcClient.begin` gives the provider's authorization URL and a `PendingLogin` (state, nonce, PKCE verifier, the page
to return to). The pending login travels in a short-lived cookie, sealed with an HMAC so that it comes back as we
wrote it, and held by the browser rather than by one process: any ccmon process behind a load balancer can finish
the flow. `OidcClient.finish` checks the callback against it (state, in constant time; the `iss` parameter of RFC
9207), redeems the code at the token endpoint, validates the ID token and answers the `OidcIdentity`.

The ID token is checked as OpenID Connect Core 3.1.3.7 asks: signed by a key of the provider's JWKS with RS256 or
ES256 only (never `none`, never an HMAC keyed with a public key: the algorithm is not taken on the token's word), issued
by the configured issuer, for our client id (`azp` too when there are several audiences), not expired, and carrying
the nonce we sent. Claims the ID token lacks (providers may release `email` and `groups` only at the userinfo
endpoint) are read from userinfo, whose `sub` must be the ID token's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

ALGORITHMS = ("RS256", "ES256")
"""Signature algorithms accepted on ID tokens: asymmetric only, so the provider's public keys cannot sign one."""
_KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}

PENDING_MAX_AGE_S = 600
"""A login must come back from the provider within this long."""
LEEWAY_S = 60
"""Clock skew allowed between the provider and us on `exp` and `iat`."""
DISCOVERY_TTL_S = 3600
HTTP_TIMEOUT_S = 10.0
MAX_GROUPS = 1000
MAX_PARAM = 4096
"""Longest `code`, `state` or `iss` parameter read from a callback (providers' codes are far shorter)."""

_SEAL_CONTEXT = b"ccmon oidc pending login\0"


class OidcError(Exception):
    """A login that cannot complete. `status` is the HTTP status for the callback; the message is safe to show
    (it names what failed, never a token or secret)."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class ProviderUnavailable(OidcError):
    """The identity provider could not be reached or answered something that is not OpenID Connect."""

    status = 502


class InvalidIdToken(OidcError):
    """The ID token is not one we may trust: bad signature or algorithm, wrong issuer, audience or nonce, expired."""

    status = 401


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str = ""
    """Empty for a public client (PKCE only, no client authentication)."""
    scopes: tuple[str, ...] = ("openid", "email", "profile", "groups")
    groups_claim: str = "groups"


@dataclass(frozen=True)
class OidcIdentity:
    """Who logged in, as the provider says."""

    subject: str
    email: str
    """Lower-cased; the provider did not say it is unverified."""
    name: str
    groups: tuple[str, ...]
    verified: bool = False
    """The provider said `email_verified: true` (absent is not the same as verified)."""


@dataclass(frozen=True)
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    token_auth_methods: tuple[str, ...]
    iss_parameter: bool
    """The provider adds `iss` to its authorization responses (RFC 9207): then it must be there, and ours."""


@dataclass(frozen=True)
class PendingLogin:
    """A login sent to the provider and not back yet."""

    state: str
    nonce: str
    code_verifier: str
    next: str
    redirect_uri: str
    created: int
    """Unix seconds."""

    def seal(self, key: bytes) -> str:
        """The cookie value: the fields and an HMAC of them (nothing secret from the browser that started it)."""
        payload = _b64(json.dumps(asdict(self), separators=(",", ":")).encode())
        return f"{payload}.{_b64(_mac(key, payload))}"

    @classmethod
    def unseal(cls, value: str, key: bytes, now: float) -> PendingLogin:
        """The pending login of a cookie we sealed, not older than `PENDING_MAX_AGE_S`; else `OidcError`."""
        payload, _, mac = value.partition(".")
        try:
            if not payload or len(value) > 4096 or not hmac.compare_digest(_unb64(mac), _mac(key, payload)):
                raise ValueError("bad seal")
            fields = json.loads(_unb64(payload))
            pending = cls(**fields)
            if not all(isinstance(getattr(pending, name), str) for name in fields if name != "created"):
                raise ValueError("bad field")
            if not isinstance(pending.created, int):
                raise ValueError("bad time")
        except (ValueError, TypeError, UnicodeDecodeError):
            raise OidcError("the sign-in could not be matched to this browser: start again") from None
        if not pending.created - LEEWAY_S <= now <= pending.created + PENDING_MAX_AGE_S:
            raise OidcError("the sign-in took too long: start again")
        return pending


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, _SEAL_CONTEXT + payload.encode(), hashlib.sha256).digest()


def safe_next(page: str | None) -> str:
    """The page to land on after the login: a path of this site only (an open redirect would turn our login into a
    phishing tool); anything else is the dashboard."""
    if (
        page
        and len(page) <= 2000
        and page.startswith("/")
        and not page.startswith(("//", "/\\"))
        and all(32 < ord(c) < 127 and c != "\\" for c in page)
    ):
        return page
    return "/"


class OidcClient:
    """One relying party (ccmon) of one provider. Thread-safe; discovery and keys are fetched on first use and
    cached, so ccmon starts while the provider is down and logins work once it is back."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._http = http or httpx.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False)
        self._clock = clock
        self._lock = threading.Lock()
        self._discovery: tuple[float, Discovery] | None = None
        self._jwks: jwt.PyJWKClient | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OidcClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- discovery -----------------------------------------------------------------------------------------------

    def discovery(self) -> Discovery:
        with self._lock:
            if self._discovery and self._clock() - self._discovery[0] < DISCOVERY_TTL_S:
                return self._discovery[1]
        found = self._discover()
        with self._lock:
            if self._jwks is None or self._discovery is None or self._discovery[1].jwks_uri != found.jwks_uri:
                self._jwks = jwt.PyJWKClient(found.jwks_uri, cache_keys=True, timeout=HTTP_TIMEOUT_S)
            self._discovery = (self._clock(), found)
        return found

    def _discover(self) -> Discovery:
        issuer = self.settings.issuer.rstrip("/")
        document = self._get_json(f"{issuer}/.well-known/openid-configuration", "discovery")
        # The issuer must be the one configured, exactly (a trailing slash aside): OpenID Connect Discovery 4.3.
        announced = document.get("issuer")
        if not isinstance(announced, str) or announced.rstrip("/") != issuer:
            raise ProviderUnavailable(f"the provider's discovery names issuer {str(announced)[:200]!r}, not {issuer!r}")
        endpoints: dict[str, str] = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = document.get(name)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise ProviderUnavailable(f"the provider's discovery has no {name}")
            endpoints[name] = value
        userinfo = document.get("userinfo_endpoint")
        methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        return Discovery(
            issuer=announced,
            userinfo_endpoint=userinfo if isinstance(userinfo, str) else None,
            token_auth_methods=tuple(m for m in methods if isinstance(m, str)),
            iss_parameter=document.get("authorization_response_iss_parameter_supported") is True,
            **endpoints,
        )

    def _get_json(self, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.get(url, **kwargs)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the identity provider's {what} could not be reached: {exc}") from None
        return _json_object(response, what)

    # -- the flow ------------------------------------------------------------------------------------------------

    def begin(self, redirect_uri: str, next_page: str | None) -> tuple[str, PendingLogin]:
        """The provider's authorization URL to send the browser to, and the login to remember until it is back."""
        found = self.discovery()
        verifier = secrets.token_urlsafe(48)  # 64 characters: RFC 7636 asks for 43-128
        pending = PendingLogin(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=verifier,
            next=safe_next(next_page),
            redirect_uri=redirect_uri,
            created=int(self._clock()),
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(self.settings.scopes),
                "state": pending.state,
                "nonce": pending.nonce,
                "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in found.authorization_endpoint else "?"
        return f"{found.authorization_endpoint}{separator}{query}", pending

    def finish(self, pending: PendingLogin, params: Mapping[str, str]) -> OidcIdentity:
        """The identity of a callback's parameters, checked against the pending login; else an `OidcError`."""
        state = params.get("state", "")
        if len(state) > MAX_PARAM or not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise OidcError("the sign-in's state does not match this browser's: start again")
        found = self.discovery()
        iss = params.get("iss")
        if (iss is not None or found.iss_parameter) and iss != found.issuer:
            raise OidcError("the sign-in response names another issuer")
        if error := params.get("error"):
            description = params.get("error_description", "")
            raise OidcError(f"the identity provider refused the sign-in: {error[:100]} {description[:300]}".strip())
        code = params.get("code", "")
        if not code or len(code) > MAX_PARAM:
            raise OidcError("the sign-in response has no authorization code")
        tokens = self._redeem(found, code, pending)
        claims = self.validate_id_token(tokens["id_token"], pending.nonce)
        access_token = tokens.get("access_token")
        missing = "email" not in claims or self.settings.groups_claim not in claims
        if missing and found.userinfo_endpoint and isinstance(access_token, str):
            claims = {**self._userinfo(found.userinfo_endpoint, access_token, claims["sub"]), **claims}
        return self.identity(claims)

    def _redeem(self, found: Discovery, code: str, pending: PendingLogin) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.code_verifier,
        }
        headers = {"accept": "application/json"}
        settings = self.settings
        if not settings.client_secret:
            form["client_id"] = settings.client_id
        elif "client_secret_basic" in found.token_auth_methods or "client_secret_post" not in found.token_auth_methods:
            # RFC 6749 2.3.1: each part form-encoded before the Basic encoding.
            basic = f"{_form_encode(settings.client_id)}:{_form_encode(settings.client_secret)}"
            headers["authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
        else:
            form.update(client_id=settings.client_id, client_secret=settings.client_secret)
        try:
            response = self._http.post(found.token_endpoint, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the identity provider's token endpoint could not be reached: {exc}") from None
        if response.status_code in (400, 401):
            body = _json_object(response, "token endpoint", check_status=False)
            error = str(body.get("error", "refused"))[:100]
            description = str(body.get("error_description", ""))[:300]
            raise OidcError(f"the identity provider refused the authorization code ({error}): {description}".strip())
        tokens = _json_object(response, "token endpoint")
        if not isinstance(tokens.get("id_token"), str):
            raise ProviderUnavailable("the identity provider's token response has no ID token")
        return tokens

    def _userinfo(self, endpoint: str, access_token: str, subject: str) -> dict[str, Any]:
        claims = self._get_json(endpoint, "userinfo endpoint", headers={"authorization": f"Bearer {access_token}"})
        if claims.get("sub") != subject:
            raise InvalidIdToken("the userinfo answer is about another subject than the ID token")
        return claims

    # -- the ID token --------------------------------------------------------------------------------------------

    def validate_id_token(self, token: str, nonce: str) -> dict[str, Any]:
        """The claims of an ID token issued to us for this login (see the module docstring); else `InvalidIdToken`."""
        found = self.discovery()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidIdToken("the ID token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise InvalidIdToken(
                f"the ID token is signed with {str(algorithm)[:20]!r}; accepted: {', '.join(ALGORITHMS)}"
            )
        assert self._jwks is not None  # set by discovery()
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise ProviderUnavailable(f"the identity provider's keys could not be fetched: {exc}") from None
        except jwt.PyJWTError:
            raise InvalidIdToken("the ID token is signed by a key the provider does not publish") from None
        if key.key_type != _KEY_TYPES[algorithm] or (key.algorithm_name and key.algorithm_name != algorithm):
            raise InvalidIdToken(f"the ID token's algorithm {algorithm} does not fit its key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.settings.client_id,
                issuer=found.issuer,
                leeway=LEEWAY_S,
                # exp is checked below, against our clock (tests move it).
                options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.InvalidAudienceError:
            raise InvalidIdToken("the ID token was issued to another client (audience)") from None
        except jwt.InvalidIssuerError:
            raise InvalidIdToken("the ID token was issued by another issuer") from None
        except jwt.PyJWTError as exc:
            raise InvalidIdToken(f"the ID token is invalid: {exc}") from None
        now = self._clock()
        if not isinstance(claims["exp"], int | float) or claims["exp"] + LEEWAY_S < now:
            raise InvalidIdToken("the ID token has expired")
        if not isinstance(claims["iat"], int | float) or claims["iat"] - LEEWAY_S > now:
            raise InvalidIdToken("the ID token is issued in the future")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        if (len(audiences) > 1 or azp is not None) and azp != self.settings.client_id:
            raise InvalidIdToken("the ID token was issued to another client (azp)")
        presented = claims.get("nonce")
        if not isinstance(presented, str) or not hmac.compare_digest(presented.encode(), nonce.encode()):
            raise InvalidIdToken("the ID token's nonce is not this sign-in's")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise InvalidIdToken("the ID token has no subject")
        return claims

    def identity(self, claims: Mapping[str, Any]) -> OidcIdentity:
        """Email, name and groups from validated claims."""
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email or len(email) > 254:
            raise OidcError("the identity provider sent no email address (ask for the `email` scope)", 403)
        if claims.get("email_verified") is False:
            raise OidcError(f"the identity provider says {email} is not verified", 403)
        name = claims.get("name") or claims.get("preferred_username") or ""
        return OidcIdentity(
            subject=str(claims["sub"]),
            email=email.strip().lower(),
            name=name.strip()[:200] if isinstance(name, str) else "",
            groups=_groups(claims.get(self.settings.groups_claim)),
            verified=claims.get("email_verified") is True,
        )


def _groups(value: Any) -> tuple[str, ...]:
    """A groups claim: a list of names (most providers) or one comma-separated string (some)."""
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list):
        items = value
    else:
        return ()
    names = (item.strip()[:256] for item in items[:MAX_GROUPS] if isinstance(item, str))
    return tuple(name for name in names if name)


def _form_encode(text: str) -> str:
    return urlencode({"": text})[1:]


def _json_object(response: httpx.Response, what: str, *, check_status: bool = True) -> dict[str, Any]:
    if check_status and response.status_code != 200:
        raise ProviderUnavailable(f"the identity provider's {what} answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ProviderUnavailable(f"the identity provider's {what} did not answer a JSON object")
    return body
