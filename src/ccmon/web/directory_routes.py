"""The directory over HTTP: GET/PUT /api/v1/directory, POST /api/v1/directory/apply (admins), and
GET /api/v1/adoption/headcount (any caller, within their scope).

A PUT body is JSON (`{"people": [...], "rules": [...]}`), CSV (`text/csv`) or YAML (`application/yaml`), read with
a cap (`ccmon.directory.people.MAX_BYTES`, else 413) and validated whole before anything is stored: an invalid body
is a 400 naming the line or entry and field, and changes nothing. `?mode=merge` adds and updates people without
removing the others. The objects come from `server.py` (the web layer does not reach the store itself).

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Query as Param
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ccmon.analytics.adoption import Headcount
from ccmon.analytics.query import Query
from ccmon.analytics.scope import Forbidden
from ccmon.analytics.timerange import TimeRange
from ccmon.auth.audit import Audit
from ccmon.auth.principal import Principal
from ccmon.directory.people import MAX_BYTES, DirectoryError, parse
from ccmon.directory.reattribute import Reattribution
from ccmon.directory.registry import Directory
from ccmon.web.params import Authenticate, client_address, reject_unknown_parameters

_MEDIA_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "text/x-yaml": "yaml",
    "application/json": "json",
}


@dataclass(frozen=True)
class DirectoryService:
    """What the routes need, wired by `server.py`."""

    directory: Directory
    apply: Callable[[bool], Reattribution]
    """Re-attribute stored rows (`ccmon.directory.reattribute`); the argument is `dry_run`."""
    headcount: Callable[[Query], Headcount]
    audit: Audit | None = None


class PersonOut(BaseModel):
    email: str
    name: str
    team: str
    department: str
    cost_center: str
    manager: str


class DirectoryOut(BaseModel):
    people: list[PersonOut]
    rules: list[str]


class LoadResult(BaseModel):
    added: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: int
    rules: list[str] | None


_PERSON_SCHEMA = {
    "type": "object",
    "required": ["email"],
    "properties": {name: {"type": "string"} for name in PersonOut.model_fields},
}
_PUT_BODY = {
    "requestBody": {
        "required": True,
        "description": "JSON as below; or text/csv (header email,name,team,department,cost_center,manager); or "
        "application/yaml shaped like the JSON.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "people": {"type": "array", "items": _PERSON_SCHEMA},
                        "rules": {"type": "array", "items": {"type": "string"}},
                    },
                }
            }
        },
    }
}
"""The PUT body as OpenAPI documents it (the route reads the body itself, to cap it and to take CSV and YAML)."""


def _admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("the directory is administered by admins only")


async def _body(request: Request) -> bytes:
    """The request body, refused with 413 beyond `MAX_BYTES` (before reading it when the length is declared)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise HTTPException(413, f"the directory is larger than the limit of {MAX_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            raise HTTPException(413, f"the directory is larger than the limit of {MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def directory_routes(service: DirectoryService, authorize: Authenticate) -> APIRouter:
    router = APIRouter(tags=["directory"], dependencies=[Depends(reject_unknown_parameters)])
    Caller = Annotated[Principal, Depends(authorize)]

    def audit(request: Request, principal: Principal, action: str, detail: str, outcome: str = "ok") -> None:
        if service.audit is not None:
            address = client_address(request)
            service.audit.record(principal.name, action, "directory", outcome, address, detail)

    @router.get("/directory", tags=["admin"])
    def get_directory(principal: Caller) -> DirectoryOut:
        """The people of the directory and its email rules (admins)."""
        _admin(principal)
        snapshot = service.directory.refresh()
        return DirectoryOut(
            people=[PersonOut(**person.as_dict()) for person in snapshot.people.values()],
            rules=[str(rule) for rule in snapshot.rules],
        )

    @router.put("/directory", openapi_extra=_PUT_BODY, tags=["admin"])
    async def put_directory(
        request: Request,
        principal: Caller,
        mode: Annotated[Literal["replace", "merge"], Param(description="replace (default) or merge")] = "replace",
    ) -> LoadResult:
        """Load the directory from JSON, CSV (text/csv) or YAML (application/yaml): replace it, or merge into it."""
        _admin(principal)
        media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        kind = _MEDIA_TYPES.get(media)
        if kind is None:
            raise HTTPException(415, f"{media!r}: send application/json, text/csv or application/yaml")
        data = await _body(request)
        try:
            content = parse(data, kind)
        except DirectoryError as exc:
            await run_in_threadpool(audit, request, principal, "directory.load", str(exc), "failed")
            raise HTTPException(400, str(exc)) from None
        write = service.directory.replace if mode == "replace" else service.directory.merge
        change = await run_in_threadpool(write, content)
        await run_in_threadpool(audit, request, principal, "directory.load", f"{mode}: {change.summary()}")
        return LoadResult.model_validate(change.as_dict())

    @router.post("/directory/apply", tags=["admin"])
    def apply_directory(
        request: Request,
        principal: Caller,
        dry_run: Annotated[bool, Param(description="report what would change, change nothing")] = True,
    ) -> dict[str, Any]:
        """Re-apply the directory to stored telemetry: per table the rows changed, per person old and new team,
        department and cost center, and the days whose rollups were rebuilt. `dry_run` (the default) changes
        nothing."""
        _admin(principal)
        result = service.apply(dry_run)
        if not dry_run:
            audit(request, principal, "directory.apply", result.summary())
        return result.as_dict()

    @router.get("/adoption/headcount", tags=["analytics"])
    def get_headcount(
        principal: Caller,
        start: Annotated[
            str | None, Param(alias="from", description="RFC 3339 in UTC; default: 30 days before")
        ] = None,
        end: Annotated[str | None, Param(alias="to", description="RFC 3339 in UTC; default: now")] = None,
    ) -> Headcount:
        """The directory's headcount within the caller's scope, how many were active in [from, to) (default: the
        last 30 days) and the share, in all and per team."""
        return service.headcount(Query(TimeRange.parse(start, end), principal.scope()))

    return router
