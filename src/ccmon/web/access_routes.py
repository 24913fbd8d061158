"""The admin API of who may log in: `/api/v1/users`, `/api/v1/api-keys` and the audit log `/api/v1/audit`.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.

Every endpoint here is for admins (403 for any other role). Every change is recorded in the audit log with the
admin's name and address; the log never holds a password or a key, only what was changed.
"""

import datetime as dt
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Query as Param
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ccmon.auth.api_keys import ApiKeyError, ApiKeys
from ccmon.auth.audit import MAX_PAGE, Audit, AuditPage, InvalidCursor
from ccmon.auth.principal import Principal, Role
from ccmon.auth.users import MAX_EMAIL, UserError, Users
from ccmon.web.auth_routes import capped_route
from ccmon.web.params import Authenticate, client_address, reject_unknown_parameters

MAX_BODY = 64 * 1024

Text = Annotated[str, Field(max_length=200)]


def _role(value: str | None) -> str | None:
    if value is not None:
        Role.parse(value)  # ValueError -> 422 naming the roles
    return value


class UserOut(BaseModel):
    email: str
    name: str
    role: str
    team: str
    department: str
    disabled: bool
    source: str


class UserList(BaseModel):
    users: list[UserOut]


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, Field(max_length=MAX_EMAIL)]
    name: Text = ""
    role: str = "viewer"
    team: Text = ""
    department: Text = ""
    password: Annotated[str | None, Field(max_length=1024)] = None
    """Required for a `local` user (at least 12 characters)."""
    source: str = "local"
    disabled: bool = False

    _check_role = field_validator("role")(_role)


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text | None = None
    role: str | None = None
    team: Text | None = None
    department: Text | None = None
    disabled: bool | None = None
    password: Annotated[str | None, Field(max_length=1024)] = None

    _check_role = field_validator("role")(_role)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    role: str
    person: str
    team: str
    department: str
    created_by: str
    created_at: str
    expires_at: str | None
    revoked: bool


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyOut]


class ApiKeyCreated(ApiKeyOut):
    key: str
    """The key itself: shown this once, stored only as a hash."""


class NewApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text
    role: str = "viewer"
    person: Annotated[str, Field(max_length=MAX_EMAIL)] = ""
    """The person key (or email) whose own data a `developer` key sees."""
    team: Text = ""
    department: Text = ""
    expires_at: dt.datetime | None = None
    """RFC 3339; none: the key does not expire."""

    _check_role = field_validator("role")(_role)


def admin_only(authorize: Authenticate) -> Callable[[Principal], Principal]:
    def require_admin(principal: Annotated[Principal, Depends(authorize)]) -> Principal:
        if not principal.is_admin:
            raise HTTPException(403, f"only admins may do this; you are {principal.role.value}")
        return principal

    return require_admin


def access_routes(authorize: Authenticate, *, users: Users, api_keys: ApiKeys, audit: Audit) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["access", "admin"], route_class=capped_route(MAX_BODY))
    Admin = Annotated[Principal, Depends(admin_only(authorize))]

    def failed(exc: UserError | ApiKeyError) -> HTTPException:
        return HTTPException(exc.status, str(exc))

    @router.get("/users")
    def list_users(_: Admin) -> UserList:
        """Everyone who may log in (never their password hashes)."""
        return UserList(users=[UserOut(**u.public()) for u in users.list()])

    @router.post("/users", status_code=201)
    def create_user(body: NewUser, admin: Admin, request: Request) -> UserOut:
        """Add a user: `local` ones log in with the password given here, `oidc` and `header` ones by SSO or proxy."""
        try:
            user = users.create(
                body.email,
                role=Role.parse(body.role),
                name=body.name,
                team=body.team,
                department=body.department,
                password=body.password,
                source=body.source,
            )
            if body.disabled:
                user = users.update(user.email, disabled=True)
        except UserError as exc:
            raise failed(exc) from None
        audit.record(admin.name, "user.create", user.email, "ok", client_address(request), f"role={user.role.value}")
        return UserOut(**user.public())

    @router.patch("/users/{email}")
    def update_user(email: str, body: UserChange, admin: Admin, request: Request) -> UserOut:
        """Change a user's name, role, team, department, password or disabled flag; ends their sessions."""
        try:
            user = users.update(
                email,
                name=body.name,
                role=Role.parse(body.role) if body.role else None,
                team=body.team,
                department=body.department,
                disabled=body.disabled,
                password=body.password,
            )
        except UserError as exc:
            raise failed(exc) from None
        changed = sorted(k for k, v in body.model_dump().items() if v is not None)
        details = [f"{k}={getattr(user, k)}" if k in {"role", "disabled"} else k for k in changed]
        audit.record(admin.name, "user.update", user.email, "ok", client_address(request), ", ".join(details))
        return UserOut(**user.public())

    @router.delete("/users/{email}")
    def delete_user(email: str, admin: Admin, request: Request) -> UserOut:
        """Remove a user; ends their sessions."""
        try:
            user = users.delete(email)
        except UserError as exc:
            raise failed(exc) from None
        audit.record(admin.name, "user.delete", user.email, "ok", client_address(request))
        return UserOut(**user.public())

    @router.get("/api-keys")
    def list_api_keys(_: Admin) -> ApiKeyList:
        """Every API key, revoked ones too (never the keys or their hashes)."""
        return ApiKeyList(api_keys=[ApiKeyOut(**k.public()) for k in api_keys.list()])

    @router.post("/api-keys", status_code=201)
    def create_api_key(body: NewApiKey, admin: Admin, request: Request) -> ApiKeyCreated:
        """A new API key for automation (`Authorization: Bearer <key>`); the key is in this answer only."""
        expires = body.expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=dt.UTC)
        try:
            record, key = api_keys.create(
                body.name,
                role=Role.parse(body.role),
                person=body.person,
                team=body.team,
                department=body.department,
                expires_at=expires,
                created_by=admin.name,
            )
        except ApiKeyError as exc:
            raise failed(exc) from None
        detail = f"name={record.name}, role={record.role.value}"
        audit.record(admin.name, "apikey.create", record.id, "ok", client_address(request), detail)
        return ApiKeyCreated(**record.public(), key=key)

    @router.delete("/api-keys/{key_id}")
    def revoke_api_key(key_id: str, admin: Admin, request: Request) -> ApiKeyOut:
        """Revoke a key: it stops working at once here, within seconds in other processes sharing the store."""
        try:
            record = api_keys.revoke(key_id)
        except ApiKeyError as exc:
            raise failed(exc) from None
        audit.record(admin.name, "apikey.revoke", record.id, "ok", client_address(request), f"name={record.name}")
        return ApiKeyOut(**record.public())

    @router.get("/audit", dependencies=[Depends(reject_unknown_parameters)])
    async def get_audit(
        _: Admin,
        limit: Annotated[int, Param(ge=1, le=MAX_PAGE)] = 100,
        before: Annotated[str | None, Param(max_length=100, description="`next_cursor` of the previous page")] = None,
    ) -> AuditPage:
        """The audit log, newest first: logins and failures, user, key, token and directory changes, exports and
        erasures."""
        try:
            page = await run_in_threadpool(audit.entries, limit, before)
        except InvalidCursor as exc:
            raise HTTPException(422, str(exc)) from None
        return page  # the audit module's own dataclasses: FastAPI renders them as they are

    return router
