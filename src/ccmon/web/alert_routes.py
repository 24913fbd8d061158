"""`/api/v1/alerts`: firing and pending alerts, their history, the rules (with validation and a dry run), silences,
notification channels and deliveries, and reloading the alerts file.

Reads are for every logged-in caller, within their scope (`Visibility`): an instance whose labels name a person,
team or department outside the caller's scope is left out, and so is any per-person or per-session instance for a
role that sees aggregates only. Writes are the admins' (`tags=["admin"]`), each in the audit log. Bodies are JSON
objects read with a cap (`MAX_BODY`, else 413) and validated by the alerts package's own parsers: a bad one is a 422
whose `detail` names the field. The service objects come from `ccmon.server_app` (the web layer reaches no store).

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi import Query as Param

from ccmon.alerts.channels import describe
from ccmon.alerts.config_file import AlertsFileError
from ccmon.alerts.deliveries import Delivery
from ccmon.alerts.dry_run import MAX_STEPS, dry_run
from ccmon.alerts.instances import HistoryEntry
from ccmon.alerts.model import Instance, Rule, Silence
from ccmon.alerts.rules import dump_rule, parse_rule
from ccmon.alerts.services import AlertServices
from ccmon.alerts.signals import SIGNALS, check_rule
from ccmon.alerts.silences import dump_silence, is_active, matching_labels, parse_silence, silenced_by
from ccmon.analytics.scope import Scope
from ccmon.analytics.timerange import parse_instant, rfc3339
from ccmon.auth.audit import Audit
from ccmon.auth.principal import Principal
from ccmon.web.params import Authenticate, client_address, reject_unknown_parameters

MAX_BODY = 256 * 1024
"""Largest request body accepted (a rule, a silence, a budget or a policy is a few hundred bytes)."""
MAX_DRY_RUN_DAYS = 31
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

JSON_OBJECT = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
    }
}
"""How OpenAPI documents a body the route reads itself (to cap its size and validate it with the parsers)."""


def iso(value: dt.datetime | None) -> str | None:
    """`rfc3339` (every time of the API) for a time that may be absent (an instance not yet fired or resolved)."""
    return None if value is None else rfc3339(value)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, refused with 413 beyond `MAX_BODY` and 422 when it is not a JSON object."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(413, f"the body is larger than the limit of {MAX_BODY} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise HTTPException(413, f"the body is larger than the limit of {MAX_BODY} bytes")
        chunks.append(chunk)
    try:
        data = orjson.loads(b"".join(chunks) or b"null")
    except orjson.JSONDecodeError as exc:
        raise HTTPException(422, f"the body is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise HTTPException(422, "the body must be a JSON object")
    return data


Body = Annotated[dict[str, Any], Depends(json_body)]


def admin_only(authenticate: Authenticate, what: str) -> Callable[..., Principal]:
    """A dependency letting admins through and refusing everyone else (403: `what` needs the admin role); the
    routers of alerting and of budgets and policies share it."""

    def admin(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.is_admin:
            raise HTTPException(403, f"{what} needs the admin role")
        return principal

    return admin


@dataclass(frozen=True)
class AuditTrail:
    """Writes to the audit log (none without one: a router built for a test), with the caller's address."""

    audit: Audit | None

    def record(
        self, principal: Principal, request: Request, action: str, target: str, outcome: str = "ok", detail: str = ""
    ) -> None:
        if self.audit is not None:
            self.audit.record(principal.name, action, target, outcome, client_address(request), detail[:500])


PERSONAL_LABELS = ("person", "session_id")
NAMING_LABELS = (*PERSONAL_LABELS, "subject", "team", "department", "cost_center")
"""Labels whose values name people, sessions or groups of people (a budget's `subject` may be a person)."""


