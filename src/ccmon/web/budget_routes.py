"""`/api/v1/budgets` and `/api/v1/policies`: spending limits and their status, model policies and their violations.

Definitions are listed to every logged-in caller as far as their scope names them (an organisation's budget is
everyone's to read; a team's, the team's), statuses and violations within the caller's scope (`Visibility`, as for
alerts). Creating, changing and deleting are the admins' (`tags=["admin"]`), audited; a budget or policy of the
alerts file is changed in the file (409).

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi import Query as Param

from ccmon.alerts.budgets import dump_budget, parse_budget
from ccmon.alerts.config_file import SOURCE
from ccmon.alerts.policy import dump_policy, parse_policy
from ccmon.alerts.services import AlertServices
from ccmon.analytics.timerange import DEFAULT_SPAN_TEXT, TimeRange, rfc3339
from ccmon.auth.audit import Audit
from ccmon.auth.principal import Principal
from ccmon.web.alert_routes import (
    ID_PATTERN,
    JSON_OBJECT,
    AuditTrail,
    Body,
    Visibility,
    admin_only,
    json_value,
    now_utc,
)
from ccmon.web.params import Authenticate, reject_unknown_parameters

_DEFAULT_FROM = f"RFC 3339 in UTC; default: {DEFAULT_SPAN_TEXT} before `to`"


def budget_routes(services: AlertServices, authenticate: Authenticate, audit: Audit | None = None) -> APIRouter:
    """The router (mount it under /api/v1)."""
    router = APIRouter(tags=["budgets"], dependencies=[Depends(reject_unknown_parameters)])
    Caller = Annotated[Principal, Depends(authenticate)]
    Admin = Annotated[Principal, Depends(admin_only(authenticate, "changing budgets and policies"))]
    ItemId = Annotated[str, PathParam(min_length=1, max_length=64, pattern=ID_PATTERN)]
    record = AuditTrail(audit).record

    def crud(
        noun: str,
        plural: str,
        items: Any,
        parse: Callable[[Mapping[str, Any]], Any],
        dump: Callable[[Any], dict[str, Any]],
    ) -> None:
        """GET list, GET one, POST, PUT and DELETE of one kind of definition."""

        def shown(item: Any) -> dict[str, Any]:
            return {**dump(item), "source": item.source}

        def refuse(principal: Principal, request: Request, action: str, target: str, reason: str, status: int) -> None:
            record(principal, request, action, target, "refused", reason)
            raise HTTPException(status, reason)

        def validated(principal: Principal, request: Request, action: str, body: Mapping[str, Any]) -> Any:
            try:
                return parse(body)
            except (ValueError, TypeError) as exc:
                refuse(principal, request, action, str(body.get("id", ""))[:64], str(exc), 422)

        def list_items(principal: Caller) -> dict[str, Any]:
            view = Visibility(principal.scope(), services.groups_of)
            return {plural: [shown(item) for item in items.items() if view.scoped(item.scope, item.scope_value)]}

        def get_item(item_id: ItemId, principal: Caller) -> dict[str, Any]:
            item = items.get(item_id)
            view = Visibility(principal.scope(), services.groups_of)
            if item is None or not view.scoped(item.scope, item.scope_value):
                raise HTTPException(404, f"no {noun} {item_id!r}")
            return shown(item)

        def create_item(principal: Admin, request: Request, body: Body) -> dict[str, Any]:
            action = f"{noun}.create"
            item = validated(principal, request, action, body)
            if items.get(item.id) is not None:
                refuse(principal, request, action, item.id, f"{noun} {item.id!r} exists", 409)
            items.put(item, principal.name)
            record(principal, request, action, item.id, detail=item.name)
            return shown(item)

        def update_item(item_id: ItemId, principal: Admin, request: Request, body: Body) -> dict[str, Any]:
            action = f"{noun}.update"
            existing = items.get(item_id)
            if existing is None:
                raise HTTPException(404, f"no {noun} {item_id!r}")
            if existing.source == SOURCE:
                refuse(principal, request, action, item_id, _FILE_OWNED.format(noun=noun), 409)
            if "id" in body and body["id"] != item_id:
                refuse(principal, request, action, item_id, f"id: {body['id']!r} differs from the path's", 422)
            item = validated(principal, request, action, {**body, "id": item_id})
            items.put(item, principal.name)
            record(principal, request, action, item.id, detail=item.name)
            return shown(item)

        def delete_item(item_id: ItemId, principal: Admin, request: Request) -> dict[str, Any]:
            action = f"{noun}.delete"
            existing = items.get(item_id)
            if existing is None:
                raise HTTPException(404, f"no {noun} {item_id!r}")
            if existing.source == SOURCE:
                refuse(principal, request, action, item_id, _FILE_OWNED.format(noun=noun), 409)
            items.delete(item_id, principal.name)
            record(principal, request, action, item_id, detail=existing.name)
            return {"deleted": item_id}

        base = f"/{plural}"
        router.add_api_route(base, list_items, methods=["GET"], summary=f"List the {plural}")
        router.add_api_route(
            base,
            create_item,
            methods=["POST"],
            status_code=201,
            tags=["admin"],
            openapi_extra=JSON_OBJECT,
            summary=f"Create a {noun} (409 when its id is taken)",
        )
        router.add_api_route(f"{base}/{{item_id}}", get_item, methods=["GET"], summary=f"One {noun}")
        router.add_api_route(
            f"{base}/{{item_id}}",
            update_item,
            methods=["PUT"],
            tags=["admin"],
            openapi_extra=JSON_OBJECT,
            summary=f"Replace a {noun}",
        )
        router.add_api_route(
            f"{base}/{{item_id}}", delete_item, methods=["DELETE"], tags=["admin"], summary=f"Delete a {noun}"
        )

    # Fixed paths first: `/budgets/status` is not the budget `status`.

    @router.get("/budgets/status")
    def budget_status(principal: Caller) -> dict[str, Any]:
        """Every budget's use in its current period within the caller's scope (a per-person budget: one status per
        person), with the projection to the period's end and the threshold crossed."""
        now = now_utc()
        # `Budgets.status` applies the scope: a pooled status to whoever sees all its rows, a person's to whoever
        # sees that person's.
        return {
            "as_of": rfc3339(now),
            "statuses": [s.to_json() for s in services.budgets.status(now, principal.scope())],
        }

    @router.get("/policies/violations")
    def policy_violations(
        principal: Caller,
        start: Annotated[str | None, Param(alias="from", description=_DEFAULT_FROM)] = None,
        end: Annotated[str | None, Param(alias="to", description="RFC 3339 in UTC; default: now")] = None,
    ) -> dict[str, Any]:
        """Requests to models a policy denies, per person, model and session, within the caller's scope."""
        scope = principal.scope()
        scope.require_per_person("policy violations")
        view = Visibility(scope, services.groups_of)
        violations = services.policies.violations(TimeRange.parse(start, end), scope)
        shown = []
        for violation in violations:
            data = violation.to_json() if hasattr(violation, "to_json") else vars(violation)
            data = {name: json_value(value) for name, value in dict(data).items()}
            if view.labels({"person": str(data.get("person", ""))}):
                shown.append(data)
        return {"violations": shown}

    crud("budget", "budgets", services.budgets, lambda data: parse_budget(data, source="api"), dump_budget)
    crud("policy", "policies", services.policies, lambda data: parse_policy(data, source="api"), dump_policy)
    return router


_FILE_OWNED = "this {noun} is defined in the alerts file: change it there and reload"
