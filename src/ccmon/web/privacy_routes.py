"""`POST /api/v1/privacy/forget`: an admin erases one person's data from every table and rollup.

The eraser (`ccmon.privacy_cli.PersonEraser`, which also writes the audit entry) is passed in by `ccmon.server`: the
web layer imports no store. The erasure is synchronous: when the answer comes, no query returns the person's rows.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

from collections.abc import Callable
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from ccmon.auth.principal import Principal
from ccmon.web.params import client_address

MAX_PERSON = 320


class ErasureReport(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


class Eraser(Protocol):
    """Raises ValueError for a person that cannot be one (a 422), RuntimeError when the erasure cannot run safely."""

    def forget(self, person: str, actor: str, address: str = "") -> ErasureReport: ...


class ForgetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: str = Field(
        min_length=1,
        max_length=MAX_PERSON,
        description="the person's email (also matched as its pseudonym with hash_emails), or a person key",
    )


class ForgetResult(BaseModel):
    removed: dict[str, int]
    """Rows removed per table."""
    sessions: int
    """The person's sessions, whose rows were removed also where they carried no identity."""
    audit_entries_renamed: int
    """Audit entries naming the person, now naming `person_alias` instead."""
    person_alias: str
    """What the audit log calls the erased person (a keyed hash of the address)."""


def privacy_routes(eraser: Eraser, authenticate: Callable[[Request], Principal]) -> APIRouter:
    """The router (mount it under /api/v1)."""
    router = APIRouter(tags=["access", "admin"])

    def admin(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.is_admin:
            raise HTTPException(403, "erasing a person's data needs the admin role")
        return principal

    @router.post("/privacy/forget")
    def forget(body: ForgetRequest, principal: Annotated[Principal, Depends(admin)], request: Request) -> ForgetResult:
        """Erase one person's telemetry, rollup rows, login, sessions, API keys and directory entry; rename them in
        the audit log. Stop their telemetry first: what they send afterwards is stored again."""
        address = client_address(request)
        try:
            report = eraser.forget(body.person, principal.name, address)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return ForgetResult(**report.as_dict())

    return router
