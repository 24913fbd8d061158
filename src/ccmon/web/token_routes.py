"""`/api/v1/ingest-tokens`: admins create, list, rotate and revoke the tokens Claude Code sends telemetry with.

The registry (`ccmon.ingest.tokens.IngestTokens`) and the audit log are passed in by `ccmon.server`: the web layer
imports neither. A new or rotated token's secret is in the answer once, as `token`; it is never stored nor shown again.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

import datetime as dt
import math
from collections.abc import Callable
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from ccmon.auth.principal import Principal
from ccmon.web.params import client_address

MAX_TEXT = 200


class TokenView(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


class TokenRegistry(Protocol):
    """What the routes need of the ingest token registry. It raises LookupError for an unknown id and ValueError
    for a value it cannot take (both with a message fit for the caller)."""

    def create(
        self,
        name: str,
        *,
        organization: str = "",
        team: str = "",
        department: str = "",
        cost_center: str = "",
        rate_limit_per_s: float | None = None,
        rate_limit_burst: float | None = None,
        expires_at: dt.datetime | None = None,
        created_by: str = "",
    ) -> tuple[Any, str]: ...

    def list(self) -> list[Any]: ...

    def rotate(self, token_id: str) -> tuple[Any, str]: ...

    def revoke(self, token_id: str) -> Any: ...


class AuditLog(Protocol):
    def record(
        self, actor: str, action: str, target: str, outcome: str = "ok", address: str = "", detail: str = ""
    ) -> None: ...


class NewToken(BaseModel):
    """A token to create: its name, the attributes it pins, and optionally a rate limit and an expiry."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_TEXT)
    organization: str = Field("", max_length=MAX_TEXT)
    team: str = Field("", max_length=MAX_TEXT)
    department: str = Field("", max_length=MAX_TEXT)
    cost_center: str = Field("", max_length=MAX_TEXT)
    rate_limit_per_s: float | None = Field(None, gt=0, le=1e9, description="records per second (per process)")
    rate_limit_burst: float | None = Field(None, ge=1, le=1e12, description="records; default: one second's worth")
    expires_at: dt.datetime | None = Field(None, description="RFC 3339; the token stops working then")


class IngestToken(BaseModel):
    id: str
    name: str
    organization: str
    team: str
    department: str
    cost_center: str
    rate_limit_per_s: float | None
    rate_limit_burst: float | None = None
    created_by: str = ""
    created_at: str
    expires_at: str | None
    revoked: bool
    last_seen: str | None


class IngestTokenSecret(IngestToken):
    token: str
    """The secret to configure in `Authorization: Bearer <token>`; shown this once."""


class IngestTokenList(BaseModel):
    tokens: list[IngestToken]


def token_routes(
    registry: TokenRegistry, authenticate: Callable[[Request], Principal], audit: AuditLog | None = None
) -> APIRouter:
    """The router (mount it under /api/v1). `authenticate` gives the caller; only admins get past `admin`."""
    router = APIRouter(tags=["access", "admin"])

    def admin(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.is_admin:
            raise HTTPException(403, "managing ingest tokens needs the admin role")
        return principal

    Admin = Annotated[Principal, Depends(admin)]
    TokenId = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

    def record(principal: Principal, request: Request, action: str, target: str, outcome: str, detail: str) -> None:
        if audit is not None:
            audit.record(principal.name, action, target, outcome, client_address(request), detail)

    @router.get("/ingest-tokens")
    def list_tokens(_: Admin) -> IngestTokenList:
        """Every ingest token, revoked ones too, with its pinned attributes and when it was last used."""
        return IngestTokenList(tokens=[IngestToken(**t.as_dict()) for t in registry.list()])

    @router.post("/ingest-tokens", status_code=201)
    def create_token(body: NewToken, principal: Admin, request: Request) -> IngestTokenSecret:
        """Create a token; the answer holds its secret (`token`), which is never shown again."""
        if body.rate_limit_burst is not None and body.rate_limit_per_s is None:
            raise HTTPException(422, "rate_limit_burst needs rate_limit_per_s")
        if body.rate_limit_per_s is not None and not math.isfinite(body.rate_limit_per_s):
            raise HTTPException(422, "rate_limit_per_s must be a finite number")
        expires = body.expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=dt.UTC)
        try:
            info, secret = registry.create(
                body.name,
                organization=body.organization,
                team=body.team,
                department=body.department,
                cost_center=body.cost_center,
                rate_limit_per_s=body.rate_limit_per_s,
                rate_limit_burst=body.rate_limit_burst,
                expires_at=expires,
                created_by=principal.name,
            )
        except ValueError as exc:
            record(principal, request, "token.create", body.name, "refused", str(exc))
            raise HTTPException(422, str(exc)) from None
        view = info.as_dict()
        record(principal, request, "token.create", f"{view['id']} ({view['name']})", "ok", _pins_text(view))
        return IngestTokenSecret(**view, token=secret)

    @router.post("/ingest-tokens/{token_id}/rotate")
    def rotate_token(token_id: TokenId, principal: Admin, request: Request) -> IngestTokenSecret:
        """A new secret for the token (same id, pins and limit); the old one stops working."""
        try:
            info, secret = registry.rotate(token_id)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from None
        view = info.as_dict()
        record(principal, request, "token.rotate", f"{view['id']} ({view['name']})", "ok", "")
        return IngestTokenSecret(**view, token=secret)

    @router.delete("/ingest-tokens/{token_id}")
    def revoke_token(token_id: TokenId, principal: Admin, request: Request) -> IngestToken:
        """Revoke the token: exports with it are refused from now on (within seconds in other processes)."""
        try:
            info = registry.revoke(token_id)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        view = info.as_dict()
        record(principal, request, "token.revoke", f"{view['id']} ({view['name']})", "ok", "")
        return IngestToken(**view)

    return router


def _pins_text(view: dict[str, Any]) -> str:
    pins = [f"{key}={view[key]}" for key in ("organization", "team", "department", "cost_center") if view.get(key)]
    if view.get("rate_limit_per_s"):
        pins.append(f"rate_limit_per_s={view['rate_limit_per_s']}")
    if view.get("expires_at"):
        pins.append(f"expires_at={view['expires_at']}")
    return ", ".join(pins)
