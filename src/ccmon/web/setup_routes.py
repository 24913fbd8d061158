"""`GET /api/v1/setup/options` and `GET /api/v1/setup/file`: the choices `ccmon setup` offers, and the files it writes,
for the Connect page (`static/js/pages/connect/setup.js`).

Why a server route rather than JavaScript templates: the files are rendered by the very code `ccmon setup` runs
(`ccmon.onboarding.options`, `ccmon.onboarding.targets`), so a file downloaded from the page and one written by the
command are the same bytes, and the checks (gRPC refuses a headers helper, attribute values are percent-encoded, a
token with a quote is refused) are the same checks.

Every parameter is checked before any file is built: an unknown or repeated parameter, a value that is too long or holds
a control character, or options that `SetupOptions` refuses are a 422 with one readable sentence, never a 5xx. Nothing
here logs a request: the ingest token may travel in the query string, and no answer may be cached.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

import re
import shlex
import unicodedata
from collections.abc import Mapping
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Query as Param
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ccmon.onboarding.options import PROTOCOLS, SetupError, options_from_mapping
from ccmon.onboarding.targets import OS_NAMES, TARGETS, SetupFile, render_file
from ccmon.web.params import Authenticate
from ccmon.web.ui import ServerInfo

Target = Literal["user", "managed", "managed-dropin", "macos-profile", "windows-reg", "shell"]
OsName = Literal["linux", "macos", "windows"]
Protocol = Literal["grpc", "http/protobuf", "http/json"]
assert get_args(Target) == TARGETS and get_args(OsName) == OS_NAMES and get_args(Protocol) == PROTOCOLS

TARGET_LABELS: Mapping[str, str] = {
    "user": "User settings (~/.claude/settings.json)",
    "managed": "Managed settings (managed-settings.json)",
    "managed-dropin": "Managed settings drop-in (managed-settings.d/)",
    "macos-profile": "macOS configuration profile (.mobileconfig)",
    "windows-reg": "Windows registry policy (.reg)",
    "shell": "Shell environment (export lines)",
}
TARGET_OS: Mapping[str, tuple[str, ...]] = {
    "user": OS_NAMES,
    "managed": OS_NAMES,
    "managed-dropin": OS_NAMES,
    "macos-profile": ("macos",),
    "windows-reg": ("windows",),
    "shell": ("linux", "macos"),
}
"""The systems each target is for: a profile is macOS's, a .reg Windows', an `export` snippet a POSIX shell's."""
OS_LABELS: Mapping[str, str] = {"linux": "Linux / WSL", "macos": "macOS", "windows": "Windows"}
PROTOCOL_LABELS: Mapping[str, str] = {
    "grpc": "gRPC",
    "http/protobuf": "HTTP (protobuf)",
    "http/json": "HTTP (JSON)",
}

TEXT_FIELDS: Mapping[str, int] = {
    "endpoint": 2048,
    "token": 4096,
    "headers_helper": 1024,
    "team": 255,
    "department": 255,
    "cost_center": 255,
    "resource_attributes": 4096,
    "metrics_interval_ms": 16,
    "logs_interval_ms": 16,
    "ccmon_url": 2048,
    "ccmon_command": 1024,
}
"""The free-text options and their longest accepted value (longer is a 422, not a truncation)."""
FLAG_FIELDS = (
    "log_user_prompts",
    "log_assistant_responses",
    "log_tool_details",
    "traces",
    "budget_hook",
    "policy_hook",
    "statusline",
)
NEEDS_API_URL = ("budget_hook", "policy_hook", "statusline")
"""Options whose commands call the ccmon API (`ccmon_url`)."""
CLI_FLAGS: Mapping[str, str] = {
    "metrics_interval_ms": "--metrics-interval",
    "logs_interval_ms": "--logs-interval",
    "resource_attributes": "--attribute",
}
"""`ccmon setup`'s option for a field, where it is not `--` and the field's name with dashes."""
DEFAULT_VALUES: Mapping[str, str] = {"protocol": "grpc", "ccmon_command": "ccmon"}
"""Options `ccmon setup` assumes when they are not given (left out of the command line)."""
CLI_ORDER = (
    *("endpoint", "protocol", "token", "headers_helper", "team", "department", "cost_center", "resource_attributes"),
    *("metrics_interval_ms", "logs_interval_ms", *FLAG_FIELDS, "ccmon_url", "ccmon_command"),
)
"""The order of the options on the command line: as `ccmon setup --help` lists them."""
CHOICE_FIELDS = ("target", "os", "protocol", "format")
KNOWN = frozenset((*CHOICE_FIELDS, *TEXT_FIELDS, *FLAG_FIELDS))
SAFE_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:.]{2,45}")
NO_STORE = {"cache-control": "no-store", "x-content-type-options": "nosniff"}


