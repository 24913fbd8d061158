"""`ccmon doctor`'s checks: this machine's Claude Code telemetry settings as Claude Code will use them, whether they
fit together and fit the server, and whether a test signal sent with them is stored.

Each check has a status (ok, warn, fail), a message saying what was found, and for anything short of ok a `fix`: the
one thing to do. The order is the order a developer would fix things in: the settings files, the switches
(telemetry on, OTLP exporters, a protocol), where the data goes (endpoint, port, token, header helper), the sources
(project-only settings, managed ones), then the server: the API answers, the test signal is accepted with that
protocol and token, and it is stored.

What the server says about itself (`GET /api/v1/server`: its OTLP ports, whether it asks for a token) sharpens the
port and token checks; without it, they compare with ccmon's usual ports (4317 gRPC, 4318 HTTP).
"""

from __future__ import annotations

import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccmon.onboarding import ping as pinging
from ccmon.onboarding.caller import DEFAULT_URL
from ccmon.onboarding.client_http import call_json
from ccmon.onboarding.sources import (
    FALSY,
    HEADERS_HELPER,
    IGNORED_IN_PROJECT,
    MANAGED,
    PROJECT,
    PROJECT_LOCAL,
    Effective,
    effective,
)

OK, WARN, FAIL = "ok", "warn", "fail"
USUAL_PORTS = {"grpc": 4317, "http/protobuf": 4318, "http/json": 4318}
SETUP_HINT = "run `ccmon setup` (or put the variables in ~/.claude/settings.json or managed settings)"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "message": self.message, "fix": self.fix}


@dataclass(frozen=True)
class DoctorOptions:
    url: str | None = None
    """The ccmon API; default: CCMON_URL, else the OTLP endpoint's host on port 3000, else the local default."""
    project: Path | None = None
    send: bool = True
    api_token: str | None = None
    """An API key for `GET /api/v1/server` when the server asks for one (the ingest token is tried first)."""
    wait_s: float = 10.0
    """How long to wait for the test signal to be stored."""
    timeout_s: float = 10.0


@dataclass
class Report:
    checks: list[Check]
    settings: Effective
    api_url: str
    ping_id: str | None = None
    target: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check.status != FAIL for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [check.to_json() for check in self.checks],
            "effective": self.settings.to_json(),
            "api_url": self.api_url,
            "target": self.target,
            "ping_id": self.ping_id,
        }


Sender = Callable[[pinging.PingTarget, str, float], pinging.PingResult]