@dataclass(frozen=True)
class Visibility:
    """What of alerting a caller may see, from their analytics scope. Strict: a restricted scope sees a label set only
    when each restricted dimension is named in it (directly, or through the person's team and department) with a
    value inside the scope; an organisation-wide instance is the organisation's total, which a team lead does not
    see in analytics either."""

    scope: Scope
    groups_of: Callable[[str], tuple[str, str] | None]
    """A person's (team, department), for a label set naming only the person."""
    pooled_budgets: frozenset[tuple[str, str]] = frozenset()
    """(budget id, subject) of each pooled budget (the total of a team, department, cost center or the
    organisation): the only budget label sets whose `subject` is not a person. Any other budget label set without a
    `person` label is taken as one person's, the subject being the person, so a personal status recorded without
    that label (an old instance, a deleted budget's history) stays hidden from who may not see the person."""

    @property
    def unrestricted(self) -> bool:
        return self.scope.persons is None and self.scope.teams is None and self.scope.departments is None

    def labels(self, labels: Mapping[str, str]) -> bool:
        effective = dict(labels)
        subject = labels.get("subject", "")
        if "budget" in labels and subject and "person" not in labels:
            # A budget's instance: a pooled budget's subject is its team or department (scope=team, subject=<the
            # team>); any other's is a person (a per-person budget of a team is one person's, not the team's).
            kind = labels.get("scope", "")
            if (labels["budget"], subject) not in self.pooled_budgets:
                effective["person"] = subject
            elif kind in ("team", "department"):
                effective.setdefault(kind, subject)
        if not self.scope.per_person and any(label in effective for label in PERSONAL_LABELS):
            return False
        if self.unrestricted:
            return True
        person = effective.get("person")
        if person and ("team" not in effective or "department" not in effective):
            groups = self.groups_of(person)
            if groups is not None:
                effective.setdefault("team", groups[0])
                effective.setdefault("department", groups[1])
        restrictions = (
            ("person", self.scope.persons),
            ("team", self.scope.teams),
            ("department", self.scope.departments),
        )
        for column, allowed in restrictions:
            if allowed is not None and effective.get(column) not in allowed:
                return False
        return True

    def scoped(self, kind: str, value: str) -> bool:
        """A budget's or policy's scope (`SCOPE_KINDS`): the organisation's are everyone's to see."""
        if kind == "organization":
            return True
        if kind == "cost_center":
            return self.unrestricted
        return self.labels({kind: value})

    def silence(self, silence: Silence) -> bool:
        """A silence whose matchers name people, sessions or groups (`NAMING_LABELS`) is shown to whoever may see
        what they name: an `=` matcher as the label it matches; a regex or a negation (`=~`, `!=`, `!~`) names
        whatever it matches, so only to callers unrestricted in rows (and, on a person or session, per-person)."""
        for matcher in silence.matchers:
            if matcher.label not in NAMING_LABELS:
                continue
            label = "person" if matcher.label == "subject" else matcher.label  # a subject may be a person
            if matcher.op == "=":
                if not self.labels({label: matcher.value}):
                    return False
            elif not self.unrestricted or (label in PERSONAL_LABELS and not self.scope.per_person):
                return False
        return True

    def rule(self, rule: Rule) -> bool:
        """A rule naming people, teams or departments (filters, labels) is shown to those who may see them all."""
        named = [
            (column, value)
            for column in ("person", "team", "department", "session_id")
            for value in (*rule.filters.get(column, ()), *([rule.labels[column]] if column in rule.labels else []))
        ]
        return all(self.labels({column: value}) for column, value in named)


def instance_json(instance: Instance, rule: Rule | None, silenced: bool) -> dict[str, Any]:
    return {
        "rule_id": instance.rule_id,
        "rule_name": rule.name if rule else instance.rule_id,
        "fingerprint": instance.fingerprint,
        "labels": dict(instance.labels),
        "state": instance.state.value,
        "severity": instance.severity.value,
        "value": instance.value,
        "summary": instance.summary,
        "active_since": iso(instance.active_since),
        "fired_at": iso(instance.fired_at),
        "resolved_at": iso(instance.resolved_at),
        "last_eval": iso(instance.last_eval),
        "last_notified": iso(instance.last_notified),
        "silenced": silenced,
    }


def rule_json(rule: Rule) -> dict[str, Any]:
    return {**dump_rule(rule), "source": rule.source}


def json_value(value: Any) -> Any:
    """A value as JSON: times as RFC 3339 with `Z`, enums as their value, tuples as lists."""
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    return value


def history_json(entry: HistoryEntry) -> dict[str, Any]:
    answer: dict[str, Any] = json_value(asdict(entry))
    return answer


def _delivery_label_sets(delivery: Delivery) -> list[dict[str, str]]:
    """The label sets a delivery's notification carries: its group's and each alert's."""
    try:
        notification = orjson.loads(delivery.notification)
    except orjson.JSONDecodeError:
        return [{"person": "?", "session_id": "?"}]  # unreadable: shown to nobody restricted
    sets = [notification.get("group_labels") or {}]
    sets += [alert.get("labels") or {} for alert in notification.get("alerts") or []]
    return [{str(k): str(v) for k, v in labels.items()} for labels in sets if isinstance(labels, Mapping)]


