"""The same settings as the file each delivery channel takes: a user's settings.json, a managed-settings.json (or a
drop-in) at each system's real path, a macOS configuration profile, a Windows .reg file, a shell snippet.

Why several: Claude Code reads telemetry settings from the user's settings, the managed settings file, the OS policy
stores (macOS preference domain `com.anthropic.claudecode`, Windows `HKLM\\SOFTWARE\\Policies\\ClaudeCode` value
`Settings`) or the environment — never from a project's `.claude/settings.json` (reference §1). A fleet admin
pushes one of these through the MDM or configuration tool they already run; a developer runs `ccmon setup`.

Every renderer is pure (same options, same bytes — a profile's UUIDs are derived from its content) so the Connect page's
download and `ccmon setup --print` agree, and a second run changes nothing.
"""

from __future__ import annotations

import json
import plistlib
import shlex
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from ccmon.onboarding.claude_files import DROP_IN_DIR, MANAGED_DIRS, MANAGED_FILE
from ccmon.onboarding.options import SetupError, SetupOptions, settings_fragment

TARGETS = ("user", "managed", "managed-dropin", "macos-profile", "windows-reg", "shell")
OS_NAMES = tuple(MANAGED_DIRS)
DROP_IN_NAME = "50-ccmon.json"
"""The drop-in's name: after an organisation's lower-numbered base files, before later overrides."""
PLIST_DOMAIN = "com.anthropic.claudecode"
REG_KEY = r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\ClaudeCode"
SHELL_INSTALL_PATH = "/etc/profile.d/ccmon-claude-code.sh"
_PROFILE_NAMESPACE = uuid.UUID("8d3c9f62-8f1c-4a36-9d55-2f0d7b6c0e15")
"""Fixed namespace for the profile's UUIDs: the same settings give the same profile, a changed one replaces it."""


@dataclass(frozen=True)
class SetupFile:
    """One rendered file and where it goes."""

    target: str
    filename: str
    media_type: str
    content: str
    install_path: str
    """where it goes on the chosen operating system, e.g. /etc/claude-code/managed-settings.json"""
    note: str
    """one or two sentences: what it does and how to install it"""


def settings_json(settings: dict[str, Any]) -> str:
    """A settings file's text as `ccmon setup` writes it: two-space indents, UTF-8, a final newline."""
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"


def user_install_path(os_name: str) -> str:
    return r"%USERPROFILE%\.claude\settings.json" if os_name == "windows" else "~/.claude/settings.json"


def managed_install_path(os_name: str, *, drop_in: bool = False) -> str:
    folder = MANAGED_DIRS[os_name]
    path = folder / DROP_IN_DIR / DROP_IN_NAME if drop_in else folder / MANAGED_FILE
    return str(PureWindowsPath(path)) if os_name == "windows" else str(PurePosixPath(path))


def _user(options: SetupOptions, os_name: str) -> SetupFile:
    return SetupFile(
        target="user",
        filename="settings.json",
        media_type="application/json",
        content=settings_json(settings_fragment(options)),
        install_path=user_install_path(os_name),
        note="The developer's own Claude Code settings. `ccmon setup` merges this into an existing file (keeping every "
        "other setting, with a backup); copying it by hand replaces the file.",
    )


def _managed(options: SetupOptions, os_name: str) -> SetupFile:
    return SetupFile(
        target="managed",
        filename=MANAGED_FILE,
        media_type="application/json",
        content=settings_json(settings_fragment(options)),
        install_path=managed_install_path(os_name),
        note="Managed settings override every user and project setting and cannot be changed by developers. Install "
        "it as root/Administrator (merge into an existing managed-settings.json rather than replacing it).",
    )


def _managed_dropin(options: SetupOptions, os_name: str) -> SetupFile:
    return SetupFile(
        target="managed-dropin",
        filename=DROP_IN_NAME,
        media_type="application/json",
        content=settings_json(settings_fragment(options)),
        install_path=managed_install_path(os_name, drop_in=True),
        note="A drop-in merged after managed-settings.json (files in managed-settings.d/ are read alphabetically; "
        "env is merged variable by variable), so ccmon's part stays separate from the organisation's own policy file.",
    )


def _plist_value(value: Any) -> Any:
    """JSON as plist values: plist has no null, so a None would make an invalid profile (options never produce one)."""
    if value is None:
        raise SetupError("a setting without a value cannot go into a configuration profile")
    if isinstance(value, dict):
        return {str(key): _plist_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plist_value(item) for item in value]
    return value


def _profile_uuid(kind: str, settings: dict[str, Any]) -> str:
    return str(uuid.uuid5(_PROFILE_NAMESPACE, kind + json.dumps(settings, sort_keys=True))).upper()