class TargetChoice(BaseModel):
    name: str
    label: str
    os: list[str] = Field(description="the operating systems this target is for; the first is the default")
    install_paths: dict[str, str] = Field(description="where the file goes, per operating system")
    note: str = Field(description="what the file does and how it is installed")
    settings_only: list[str] = Field(
        description="options this target cannot carry (the shell snippet sets variables only: no hooks, status line "
        "or headers helper)"
    )


class Choice(BaseModel):
    name: str
    label: str


class ProtocolChoice(Choice):
    endpoint: str = Field(description="this server's OTLP endpoint for the protocol, as the page's host names it")
    headers_helper: bool = Field(description="whether Claude Code runs otelHeadersHelper with this protocol")


class SetupChoices(BaseModel):
    targets: list[TargetChoice]
    os: list[Choice]
    protocols: list[ProtocolChoice]
    defaults: dict[str, str] = Field(description="the form's initial values, by query parameter name")
    flags: list[str] = Field(description="the on/off options (all off by default; content capture among them)")
    requires: dict[str, dict[str, list[str]]] = Field(
        description="options allowed only with some values of another: headers_helper needs an HTTP protocol"
    )
    needs_api_url: list[str] = Field(description="options that call the ccmon API, so need `ccmon_url`")
    api_url: str = Field(description="this server's API URL as the caller reached it (the hooks' --url)")


class SetupPreview(BaseModel):
    target: str
    os: str
    filename: str
    media_type: str
    content: str
    install_path: str
    note: str
    command: str = Field(description="the `ccmon setup` command line that writes or prints the same file")


