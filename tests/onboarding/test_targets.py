"""Each delivery format read back the way its consumer reads it: JSON, a plist, a .reg file, a POSIX shell."""

from __future__ import annotations

import json
import os
import plistlib
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ccmon.onboarding.options import SetupError, SetupOptions, settings_fragment
from ccmon.onboarding.targets import OS_NAMES, TARGETS, render_file

HOSTILE = SetupOptions(
    endpoint="http://ccmon.internal:4318",
    protocol="http/json",
    token="abc.DEF-123_~+/=",
    headers_helper='/opt/My Tools/token "helper" \\ é.sh',
    resource_attributes={"team": 'Ré, "quoted" \\ $(id) `x` 日本', "cost_center": "a=b;c"},
    metrics_interval_ms=1000,
    budget_hook=True,
    policy_hook=True,
    statusline=True,
    ccmon_url="http://ccmon.internal:3000/it's",
    ccmon_command="/opt/My Tools/ccmon",
)

NO_CLIENT = {"budget_hook": False, "policy_hook": False, "statusline": False}


def _reg_value(content: str) -> str:
    """The `Settings` value of a .reg file, unescaped as regedit does."""
    lines = content.split("\r\n")
    assert lines[0] == "Windows Registry Editor Version 5.00"
    assert lines[2] == r"[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\ClaudeCode]"
    match = re.fullmatch(r'"Settings"="((?:[^"\\]|\\.)*)"', lines[3])
    assert match, lines[3]
    return re.sub(r"\\(.)", r"\1", match.group(1))


@pytest.mark.parametrize("target", ["user", "managed", "managed-dropin"])
def test_json_targets_are_the_fragment(target: str) -> None:
    file = render_file(target, HOSTILE)
    assert file.target == target
    assert file.media_type == "application/json"
    assert json.loads(file.content) == settings_fragment(HOSTILE)
    assert file.content.endswith("\n")


@pytest.mark.parametrize(
    ("target", "os_name", "path"),
    [
        ("managed", "linux", "/etc/claude-code/managed-settings.json"),
        ("managed", "macos", "/Library/Application Support/ClaudeCode/managed-settings.json"),
        ("managed", "windows", r"C:\Program Files\ClaudeCode\managed-settings.json"),
        ("managed-dropin", "linux", "/etc/claude-code/managed-settings.d/50-ccmon.json"),
        ("managed-dropin", "windows", r"C:\Program Files\ClaudeCode\managed-settings.d\50-ccmon.json"),
        ("user", "linux", "~/.claude/settings.json"),
        ("user", "windows", r"%USERPROFILE%\.claude\settings.json"),
        ("windows-reg", "linux", r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\ClaudeCode\Settings"),
        ("macos-profile", "macos", "/Library/Managed Preferences/com.anthropic.claudecode.plist"),
    ],
)
def test_install_paths_are_the_real_ones(target: str, os_name: str, path: str) -> None:
    assert render_file(target, HOSTILE, os_name=os_name).install_path == path


def test_the_macos_profile_is_a_valid_plist_carrying_the_settings() -> None:
    file = render_file("macos-profile", HOSTILE, os_name="macos")
    assert file.filename.endswith(".mobileconfig")
    profile: dict[str, Any] = plistlib.loads(file.content.encode("utf-8"))
    assert profile["PayloadType"] == "Configuration"
    (payload,) = profile["PayloadContent"]
    assert payload["PayloadType"] == "com.anthropic.claudecode"
    assert profile["PayloadUUID"] != payload["PayloadUUID"]
    settings = {k: v for k, v in payload.items() if not k.startswith("Payload")}
    assert settings == settings_fragment(HOSTILE)


def test_the_profile_is_the_same_for_the_same_settings_and_new_for_new_ones() -> None:
    first = render_file("macos-profile", HOSTILE).content
    assert render_file("macos-profile", HOSTILE).content == first
    changed = SetupOptions(endpoint="http://ccmon.internal:4317")
    other: dict[str, Any] = plistlib.loads(render_file("macos-profile", changed).content.encode())
    assert other["PayloadUUID"] != plistlib.loads(first.encode())["PayloadUUID"]


def test_the_reg_file_holds_the_settings_as_one_escaped_json_line() -> None:
    file = render_file("windows-reg", HOSTILE, os_name="windows")
    assert file.content.isascii()
    assert "\n" not in file.content.replace("\r\n", "")
    assert json.loads(_reg_value(file.content)) == settings_fragment(HOSTILE)


def test_the_shell_snippet_sets_exactly_the_variables_when_sourced(tmp_path: Path) -> None:
    env_only = SetupOptions(**{**HOSTILE.__dict__, "protocol": "grpc", "headers_helper": None, **NO_CLIENT})
    file = render_file("shell", env_only)
    assert "hooks, the status line" in file.content
    script = tmp_path / file.filename
    script.write_text(file.content, encoding="utf-8")
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    shown = subprocess.run(
        ["sh", "-c", f'. "$1" && exec python3 -c "{dump}"', "sh", str(script)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    )
    env = json.loads(shown.stdout)
    expected = settings_fragment(env_only)["env"]
    assert {k: env[k] for k in expected} == expected
    assert "export OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer abc.DEF-123_~+/='\n" in file.content


def test_the_shell_snippet_refuses_what_only_settings_can_say() -> None:
    with pytest.raises(SetupError, match="settings, not environment variables"):
        render_file("shell", HOSTILE)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("os_name", OS_NAMES)
def test_every_target_renders_on_every_os(target: str, os_name: str) -> None:
    options = (
        SetupOptions(**{**HOSTILE.__dict__, "headers_helper": None, **NO_CLIENT}) if target == "shell" else HOSTILE
    )
    file = render_file(target, options, os_name=os_name)
    assert file.content and file.filename and file.note and file.install_path


def test_unknown_targets_and_systems_are_refused() -> None:
    with pytest.raises(SetupError, match="target must be one of"):
        render_file("project", HOSTILE)
    with pytest.raises(SetupError, match="os must be one of"):
        render_file("managed", HOSTILE, os_name="beos")