def macos_profile(settings: dict[str, Any]) -> bytes:
    """A configuration profile (.mobileconfig) with one payload for the `com.anthropic.claudecode` preference domain,
    whose keys are the settings themselves as plist values."""
    payload: dict[str, Any] = {
        "PayloadType": PLIST_DOMAIN,
        "PayloadIdentifier": f"{PLIST_DOMAIN}.ccmon",
        "PayloadUUID": _profile_uuid("payload", settings),
        "PayloadVersion": 1,
        "PayloadDisplayName": "Claude Code telemetry (ccmon)",
        **_plist_value(settings),
    }
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": "ccmon.claudecode.telemetry",
        "PayloadUUID": _profile_uuid("profile", settings),
        "PayloadDisplayName": "Claude Code telemetry for ccmon",
        "PayloadDescription": "Sends Claude Code's usage telemetry to the organisation's ccmon.",
        "PayloadScope": "System",
        "PayloadContent": [payload],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=False)


def _macos_profile(options: SetupOptions, os_name: str) -> SetupFile:
    return SetupFile(
        target="macos-profile",
        filename="ccmon-claude-code.mobileconfig",
        media_type="application/x-apple-aspen-config",
        content=macos_profile(settings_fragment(options)).decode("utf-8"),
        install_path=f"/Library/Managed Preferences/{PLIST_DOMAIN}.plist",
        note="A macOS configuration profile for the com.anthropic.claudecode domain: upload it to Jamf Pro or Intune "
        "(or as a Custom Settings payload), or double-click it to test on one Mac. Check with /status in Claude Code.",
    )


def reg_string(text: str) -> str:
    """A .reg file's quoted REG_SZ: backslashes and double quotes escaped (the only escapes regedit knows)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def windows_reg(settings: dict[str, Any]) -> str:
    """A .reg file setting `HKLM\\SOFTWARE\\Policies\\ClaudeCode` value `Settings` to the settings as one line of
    JSON (ASCII only, so the file reads the same in any code page), with Windows line ends."""
    value = json.dumps(settings, ensure_ascii=True, separators=(",", ":"))
    lines = ["Windows Registry Editor Version 5.00", "", f"[{REG_KEY}]", f'"Settings"={reg_string(value)}', ""]
    return "\r\n".join(lines)


def _windows_reg(options: SetupOptions, os_name: str) -> SetupFile:
    return SetupFile(
        target="windows-reg",
        filename="ccmon-claude-code.reg",
        media_type="text/plain",
        content=windows_reg(settings_fragment(options)),
        install_path=REG_KEY + r"\Settings",
        note="Windows policy registry value (REG_SZ holding the JSON): import with `reg import ccmon-claude-code.reg` "
        "as Administrator, or deliver the same value through Group Policy Preferences or Intune.",
    )


def shell_snippet(options: SetupOptions) -> str:
    """POSIX `export` lines for the telemetry variables, each value quoted for the shell."""
    env = settings_fragment(options)["env"]
    lines = [
        "# Claude Code telemetry for ccmon (generated by `ccmon setup --target shell`).",
        "# Source it from a CI job or a login profile. Only the environment is set here: hooks, the status line",
        "# and otelHeadersHelper are settings, not variables (use `ccmon setup --target user` or managed settings).",
    ]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    return "\n".join(lines) + "\n"


def _shell(options: SetupOptions, os_name: str) -> SetupFile:
    if options.budget_hook or options.policy_hook or options.statusline or options.headers_helper:
        raise SetupError(
            "hooks, the status line and otelHeadersHelper are settings, not environment variables: the shell target "
            "cannot carry them (use the user or managed target for those)"
        )
    return SetupFile(
        target="shell",
        filename="ccmon-claude-code.sh",
        media_type="text/x-shellscript",
        content=shell_snippet(options),
        install_path=SHELL_INSTALL_PATH,
        note="Environment variables for machines without settings files to manage (CI runners, containers): source it "
        "before running claude.",
    )


_RENDERERS: dict[str, Callable[[SetupOptions, str], SetupFile]] = {
    "user": _user,
    "managed": _managed,
    "managed-dropin": _managed_dropin,
    "macos-profile": _macos_profile,
    "windows-reg": _windows_reg,
    "shell": _shell,
}


def render_file(target: str, options: SetupOptions, *, os_name: str = "linux") -> SetupFile:
    """The file for one target; "user" is the fragment as a fresh settings.json (the CLI merges into an existing
    one). `os_name` (linux, macos, windows) picks the install path of the user and managed targets."""
    renderer = _RENDERERS.get(target)
    if renderer is None:
        raise SetupError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    if os_name not in MANAGED_DIRS:
        raise SetupError(f"os must be one of {', '.join(OS_NAMES)}, not {os_name!r}")
    return renderer(options, os_name)
