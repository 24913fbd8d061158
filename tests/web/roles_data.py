"""An organisation for the role tests: two departments, three teams, four people, each with content markers.

Every person's prompts, assistant responses, tool parameters and inputs, error messages, API bodies and span prompts
carry a marker unique to them (`PROMPT-ann`, ...), so a test finds a leak by searching a response's raw text. The
data goes through the real ingest path (OTLP/JSON decoded, written by the `BatchWriter`).

Also the app under test: the server's whole API app over that store, with the caller picked by the `X-Test-Role` header.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from prometheus_client import CollectorRegistry

from ccmon.auth.principal import Principal, Role
from ccmon.directory.registry import Directory
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import LOGS, METRICS, TRACES, Encoding
from ccmon.server_app import build_api, open_access
from ccmon.store.facade import Store
from ccmon.web.ui import ServerInfo
from tests.support import collect_stopped_server, free_port, make_config

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
RANGE = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"}
AS_OF = "2026-11-21T00:00:00Z"
XSS = "<script>alert('ccmon')</script>"


@dataclass(frozen=True)
class Person:
    name: str
    team: str
    department: str

    @property
    def email(self) -> str:
        return f"{self.name}@example.com"

    @property
    def session(self) -> str:
        return f"sess-{self.name}"

    @property
    def repository(self) -> str:
        return f"repo-{self.name}"

    @property
    def content_markers(self) -> tuple[str, ...]:
        """Strings only content fields of this person's data hold."""
        kinds = (
            "PROMPT",
            "RESPONSE",
            "TOOLPARAM",
            "TOOLINPUT",
            "TOOLERR",
            "APIERR",
            "REQBODY",
            "RESBODY",
            "SPANPROMPT",
        )
        return tuple(f"{kind}-{self.name}" for kind in kinds)

    @property
    def row_markers(self) -> tuple[str, ...]:
        """Strings that only this person's rows carry, content aside."""
        return (self.email, self.session, self.repository)


ANN = Person("ann", "team-api", "dept-eng")
BEN = Person("ben", "team-api", "dept-eng")
CAT = Person("cat", "team-web", "dept-eng")
DAN = Person("dan", "team-ops", "dept-ops")
PEOPLE = (ANN, BEN, CAT, DAN)
TEAMS = ("team-api", "team-web", "team-ops")
DEPARTMENTS = ("dept-eng", "dept-ops")

PRINCIPALS = {
    Role.ADMIN: Principal("root", Role.ADMIN, via="header"),
    Role.FINANCE: Principal("finance@example.com", Role.FINANCE, via="header"),
    Role.MANAGER: Principal("manager@example.com", Role.MANAGER, department="dept-eng", via="header"),
    Role.TEAM_LEAD: Principal("lead@example.com", Role.TEAM_LEAD, team="team-api", via="header"),
    Role.DEVELOPER: Principal(
        ANN.email, Role.DEVELOPER, person=ANN.email, team=ANN.team, department=ANN.department, via="header"
    ),
    Role.VIEWER: Principal("viewer@example.com", Role.VIEWER, via="header"),
}
ROLE_HEADER = "X-Test-Role"


def in_scope(role: Role) -> tuple[Person, ...]:
    """The people whose rows the role's principal may read (the viewer: only aggregated)."""
    principal = PRINCIPALS[role]
    if role is Role.MANAGER:
        return tuple(p for p in PEOPLE if p.department == principal.department)
    if role is Role.TEAM_LEAD:
        return tuple(p for p in PEOPLE if p.team == principal.team)
    if role is Role.DEVELOPER:
        return tuple(p for p in PEOPLE if p.email == principal.person)
    return PEOPLE


def _ns(minutes: float) -> str:
    return str(int((T0.timestamp() + minutes * 60) * 10**9))


def _attrs(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": {"stringValue": str(v)}} for k, v in values.items()]


def _identity(person: Person) -> dict[str, str]:
    return {
        "user.email": person.email,
        "session.id": person.session,
        "team": person.team,
        "department": person.department,
        "vcs.repository.name": person.repository,
        "terminal.type": "vscode",
        "model": "claude-sonnet-4-5",
    }


def _events(person: Person, offset: int) -> list[tuple[str, dict[str, Any]]]:
    n = person.name
    return [
        ("user_prompt", {"prompt": f"PROMPT-{n} {XSS}", "prompt_length": 20, "prompt.id": f"prompt-{n}"}),
        ("assistant_response", {"response": f"RESPONSE-{n}", "response_length": 10, "prompt.id": f"prompt-{n}"}),
        (
            "api_request",
            {"cost_usd": 0.5 + offset, "input_tokens": 100, "duration_ms": 900, "prompt.id": f"prompt-{n}"},
        ),
        ("api_request_body", {"body": f'{{"messages": "REQBODY-{n}"}}', "body_length": 30}),
        ("api_response_body", {"body": f'{{"content": "RESBODY-{n}"}}', "body_length": 30}),
        (
            "tool_result",
            {
                "tool_name": "Bash",
                "success": "false",
                "duration_ms": 40,
                "tool_parameters": f'{{"bash_command": "TOOLPARAM-{n}"}}',
                "tool_input": f'{{"command": "TOOLINPUT-{n}"}}',
                "error": f"TOOLERR-{n} {XSS}",
                "error_type": "ShellError",
            },
        ),
        ("tool_decision", {"tool_name": "Edit", "decision": "accept", "source": "config"}),
        ("api_error", {"error": f"APIERR-{n}", "status_code": 500, "attempt": 2}),
    ]


def logs_body() -> bytes:
    records = []
    for offset, person in enumerate(PEOPLE):
        for i, (name, attrs) in enumerate(_events(person, offset)):
            records.append(
                {
                    "timeUnixNano": _ns(10 * offset + i),
                    "body": {"stringValue": f"claude_code.{name}"},
                    "attributes": _attrs({**_identity(person), **attrs, "event.name": name, "event.sequence": i}),
                }
            )
    return orjson.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]})


