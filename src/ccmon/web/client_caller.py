"""Who is calling from a developer's machine, and about whom: the caller model of the routes Claude Code's side calls
(`ccmon hook`, `ccmon statusline`, `ccmon mcp`, `ccmon doctor`).

Who may ask:

- a developer's machine, with the ingest token its Claude Code exports telemetry with (`Authorization: Bearer
  <token>`), counted against the token's rate limit (429 with `Retry-After` past it): a configured (static) token
  about whoever the request names — the same trust ingest gives it, since it may write telemetry as anyone; a token
  pinned to attributes (a team, a department...) only about a person those pins hold (403 for anyone else);
- any API credential (or login) the authenticator accepts: an admin or finance user about anyone; every other role
  (a developer's API key above all) only about its own person — the answer is that person's, whatever the request
  says, and a request naming someone else is a 403;
- on a loopback server without ingest tokens, a local caller without credential (one developer on their laptop).

Whoever asks, when telemetry knows the request's session, the answer is for the session's person even if the request
also names another person or email (`HookService.identify`): a developer cannot dodge their own cap by naming a
colleague. For a bounded API caller, a session of someone else is still a 403.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from ccmon.alerts.hooks import HookRequest, HookService, TokenGrant
from ccmon.auth.principal import Principal
from ccmon.web.params import Authenticate

MAX_FIELD = 500


class ClientIdentity(BaseModel):
    """Who is asking (any of these; the first known wins: session, person, email, account, user id)."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field("", max_length=MAX_FIELD, description="the Claude Code session's id")
    person: str = Field("", max_length=MAX_FIELD, description="a person key, or an email")
    email: str = Field("", max_length=MAX_FIELD, description="the login's email (`~/.claude.json`)")
    account_uuid: str = Field("", max_length=MAX_FIELD, description="the login's account uuid")
    user_id: str = Field("", max_length=MAX_FIELD, description="Claude Code's installation id (`userID`)")

    def request(self) -> HookRequest:
        return HookRequest(**{name: value.strip() for name, value in self.model_dump().items()})


Caller = Principal | TokenGrant
"""An API principal, or the grant of the ingest token a machine presents."""


@dataclass(frozen=True)
class ClientCallers:
    """The FastAPI dependency that admits a caller (`dependency`), and `person_for`, which says whom a caller's
    question is about (or refuses it)."""

    hooks: HookService
    authenticate: Authenticate
    ingest_token: Callable[[str], TokenGrant | None]
    """What a presented secret grants as an ingest token (None when it is none)."""
    ingest_token_required: Callable[[], bool]
    """Whether ingest asks for a token (then so does a credential-less local caller here)."""

    def dependency(self, request: Request) -> Caller:
        """The API caller, or the grant of the ingest token a machine presents (one request taken from its rate
        limit)."""
        scheme, _, credential = (request.headers.get("authorization") or "").partition(" ")
        credential = credential.strip()
        bearer = scheme.lower() == "bearer" and credential and self.ingest_token_required()
        grant = self.ingest_token(credential) if bearer else None
        if grant is not None:
            wait = grant.admit()
            if wait > 0:
                raise HTTPException(
                    429,
                    "this ingest token is past its rate limit: ask again later",
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                )
            return grant
        principal = self.authenticate(request)
        if principal.via == "loopback" and self.ingest_token_required():
            raise HTTPException(
                401,
                "present the ingest token (Authorization: Bearer <token>) or an API key",
                {"WWW-Authenticate": "Bearer"},
            )
        return principal

    def person_for(self, caller: Caller, question: HookRequest, now: dt.datetime) -> str | None:
        """The person key the question is about, as this caller may ask it; None when nobody could be identified.
        403 when the caller may not ask about whom it names."""
        named = self.hooks.identify_request(question, now)
        if isinstance(caller, TokenGrant):
            if named is not None and not self.hooks.within_pins(named, caller.pins, now):
                raise HTTPException(403, "this ingest token may only ask about the people its pinned attributes hold")
            return named
        if sees_everyone(caller):
            return named
        own = caller.person or None
        if named is not None and named != own:
            raise HTTPException(403, f"{caller.name} may only ask about its own person")
        return own


def sees_everyone(principal: Principal) -> bool:
    """Admins and finance read every person's rows; every other role is bounded (and asks about itself here)."""
    scope = principal.scope()
    return scope.per_person and scope.persons is None and scope.teams is None and scope.departments is None


def pins_of(caller: Caller) -> dict[str, str] | None:
    """An ingest token's pins (None for an API caller): answers leave out what is wider than them."""
    return dict(caller.pins) if isinstance(caller, TokenGrant) else None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
