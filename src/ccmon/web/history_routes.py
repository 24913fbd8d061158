"""History over HTTP: `GET /api/v1/history` (daily usage from OTLP and imported history, with the source of each
number) and `POST /api/v1/imports` (admins: rows of `ccmon import` for a server whose store is its own).

The import body is JSON, `{"records": [...]}` (the fields of `ccmon.imports.model.ImportRecord`), read with a cap
(`MAX_BODY_BYTES`, else 413) and validated whole before anything is stored (422 naming the record and field).
Attribution, pricing and deduplication happen in the writer `server_app` gives (`ccmon.imports.records`): this
module knows only the store-free `ccmon.imports.model` (the web layer does not reach the store).

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Query as Param
from pydantic import AwareDatetime, BaseModel, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from ccmon.analytics import Analytics, Query
from ccmon.analytics.history import History
from ccmon.analytics.scope import Forbidden
from ccmon.auth.audit import Audit
from ccmon.auth.principal import Principal
from ccmon.imports.model import MAX_KEY, SOURCES, ImportRecord, WriteOutcome, check_source, check_time
from ccmon.web.params import (
    Authenticate,
    Format,
    QueryDependencies,
    client_address,
    reject_unknown_parameters,
    tabular,
)

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_RECORDS = 10_000
"""Records per request (the CLI sends batches of `ccmon.import_cli.BATCH`)."""

_TEXT = 1000
_COUNT = 10**12


class RecordIn(BaseModel, extra="forbid"):
    """One import record as sent; bounded so that a hostile body cannot store nonsense."""

    source: str = Field(json_schema_extra={"enum": list(SOURCES)})
    key: str = Field(min_length=1, max_length=MAX_KEY)
    ts: AwareDatetime
    user_email: str = Field("", max_length=320)
    person: str = Field("", max_length=_TEXT)
    team: str = Field("", max_length=_TEXT)
    project: str = Field("", max_length=_TEXT)
    repository: str = Field("", max_length=_TEXT)
    terminal_type: str = Field("", max_length=100)
    version: str = Field("", max_length=100)
    organization_id: str = Field("", max_length=100)
    session_id: str = Field("", max_length=200)
    model: str = Field("", max_length=200)
    input_tokens: int = Field(0, ge=0, lt=_COUNT)
    output_tokens: int = Field(0, ge=0, lt=_COUNT)
    cache_read_tokens: int = Field(0, ge=0, lt=_COUNT)
    cache_creation_tokens: int = Field(0, ge=0, lt=_COUNT)
    cache_creation_1h_tokens: int = Field(0, ge=0, lt=_COUNT)
    cost_usd: float | None = Field(None, ge=0, lt=1e9, allow_inf_nan=False)
    sessions: int = Field(0, ge=0, lt=2**32)
    lines_added: int = Field(0, ge=0, lt=_COUNT)
    lines_removed: int = Field(0, ge=0, lt=_COUNT)
    commits: int = Field(0, ge=0, lt=2**32)
    pull_requests: int = Field(0, ge=0, lt=2**32)

    @field_validator("source")
    @classmethod
    def _known(cls, source: str) -> str:
        check_source(source)
        return source

    @field_validator("ts")
    @classmethod
    def _plausible(cls, ts: AwareDatetime) -> AwareDatetime:
        check_time(ts)
        return ts


class ImportBody(BaseModel, extra="forbid"):
    records: list[RecordIn] = Field(max_length=MAX_RECORDS)


class ImportResult(BaseModel):
    received: int
    imported: int
    duplicates: int
    """Records whose key was stored already (an earlier import) or repeated in this request."""
    unpriced: int


ImportWrite = Callable[[Sequence[ImportRecord]], WriteOutcome]


def _admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("importing history is for admins only")


async def _body(request: Request) -> bytes:
    """The request body, refused with 413 beyond `MAX_BODY_BYTES` (before reading it when the length is declared)."""
    too_large = HTTPException(413, f"the body is larger than the limit of {MAX_BODY_BYTES} bytes: send smaller batches")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


_IMPORT_SCHEMA = {
    "type": "object",
    "required": ["records"],
    "additionalProperties": False,
    "properties": {"records": {"type": "array", "maxItems": MAX_RECORDS, "items": RecordIn.model_json_schema()}},
}
_IMPORT_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": _IMPORT_SCHEMA}}}}
"""The body as OpenAPI documents it (the route reads the body itself, to cap it)."""


def history_routes(analytics: Analytics, authorize: Authenticate, write: ImportWrite, audit: Audit | None) -> APIRouter:
    router = APIRouter(dependencies=[Depends(reject_unknown_parameters)])
    queries = QueryDependencies(authorize)
    Caller = Annotated[Principal, Depends(authorize)]

    @router.get("/history", tags=["analytics"], response_model=History)
    def get_history(
        query: Annotated[Query, Depends(queries.ranged)],
        by: Annotated[
            Literal["source", "person"],
            Param(description="source: per day and source; person: also per person and day (roles that see people)"),
        ] = "source",
        fmt: Annotated[Format, Param(alias="format", description="json, or csv for the rows")] = "json",
    ) -> Any:
        """Daily cost and tokens from OTLP telemetry and imported history (transcripts, Admin API), each number with
        its source. Per person and UTC day one source counts: OTLP when there is any, else transcripts, else the
        Admin API; the others are reported as `shadowed`, never added. CSV: the rows per person and day with
        `by=person`, else per day and source."""
        result = analytics.history(query, per_person=by == "person")
        return tabular(result, result.people if result.people is not None else result.days, fmt)

    @router.post("/imports", tags=["admin"], openapi_extra=_IMPORT_BODY)
    async def post_imports(request: Request, principal: Caller) -> ImportResult:
        """Store imported history records (admins; `ccmon import ... --url`): attributed with the directory, priced
        from tokens when they carry no cost, and deduplicated by source and key (a second import adds nothing)."""
        _admin(principal)
        data = await _body(request)
        try:
            body = ImportBody.model_validate(orjson.loads(data))
        except orjson.JSONDecodeError as exc:
            raise HTTPException(400, f"the body is not JSON: {exc}") from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()[:10]
            )
            raise HTTPException(422, problems) from None
        records = [ImportRecord(**record.model_dump()) for record in body.records]
        outcome = await run_in_threadpool(write, records)
        if audit is not None:
            detail = f"{len(records)} records: {outcome.imported} imported, {outcome.duplicates} duplicates"
            await run_in_threadpool(
                audit.record, principal.name, "imports.add", "imported_usage", "ok", client_address(request), detail
            )
        return ImportResult(
            received=len(records), imported=outcome.imported, duplicates=outcome.duplicates, unpriced=outcome.unpriced
        )

    return router
