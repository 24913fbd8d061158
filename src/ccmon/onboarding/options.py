"""What `ccmon setup` (and the Connect page) configure on a developer's Claude Code, checked, and the Claude Code
settings fragment that says it.

One place knows Claude Code's variable names and their quirks (../shared/reference/claude-code-admin-surfaces.md §1-4,
claude-code-telemetry.md §6), so the CLI, the server's download routes and every file format (targets.py) agree:

- `OTEL_RESOURCE_ATTRIBUTES` is a `key=value,key=value` list whose values are percent-encoded (the OpenTelemetry SDK
  decodes them; a raw space, comma or quote makes the JS SDK drop the list); `OTEL_EXPORTER_OTLP_HEADERS` is the same
  shape but Claude Code reads it undecoded for HTTP, so the token is restricted to characters that need no encoding;
- `otelHeadersHelper` works only for the HTTP protocols: gRPC sends the static header only, so a helper with gRPC
  would export without a token — refused here rather than discovered as missing data;
- there is no default protocol in Claude Code: an exporter without one throws, so the protocol is always written;
- content capture (prompts, responses, tool details) is off unless asked for, and a flag is written only when on.
"""

from __future__ import annotations

import re
import shlex
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class SetupError(ValueError):
    """A clear one-line message for the user: the option is wrong and why, or the file cannot be changed safely."""


PROTOCOLS = ("grpc", "http/protobuf", "http/json")
MIN_INTERVAL_MS = 100
MAX_INTERVAL_MS = 3_600_000
"""Export intervals outside these bounds are a typo (seconds for milliseconds, or a day)."""
MAX_ATTRIBUTE_VALUE = 255
"""The OpenTelemetry JS SDK drops the whole `OTEL_RESOURCE_ATTRIBUTES` list when one encoded value is longer."""
ATTRIBUTE_FIELDS = ("team", "department", "cost_center")
"""Resource attributes `options_from_mapping` takes as their own form fields."""
_ATTRIBUTE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]{0,254}")
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=\-]{1,4096}")
_BAGGAGE_SAFE = "!#$&'()*+-./:<>?@[]^_`{|}~"
"""Printable ASCII the W3C baggage octet grammar allows in a value, less `%` and `=` (the SDK percent-decodes values
and splits on `=`): everything else is percent-encoded."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"", "0", "false", "off", "no"}


@dataclass(frozen=True)
class SetupOptions:
    """Everything `ccmon setup` can write. Constructing one checks it: an instance is always valid."""

    endpoint: str
    """OTLP base URL, e.g. http://ccmon.internal:4317"""
    protocol: str = "grpc"
    token: str | None = None
    """static ingest token -> OTEL_EXPORTER_OTLP_HEADERS"""
    headers_helper: str | None = None
    """otelHeadersHelper script path (http/* only)"""
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    metrics_interval_ms: int | None = None
    logs_interval_ms: int | None = None
    log_user_prompts: bool = False
    log_assistant_responses: bool = False
    log_tool_details: bool = False
    traces: bool = False
    budget_hook: bool = False
    policy_hook: bool = False
    statusline: bool = False
    ccmon_url: str | None = None
    """the API URL the hook and statusline commands call"""
    ccmon_command: str = "ccmon"
    """how the developer's machine runs ccmon (a command line: `ccmon`, `/opt/ccmon/bin/ccmon`, `uvx ccmon`)"""

    def __post_init__(self) -> None:
        object.__setattr__(self, "resource_attributes", dict(self.resource_attributes))
        _check(self)


