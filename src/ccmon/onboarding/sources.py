"""Claude Code's settings as it will see them on this machine: every source of telemetry settings, in its order of
precedence, and the effective value of each telemetry variable with the source it comes from.

`ccmon doctor` reports from this, so it models what Claude Code does, not what the files say
(../shared/reference/claude-code-admin-surfaces.md §1, claude-code-telemetry.md §6.9):

- Sources, lowest precedence first: the process (shell) environment, the user's `~/.claude/settings.json`, the
  project's `.claude/settings.json`, then `.claude/settings.local.json`, then managed settings. Claude Code copies the
  `env` of its merged settings into its process environment at start-up, so a settings file's value wins over the
  shell's. (Assumed from Claude Code's behaviour; the reference gives the order of the files, not the shell's place.)
  `--settings` files given on a command line are not seen here.
- Managed settings are `managed-settings.json` and then the drop-ins of `managed-settings.d/` in alphabetical order,
  their `env` merged key by key (a later file wins). MDM profiles, the Windows registry and server-managed settings
  are not read here: `sources()` says so on the systems where they exist.
- A project's settings cannot turn telemetry on or redirect it: Claude Code ignores the telemetry variables of a
  project's settings files except values that turn telemetry off (an exporter `none`, the switch off). Such a value is
  reported as `ignored (project settings)`.
- A managed endpoint, protocol or headers (since Claude Code 2.1.217) discards the per-signal endpoint, protocol and
  headers set anywhere else, so an organisation's collector cannot be redirected.

A file that is missing is skipped; one that cannot be read, is too large, is not JSON (the error gives its line and
column) or holds values of the wrong type is reported, and never stops the rest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccmon.onboarding.claude_files import (
    MAX_SETTINGS_BYTES,
    home,
    managed_dir,
    managed_files,
    project_settings_paths,
    this_os,
    user_settings_path,
)

SIGNALS = ("METRICS", "LOGS")
TELEMETRY_VARIABLES = (
    "CLAUDE_CODE_ENABLE_TELEMETRY",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    *(f"OTEL_EXPORTER_OTLP_{s}_{part}" for s in SIGNALS for part in ("PROTOCOL", "ENDPOINT", "HEADERS")),
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SERVICE_NAME",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_LOGS_EXPORT_INTERVAL",
    "OTEL_LOG_USER_PROMPTS",
    "OTEL_LOG_ASSISTANT_RESPONSES",
    "OTEL_LOG_TOOL_DETAILS",
    "OTEL_LOG_TOOL_CONTENT",
    "OTEL_LOG_RAW_API_BODIES",
    "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA",
)
"""The variables the doctor reports, in the order it shows them."""
MANAGED_LOCKS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS")
"""Set in managed settings, any of these discards the per-signal endpoints, protocols and headers set elsewhere."""
HEADERS_HELPER = "otelHeadersHelper"
SECRET_VARIABLES = frozenset(name for name in TELEMETRY_VARIABLES if name.endswith("_HEADERS"))
FALSY = frozenset({"", "0", "false", "no", "off"})

ENVIRONMENT, USER, PROJECT, PROJECT_LOCAL, MANAGED = "environment", "user", "project", "project-local", "managed"
IGNORED_IN_PROJECT = "ignored (project settings)"
DISCARDED_BY_MANAGED = "discarded (a managed endpoint, protocol or headers is set)"


@dataclass
class Source:
    """One place Claude Code reads settings from, and what it holds."""

    kind: str
    """environment, user, project, project-local or managed"""
    path: Path | None
    exists: bool = False
    env: dict[str, str] = field(default_factory=dict)
    headers_helper: str | None = None
    error: str | None = None
    """Why the file could not be used at all (unreadable, too large, not JSON, not an object)."""
    problems: list[str] = field(default_factory=list)
    """Values of the wrong type (left out, or taken as their text)."""

    @property
    def label(self) -> str:
        return self.kind if self.path is None else f"{self.kind} ({self.path})"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": None if self.path is None else str(self.path),
            "exists": self.exists,
            "error": self.error,
            "problems": list(self.problems),
            "variables": sorted(name for name in self.env if is_telemetry(name)),
            "otel_headers_helper": self.headers_helper is not None,
        }


@dataclass(frozen=True)
class Value:
    """A variable's effective value (None: unset), the source it comes from, and what was set but not used."""

    name: str
    value: str | None
    source: str | None
    """The winning source's label, None when unset."""
    kind: str | None = None
    """The winning source's kind."""
    unused: tuple[tuple[str, str], ...] = ()
    """(source label, why) of the values set elsewhere but not used: overridden, ignored or discarded."""

    def shown(self) -> str | None:
        """The value as it may be printed: header values masked."""
        if self.value is None:
            return None
        return mask_headers(self.value) if self.name in SECRET_VARIABLES else self.value