def setup_routes(authenticate: Authenticate, info: ServerInfo) -> APIRouter:
    """The router (mount it under /api/v1). Any authenticated caller may ask: the files hold only what the caller
    types and where this server listens."""
    router = APIRouter(tags=["setup"], dependencies=[Depends(authenticate)])

    @router.get("/setup/options")
    def options(request: Request) -> SetupChoices:
        """The choices of the Connect page's form, as `ccmon setup` offers them, with this server's endpoints."""
        _only_known(request, frozenset())
        host, api_url = _host(request, info), _api_url(request)
        defaults = {"target": "user", "os": "linux", "protocol": "grpc", "endpoint": _endpoint(info, host, "grpc")}
        defaults |= {"ccmon_url": api_url, "ccmon_command": "ccmon"}
        sample = options_from_mapping(defaults)
        targets = []
        for name in TARGETS:
            files = {os_name: render_file(name, sample, os_name=os_name) for os_name in TARGET_OS[name]}
            first = next(iter(files.values()))
            targets.append(
                TargetChoice(
                    name=name,
                    label=TARGET_LABELS[name],
                    os=list(TARGET_OS[name]),
                    install_paths={os_name: file.install_path for os_name, file in files.items()},
                    note=first.note,
                    settings_only=["headers_helper", "budget_hook", "policy_hook", "statusline"]
                    if name == "shell"
                    else [],
                )
            )
        return SetupChoices(
            targets=targets,
            os=[Choice(name=name, label=OS_LABELS[name]) for name in OS_NAMES],
            protocols=[
                ProtocolChoice(
                    name=name,
                    label=PROTOCOL_LABELS[name],
                    endpoint=_endpoint(info, host, name),
                    headers_helper=name != "grpc",
                )
                for name in PROTOCOLS
            ],
            defaults=defaults,
            flags=list(FLAG_FIELDS),
            requires={"headers_helper": {"protocol": [p for p in PROTOCOLS if p != "grpc"]}},
            needs_api_url=list(NEEDS_API_URL),
            api_url=api_url,
        )

    @router.get(
        "/setup/file",
        response_model=None,
        responses={200: {"description": "the file as an attachment, or with format=json its preview (SetupPreview)"}},
    )
    def setup_file(
        request: Request,
        target: Annotated[Target, Param(description="where the settings go")],
        os: Annotated[
            OsName | None, Param(description="the developer machines' system (default: the target's)")
        ] = None,
        format: Annotated[Literal["file", "json"], Param(description="file: a download; json: a preview")] = "file",
        protocol: Annotated[Protocol, Param()] = "grpc",
        endpoint: Annotated[str | None, Param(description="OTLP base URL (default: this server's)")] = None,
        token: Annotated[str | None, Param(description="static ingest token (OTEL_EXPORTER_OTLP_HEADERS)")] = None,
        headers_helper: Annotated[str | None, Param(description="otelHeadersHelper script (HTTP only)")] = None,
        team: Annotated[str | None, Param()] = None,
        department: Annotated[str | None, Param()] = None,
        cost_center: Annotated[str | None, Param()] = None,
        resource_attributes: Annotated[str | None, Param(description="more key=value pairs, comma-separated")] = None,
        metrics_interval_ms: Annotated[str | None, Param(description="OTEL_METRIC_EXPORT_INTERVAL (ms)")] = None,
        logs_interval_ms: Annotated[str | None, Param(description="OTEL_LOGS_EXPORT_INTERVAL (ms)")] = None,
        log_user_prompts: Annotated[str | None, Param(description="1/true/on: capture prompt text")] = None,
        log_assistant_responses: Annotated[str | None, Param(description="1/true/on: capture responses")] = None,
        log_tool_details: Annotated[str | None, Param(description="1/true/on: capture tool parameters")] = None,
        traces: Annotated[str | None, Param(description="1/true/on: export traces (beta)")] = None,
        budget_hook: Annotated[str | None, Param(description="1/true/on: the UserPromptSubmit budget hook")] = None,
        policy_hook: Annotated[str | None, Param(description="1/true/on: the PreToolUse policy hook")] = None,
        statusline: Annotated[str | None, Param(description="1/true/on: the ccmon status line")] = None,
        ccmon_url: Annotated[str | None, Param(description="the API URL hooks call (default: this one)")] = None,
        ccmon_command: Annotated[str | None, Param(description="how developer machines run ccmon")] = None,
    ) -> Response | SetupPreview:
        """The file `ccmon setup --target TARGET` writes for these options: an attachment named as the file is
        installed, or (format=json) its text with where it goes, what it does and the equivalent command line."""
        _only_known(request, KNOWN)
        os_name = os or TARGET_OS[target][0]
        if os_name not in TARGET_OS[target]:
            raise HTTPException(422, f"{TARGET_LABELS[target]} is for {', '.join(TARGET_OS[target])}, not {os_name}")
        values = _values(request, target)
        values["protocol"] = protocol
        if not values.get("endpoint"):
            values["endpoint"] = _endpoint(info, _host(request, info), protocol)
        if not values.get("ccmon_url"):
            values["ccmon_url"] = _api_url(request)
        try:
            rendered = render_file(target, options_from_mapping(values), os_name=os_name)
        except SetupError as exc:
            raise HTTPException(422, str(exc)) from None
        if format == "json":
            return SetupPreview(
                target=target,
                os=os_name,
                filename=rendered.filename,
                media_type=rendered.media_type,
                content=rendered.content,
                install_path=rendered.install_path,
                note=rendered.note,
                command=setup_command(target, os_name, values),
            )
        return _attachment(rendered)

    return router


def _only_known(request: Request, known: frozenset[str]) -> None:
    """A misspelt option must not be silently dropped from a file meant for a whole fleet; one given twice is
    ambiguous."""
    names = [name for name, _ in request.query_params.multi_items()]
    if unknown := sorted(set(names) - known):
        listed = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise HTTPException(
            422, f"unknown parameter {listed}; this endpoint takes {', '.join(sorted(known)) or 'none'}"
        )
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        raise HTTPException(422, f"parameter {', '.join(repeated)} given more than once")


