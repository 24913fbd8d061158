"""`POST /api/v1/hook/budget` and `POST /api/v1/hook/policy`: what `ccmon hook budget|policy` asks before a prompt or a
tool runs in Claude Code (see `ccmon.hook_cli`, `ccmon.alerts.hooks`).

Who may ask, and about whom: `ccmon.web.client_caller`.

An answer holds the person's own budgets (used, amount, thresholds of their limits and of the pools they are part of)
and nothing about anyone else.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ccmon.alerts.hooks import HookAnswer, HookRequest
from ccmon.web.auth_routes import capped_route
from ccmon.web.client_caller import MAX_FIELD, Caller, ClientCallers, ClientIdentity, pins_of, utc_now

MAX_BODY = 8 * 1024


class HookQuestion(ClientIdentity):
    """Who is asking (`ClientIdentity`) and, for the policy, about which tool and model."""

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


def hook_routes(callers: ClientCallers, *, clock: Callable[[], dt.datetime] = utc_now) -> APIRouter:
    """The router (mount it under /api/v1)."""
    router = APIRouter(tags=["hooks"], route_class=capped_route(MAX_BODY))
    hooks = callers.hooks
    Asker = Annotated[Caller, Depends(callers.dependency)]

    @router.post("/hook/budget")
    def budget(body: HookQuestion, caller: Asker) -> HookVerdict:
        """The person's budget decision for a prompt (`UserPromptSubmit`): allow, warn (past a threshold) or block
        (past a hard cap), with the reason and the budgets that apply."""
        now = clock()
        question = body.request()
        return _verdict(hooks.budget_of(callers.person_for(caller, question, now), now, pins_of(caller)))

    @router.post("/hook/policy")
    def policy(body: HookQuestion, caller: Asker) -> HookVerdict:
        """The model/tool policy's decision for a tool call (`PreToolUse`): allow, warn or deny, with the reason."""
        now = clock()
        question = body.request()
        return _verdict(hooks.policy_of(callers.person_for(caller, question, now), question, now))

    return router


def _verdict(answer: HookAnswer) -> HookVerdict:
    return HookVerdict(**answer.to_json())