@dataclass
class Effective:
    """Every source, and the effective value of each telemetry variable and of `otelHeadersHelper`."""

    sources: list[Source]
    values: dict[str, Value]
    headers_helper: Value
    unchecked: tuple[str, ...] = ()
    """Managed sources this machine may have that are not read here (MDM profile, registry, server-managed)."""

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else value.value

    def ignored_in_project(self) -> list[str]:
        """The telemetry variables (and helper) a project file sets that Claude Code ignores."""
        found = [v.name for v in (*self.values.values(), self.headers_helper) if _ignored_in_project(v)]
        return found

    def to_json(self) -> dict[str, Any]:
        variables = {
            name: {
                "value": value.shown(),
                "source": value.source,
                "unused": [{"source": s, "why": why} for s, why in value.unused],
            }
            for name, value in self.values.items()
        }
        helper = self.headers_helper
        return {
            "variables": variables,
            "otel_headers_helper": {
                "value": helper.value,
                "source": helper.source,
                "unused": [{"source": s, "why": why} for s, why in helper.unused],
            },
            "sources": [source.to_json() for source in self.sources],
            "unchecked_managed_sources": list(self.unchecked),
        }


def _ignored_in_project(value: Value) -> bool:
    return any(why == IGNORED_IN_PROJECT for _, why in value.unused)


def is_telemetry(name: str) -> bool:
    """Variables a project's settings may not set (except to turn telemetry off)."""
    return name.startswith(("OTEL_", "CLAUDE_CODE_OTEL_")) or name in {
        "CLAUDE_CODE_ENABLE_TELEMETRY",
        "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA",
    }


def turns_off(name: str, value: str) -> bool:
    """Whether a project's value only turns telemetry off (the one kind Claude Code honours there)."""
    text = value.strip().lower()
    if name.endswith("_EXPORTER"):
        return text == "none"
    if name in {"CLAUDE_CODE_ENABLE_TELEMETRY", "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA"} or name.startswith("OTEL_LOG_"):
        return text in FALSY
    return False


def mask_headers(headers: str) -> str:
    """`k=v,k2=v2` with every value replaced by `***`: a header value is a credential."""
    items = []
    for item in headers.split(","):
        name, sep, value = item.partition("=")
        items.append(f"{name.strip()}=***" if sep and value.strip() else item.strip())
    return ",".join(items)


# --- reading the sources ---------------------------------------------------------------------------------------------


