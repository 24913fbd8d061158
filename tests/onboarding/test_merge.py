"""Merging into an existing settings file, and changing it on disk safely."""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from ccmon.onboarding.merge import is_ccmon_command, merge_settings
from ccmon.onboarding.options import SetupError, SetupOptions, settings_fragment
from ccmon.onboarding.settings_file import (
    backup,
    is_project_settings,
    read_settings,
    unified_diff,
    write_atomic,
)

URL = "http://ccmon.internal:3000"
FULL = SetupOptions(
    endpoint="http://ccmon.internal:4317",
    token="tok",
    resource_attributes={"team": "Platform"},
    budget_hook=True,
    policy_hook=True,
    statusline=True,
    ccmon_url=URL,
)
DEVELOPER: dict[str, Any] = {
    "model": "opus",
    "permissions": {"allow": ["Bash(npm test)"], "deny": []},
    "env": {"EDITOR": "vim", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://old:4317"},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "my-guard.sh"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}],
    },
    "enabledPlugins": {"x@y": True},
}


def test_merge_keeps_every_other_setting_and_adds_ours_once() -> None:
    before = copy.deepcopy(DEVELOPER)
    merged = merge_settings(DEVELOPER, settings_fragment(FULL)).settings
    assert before == DEVELOPER, "the input is not changed"
    for key in ("model", "permissions", "enabledPlugins"):
        assert merged[key] == DEVELOPER[key]
    assert list(merged)[:3] == ["model", "permissions", "env"], "keys stay in their places"
    assert merged["env"]["EDITOR"] == "vim"
    assert merged["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://ccmon.internal:4317"
    assert merged["hooks"]["Stop"] == DEVELOPER["hooks"]["Stop"]
    pre = merged["hooks"]["PreToolUse"]
    assert pre[0] == DEVELOPER["hooks"]["PreToolUse"][0]
    assert pre[1] == {"matcher": "*", "hooks": [{"type": "command", "command": f"ccmon hook policy --url {URL}"}]}
    assert merged["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"] == f"ccmon hook budget --url {URL}"
    assert merged["statusLine"]["command"] == f"ccmon statusline --url {URL}"


def test_a_second_merge_changes_nothing() -> None:
    once = merge_settings(DEVELOPER, settings_fragment(FULL))
    assert once.changes
    twice = merge_settings(once.settings, settings_fragment(FULL))
    assert twice.settings == once.settings
    assert twice.changes == []


def test_a_new_url_updates_our_hooks_in_place_rather_than_adding_more() -> None:
    once = merge_settings(DEVELOPER, settings_fragment(FULL)).settings
    moved = SetupOptions(**{**FULL.__dict__, "ccmon_url": "https://new:3000", "ccmon_command": "uvx ccmon"})
    result = merge_settings(once, settings_fragment(moved))
    hooks = result.settings["hooks"]
    assert len(hooks["UserPromptSubmit"]) == 1
    assert len(hooks["PreToolUse"]) == 2
    assert hooks["PreToolUse"][1]["hooks"][0]["command"] == "uvx ccmon hook policy --url https://new:3000"
    assert result.settings["statusLine"]["command"] == "uvx ccmon statusline --url https://new:3000"
    assert any("updated UserPromptSubmit" in change for change in result.changes)


def test_turning_content_capture_off_removes_its_variables() -> None:
    on = SetupOptions(endpoint="http://a:4317", log_user_prompts=True, traces=True)
    merged = merge_settings({"env": {"OTEL_LOG_TOOL_DETAILS": "1", "KEEP": "x"}}, settings_fragment(on)).settings
    assert merged["env"]["OTEL_LOG_USER_PROMPTS"] == "1"
    result = merge_settings(merged, settings_fragment(SetupOptions(endpoint="http://a:4317")))
    env = result.settings["env"]
    assert "KEEP" in env
    assert not {"OTEL_LOG_USER_PROMPTS", "OTEL_LOG_TOOL_DETAILS", "OTEL_TRACES_EXPORTER"} & set(env)
    assert any("removed" in change for change in result.changes)


def test_somebody_elses_status_line_is_kept_unless_forced() -> None:
    theirs = {"statusLine": {"type": "command", "command": "~/.claude/my-line.sh"}}
    with pytest.raises(SetupError, match="not ccmon's"):
        merge_settings(theirs, settings_fragment(FULL))
    forced = merge_settings(theirs, settings_fragment(FULL), force=True).settings
    assert forced["statusLine"]["command"].startswith("ccmon statusline")


@pytest.mark.parametrize(
    ("command", "kind", "ours"),
    [
        ("ccmon hook budget --url x", "budget", True),
        ("/opt/ccmon/bin/ccmon hook policy", "policy", True),
        ("uvx ccmon statusline --url 'x'", "statusline", True),
        ("python -m ccmon hook budget", "budget", True),
        ("ccmon hook policy", "budget", False),
        ("my-budget-hook.sh", "budget", False),
        (None, "statusline", False),
    ],
)
def test_our_commands_are_recognised(command: object, kind: str, ours: bool) -> None:
    assert is_ccmon_command(command, kind) is ours


@pytest.mark.parametrize(
    "existing",
    [{"env": ["A=1"]}, {"hooks": "none"}, {"hooks": {"PreToolUse": {"matcher": "*"}}}],
)
def test_a_shape_we_cannot_merge_into_is_refused(existing: dict[str, Any]) -> None:
    with pytest.raises(SetupError, match="fix it first"):
        merge_settings(existing, settings_fragment(FULL))


def test_reading_missing_blank_and_valid_files(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    assert read_settings(path).text is None
    path.write_text("  \n")
    assert read_settings(path).settings == {}
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert read_settings(path).settings == {"a": 1}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"a": 1,\n  "b": }', "line 2, column"),
        (b"[1, 2]", "JSON list"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[" * 100_000, "nested too deeply|not valid JSON"),
    ],
)
def test_a_broken_file_is_refused_saying_where(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    with pytest.raises(SetupError, match=words):
        read_settings(path)


def test_a_huge_file_merges_and_keeps_everything(tmp_path: Path) -> None:
    big = {f"key{i}": {"list": list(range(20)), "text": "é" * 50} for i in range(20_000)}
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(big))
    assert path.stat().st_size > 5_000_000
    merged = merge_settings(read_settings(path).settings, settings_fragment(FULL)).settings
    assert all(merged[key] == value for key, value in big.items())


def test_backups_keep_the_bytes_and_mode_and_never_collide(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b'{"mine": true}')
    path.chmod(0o640)
    first = backup(path, now=0)
    second = backup(path, now=0)
    assert first.name == "settings.json.bak-19700101T000000Z"
    assert second.name == "settings.json.bak-19700101T000000Z-1"
    assert first.read_bytes() == second.read_bytes() == b'{"mine": true}'
    assert stat.S_IMODE(first.stat().st_mode) == 0o640


def test_atomic_write_keeps_the_mode_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "claude-settings.json"
    target.parent.mkdir()
    target.write_text("{}")
    target.chmod(0o604)
    write_atomic(target, '{"new": 1}\n')
    assert target.read_text() == '{"new": 1}\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert [p.name for p in target.parent.iterdir()] == ["claude-settings.json"], "no temporary file left"
    fresh = tmp_path / "a" / "b" / "settings.json"
    write_atomic(fresh, "{}\n")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"old": 1}')
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "\udc80 lone surrogate")
    assert path.read_text() == '{"old": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_project_settings_are_told_apart_from_the_users_own(tmp_path: Path) -> None:
    home = tmp_path / "home"
    environ = {"HOME": str(home)}
    assert is_project_settings(tmp_path / "repo" / ".claude" / "settings.json", environ)
    assert is_project_settings(tmp_path / "repo" / ".claude" / "settings.local.json", environ)
    assert not is_project_settings(home / ".claude" / "settings.json", environ)
    assert not is_project_settings(tmp_path / "repo" / "settings.json", environ)
    custom = {"HOME": str(home), "CLAUDE_CONFIG_DIR": str(tmp_path / "cfg" / ".claude")}
    assert not is_project_settings(tmp_path / "cfg" / ".claude" / "settings.json", custom)
    relative = os.path.relpath(tmp_path / "repo" / ".claude" / "settings.json")
    assert is_project_settings(Path(relative), environ)


def test_the_diff_names_the_file_and_the_change(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    diff = unified_diff(path, '{\n  "a": 1\n}\n', '{\n  "a": 2\n}\n')
    assert f"--- {path}" in diff
    assert '-  "a": 1\n+  "a": 2\n' in diff
    assert unified_diff(path, None, "{}\n").startswith("--- /dev/null\n")
