"""`POST /api/v1/hook/budget` and `POST /api/v1/hook/policy`: what `ccmon hook budget|policy` asks before a prompt or a
tool runs in Claude Code (see `ccmon.hook_cli`, `ccmon.alerts.hooks`).

Who may ask:

- a developer's machine, with the ingest token its Claude Code exports telemetry with (`Authorization: Bearer
  <token>`), counted against the token's rate limit (429 with `Retry-After` past it): a configured (static) token
  about whoever the request names — the same trust ingest gives it, since it may write telemetry as anyone; a token
  pinned to attributes (a team, a department...) only about a person those pins hold (403 for anyone else), and
  without the figures of pooled budgets wider than its pins;
- any API credential (or login) the authenticator accepts: an admin or finance user about anyone; every other role
  (a developer's API key above all) only about its own person — the answer is that person's, whatever the request
  says, and a request naming someone else is a 403;
- on a loopback server without ingest tokens, a local caller without credential (one developer on their laptop).

Whoever asks, when telemetry knows the request's session, the answer is for the session's person even if the request
also names another person or email (`HookService.identify`): a developer cannot dodge their own cap by naming a
colleague (a refusal would not stop them: the hook fails open). For a bounded API caller, a session of someone else
is still a 403.

An answer holds the person's own budgets (used, amount, thresholds of their limits and of the pools they are part of)
and nothing about anyone else.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

import datetime as dt
import math
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from ccmon.alerts.hooks import HookAnswer, HookRequest, HookService, TokenGrant
from ccmon.auth.principal import Principal
from ccmon.web.auth_routes import capped_route
from ccmon.web.params import Authenticate

MAX_BODY = 8 * 1024
MAX_FIELD = 500


class HookQuestion(BaseModel):
    """Who is asking (any of these; the first known wins: person, email, session, account, user id) and, for the
    policy, about which tool and model."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field("", max_length=MAX_FIELD, description="the hook event's `session_id`")
    person: str = Field("", max_length=MAX_FIELD, description="a person key, or an email")
    email: str = Field("", max_length=MAX_FIELD, description="the login's email (`~/.claude.json`)")
    account_uuid: str = Field("", max_length=MAX_FIELD, description="the login's account uuid")
    user_id: str = Field("", max_length=MAX_FIELD, description="Claude Code's installation id (`userID`)")
    model: str = Field("", max_length=MAX_FIELD, description="the session's model, when the client knows it")
    tool_name: str = Field("", max_length=MAX_FIELD, description="the tool about to run (policy)")

    def request(self) -> HookRequest:
        return HookRequest(**{name: value.strip() for name, value in self.model_dump().items()})


class HookVerdict(BaseModel):
    decision: str = Field(description="budget: allow, warn or block; policy: allow, warn or deny")
    reason: str
    person: str | None = Field(description="the person key answered for; null when nobody could be identified")
    statuses: list[dict[str, Any]] = Field(description="the person's budgets: their own limits and their pools")
    warn_key: str = Field(description="what a warning is about: warn once per session and key")
    policy_id: str
    note: str


def hook_routes(
    hooks: HookService,
    authenticate: Authenticate,
    ingest_token: Callable[[str], TokenGrant | None],
    ingest_token_required: Callable[[], bool],
    *,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> APIRouter:
    """The router (mount it under /api/v1). `ingest_token` is what a presented secret grants as an ingest token (None
    when it is none); `ingest_token_required` whether ingest asks for one (then so does a credential-less local caller
    here)."""
    router = APIRouter(tags=["hooks"], route_class=capped_route(MAX_BODY))

    def caller(request: Request) -> Principal | TokenGrant:
        """The API caller, or the grant of the ingest token a machine presents (one request taken from its rate
        limit)."""
        scheme, _, credential = (request.headers.get("authorization") or "").partition(" ")
        credential = credential.strip()
        bearer = scheme.lower() == "bearer" and credential and ingest_token_required()
        grant = ingest_token(credential) if bearer else None
        if grant is not None:
            wait = grant.admit()
            if wait > 0:
                raise HTTPException(
                    429,
                    "this ingest token is past its rate limit: ask again later",
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                )
            return grant
        principal = authenticate(request)
        if principal.via == "loopback" and ingest_token_required():
            raise HTTPException(
                401,
                "present the ingest token (Authorization: Bearer <token>) or an API key",
                {"WWW-Authenticate": "Bearer"},
            )
        return principal

    Caller = Annotated[Principal | TokenGrant, Depends(caller)]

    def person_for(principal: Principal | TokenGrant, question: HookRequest, now: dt.datetime) -> str | None:
        named = hooks.identify_request(question, now)
        if isinstance(principal, TokenGrant):
            if named is not None and not hooks.within_pins(named, principal.pins, now):
                raise HTTPException(403, "this ingest token may only ask about the people its pinned attributes hold")
            return named
        if _sees_everyone(principal):
            return named
        own = principal.person or None
        if named is not None and named != own:
            raise HTTPException(403, f"{principal.name} may only ask about its own person")
        return own

    @router.post("/hook/budget")
    def budget(body: HookQuestion, principal: Caller) -> HookVerdict:
        """The person's budget decision for a prompt (`UserPromptSubmit`): allow, warn (past a threshold) or block
        (past a hard cap), with the reason and the budgets that apply."""
        now = clock()
        question = body.request()
        pins = principal.pins if isinstance(principal, TokenGrant) else None
        return _verdict(hooks.budget_of(person_for(principal, question, now), now, pins))

    @router.post("/hook/policy")
    def policy(body: HookQuestion, principal: Caller) -> HookVerdict:
        """The model/tool policy's decision for a tool call (`PreToolUse`): allow, warn or deny, with the reason."""
        now = clock()
        question = body.request()
        return _verdict(hooks.policy_of(person_for(principal, question, now), question, now))

    return router


def _sees_everyone(principal: Principal) -> bool:
    """Admins and finance read every person's rows; every other role is bounded (and asks about itself here)."""
    scope = principal.scope()
    return scope.per_person and scope.persons is None and scope.teams is None and scope.departments is None


def _verdict(answer: HookAnswer) -> HookVerdict:
    return HookVerdict(**answer.to_json())
