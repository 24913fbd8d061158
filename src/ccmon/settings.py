"""Every configuration setting of ccmon, declared once.

Each `Setting` names its command-line flag, its `CCMON_*` environment variable, its key in the TOML file and its
default, and documents itself: `docs/configuration.md` is generated from this table (a test keeps it in step).
Precedence is flag > environment > TOML file > default.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ccmon.auth.groups import RoleRule, parse_default_role
from ccmon.ingest.attribution import TeamRule
from ccmon.ingest.privacy import parse_pattern
from ccmon.logs import FORMATS as LOG_FORMATS
from ccmon.store.dimensions import DEFAULT_PROJECT_KEYS


def _default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "ccmon")


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (true/false), got {raw!r}")


def _parse_budget(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f'"{raw}" is not an amount in USD (e.g. 2500)') from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"expected an amount in USD greater than 0, got {raw!r}")
    return value


def _parse_whole(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError(f'"{raw}" is not a whole number') from None


def _parse_days(raw: str) -> int:
    value = _parse_whole(raw)
    if not 0 <= value <= 36_500:
        raise ValueError(f"expected a number of days from 0 (keep forever) to 36500, got {raw!r}")
    return value


def _parse_port(raw: str) -> int:
    value = _parse_whole(raw)
    if not 1 <= value <= 65535:
        raise ValueError(f"{value} is not a port number (1-65535)")
    return value


def _parse_positive_whole(raw: str) -> int:
    value = _parse_whole(raw)
    if value < 1:
        raise ValueError(f"expected a whole number of at least 1, got {raw!r}")
    return value


def _parse_network(raw: str) -> str:
    try:
        return str(ipaddress.ip_network(raw.strip(), strict=False))
    except ValueError:
        raise ValueError(f'"{raw}" is not an address or CIDR (e.g. 10.0.0.5 or 10.0.0.0/24)') from None


def _parse_url(raw: str) -> str:
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
        raise ValueError(f'"{raw}" is not an http(s) URL')
    return value


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f'"{raw}" is not one of {", ".join(choices)}')
        return value

    return parse


def _split(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class Setting:
    """One configuration knob: where it can be set, its type, its default and what it means."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False
    each: Callable[[str], Any] | None = None
    """For a list: how each item is read. A list is comma-separated text (flag, environment) or a TOML array, and
    its value a tuple."""

    @property
    def env(self) -> str:
        return "CCMON_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def default_text(self) -> str | None:
        """The default as it is written (in a flag, a variable or the file); None when there is none."""
        if self.name == "data_dir":
            return _default_data_dir()
        if isinstance(self.default, tuple):
            return ",".join(self.default) or None
        if isinstance(self.default, bool):
            return str(self.default).lower()
        return None if self.default is None else str(self.default)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "host",
        "127.0.0.1",
        "Address every listener binds. Any non-loopback address requires authenticated ingest (ingest tokens) and a "
        "way to log in to the API (API tokens, users, API keys, single sign-on or a trusted proxy).",
    ),
    Setting("port", 3000, "Port of the web UI and HTTP API.", _parse_port),
    Setting("otlp_grpc_port", 4317, "Port of the OTLP/gRPC receiver.", _parse_port),
    Setting(
        "otlp_http_port",
        4318,
        "Port of the OTLP/HTTP receiver (`/v1/logs`, `/v1/metrics`, `/v1/traces`).",
        _parse_port,
    ),
    Setting(
        "data_dir",
        None,
        "Folder of the embedded ClickHouse store (default: `$XDG_DATA_HOME/ccmon`, usually `~/.local/share/ccmon`).",
    ),
    Setting(
        "clickhouse_url",
        None,
        "Use a ClickHouse server instead of the embedded store, e.g. "
        "`http://user:password@clickhouse:8123`. Same schema and SQL.",
        secret=True,
    ),
    Setting("database", "ccmon", "ClickHouse database holding ccmon's tables."),
    Setting(
        "ingest_tokens",
        (),
        "Comma-separated bearer tokens accepted by the OTLP receivers "
        "(`Authorization: Bearer <token>`). Empty: no token is asked for (loopback only).",
        secret=True,
        each=str,
    ),
    Setting(
        "tls_cert_file",
        None,
        "PEM certificate (chain) of the server: with `tls_key_file`, all three listeners speak TLS only.",
    ),
    Setting("tls_key_file", None, "PEM private key of `tls_cert_file`."),
    Setting(
        "tls_client_ca_file",
        None,
        "PEM CA certificate(s): the OTLP receivers then require a client certificate signed by it (mTLS). The UI/API "
        "port asks for none.",
    ),
    Setting(
        "api_tokens",
        (),
        "Comma-separated bearer tokens accepted by the HTTP API, `/metrics` and `/openapi.json`. Empty: no token is "
        "asked for (loopback only).",
        secret=True,
        each=str,
    ),
    Setting(
        "scrape_tokens",
        (),
        "Comma-separated bearer tokens accepted by `/metrics` only, for a Prometheus that should not read the API. "
        "Anything the API accepts is accepted there too (so on loopback with no authentication configured, `/metrics` "
        "asks for nothing).",
        secret=True,
        each=str,
    ),
    Setting(
        "session_ttl_hours",
        12,
        "A login session ends this many hours after the login, however active (absolute expiry).",
        _parse_positive_whole,
    ),
    Setting(
        "session_idle_minutes",
        120,
        "A login session ends after this many minutes without a request.",
        _parse_positive_whole,
    ),
    Setting(
        "trusted_proxies",
        (),
        "Addresses (CIDRs, comma-separated) of authenticating reverse proxies whose user and groups headers are "
        "believed. Empty: the headers are ignored (trusted-header mode off). Requests from any other address never "
        "log in by header.",
        each=_parse_network,
    ),
    Setting(
        "trusted_user_header",
        "X-Forwarded-Email",
        "Header carrying the logged-in email, set by a trusted proxy (e.g. oauth2-proxy).",
    ),
    Setting(
        "trusted_groups_header",
        "X-Forwarded-Groups",
        "Header carrying the login's groups, comma-separated, set by a trusted proxy; mapped to a role by `role_map`.",
    ),
    Setting(
        "role_map",
        (),
        "Group to role rules for single sign-on and trusted-header logins: comma-separated `GROUP=ROLE` (a TOML array "
        "for groups holding commas). The first rule whose group the login has gives the role; `*` matches any group. "
        "Roles: admin, finance, manager, team_lead, developer, viewer.",
        each=RoleRule.parse,
    ),
    Setting(
        "default_role",
        "viewer",
        "Role of a single sign-on or trusted-header login that no `role_map` rule matches; `none` refuses the login.",
        parse_default_role,
    ),
    Setting(
        "oidc_issuer",
        None,
        "OpenID Connect issuer URL for single sign-on (e.g. `https://login.example.com/realms/acme`); its "
        '`/.well-known/openid-configuration` is read at the first login. The login page then offers "Sign in with '
        'SSO" (authorization code flow with PKCE). Unset: no single sign-on.',
        _parse_url,
    ),
    Setting("oidc_client_id", None, "Client id of ccmon at the OpenID provider (required with `oidc_issuer`)."),
    Setting(
        "oidc_client_secret",
        None,
        "Client secret of ccmon at the OpenID provider. Unset: a public client (PKCE only).",
        secret=True,
    ),
    Setting(
        "oidc_redirect_url",
        None,
        "The callback URL registered at the provider. Default: this server's address as the browser reached it, "
        "plus `/auth/oidc/callback`; set it behind a proxy that rewrites the host or scheme.",
        _parse_url,
    ),
    Setting(
        "oidc_scopes",
        ("openid", "email", "profile", "groups"),
        "Scopes asked of the provider, comma-separated: `openid` and `email` are needed, and whichever scope releases "
        "the groups claim (`groups` for many providers; Keycloak and Okta name their own).",
        each=str,
    ),
    Setting(
        "oidc_groups_claim",
        "groups",
        "Claim of the ID token (or userinfo) listing the login's groups, mapped to a role by `role_map`.",
    ),
    Setting(
        "max_request_bytes",
        8 * 1024 * 1024,
        "Largest OTLP request accepted, counted after decompression; "
        "larger ones get HTTP 413 or gRPC RESOURCE_EXHAUSTED.",
        _parse_whole,
    ),
    Setting(
        "max_attribute_length",
        65536,
        "Longest attribute value kept, in characters; longer strings are truncated and "
        "counted in `ccmon_truncated_values_total`.",
        _parse_whole,
    ),
    Setting("batch_max_rows", 10_000, "The writer commits a batch once it holds this many rows...", _parse_whole),
    Setting(
        "batch_max_delay_ms",
        200,
        "...or once it has waited this long for more rows (an answer takes at most this plus one commit).",
        _parse_whole,
    ),
    Setting(
        "queue_max_rows",
        200_000,
        "Rows that may wait for the writer. A request that would exceed it is "
        "refused with HTTP 429 / gRPC RESOURCE_EXHAUSTED so the exporter retries later.",
        _parse_whole,
    ),
    Setting(
        "dedup_window_s",
        900,
        "How long the keys of stored rows are remembered, so an exporter's retry of "
        "a request already stored is counted once. Seeded from the store at start-up.",
        _parse_whole,
    ),
    Setting("dedup_max_keys", 5_000_000, "At most this many remembered keys (oldest forgotten first).", _parse_whole),
    Setting(
        "monthly_budget_usd",
        None,
        "Monthly Claude Code budget in USD for the whole organisation: the dashboards show spend month-to-date and "
        "projected month-end spend against it. Unset: no budget.",
        _parse_budget,
    ),
    Setting(
        "project_attributes",
        DEFAULT_PROJECT_KEYS,
        "Attributes naming a row's project, comma-separated, most preferred first: the first that a record (or else "
        "its resource) carries is the project. By default a `project` set in `OTEL_RESOURCE_ATTRIBUTES`, else the "
        "repository Claude Code derives (`vcs.repository.name`, with `OTEL_METRICS_INCLUDE_REPOSITORY=1`). Applies to "
        "telemetry received from then on.",
        each=str,
    ),
    Setting(
        "team_from_email",
        (),
        "Rules giving a team to telemetry that arrives without a team attribute, from the person's email: "
        "comma-separated `PATTERN=TEAM`, tried in order. PATTERN is matched against the whole address, ignoring "
        "case, `*` standing for any characters but `@`; TEAM may use `$1`, `$2`, ... for what each `*` matched. "
        "E.g. `*@payments.example.com=payments,*@*.example.com=$2`. Applies to telemetry received from then on.",
        each=TeamRule.parse,
    ),
    Setting(
        "directory_file",
        None,
        "A directory of people (CSV with the header `email,name,team,department,cost_center,manager`, or YAML with a "
        "`people:` list and optional `rules:` in the `team_from_email` syntax) loaded at start-up, replacing the "
        "stored directory. The directory's team, department and cost center win over what clients send; "
        "`ccmon directory apply` re-applies it to stored telemetry.",
    ),
    Setting(
        "alerts_file",
        None,
        "A YAML file of alert rules, notification channels, budgets and model policies, and changes to the default "
        "rules (docs/alerts.md), loaded at start-up (a malformed file stops the start, naming the line) and again on "
        "SIGHUP or `POST /api/v1/alerts/reload` (a malformed file is then refused and the running rules keep "
        "working). Its rules, budgets and policies replace those it loaded before; those made in the UI stay.",
    ),
    Setting(
        "alerts_enabled",
        True,
        "Evaluate the alert rules in this process and send their notifications. When several ccmon processes share "
        "one ClickHouse server, exactly one of those with alerts enabled evaluates at a time (a lease in the store).",
        _parse_bool,
    ),
    Setting(
        "alerts_interval_s",
        15,
        "How often, in seconds, the alert engine wakes to evaluate the rules that are due (each rule has its own "
        "interval) and to retry deliveries.",
        _parse_positive_whole,
    ),
    Setting(
        "external_url",
        None,
        "The public base URL of ccmon's UI (e.g. `https://ccmon.example.com`), for the links in notifications. "
        "Default: `http://HOST:PORT` of this server (`https` with TLS; `localhost` for a wildcard host).",
        _parse_url,
    ),
    Setting(
        "retention_days_events",
        0,
        "Days the raw events (prompts, tool calls, API requests and errors) are kept; 0 keeps them forever. Applied "
        "as a ClickHouse TTL at start-up: changing it and restarting changes it (docs/security.md#retention).",
        _parse_days,
    ),
    Setting("retention_days_metrics", 0, "Days the raw metric points are kept; 0 keeps them forever.", _parse_days),
    Setting("retention_days_spans", 0, "Days the raw trace spans are kept; 0 keeps them forever.", _parse_days),
    Setting(
        "retention_days_rollups",
        0,
        "Days the hourly and daily rollups (the numbers the dashboards read) are kept; 0 keeps them forever.",
        _parse_days,
    ),
    Setting("retention_days_audit", 400, "Days the audit log is kept; 0 keeps it forever.", _parse_days),
    Setting(
        "hash_emails",
        False,
        "Store every email address of the telemetry (`user.email`, the person, email-valued attributes) as a stable "
        "pseudonym, `anon-` and 16 hex digits of HMAC-SHA256(secret, address), before anything is written. Logins "
        "still see their own data: the directory maps an address to its pseudonym.",
        _parse_bool,
    ),
    Setting(
        "hash_secret",
        None,
        "Secret keying the pseudonyms of `hash_emails`. Unset: one generated once and kept in the store. Changing it "
        "changes every pseudonym from then on.",
        secret=True,
    ),
    Setting(
        "content_prompts",
        "redact",
        "Prompt text (`OTEL_LOG_USER_PROMPTS`): `redact` stores it with secrets (API keys, tokens, passwords, "
        "private keys, AWS keys, credentials in URLs) replaced by `<REDACTED:kind>`; `keep` stores it as sent; "
        "`drop` stores `<DROPPED>`.",
        _one_of("redact", "keep", "drop"),
    ),
    Setting(
        "content_responses",
        "redact",
        "Assistant responses: `redact`, `keep` or `drop`, as for prompts.",
        _one_of("redact", "keep", "drop"),
    ),
    Setting(
        "content_tool_details",
        "redact",
        "Tool parameters, inputs and outputs (`OTEL_LOG_TOOL_DETAILS`): `redact`, `keep` or `drop`, as for prompts. "
        "Raw API bodies follow the strictest of the three; error messages always have their secrets redacted.",
        _one_of("redact", "keep", "drop"),
    ),
    Setting(
        "redact_patterns",
        (),
        "More secrets to redact: regular expressions (RE2 syntax; a TOML array for patterns holding commas), every "
        "match replaced by `<REDACTED:custom>` wherever secrets are redacted.",
        each=parse_pattern,
    ),
    Setting(
        "prometheus_session_labels",
        False,
        "Give the Claude Code series of `/metrics/claude-code` their `session_id` label, as the OpenTelemetry "
        "Collector does. Off: series are summed over sessions (one per person, model, type...), which keeps a "
        "Prometheus small; `count by (user_email)` queries still work.",
        _parse_bool,
    ),
    Setting(
        "prometheus_max_series",
        20000,
        "Cardinality guard of `/metrics/claude-code`: at most this many series. Beyond it, the least recently "
        "active series are left out and counted in `ccmon_prometheus_series_dropped`.",
        _parse_positive_whole,
    ),
    Setting(
        "forward_endpoints",
        (),
        "OTLP/HTTP endpoints (base URLs, e.g. `https://otlp.example.com`) every accepted export is forwarded to, "
        "through a bounded queue on disk in the data folder, retried with backoff (docs/interop.md#forwarding).",
        each=_parse_url,
    ),
    Setting(
        "forward_headers",
        (),
        "Headers sent with every forwarded export, `name=value` (e.g. `x-honeycomb-team=KEY`).",
        secret=True,
        each=str,
    ),
    Setting(
        "forward_temporality",
        "unchanged",
        "Metrics as forwarded: `unchanged`, or `cumulative` (delta sums converted, for backends that reject delta: "
        "Prometheus's OTLP receiver, Mimir, Grafana Cloud).",
        _one_of("unchanged", "cumulative"),
    ),
    Setting(
        "forward_queue_max_mb",
        256,
        "Disk space the forwarding queue may take per endpoint; beyond it the oldest exports are dropped (and "
        "counted in `ccmon_forward_dropped_total`). Local storage never waits on a forward target.",
        _parse_positive_whole,
    ),
    Setting(
        "pricing_file",
        None,
        "TOML file of model prices that add to or override the shipped table (docs/interop.md#pricing): "
        "dated entries per model, per million tokens.",
    ),
    Setting(
        "report_schedule",
        None,
        "Cron expression (5 fields, UTC) on which the server sends the weekly report, e.g. `0 9 * * 1` (Mondays "
        "09:00). Unset: no scheduled report (`ccmon report weekly` still works).",
    ),
    Setting(
        "report_channels",
        (),
        "Names of alert channels (email or Slack, from the alerts file) the scheduled report is sent to.",
        each=str,
    ),
    Setting(
        "log_level", "info", "Log level: debug, info, warning, error.", _one_of("debug", "info", "warning", "error")
    ),
    Setting(
        "log_format",
        "auto",
        "Log format: `json` (one object per line), `text` (one readable line per event), or `auto`: text when standard "
        "error is a terminal, JSON otherwise.",
        _one_of(*LOG_FORMATS),
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def default(name: str) -> Any:
    """A setting's default, for components built without a `Config` (tests, benchmarks)."""
    return _BY_NAME[name].default


@dataclass(frozen=True)
class Config:
    """Resolved configuration; build it with `load_config` (the defaults live in `SETTINGS` only)."""

    host: str
    port: int
    otlp_grpc_port: int
    otlp_http_port: int
    data_dir: str
    clickhouse_url: str | None
    database: str
    ingest_tokens: tuple[str, ...]
    tls_cert_file: str | None
    tls_key_file: str | None
    tls_client_ca_file: str | None
    api_tokens: tuple[str, ...]
    scrape_tokens: tuple[str, ...]
    session_ttl_hours: int
    session_idle_minutes: int
    trusted_proxies: tuple[str, ...]
    trusted_user_header: str
    trusted_groups_header: str
    role_map: tuple[RoleRule, ...]
    default_role: str
    oidc_issuer: str | None
    oidc_client_id: str | None
    oidc_client_secret: str | None
    oidc_redirect_url: str | None
    oidc_scopes: tuple[str, ...]
    oidc_groups_claim: str
    max_request_bytes: int
    max_attribute_length: int
    batch_max_rows: int
    batch_max_delay_ms: int
    queue_max_rows: int
    dedup_window_s: int
    dedup_max_keys: int
    monthly_budget_usd: float | None
    project_attributes: tuple[str, ...]
    team_from_email: tuple[TeamRule, ...]
    directory_file: str | None
    alerts_file: str | None
    alerts_enabled: bool
    alerts_interval_s: int
    external_url: str | None
    retention_days_events: int
    retention_days_metrics: int
    retention_days_spans: int
    retention_days_rollups: int
    retention_days_audit: int
    hash_emails: bool
    hash_secret: str | None
    content_prompts: str
    content_responses: str
    content_tool_details: str
    redact_patterns: tuple[str, ...]
    prometheus_session_labels: bool
    prometheus_max_series: int
    forward_endpoints: tuple[str, ...]
    forward_headers: tuple[str, ...]
    forward_temporality: str
    forward_queue_max_mb: int
    pricing_file: str | None
    report_schedule: str | None
    report_channels: tuple[str, ...]
    log_level: str
    log_format: str

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


def external_url(config: Config) -> str:
    """The UI's public base URL for links in notifications: the `external_url` setting, else this server's own
    address (`localhost` for a wildcard host, brackets around an IPv6 address, `https` with TLS)."""
    if config.external_url:
        return config.external_url.rstrip("/")
    host = "localhost" if config.host in {"0.0.0.0", "::", ""} else config.host
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if config.tls_cert_file else "http"
    return f"{scheme}://{host}:{config.port}"


class ConfigError(ValueError):
    """A setting has a value ccmon cannot use; the message names the setting and its source."""


def _coerce(setting: Setting, value: Any, source: str) -> Any:
    """The setting's value from text (a flag, a variable) or TOML; `source` names where it came from in messages:
    the flag (`--port`), the variable (`CCMON_PORT`) or the key in the file (`port in ccmon.toml`)."""
    try:
        if setting.each is not None:
            if isinstance(value, str):
                return tuple(setting.each(item) for item in _split(value))
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                return tuple(setting.each(item.strip()) for item in value if item.strip())
            raise ValueError(f"expected a list of text, got {value!r}")
        if isinstance(value, str):
            return setting.parse(value)
        if isinstance(value, bool) and setting.parse is _parse_bool:  # a TOML true/false
            return value
        # A TOML number goes through the setting's own parser, checked as the same text in CCMON_* would be.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return setting.parse(str(value))
        if setting.parse is str and value is not None:
            return str(value)
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    raise ConfigError(f"{source}: unexpected value {value!r}")


def load_config(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | Path | None = None,
) -> Config:
    """Resolve every setting: flag > environment (`CCMON_*`) > TOML file > default."""
    environ = os.environ if environ is None else environ
    flags = flags or {}
    file_values: dict[str, Any] = {}
    path = config_file or environ.get("CCMON_CONFIG")
    if path:
        try:
            file_values = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        unknown = sorted(set(file_values) - set(_BY_NAME))
        if unknown:
            raise ConfigError(f"config file {path}: unknown settings {', '.join(unknown)}")
    resolved: dict[str, Any] = {}
    for setting in SETTINGS:
        if flags.get(setting.name) is not None:
            resolved[setting.name] = _coerce(setting, flags[setting.name], setting.flag)
        elif setting.env in environ:
            resolved[setting.name] = _coerce(setting, environ[setting.env], setting.env)
        elif setting.name in file_values:
            resolved[setting.name] = _coerce(setting, file_values[setting.name], f"{setting.name} in {path}")
        else:
            resolved[setting.name] = setting.default
    if resolved["data_dir"] is None:
        resolved["data_dir"] = _default_data_dir()
    return Config(**resolved)


def settings_markdown() -> str:
    """The configuration reference, generated from `SETTINGS` (written to docs/configuration.md)."""
    lines = [
        "# Configuration",
        "",
        "Generated from `src/ccmon/settings.py`; do not edit by hand (`python -m ccmon.settings > "
        "docs/configuration.md`).",
        "",
        "Every setting can be given as a flag of `ccmon serve`, as an environment variable, or as a key in a TOML "
        "file named by `--config` or `CCMON_CONFIG`. A flag beats the environment, which beats the file, which "
        "beats the default.",
        "",
        "| flag | environment | TOML key | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        if s.name == "data_dir":
            default = "per-user data folder"
        else:
            default = "(none)" if s.default_text is None else f"`{s.default_text}`"
        lines.append(f"| `{s.flag}` | `{s.env}` | `{s.name}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(settings_markdown(), end="")
