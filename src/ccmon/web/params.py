"""Request parameters shared by every analytics endpoint, turned into an analytics `Query`.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

import hmac
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request
from fastapi import Query as Param
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from ccmon.analytics import BUCKETS, DIMENSIONS, UNKNOWN, Filters, InvalidQuery, Query, TimeRange, to_csv
from ccmon.analytics.timerange import ALL_TIME, DEFAULT_SPAN_TEXT
from ccmon.auth.principal import LOOPBACK_ADMIN, Principal, Role

Format = Literal["json", "csv"]


Authenticate = Callable[[Request], Principal]
"""A dependency giving the caller, or raising 401 (not authenticated) / 403 (not allowed)."""


def authorizer(api_tokens: Sequence[str]) -> Authenticate:
    """The caller from the static `api_tokens` (each an admin); with none configured, everyone is the local admin."""
    tokens = tuple(t.encode() for t in api_tokens)

    def authorize(request: Request) -> Principal:
        if tokens:
            scheme, _, credential = (request.headers.get("authorization") or "").partition(" ")
            presented = credential.strip().encode()
            # Compare with every token, without stopping at a match, so timing tells nothing.
            if scheme.lower() != "bearer" or not any([hmac.compare_digest(presented, t) for t in tokens]):
                raise HTTPException(401, "missing or invalid bearer token", {"WWW-Authenticate": "Bearer"})
            return Principal("api-token", Role.ADMIN, via="token")
        return LOOPBACK_ADMIN

    return authorize


def client_address(request: Request) -> str:
    """The caller's address as the audit log and the login rate limit record it: the TCP peer (never a header)."""
    return request.client.host if request.client else ""


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub_dependant in dependant.dependencies:
        names |= _query_names(sub_dependant)
    return names


def _declared(route: APIRoute) -> frozenset[str]:
    """The query parameters a route and its dependencies declare (a walk of a few objects: not worth caching)."""
    return frozenset(_query_names(route.dependant))


def reject_unknown_parameters(request: Request) -> None:
    """A misspelt filter must not silently widen the answer: unknown query parameters are a 422."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _declared(route))
    if unknown:
        raise InvalidQuery(
            f"unknown parameter {', '.join(unknown)}; this endpoint takes {', '.join(sorted(_declared(route)))}"
        )


class QueryDependencies:
    """The dependencies building a request's `Query`, one per kind of endpoint, so each declares exactly the
    parameters it uses (anything else is a 422, `reject_unknown_parameters`):

    - `filtered`: the caller's scope and the dimension filters (one session, month to date: no range);
    - `ranged`: those and the time range `from`/`to`;
    - `bucketed`: those and the time `bucket` (series per bucket).
    """

    def __init__(self, authorize: Authenticate) -> None:
        def filtered(
            request: Request,
            principal: Annotated[Principal, Depends(authorize)],
            _: Annotated[None, Depends(reject_unknown_parameters)],
            person: Annotated[
                list[str] | None,
                Param(description=f"person key (email, else account uuid, else user id); `{UNKNOWN}`: none sent"),
            ] = None,
            team: Annotated[list[str] | None, Param()] = None,
            department: Annotated[list[str] | None, Param()] = None,
            cost_center: Annotated[list[str] | None, Param()] = None,
            model: Annotated[list[str] | None, Param()] = None,
            repository: Annotated[list[str] | None, Param()] = None,
            terminal: Annotated[list[str] | None, Param()] = None,
            version: Annotated[list[str] | None, Param()] = None,
            project: Annotated[list[str] | None, Param(description="the `project_attributes` setting says how")] = None,
            provider: Annotated[
                list[str] | None, Param(description="anthropic, bedrock, vertex, foundry or as set; see docs/api.md")
            ] = None,
            organization: Annotated[list[str] | None, Param(description="`organization.id`")] = None,
        ) -> Query:
            given = {
                "person": person,
                "team": team,
                "department": department,
                "cost_center": cost_center,
                "model": model,
                "repository": repository,
                "terminal": terminal,
                "version": version,
                "project": project,
                "provider": provider,
                "organization": organization,
            }
            assert set(given) == set(DIMENSIONS)
            filters = Filters({name: tuple(values) for name, values in given.items() if values})
            request.state.principal = principal  # for the export audit (`ccmon.web.exports`)
            return Query(ALL_TIME, principal.scope(), filters)

        def ranged(
            query: Annotated[Query, Depends(filtered)],
            start: Annotated[
                str | None,
                Param(alias="from", description=f"RFC 3339 in UTC; default: {DEFAULT_SPAN_TEXT} before `to`"),
            ] = None,
            end: Annotated[str | None, Param(alias="to", description="RFC 3339 in UTC; default: now")] = None,
        ) -> Query:
            return query.with_range(TimeRange.parse(start, end))

        def bucketed(
            query: Annotated[Query, Depends(ranged)],
            bucket: Annotated[
                str | None,
                Param(description=f"time bucket, one of {', '.join(BUCKETS)}; default: chosen from the range"),
            ] = None,
        ) -> Query:
            chosen = Query(query.time_range, query.scope, query.filters, bucket)
            chosen.chosen_bucket  # noqa: B018 - validates the bucket against the range now, as a 422
            return chosen

        self.filtered = filtered
        self.ranged = ranged
        self.bucketed = bucketed


def tabular(result: BaseModel, rows: Sequence[BaseModel], fmt: Format) -> Any:
    """The result as JSON, or its rows as CSV."""
    if fmt == "csv":
        return Response(to_csv(rows), media_type="text/csv; charset=utf-8")
    return result