def diagnose(
    environ: Mapping[str, str],
    options: DoctorOptions,
    *,
    send: Sender = pinging.send_ping,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Run every check, in order."""
    settings = effective(environ, options.project)
    get = settings.get
    protocol = pinging.logs_protocol(get)
    helper = settings.headers_helper.value
    built = pinging.target_from(get, helper)
    target = built if isinstance(built, pinging.PingTarget) else None
    api_url = _api_url(options.url or environ.get("CCMON_URL"), target)
    ingest_token = target.token if target else None
    server = _server_info(api_url, ingest_token, options)

    checks = [_files(settings), _enabled(settings), _exporters(settings), _protocol(settings)]
    checks.append(_endpoint(protocol, target, server, api_url))
    checks.append(_headers(protocol, helper, built, server))
    checks.append(_project_only(settings))
    checks.append(_managed(settings))
    checks.append(_api(api_url, server))
    report = Report(checks, settings, api_url)
    if target is not None:
        report.target = {
            "protocol": target.protocol,
            "url": target.url,
            "headers": sorted(target.headers),
            "resource": dict(target.resource),
        }
    if options.send:
        checks.extend(_ping(report, built, server, options, send=send, sleep=sleep))
    return report


# --- the server ------------------------------------------------------------------------------------------------------


def _api_url(given: str | None, target: pinging.PingTarget | None) -> str:
    if given:
        return given.rstrip("/")
    if target is not None:
        host = urllib.parse.urlsplit(target.url if "://" in target.url else f"http://{target.url}").hostname
        if host:
            return f"http://{f'[{host}]' if ':' in host else host}:3000"
    return DEFAULT_URL


def _server_info(url: str, ingest_token: str | None, options: DoctorOptions) -> dict[str, Any] | str:
    """`GET /api/v1/server` with the API token, else none (a loopback server answers), else the ingest token; or why
    it did not answer."""
    tokens = list(dict.fromkeys([options.api_token, None, ingest_token]))
    answer: dict[str, Any] | str = ""
    for token in tokens:
        answer = call_json(url, "/api/v1/server", None, token=token, timeout_s=options.timeout_s)
        if isinstance(answer, dict):
            return answer if "otlp_grpc_port" in answer else f"{url} is not a ccmon server"
    return answer


def _known(server: dict[str, Any] | str) -> dict[str, Any]:
    return server if isinstance(server, dict) else {}


# --- the checks ------------------------------------------------------------------------------------------------------


def _files(settings: Effective) -> Check:
    read = [s for s in settings.sources if s.path is not None and s.exists]
    broken = [s for s in read if s.error]
    problems = [f"{s.label}: {p}" for s in read for p in s.problems]
    names = ", ".join(s.label for s in read) or "no settings file"
    if broken:
        worst = FAIL if any(s.kind not in {PROJECT, PROJECT_LOCAL} for s in broken) else WARN
        message = "; ".join(f"{s.label} {s.error}" for s in broken)
        return Check("settings_files", worst, message, "fix the file (Claude Code ignores a file it cannot parse)")
    if problems:
        return Check("settings_files", WARN, "; ".join(problems), "write each env value as a JSON string")
    return Check("settings_files", OK, f"read {names}")


def _where(settings: Effective, name: str) -> str:
    value = settings.values[name]
    return f"{value.shown()} (from {value.source})" if value.value is not None else "not set"


def _enabled(settings: Effective) -> Check:
    value = settings.get("CLAUDE_CODE_ENABLE_TELEMETRY")
    if value is not None and value.strip().lower() not in FALSY:
        return Check(
            "telemetry_enabled", OK, f"CLAUDE_CODE_ENABLE_TELEMETRY={_where(settings, 'CLAUDE_CODE_ENABLE_TELEMETRY')}"
        )
    return Check(
        "telemetry_enabled",
        FAIL,
        f"CLAUDE_CODE_ENABLE_TELEMETRY is {_where(settings, 'CLAUDE_CODE_ENABLE_TELEMETRY')}: nothing is exported",
        f"set CLAUDE_CODE_ENABLE_TELEMETRY=1: {SETUP_HINT}",
    )


def _exporters(settings: Effective) -> Check:
    missing = []
    for name in ("OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"):
        value = settings.get(name) or ""
        if "otlp" not in [part.strip().lower() for part in value.split(",")]:
            missing.append(f"{name} is {_where(settings, name)}")
    if missing:
        what = "; ".join(missing)
        return Check(
            "exporters", FAIL, f"{what}: ccmon needs both signals over OTLP", f"set both to otlp: {SETUP_HINT}"
        )
    return Check("exporters", OK, "metrics and logs are exported over OTLP")


def _protocol(settings: Effective) -> Check:
    found = []
    for signal in ("METRICS", "LOGS"):
        name = f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL"
        value = settings.get(name) or settings.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        if value not in pinging.PROTOCOLS:
            shown = "not set" if value is None else repr(value)
            return Check(
                "protocol",
                FAIL,
                f"the {signal.lower()} protocol is {shown} (Claude Code has no default; it fails to export)",
                f"set OTEL_EXPORTER_OTLP_PROTOCOL to one of {', '.join(pinging.PROTOCOLS)}",
            )
        found.append(value)
    if found[0] != found[1]:
        return Check("protocol", WARN, f"metrics use {found[0]}, logs {found[1]}", "use one protocol for both")
    return Check("protocol", OK, f"{found[0]}")


def _endpoint(protocol: str | None, target: pinging.PingTarget | None, server: dict[str, Any] | str, api: str) -> Check:
    if protocol not in pinging.PROTOCOLS or target is None:
        return Check("endpoint", WARN, "not checked: no valid protocol", "fix the protocol first")
    raw = target.url
    parts = urllib.parse.urlsplit(raw if "://" in raw or protocol != "grpc" else f"http://{raw}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    if parts.scheme not in {"http", "https"} or not parts.hostname or port is None:
        return Check(
            "endpoint",
            FAIL,
            f"{raw!r} is not a URL such as http://ccmon.example:{USUAL_PORTS[protocol]}",
            "set OTEL_EXPORTER_OTLP_ENDPOINT to http(s)://host:port",
        )
    known = _known(server)
    same_host = parts.hostname in {urllib.parse.urlsplit(api).hostname, known.get("otlp_host")}
    if known and same_host:
        grpc_port, http_port = int(known["otlp_grpc_port"]), int(known["otlp_http_port"])
        expected = grpc_port if protocol == "grpc" else http_port
        other, other_name = (http_port, "HTTP") if protocol == "grpc" else (grpc_port, "gRPC")
        origin = "the server's"
    else:
        expected = USUAL_PORTS[protocol]
        other, other_name = (4318, "HTTP") if protocol == "grpc" else (4317, "gRPC")
        origin = "ccmon's usual"
    if port == expected:
        return Check("endpoint", OK, f"{raw} ({protocol} port {port})")
    if port == other:
        fix_protocol = "http/protobuf" if protocol == "grpc" else "grpc"
        return Check(
            "endpoint",
            FAIL,
            f"{raw}: port {port} is {origin} {other_name} port, but the protocol is {protocol}",
            f"use port {expected} for {protocol}, or set OTEL_EXPORTER_OTLP_PROTOCOL={fix_protocol} for port {port}",
        )
    status = FAIL if known and same_host else WARN
    return Check(
        "endpoint",
        status,
        f"{raw}: port {port} is not {origin} {protocol} port {expected}",
        f"set OTEL_EXPORTER_OTLP_ENDPOINT to {parts.scheme}://{parts.hostname}:{expected}"
        + ("" if status == FAIL else " (unless a proxy listens there)"),
    )


def _headers(
    protocol: str | None,
    helper: str | None,
    built: pinging.PingTarget | pinging.PingResult,
    server: dict[str, Any] | str,
) -> Check:
    if helper and protocol == "grpc":
        return Check(
            "headers",
            FAIL,
            f"{HEADERS_HELPER} is set but Claude Code ignores it over gRPC: no token is sent",
            "set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (and the HTTP port), or put the token in "
            "OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer <token>'",
        )
    if isinstance(built, pinging.PingResult):
        if built.kind == pinging.HELPER:
            return Check(
                "headers", FAIL, built.message, f"fix the {HEADERS_HELPER} script: it must print a JSON object"
            )
        return Check("headers", WARN, "not checked: no valid protocol", "fix the protocol first")
    required = _known(server).get("ingest_token_required")
    via = f"from {HEADERS_HELPER}" if helper and protocol != "grpc" else "in OTEL_EXPORTER_OTLP_HEADERS"
    if built.token:
        return Check("headers", OK, f"a bearer token is sent ({via}; Authorization=***)")
    if required:
        return Check(
            "headers",
            FAIL,
            "the server asks for an ingest token, and none is configured",
            "set OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer <ingest token>' in user or managed settings "
            "(`ccmon setup --token ...`; an admin creates tokens with `ccmon tokens create`)",
        )
    if required is None:
        return Check(
            "headers",
            WARN,
            "no token is sent; the server could not say whether it asks for one",
            "if your ccmon asks for ingest tokens, set OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer <token>'",
        )
    return Check("headers", OK, "no token is sent, and the server does not ask for one")


def _project_only(settings: Effective) -> Check:
    ignored = settings.ignored_in_project()
    if not ignored:
        return Check("project_settings", OK, "no telemetry settings in project files")
    only_there = [name for name in ignored if _value_of(settings, name) is None]
    files = sorted({s for name in ignored for s, why in _unused(settings, name) if why == IGNORED_IN_PROJECT})
    if only_there:
        return Check(
            "project_settings",
            FAIL,
            f"{', '.join(only_there)} set only in project settings ({', '.join(files)}), which Claude Code ignores "
            "for telemetry",
            f"move them to ~/.claude/settings.json or managed settings: {SETUP_HINT}",
        )
    return Check(
        "project_settings",
        WARN,
        f"project settings also set {', '.join(ignored)} ({', '.join(files)}); Claude Code ignores them there",
        "remove the telemetry variables from the project's .claude/settings*.json",
    )


def _value_of(settings: Effective, name: str) -> str | None:
    return settings.headers_helper.value if name == HEADERS_HELPER else settings.get(name)


def _unused(settings: Effective, name: str) -> tuple[tuple[str, str], ...]:
    return settings.headers_helper.unused if name == HEADERS_HELPER else settings.values[name].unused


def _managed(settings: Effective) -> Check:
    managed = [s for s in settings.sources if s.kind == MANAGED and s.exists]
    others = "; not read here: " + "; ".join(settings.unchecked) if settings.unchecked else ""
    if not managed:
        folder = next((s.path.parent for s in settings.sources if s.kind == MANAGED and s.path), None)
        return Check("managed_settings", OK, f"no managed settings file in {folder}{others}")
    locked = sorted(name for name, v in settings.values.items() if v.kind == MANAGED)
    what = f"; they set {', '.join(locked)}" if locked else ""
    return Check("managed_settings", OK, f"{', '.join(str(s.path) for s in managed)}{what}{others}")


def _api(url: str, server: dict[str, Any] | str) -> Check:
    if isinstance(server, dict):
        version = server.get("version", "?")
        ports = f"OTLP gRPC {server.get('otlp_grpc_port')}, HTTP {server.get('otlp_http_port')}"
        token = "asks for ingest tokens" if server.get("ingest_token_required") else "no ingest token needed"
        return Check("api", OK, f"{url} answers: ccmon {version}, {ports}, {token}")
    if "401" in server or "403" in server:
        return Check(
            "api",
            WARN,
            f"{url} answers but wants an API key for its details ({server})",
            "pass --token with an API key (or set CCMON_TOKEN) for the port and token checks",
        )
    return Check(
        "api", FAIL, server, "start ccmon, or pass --url with the API's address (e.g. http://ccmon.example:3000)"
    )


def _ping(
    report: Report,
    built: pinging.PingTarget | pinging.PingResult,
    server: dict[str, Any] | str,
    options: DoctorOptions,
    *,
    send: Sender,
    sleep: Callable[[float], None],
) -> list[Check]:
    if isinstance(built, pinging.PingResult):
        return [Check("ping_sent", FAIL, f"no test signal sent: {built.message}", "fix the checks above first")]
    report.ping_id = ping_id = secrets.token_hex(pinging.PING_ID_LENGTH // 2)
    result = send(built, ping_id, options.timeout_s)
    if not result.ok:
        port = _known(server).get("otlp_grpc_port" if built.protocol == "grpc" else "otlp_http_port")
        return [Check("ping_sent", FAIL, result.message, pinging.advice(result, built.protocol, port))]
    sent = Check("ping_sent", OK, f"test signal {ping_id[:8]}… accepted ({pinging.describe(built)})")
    if not isinstance(server, dict):
        return [sent, Check("ping_stored", WARN, "not confirmed: the API did not answer", "see the api check")]
    token = built.token or options.api_token
    deadline = time.monotonic() + options.wait_s
    answer: dict[str, Any] | str = ""
    while True:
        answer = call_json(
            report.api_url, f"/api/v1/client/ping/{ping_id}", None, token=token, timeout_s=options.timeout_s
        )
        if isinstance(answer, dict) and answer.get("stored"):
            return [sent, Check("ping_stored", OK, f"stored at {answer.get('received_at')}")]
        if isinstance(answer, str) or time.monotonic() >= deadline:
            break
        sleep(0.5)
    if isinstance(answer, str):
        return [
            sent,
            Check(
                "ping_stored",
                WARN,
                f"could not ask whether it was stored: {answer}",
                "pass --token with an API key or the ingest token",
            ),
        ]
    return [
        sent,
        Check(
            "ping_stored",
            FAIL,
            f"accepted but not stored within {options.wait_s:g} s (another collector at that address, or ccmon's "
            "store is failing)",
            "check that the endpoint is ccmon's and read the server's log",
        ),
    ]