def alert_routes(services: AlertServices, authenticate: Authenticate, audit: Audit | None = None) -> APIRouter:
    """The router (mount it under /api/v1)."""
    router = APIRouter(tags=["alerts"], dependencies=[Depends(reject_unknown_parameters)])
    Caller = Annotated[Principal, Depends(authenticate)]
    Admin = Annotated[Principal, Depends(admin_only(authenticate, "changing alerting"))]
    RuleId = Annotated[str, PathParam(min_length=1, max_length=64, pattern=ID_PATTERN)]
    record = AuditTrail(audit).record

    def visibility(principal: Principal) -> Visibility:
        pooled = frozenset(
            (budget.id, budget.scope_value or "organization")
            for budget in services.budgets.items()
            if not (budget.per_person or budget.scope == "person")
        )
        return Visibility(principal.scope(), services.groups_of, pooled)

    def refuse(
        principal: Principal, request: Request, action: str, target: str, exc: Exception, status: int = 422
    ) -> HTTPException:
        record(principal, request, action, target, "refused", str(exc))
        return HTTPException(status, str(exc))

    def validated_rule(data: Mapping[str, Any], *, rule_id: str | None = None) -> Rule:
        if rule_id is not None:
            if "id" in data and data["id"] != rule_id:
                raise ValueError(f"id: {data['id']!r} differs from the rule's id in the path {rule_id!r}")
            data = {**data, "id": rule_id}
        rule = parse_rule(data, source="api", signals=SIGNALS)
        check_rule(rule)
        unknown = [name for name in rule.channels if name not in services.channels]
        if unknown:
            known = ", ".join(services.channels) or "none are configured"
            raise ValueError(f"channels: unknown channel {', '.join(unknown)} ({known})")
        return rule

    # Alerts and their history.

    @router.get("/alerts")
    def list_alerts(principal: Caller) -> dict[str, Any]:
        """The current instances of every rule (pending, firing, recently resolved, no data, error) within the
        caller's scope, each with its rule's name and whether a silence covers it; and the rules with counts per
        state."""
        view = visibility(principal)
        rules = {rule.id: rule for rule in services.rules.items()}
        now = now_utc()
        silences = services.silences.active(now)
        instances = []
        counts: dict[str, dict[str, int]] = {rule_id: {} for rule_id in rules}
        for instance in services.instances.current():
            if not view.labels(instance.labels):
                continue
            silenced = silenced_by(silences, matching_labels(instance), now)
            instances.append(instance_json(instance, rules.get(instance.rule_id), silenced))
            per_rule = counts.setdefault(instance.rule_id, {})
            per_rule[instance.state.value] = per_rule.get(instance.state.value, 0) + 1
        return {
            "instances": instances,
            "rules": [
                {"id": rule.id, "name": rule.name, "enabled": rule.enabled, "state_counts": counts.get(rule.id, {})}
                for rule in rules.values()
                if view.rule(rule)
            ],
        }

    @router.get("/alerts/history")
    def alert_history(
        principal: Caller,
        limit: Annotated[int, Param(ge=1, le=1000)] = 100,
        before: Annotated[
            str | None, Param(description="RFC 3339; entries strictly before it (the `next` cursor)")
        ] = None,
        rule: Annotated[str | None, Param(max_length=64, description="one rule's id")] = None,
    ) -> dict[str, Any]:
        """State changes, newest first, a page at a time: pass `next` as `before` for the following page."""
        view = visibility(principal)
        cursor = parse_instant(before, "before") if before else None
        entries = services.instances.history(limit, cursor, rule)
        next_cursor = iso(entries[-1].ts) if len(entries) >= limit else None
        return {"entries": [history_json(e) for e in entries if view.labels(e.labels)], "next": next_cursor}

    # Rules.

    @router.get("/alerts/rules")
    def list_rules(principal: Caller) -> dict[str, Any]:
        """Every rule (shipped defaults, the alerts file's, the UI's) and the signals a rule can watch."""
        view = visibility(principal)
        return {
            "rules": [rule_json(rule) for rule in services.rules.items() if view.rule(rule)],
            "signals": [signal.to_json() for signal in SIGNALS.values()],
        }

    @router.get("/alerts/rules/{rule_id}")
    def get_rule(rule_id: RuleId, principal: Caller) -> dict[str, Any]:
        rule = services.rules.get(rule_id)
        if rule is None or not visibility(principal).rule(rule):
            raise HTTPException(404, f"no rule {rule_id!r}")
        return rule_json(rule)

    @router.post("/alerts/rules", status_code=201, tags=["admin"], openapi_extra=JSON_OBJECT)
    def create_rule(principal: Admin, request: Request, body: Body) -> dict[str, Any]:
        """Create a rule (409 when its id is taken)."""
        try:
            rule = validated_rule(body)
        except ValueError as exc:
            raise refuse(principal, request, "alert.rule.create", str(body.get("id", ""))[:64], exc) from None
        if services.rules.get(rule.id) is not None:
            raise refuse(principal, request, "alert.rule.create", rule.id, ValueError(f"rule {rule.id!r} exists"), 409)
        services.rules.put(rule, principal.name)
        record(principal, request, "alert.rule.create", rule.id, detail=rule.name)
        return rule_json(rule)

    @router.put("/alerts/rules/{rule_id}", tags=["admin"], openapi_extra=JSON_OBJECT)
    def update_rule(rule_id: RuleId, principal: Admin, request: Request, body: Body) -> dict[str, Any]:
        """Replace a rule (a shipped default too: it is then the admin's). A rule of the alerts file is changed in
        the file (409)."""
        existing = services.rules.get(rule_id)
        if existing is None:
            raise HTTPException(404, f"no rule {rule_id!r}")
        if existing.source == "file":
            raise refuse(principal, request, "alert.rule.update", rule_id, _FILE_OWNED, 409)
        try:
            rule = validated_rule(body, rule_id=rule_id)
        except ValueError as exc:
            raise refuse(principal, request, "alert.rule.update", rule_id, exc) from None
        services.rules.put(rule, principal.name)
        record(principal, request, "alert.rule.update", rule.id, detail=rule.name)
        return rule_json(rule)

    @router.delete("/alerts/rules/{rule_id}", tags=["admin"])
    def delete_rule(rule_id: RuleId, principal: Admin, request: Request) -> dict[str, Any]:
        """Delete a rule (a shipped default stays deleted; to pause one, set `enabled: false`)."""
        existing = services.rules.get(rule_id)
        if existing is None:
            raise HTTPException(404, f"no rule {rule_id!r}")
        if existing.source == "file":
            raise refuse(principal, request, "alert.rule.delete", rule_id, _FILE_OWNED, 409)
        services.rules.delete(rule_id, principal.name)
        record(principal, request, "alert.rule.delete", rule_id, detail=existing.name)
        return {"deleted": rule_id}

    @router.post("/alerts/rules/validate", tags=["admin"], openapi_extra=JSON_OBJECT)
    def validate_rule(principal: Admin, body: Body) -> dict[str, Any]:
        """`{"ok": true}` for a rule that would be accepted, else 422 naming the field."""
        try:
            validated_rule(body)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"ok": True}

    @router.post("/alerts/rules/dry-run", tags=["admin"], openapi_extra=JSON_OBJECT)
    def dry_run_rule(principal: Admin, body: Body) -> dict[str, Any]:
        """Would this rule have fired over the last `days` (default 7), and when? The signal's value per label set
        every `step_s` seconds (default 3600) and the intervals it would have been firing, honouring `for`."""
        unknown = sorted(set(body) - {"rule", "days", "step_s"})
        if unknown:
            raise HTTPException(422, f"unknown field {', '.join(unknown)} (expected rule, days, step_s)")
        days, step_s = body.get("days", 7), body.get("step_s", 3600)
        if isinstance(days, bool) or not isinstance(days, int | float) or not 0 < days <= MAX_DRY_RUN_DAYS:
            raise HTTPException(422, f"days: expected a number of days from 1 to {MAX_DRY_RUN_DAYS}")
        if isinstance(step_s, bool) or not isinstance(step_s, int) or step_s < 60:
            raise HTTPException(422, "step_s: expected a whole number of seconds, at least 60")
        if days * 86_400 / step_s > MAX_STEPS:
            raise HTTPException(422, f"step_s: more than {MAX_STEPS} steps; take a longer step")
        draft = body.get("rule")
        if not isinstance(draft, dict):
            raise HTTPException(422, "rule: expected an object")
        try:
            rule = validated_rule({"id": "dry-run", "name": "dry run", **draft})
        except ValueError as exc:
            raise HTTPException(422, f"rule.{exc}") from None
        end = now_utc()
        start = end - dt.timedelta(days=days)
        try:
            result = dry_run(services.context, rule, start, end, step_s)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return result.to_json()

    # Silences.

    @router.get("/alerts/silences")
    def list_silences(principal: Caller) -> dict[str, Any]:
        """Every silence, active and expired, with whether it is active now."""
        view = visibility(principal)
        now = now_utc()
        return {
            "silences": [
                {**dump_silence(s), "active": is_active(s, now)} for s in services.silences.items() if view.silence(s)
            ]
        }

    @router.post("/alerts/silences", status_code=201, tags=["admin"], openapi_extra=JSON_OBJECT)
    def create_silence(principal: Admin, request: Request, body: Body) -> dict[str, Any]:
        """Silence the instances matching every matcher (`{label, op, value}`, op `=`, `!=`, `=~`, `!~`) from
        `starts_at` (default now) to `ends_at`."""
        try:
            silence = parse_silence(body, now=now_utc(), created_by=principal.name)
        except (ValueError, TypeError) as exc:
            raise refuse(principal, request, "alert.silence.create", "", exc) from None
        services.silences.put(silence, principal.name)
        matchers = ", ".join(f"{m.label}{m.op}{m.value}" for m in silence.matchers)
        record(
            principal, request, "alert.silence.create", silence.id, detail=f"{matchers} until {iso(silence.ends_at)}"
        )
        return {**dump_silence(silence), "active": is_active(silence, now_utc())}

    @router.delete("/alerts/silences/{silence_id}", tags=["admin"])
    def delete_silence(silence_id: RuleId, principal: Admin, request: Request) -> dict[str, Any]:
        if not services.silences.delete(silence_id, principal.name):
            raise HTTPException(404, f"no silence {silence_id!r}")
        record(principal, request, "alert.silence.delete", silence_id)
        return {"deleted": silence_id}

    # Channels and deliveries.

    @router.get("/alerts/channels")
    def list_channels(_: Caller) -> dict[str, Any]:
        """The notification channels of the alerts file: name, kind and host only (never a URL, key or password)."""
        return {"channels": [describe(channel) for channel in services.channels.values()]}

    @router.post("/alerts/channels/{name}/test", tags=["admin"])
    def test_channel(name: RuleId, principal: Admin, request: Request) -> dict[str, Any]:
        """Send a test notification to one channel now; the answer is its delivery (sent, or why not)."""
        if name not in services.channels:
            raise HTTPException(404, f"no channel {name!r}")
        delivery = services.deliveries.send_test(name, now_utc())
        view = delivery.to_json()
        record(
            principal,
            request,
            "alert.channel.test",
            name,
            str(view.get("state") or "ok"),
            str(view.get("last_error") or ""),
        )
        return view

    @router.get("/alerts/deliveries")
    def list_deliveries(principal: Caller, limit: Annotated[int, Param(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """The latest notifications sent or being retried, per channel, newest first."""
        view = visibility(principal)
        return {
            "deliveries": [
                delivery.to_json()
                for delivery in services.deliveries.recent(limit)
                if all(view.labels(labels) for labels in _delivery_label_sets(delivery))
            ]
        }

    # The alerts file.

    @router.post("/alerts/reload", tags=["admin"])
    def reload_alerts_file(principal: Admin, request: Request) -> dict[str, Any]:
        """Read the alerts file again (as SIGHUP does): a malformed file is a 422 naming the line, and the rules,
        channels, budgets and policies in force stay as they were."""
        if not services.alerts_file:
            raise HTTPException(409, "no alerts file is configured (setting alerts_file)")
        try:
            loaded = services.reload_file(actor=principal.name)
        except AlertsFileError as exc:
            raise refuse(principal, request, "alert.file.reload", services.alerts_file, exc) from None
        record(principal, request, "alert.file.reload", services.alerts_file, detail=loaded.summary())
        return {"ok": True, "file": services.alerts_file, "summary": loaded.summary()}

    return router


_FILE_OWNED = ValueError("this rule is defined in the alerts file: change it there and reload")
