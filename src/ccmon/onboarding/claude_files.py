"""Claude Code's own files on a developer's machine: where its settings live (user, project, managed, per operating
system), who it is logged in as, and the ingest token it exports telemetry with.

Imported by commands Claude Code runs at every prompt (`ccmon hook`, `ccmon statusline`): the standard library's
lightest modules only.

Paths (../shared/reference/claude-code-admin-surfaces.md §1): the user's settings are `$CLAUDE_CONFIG_DIR/settings.json`
(else `~/.claude/settings.json`); a project's are `.claude/settings.json` and `.claude/settings.local.json`; managed
settings are `managed-settings.json` and the drop-in folder `managed-settings.d/` in the system's policy folder
(`/etc/claude-code` on Linux and WSL, `/Library/Application Support/ClaudeCode` on macOS,
`C:\\Program Files\\ClaudeCode` on Windows). `CLAUDE_CODE_MANAGED_SETTINGS_PATH` names another folder for ccmon's
own commands (a seam for tests and for checking a folder before it is deployed): Claude Code 2.1.330 knows the
variable but, run with it, still reads the system folder (tests/e2e/test_setup_claude.py checks this).
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from collections.abc import Mapping
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any

MAX_SETTINGS_BYTES = 16 << 20
"""A settings or config file larger than this is not read (it is not one Claude Code wrote)."""

MANAGED_DIRS: Mapping[str, PurePath] = {
    "linux": PurePosixPath("/etc/claude-code"),
    "macos": PurePosixPath("/Library/Application Support/ClaudeCode"),
    "windows": PureWindowsPath("C:/Program Files/ClaudeCode"),
}
"""The system policy folder holding `managed-settings.json` and `managed-settings.d/`, per operating system."""
MANAGED_DIR_ENV = "CLAUDE_CODE_MANAGED_SETTINGS_PATH"
MANAGED_FILE = "managed-settings.json"
DROP_IN_DIR = "managed-settings.d"


def this_os() -> str:
    """linux, macos or windows: which of `MANAGED_DIRS` applies here."""
    if sys.platform == "darwin":
        return "macos"
    if sys.platform.startswith("win"):
        return "windows"
    return "linux"


def managed_dir(environ: Mapping[str, str], os_name: str | None = None) -> Path:
    """The folder Claude Code reads managed settings from on this machine."""
    configured = environ.get(MANAGED_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(MANAGED_DIRS[os_name or this_os()])


def managed_files(environ: Mapping[str, str]) -> list[Path]:
    """The managed settings files in the order Claude Code merges them: the file, then the drop-ins alphabetically."""
    folder = managed_dir(environ)
    drop_ins = folder / DROP_IN_DIR
    try:
        extra = sorted(p for p in drop_ins.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    except OSError:
        extra = []
    return [folder / MANAGED_FILE, *extra]


def home(environ: Mapping[str, str]) -> Path:
    return Path(environ["HOME"]) if environ.get("HOME") else Path.home()


def claude_config_dir(environ: Mapping[str, str]) -> Path:
    """`$CLAUDE_CONFIG_DIR`, else `~/.claude`: where the user's `settings.json` lives."""
    configured = environ.get("CLAUDE_CONFIG_DIR")
    return Path(configured).expanduser() if configured else home(environ) / ".claude"


def user_settings_path(environ: Mapping[str, str]) -> Path:
    return claude_config_dir(environ) / "settings.json"


def project_settings_paths(project: Path) -> list[Path]:
    """A project's shared and local settings files (`.claude/settings.json`, `.claude/settings.local.json`)."""
    return [project / ".claude" / "settings.json", project / ".claude" / "settings.local.json"]


def read_json_file(path: Path) -> dict[str, Any]:
    """A JSON object file's content; {} when it is missing, unreadable, too large or not a JSON object."""
    try:
        if path.stat().st_size > MAX_SETTINGS_BYTES:
            return {}
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def otel_pairs(text: str) -> dict[str, str]:
    """An OTEL `k=v,k2=v2` list (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_RESOURCE_ATTRIBUTES`), values URL-decoded."""
    pairs = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if sep and name.strip():
            pairs[name.strip()] = urllib.parse.unquote(value.strip())
    return pairs


def token_from_otel_headers(headers: str) -> str | None:
    """The bearer token in an `OTEL_EXPORTER_OTLP_HEADERS` value (`k=v,k2=v2`, values URL-encoded)."""
    for name, value in otel_pairs(headers).items():
        scheme, _, credential = value.partition(" ")
        if name.lower() == "authorization" and scheme.lower() == "bearer" and credential.strip():
            return credential.strip()
    return None


def find_token(environ: Mapping[str, str]) -> str | None:
    """The ingest token Claude Code exports telemetry with: from the environment, else from the `env` of the managed
    settings or the user's settings (Claude Code passes no `OTEL_*` variable to the commands it runs)."""
    if headers := environ.get("OTEL_EXPORTER_OTLP_HEADERS"):
        return token_from_otel_headers(headers)
    for settings in (*managed_files(environ), user_settings_path(environ)):
        env = read_json_file(settings).get("env")
        headers = env.get("OTEL_EXPORTER_OTLP_HEADERS") if isinstance(env, dict) else None
        if isinstance(headers, str) and (token := token_from_otel_headers(headers)):
            return token
    return None


def claude_identity(environ: Mapping[str, str]) -> dict[str, str]:
    """Who Claude Code is logged in as, from its config file (`$CLAUDE_CONFIG_DIR/.claude.json`, else
    `~/.claude.json`): the email and account uuid of an OAuth login, and the installation's user id, which telemetry
    carries as `user.email`, `user.account_uuid` and `user.id`."""
    configured = environ.get("CLAUDE_CONFIG_DIR")
    path = Path(configured).expanduser() / ".claude.json" if configured else home(environ) / ".claude.json"
    config = read_json_file(path)
    account = config.get("oauthAccount")
    account = account if isinstance(account, dict) else {}
    found = {
        "email": account.get("emailAddress"),
        "account_uuid": account.get("accountUuid"),
        "user_id": config.get("userID"),
    }
    return {key: value for key, value in found.items() if isinstance(value, str) and value}


def state_dir(environ: Mapping[str, str]) -> Path:
    """Where ccmon's client commands keep small state files (the hook's warnings, the statusline's cache)."""
    base = environ.get("XDG_STATE_HOME")
    if base:
        return Path(base) / "ccmon"
    if environ.get("HOME"):
        return Path(environ["HOME"]) / ".local" / "state" / "ccmon"
    import os
    import tempfile

    return Path(tempfile.gettempdir()) / f"ccmon-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