def _check_url(url: str, what: str, *, path_allowed: bool) -> None:
    if not isinstance(url, str) or not url or _CONTROL.search(url) or any(c.isspace() or c == "," for c in url):
        raise SetupError(f"{what} must be a URL like http://host:port without spaces or commas, not {url!r}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SetupError(f"{what} must start with http:// or https:// and name a host, not {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise SetupError(f"{what} has an invalid port: {url!r}") from None
    if port is None and parts.scheme == "http":
        raise SetupError(f"{what} must name its port (http://host:4317 for gRPC, :4318 for HTTP), not {url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise SetupError(f"{what} must not carry a user, password, query or fragment: {url!r}")
    if not path_allowed and parts.path not in {"", "/"}:
        raise SetupError(f"{what} for gRPC is host and port only (no path): {url!r}")


def _check(options: SetupOptions) -> None:
    if options.protocol not in PROTOCOLS:
        raise SetupError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {options.protocol!r}")
    _check_url(options.endpoint, "the OTLP endpoint", path_allowed=options.protocol != "grpc")
    if options.token is not None and not _TOKEN.fullmatch(options.token):
        raise SetupError(
            "the ingest token must be 1-4096 characters of letters, digits and . _ ~ + / = - "
            "(no spaces, commas, quotes or control characters)"
        )
    if options.headers_helper is not None:
        if options.protocol == "grpc":
            raise SetupError(
                "gRPC cannot use otelHeadersHelper (Claude Code runs the helper for http/protobuf and http/json only): "
                "use a static --token with grpc, or choose --protocol http/protobuf"
            )
        if not options.headers_helper.strip() or _CONTROL.search(options.headers_helper):
            raise SetupError("the headers helper must be a script path on one line")
    for key, value in options.resource_attributes.items():
        if not isinstance(key, str) or not _ATTRIBUTE_KEY.fullmatch(key):
            raise SetupError(
                f"resource attribute name {key!r} must start with a letter or _ and use only letters, digits, "
                "_ . - / (at most 255)"
            )
        if not isinstance(value, str) or not value.strip():
            raise SetupError(f"resource attribute {key!r} needs a value")
        if _CONTROL.search(value):
            raise SetupError(f"resource attribute {key!r} must be one line without control characters")
        if len(encode_attribute_value(value)) > MAX_ATTRIBUTE_VALUE:
            raise SetupError(
                f"resource attribute {key!r} is too long: OpenTelemetry drops every attribute when one encoded value "
                f"exceeds {MAX_ATTRIBUTE_VALUE} characters"
            )
    for name, interval in (("metrics", options.metrics_interval_ms), ("logs", options.logs_interval_ms)):
        if interval is not None and (
            isinstance(interval, bool)
            or not isinstance(interval, int)
            or not MIN_INTERVAL_MS <= interval <= MAX_INTERVAL_MS
        ):
            raise SetupError(
                f"the {name} export interval is in milliseconds, {MIN_INTERVAL_MS}-{MAX_INTERVAL_MS:,}: {interval!r}"
            )
    if not options.ccmon_command.strip() or _CONTROL.search(options.ccmon_command):
        raise SetupError("the ccmon command must be a command line on one line")
    uses_api = options.budget_hook or options.policy_hook or options.statusline
    if uses_api and not options.ccmon_url:
        raise SetupError("the budget hook, policy hook and status line call the ccmon API: give its URL (--ccmon-url)")
    if options.ccmon_url is not None:
        _check_url(options.ccmon_url, "the ccmon API URL", path_allowed=True)


def encode_attribute_value(value: str) -> str:
    """A value as OpenTelemetry's `key=value,...` variables carry it: percent-encoded (UTF-8) outside the characters
    the W3C baggage grammar allows, so `,` `=` `%` spaces, quotes and non-ASCII survive the SDK's parser."""
    return urllib.parse.quote(value, safe=_BAGGAGE_SAFE)


def resource_attributes_value(attributes: Mapping[str, str]) -> str:
    """`OTEL_RESOURCE_ATTRIBUTES` for these attributes, in the order given."""
    return ",".join(f"{key}={encode_attribute_value(value)}" for key, value in attributes.items())


def otel_env(options: SetupOptions) -> dict[str, str]:
    """The `env` block: the telemetry variables Claude Code reads, in a stable order."""
    env = {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": options.protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": options.endpoint,
    }
    if options.token:
        # A literal space, not %20: Claude Code 2.1.330 parses this variable itself for the HTTP exporters and does not
        # percent-decode it (a `Bearer%20token` header is refused; tests/e2e/test_setup_claude.py), while the gRPC
        # exporter's decoding leaves a plain space as it is. The token's characters need no encoding.
        env["OTEL_EXPORTER_OTLP_HEADERS"] = f"Authorization=Bearer {options.token}"
    if options.resource_attributes:
        env["OTEL_RESOURCE_ATTRIBUTES"] = resource_attributes_value(options.resource_attributes)
    if options.metrics_interval_ms is not None:
        env["OTEL_METRIC_EXPORT_INTERVAL"] = str(options.metrics_interval_ms)
    if options.logs_interval_ms is not None:
        env["OTEL_LOGS_EXPORT_INTERVAL"] = str(options.logs_interval_ms)
    for name, on in switches(options).items():
        if on:
            env[name] = "otlp" if name == "OTEL_TRACES_EXPORTER" else "1"
    return env


SWITCH_VARIABLES = (
    "OTEL_LOG_USER_PROMPTS",
    "OTEL_LOG_ASSISTANT_RESPONSES",
    "OTEL_LOG_TOOL_DETAILS",
    "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA",
    "OTEL_TRACES_EXPORTER",
)
"""The on/off variables setup owns: written only when on, and removed from a merged file when off, so turning content
capture off with a second `ccmon setup` really turns it off."""


def switches(options: SetupOptions) -> dict[str, bool]:
    """Each of `SWITCH_VARIABLES`: whether these options turn it on."""
    return dict(
        zip(
            SWITCH_VARIABLES,
            (
                options.log_user_prompts,
                options.log_assistant_responses,
                options.log_tool_details,
                options.traces,
                options.traces,
            ),
            strict=True,
        )
    )


def hook_command(options: SetupOptions, kind: str) -> str:
    """`<ccmon_command> hook budget|policy --url URL`, the command line Claude Code runs."""
    return f"{options.ccmon_command} hook {kind} --url {shlex.quote(options.ccmon_url or '')}"


def statusline_command(options: SetupOptions) -> str:
    return f"{options.ccmon_command} statusline --url {shlex.quote(options.ccmon_url or '')}"


def settings_fragment(options: SetupOptions) -> dict[str, Any]:
    """The Claude Code settings these options stand for: `env`, and `otelHeadersHelper`, `hooks`, `statusLine` when
    asked for. A fresh settings.json, or what merge.py merges into an existing one."""
    fragment: dict[str, Any] = {"env": otel_env(options)}
    if options.headers_helper:
        fragment["otelHeadersHelper"] = options.headers_helper
    hooks: dict[str, Any] = {}
    if options.budget_hook:
        hooks["UserPromptSubmit"] = [{"hooks": [{"type": "command", "command": hook_command(options, "budget")}]}]
    if options.policy_hook:
        hooks["PreToolUse"] = [
            {"matcher": "*", "hooks": [{"type": "command", "command": hook_command(options, "policy")}]}
        ]
    if hooks:
        fragment["hooks"] = hooks
    if options.statusline:
        fragment["statusLine"] = {"type": "command", "command": statusline_command(options), "padding": 0}
    return fragment


def _flag(values: Mapping[str, str], name: str) -> bool:
    raw = str(values.get(name, "")).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SetupError(f"{name} must be on or off (1/true/on or 0/false/off), not {raw[:40]!r}")


def _interval(values: Mapping[str, str], name: str) -> int | None:
    raw = str(values.get(name, "")).strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise SetupError(f"{name} must be a whole number of milliseconds, not {raw[:40]!r}") from None


def parse_attributes(text: str) -> dict[str, str]:
    """`key=value` pairs separated by newlines or commas (values as typed, not encoded)."""
    attributes: dict[str, str] = {}
    for item in re.split(r"[\n,]", text):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise SetupError(f"resource attributes are key=value pairs, not {item.strip()[:60]!r}")
        attributes[key.strip()] = value.strip()
    return attributes


def options_from_mapping(values: Mapping[str, str]) -> SetupOptions:
    """Options from a query string or form whose names are the field names: booleans as 1/true/on, the attributes
    `team`, `department`, `cost_center` as fields and any others as `resource_attributes` (`key=value` lines). Empty
    fields are unset; names that are not options (a page's `target`, `os`) are ignored."""

    def text(name: str) -> str | None:
        raw = values.get(name)
        return str(raw).strip() or None if raw is not None else None

    endpoint = text("endpoint")
    if endpoint is None:
        raise SetupError("endpoint is required: the OTLP URL Claude Code exports to, e.g. http://ccmon.internal:4317")
    attributes = parse_attributes(text("resource_attributes") or "")
    for name in ATTRIBUTE_FIELDS:
        if value := text(name):
            attributes[name] = value
    return SetupOptions(
        endpoint=endpoint,
        protocol=text("protocol") or "grpc",
        token=text("token"),
        headers_helper=text("headers_helper"),
        resource_attributes=attributes,
        metrics_interval_ms=_interval(values, "metrics_interval_ms"),
        logs_interval_ms=_interval(values, "logs_interval_ms"),
        log_user_prompts=_flag(values, "log_user_prompts"),
        log_assistant_responses=_flag(values, "log_assistant_responses"),
        log_tool_details=_flag(values, "log_tool_details"),
        traces=_flag(values, "traces"),
        budget_hook=_flag(values, "budget_hook"),
        policy_hook=_flag(values, "policy_hook"),
        statusline=_flag(values, "statusline"),
        ccmon_url=text("ccmon_url"),
        ccmon_command=text("ccmon_command") or "ccmon",
    )