def read_settings(kind: str, path: Path) -> Source:
    """A settings file as a source: its `env` (string values) and `otelHeadersHelper`, or what is wrong with it."""
    source = Source(kind, path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return source
    except OSError as exc:
        source.exists, source.error = True, f"cannot be read: {exc.strerror or exc}"
        return source
    source.exists = True
    if size > MAX_SETTINGS_BYTES:
        source.error = f"is {size} bytes, larger than any settings file ({MAX_SETTINGS_BYTES} bytes at most)"
        return source
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        source.error = f"cannot be read: {exc.strerror or exc}"
        return source
    except UnicodeDecodeError as exc:
        source.error = f"is not UTF-8 text (byte {exc.start})"
        return source
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        source.error = f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        return source
    except RecursionError:
        source.error = "is not valid JSON: nested too deeply"
        return source
    if not isinstance(data, dict):
        source.error = f"holds a JSON {type(data).__name__}, not an object"
        return source
    _take_env(source, data.get("env"))
    helper = data.get(HEADERS_HELPER)
    if isinstance(helper, str) and helper.strip():
        source.headers_helper = helper.strip()
    elif helper is not None:
        source.problems.append(f"{HEADERS_HELPER} should be a command (a string), not {_json_type(helper)}: ignored")
    return source


def _take_env(source: Source, env: object) -> None:
    if env is None:
        return
    if not isinstance(env, dict):
        source.problems.append(f"env should be an object of NAME: value, not {_json_type(env)}: ignored")
        return
    for name, value in env.items():
        if isinstance(value, str):
            source.env[name] = value
        elif isinstance(value, bool | int | float):
            source.env[name] = json.dumps(value)
            if is_telemetry(name):
                text = json.dumps(source.env[name])
                source.problems.append(f"env.{name} is {_json_type(value)}: write it as a string ({text})")
        elif is_telemetry(name):
            source.problems.append(f"env.{name} is {_json_type(value)}, not a string: ignored")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a string"


def project_dir(start: Path, environ: Mapping[str, str]) -> Path:
    """The project whose settings apply when Claude Code starts in `start`: the nearest folder from `start` up to its
    git root (or the filesystem root) that has a `.claude/settings.json` or `.claude/settings.local.json`; `start`
    itself when none has. The home folder is never a project: its `.claude/settings.json` is the user's."""
    start = start.resolve()
    user_home = home(environ).resolve()
    for folder in (start, *start.parents):
        if folder == user_home:
            break
        if any(path.is_file() for path in project_settings_paths(folder)):
            return folder
        if (folder / ".git").exists():
            break
    return start


def sources(environ: Mapping[str, str], project: Path) -> list[Source]:
    """Every source, lowest precedence first."""
    shared, local = project_settings_paths(project)
    found = [
        Source(ENVIRONMENT, None, True, {k: v for k, v in environ.items() if is_telemetry(k)}),
        read_settings(USER, user_settings_path(environ)),
        read_settings(PROJECT, shared),
        read_settings(PROJECT_LOCAL, local),
    ]
    found += [read_settings(MANAGED, path) for path in managed_files(environ)]
    return found


def unchecked_managed(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The managed sources this system may have that are not files the doctor reads."""
    notes = ["server-managed settings (claude.ai admin console), if your organisation uses them"]
    os_name = this_os()
    if os_name == "macos":
        notes.insert(0, "the MDM profile for com.anthropic.claudecode (`defaults read com.anthropic.claudecode`)")
    elif os_name == "windows":
        notes.insert(0, r"the registry value HKLM\SOFTWARE\Policies\ClaudeCode\Settings")
    if environ.get("CLAUDE_CODE_MANAGED_SETTINGS_PATH"):
        notes.append(
            f"managed settings read from {managed_dir(environ)} (CLAUDE_CODE_MANAGED_SETTINGS_PATH: ccmon's own "
            "commands read it; Claude Code 2.1.330 reads its system folder whatever it says)"
        )
    return tuple(notes)


def effective(environ: Mapping[str, str] | None = None, project: Path | None = None) -> Effective:
    """Claude Code's effective telemetry settings on this machine, started in `project` (default: here)."""
    env = os.environ if environ is None else environ
    folder = project_dir(project if project is not None else Path.cwd(), env)
    found = sources(env, folder)
    names = list(TELEMETRY_VARIABLES)
    names += sorted({n for s in found for n in s.env if is_telemetry(n) and n not in TELEMETRY_VARIABLES})
    values = {name: _resolve(name, found) for name in names}
    _apply_managed_locks(values)
    return Effective(found, values, _resolve_helper(found), unchecked_managed(env))


def _resolve(name: str, found: list[Source]) -> Value:
    """Walk the sources from lowest to highest precedence; the last one that sets the value (and may) wins."""
    winner: Source | None = None
    value: str | None = None
    unused: list[tuple[str, str]] = []
    for source in found:
        if name not in source.env:
            continue
        given = source.env[name]
        if source.kind in {PROJECT, PROJECT_LOCAL} and is_telemetry(name) and not turns_off(name, given):
            unused.append((source.label, IGNORED_IN_PROJECT))
            continue
        if winner is not None:
            unused.append((winner.label, f"overridden by {source.kind}"))
        winner, value = source, given
    return Value(name, value, winner.label if winner else None, winner.kind if winner else None, tuple(unused))


def _resolve_helper(found: list[Source]) -> Value:
    """`otelHeadersHelper`: the highest source that sets it. A project's is ignored like its telemetry variables
    (assumed: a repository must not run a command that sees the telemetry credentials)."""
    winner: Source | None = None
    unused: list[tuple[str, str]] = []
    for source in found:
        if source.headers_helper is None:
            continue
        if source.kind in {PROJECT, PROJECT_LOCAL}:
            unused.append((source.label, IGNORED_IN_PROJECT))
            continue
        if winner is not None:
            unused.append((winner.label, f"overridden by {source.kind}"))
        winner = source
    return Value(
        HEADERS_HELPER,
        winner.headers_helper if winner else None,
        winner.label if winner else None,
        winner.kind if winner else None,
        tuple(unused),
    )


def _apply_managed_locks(values: dict[str, Value]) -> None:
    """A managed endpoint, protocol or headers discards the per-signal ones not set by managed settings."""
    if not any(values[name].kind == MANAGED for name in MANAGED_LOCKS):
        return
    for signal in SIGNALS:
        for part in ("ENDPOINT", "PROTOCOL", "HEADERS"):
            name = f"OTEL_EXPORTER_OTLP_{signal}_{part}"
            value = values[name]
            if value.value is not None and value.kind != MANAGED:
                values[name] = Value(name, None, None, None, (*value.unused, (str(value.source), DISCARDED_BY_MANAGED)))