def _values(request: Request, target: str) -> dict[str, str]:
    """The option fields of the query, checked for length and control characters (a newline in a value would end
    the `export` line or the registry value it is written into)."""
    values: dict[str, str] = {}
    for name, limit in TEXT_FIELDS.items():
        value = request.query_params.get(name)
        if value is None or not value.strip():
            continue
        if len(value) > limit:
            raise HTTPException(422, f"{name} is too long: at most {limit} characters")
        if any(unicodedata.category(c)[0] == "C" or unicodedata.category(c) in {"Zl", "Zp"} for c in value):
            raise HTTPException(422, f"{name} must be one line without control characters")
        values[name] = value
    for name in FLAG_FIELDS:
        value = request.query_params.get(name)
        if value is not None:
            if len(value) > 8:
                raise HTTPException(422, f"{name} must be on or off (1/true/on or 0/false/off)")
            values[name] = value
    if target == "shell":
        carried = [name for name in ("headers_helper", "budget_hook", "policy_hook", "statusline") if name in values]
        if given := [name for name in carried if name == "headers_helper" or _on(values[name])]:
            raise HTTPException(
                422,
                f"the shell snippet sets environment variables only; {', '.join(given)} are settings: "
                "choose user or managed settings for them",
            )
    return values


def _on(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "on", "yes"}


def _attachment(rendered: SetupFile) -> Response:
    filename = rendered.filename if SAFE_FILENAME.fullmatch(rendered.filename) else "ccmon-setup.txt"
    headers = {"content-disposition": f'attachment; filename="{filename}"', **NO_STORE}
    return Response(rendered.content.encode("utf-8"), media_type=rendered.media_type, headers=headers)


def _host(request: Request, info: ServerInfo) -> str:
    """The OTLP host for clients: the configured address, else the one the caller reached this server by (checked:
    a hostile Host header must not end up in a fleet's settings), as a URL spells it."""
    named = info.otlp_host or request.url.hostname or ""
    if not HOSTNAME.fullmatch(named):
        named = "127.0.0.1"
    return f"[{named}]" if ":" in named and not named.startswith("[") else named


def _endpoint(info: ServerInfo, host: str, protocol: str) -> str:
    port = info.otlp_grpc_port if protocol == "grpc" else info.otlp_http_port
    return f"http://{host}:{port}"


def _api_url(request: Request) -> str:
    """This API's URL as the caller reached it: what `ccmon hook` and `ccmon statusline` should call."""
    scheme = "https" if request.url.scheme == "https" else "http"
    named = request.url.hostname or ""
    host = named if HOSTNAME.fullmatch(named) else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    port = request.url.port or (443 if scheme == "https" else 80)  # `ccmon setup` wants it spelt out
    return f"{scheme}://{host}:{port}"


def setup_command(target: str, os_name: str, values: Mapping[str, str]) -> str:
    """The `ccmon setup` command line (`ccmon.setup_cli`) that writes the same file on the machine: options at the
    command's defaults are left out, `--os` is given for the managed targets only (the command's default is the
    machine's own system), `--ccmon-url` only when a hook or the status line calls the API."""
    argv = ["ccmon", "setup", "--target", target]
    if target in {"managed", "managed-dropin"}:
        argv += ["--os", os_name]
    uses_api = any(_on(values.get(name, "")) for name in NEEDS_API_URL)
    for name in CLI_ORDER:
        value = values.get(name)
        if value is None or DEFAULT_VALUES.get(name) == value:
            continue
        flag = CLI_FLAGS.get(name, "--" + name.replace("_", "-"))
        if name in FLAG_FIELDS:
            argv += [flag] if _on(value) else []
        elif name == "resource_attributes":
            argv += [part for item in re.split(r"[\n,]", value) if item.strip() for part in (flag, item.strip())]
        elif name != "ccmon_url" or uses_api:
            argv += [flag, value.strip()]
    return shlex.join(argv)