def metrics_body() -> bytes:
    metrics = []
    for offset, person in enumerate(PEOPLE):
        points = [
            ("claude_code.cost.usage", 0.5 + offset, {}),
            ("claude_code.token.usage", 100, {"type": "input"}),
            ("claude_code.lines_of_code.count", 10, {"type": "added"}),
            ("claude_code.code_edit_tool.decision", 2, {"decision": "accept", "tool_name": "Edit"}),
            ("claude_code.commit.count", 1, {}),
        ]
        for name, value, attrs in points:
            point = {
                "asDouble": value,
                "startTimeUnixNano": _ns(10 * offset),
                "timeUnixNano": _ns(10 * offset + 1),
                "attributes": _attrs({**_identity(person), **attrs}),
            }
            metrics.append(
                {"name": name, "sum": {"aggregationTemporality": 1, "isMonotonic": True, "dataPoints": [point]}}
            )
    return orjson.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": metrics}]}]})


def traces_body() -> bytes:
    spans = []
    for offset, person in enumerate(PEOPLE):
        trace = f"{offset + 1:032x}"
        spans.append(
            {
                "traceId": trace,
                "spanId": f"{offset + 1:016x}",
                "name": "claude_code.interaction",
                "kind": 1,
                "startTimeUnixNano": _ns(10 * offset),
                "endTimeUnixNano": _ns(10 * offset + 2),
                "status": {"code": 2, "message": f"SPANSTATUS-{person.name}"},
                "attributes": _attrs(
                    {**_identity(person), "span.type": "interaction", "user_prompt": f"SPANPROMPT-{person.name}"}
                ),
            }
        )
    scope_spans = {"scope": {"name": "com.anthropic.claude_code.tracing"}, "spans": spans}
    return orjson.dumps({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [scope_spans]}]})


def load(store: Store) -> None:
    writer = BatchWriter(store, IngestStats(), max_delay_s=0.01)
    writer.start()
    try:
        writer.submit(METRICS.decode(metrics_body(), Encoding.JSON, 65536)).result(timeout=30)
        writer.submit(LOGS.decode(logs_body(), Encoding.JSON, 65536)).result(timeout=30)
        writer.submit(TRACES.decode(traces_body(), Encoding.JSON, 65536)).result(timeout=30)
    finally:
        writer.close()


@contextmanager
def loaded_store(chdb_path: Path, clickhouse_url: str | None, database: str) -> Iterator[Store]:
    """A migrated store in a fresh database holding the organisation's data (shared by a module's tests)."""
    store = Store.open(url=clickhouse_url, database=database) if clickhouse_url else None
    store = store or Store.open(data_dir=str(chdb_path), database=database)
    store.migrate()
    try:
        load(store)
        yield store
    finally:
        store.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
        store.close()


def authenticate(request: Request) -> Principal:
    """The principal named by the test header; none: 401, as a real authenticator answers."""
    role = request.headers.get(ROLE_HEADER)
    if role is None:
        raise HTTPException(401, "not authenticated")
    return PRINCIPALS[Role(role)]


def build_app(store: Store) -> FastAPI:
    """The app as `ccmon serve` builds it (`ccmon.server_app.build_api`: every router), but for the judge of who is
    calling, which reads the `X-Test-Role` header."""
    info = ServerInfo(
        version="test",
        otlp_host=None,
        otlp_grpc_port=4317,
        otlp_http_port=4318,
        ingest_token_required=False,
        api_token_required=True,
        monthly_budget_usd=None,
        parallel_requests=1,
        demo_domain="demo.invalid",
    )
    config = make_config(Path(store.description))
    access = open_access(config, store, Directory(store))
    return build_api(
        config, access, registry=CollectorRegistry(), info=info, ready=lambda: True, authenticate=authenticate
    )


@contextmanager
def serving(app: FastAPI) -> Iterator[httpx.Client]:
    """The app on a free loopback port, served by uvicorn in a thread; a client whose base URL is the app's."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, name="ccmon-test-roles", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test app did not start")
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(30)
        collect_stopped_server()
