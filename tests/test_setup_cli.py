"""`ccmon setup` end to end in a temporary HOME: merge, idempotence, backups, dry runs, refusals, exit statuses."""

from __future__ import annotations

import json
import plistlib
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest

from ccmon.cli import main
from ccmon.onboarding.claude_files import find_token

TOKEN = "ccmi_Abc-123_xyz"
BASE = ["setup", "--endpoint=http://ccmon.internal:4317", f"--token={TOKEN}", "--team=Platform, EU"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A developer's HOME (the environment's, as `ccmon setup` finds it), run from an unrelated folder."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CLAUDE_CODE_MANAGED_SETTINGS_PATH", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return folder


def _settings(home: Path) -> Path:
    return home / ".claude" / "settings.json"


def _backups(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".bak-" in p.name)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_first_run_creates_a_private_settings_file_second_run_changes_nothing(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = _run(capsys, *BASE)
    assert status == 0
    path = _settings(home)
    assert f"updated {path}" in out and "OTEL_EXPORTER_OTLP_HEADERS" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    settings = json.loads(path.read_text())
    assert settings["env"]["OTEL_RESOURCE_ATTRIBUTES"] == "team=Platform%2C%20EU"
    assert find_token({"HOME": str(home)}) == TOKEN, "the hook and statusline find the token setup wrote"
    written, mtime = path.read_bytes(), path.stat().st_mtime_ns

    status, out, _ = _run(capsys, *BASE)
    assert (status, out.strip()) == (0, f"{path}: no change")
    assert path.read_bytes() == written and path.stat().st_mtime_ns == mtime
    assert _backups(path.parent) == []


def test_an_existing_file_is_merged_backed_up_and_keeps_its_mode(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _settings(home)
    path.parent.mkdir()
    mine: dict[str, Any] = {
        "model": "opus",
        "env": {"EDITOR": "vim"},
        "statusLine": {"type": "command", "command": "x"},
    }
    original = json.dumps(mine, indent=4)
    path.write_text(original)
    path.chmod(0o640)

    status, out, _ = _run(capsys, *BASE, "--budget-hook", "--ccmon-url=http://ccmon.internal:3000")
    assert status == 0
    (saved,) = _backups(path.parent)
    assert saved.read_text() == original
    assert f"backup of the previous file: {saved}" in out
    merged = json.loads(path.read_text())
    assert merged["model"] == "opus" and merged["env"]["EDITOR"] == "vim" and merged["statusLine"]["command"] == "x"
    assert merged["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"].startswith("ccmon hook budget")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640

    assert _run(capsys, *BASE, "--budget-hook", "--ccmon-url=http://ccmon.internal:3000")[1].endswith("no change\n")
    assert len(_backups(path.parent)) == 1


def test_someone_elses_status_line_needs_force(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _settings(home)
    path.parent.mkdir()
    path.write_text(json.dumps({"statusLine": {"type": "command", "command": "my-line"}}))
    before = path.read_bytes()
    args = [*BASE, "--statusline", "--ccmon-url=http://ccmon.internal:3000"]
    status, _, err = _run(capsys, *args)
    assert status == 2 and "not ccmon's" in err and "--force" in err
    assert path.read_bytes() == before and _backups(path.parent) == []
    assert _run(capsys, *args, "--force")[0] == 0
    assert json.loads(path.read_text())["statusLine"]["command"].startswith("ccmon statusline")


def test_dry_run_shows_the_diff_and_writes_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, *BASE)[0] == 0
    path = _settings(home)
    before = path.read_bytes()
    status, out, _ = _run(capsys, *BASE[:-1], "--team=Data", "--log-user-prompts", "--dry-run")
    assert status == 0
    assert f"--- {path}\n+++ {path}\n" in out
    assert '-    "OTEL_RESOURCE_ATTRIBUTES": "team=Platform%2C%20EU"' in out
    assert '+    "OTEL_LOG_USER_PROMPTS": "1"' in out
    assert "not changed" in out
    assert path.read_bytes() == before and _backups(path.parent) == []


def test_an_invalid_settings_file_is_refused_and_left_alone(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _settings(home)
    path.parent.mkdir()
    path.write_text('{\n  "model": "opus",\n  // a comment\n}')
    before = path.read_bytes()
    status, _, err = _run(capsys, *BASE)
    assert status == 2
    assert str(path) in err and "line 3, column 3" in err and "nothing was changed" in err
    assert path.read_bytes() == before and _backups(path.parent) == []


@pytest.mark.parametrize("name", ["settings.json", "settings.local.json"])
def test_a_project_settings_file_is_refused(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    target = tmp_path / "repo" / ".claude" / name
    status, _, err = _run(capsys, *BASE, f"--output={target}")
    assert status == 2
    assert "ignores telemetry variables set in a project's settings" in err and "--target user" in err
    assert not target.exists()


def test_output_and_home_and_claude_config_dir(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other-home"
    assert _run(capsys, *BASE, f"--home={other}")[0] == 0
    assert _settings(other).is_file() and not _settings(home).exists()
    config = tmp_path / "config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    assert _run(capsys, *BASE)[0] == 0
    assert (config / "settings.json").is_file()
    out = tmp_path / "elsewhere.json"
    assert _run(capsys, *BASE, f"--output={out}")[0] == 0
    assert json.loads(out.read_text())["env"]["CLAUDE_CODE_ENABLE_TELEMETRY"] == "1"


def test_a_symlinked_settings_file_stays_a_symlink(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "dotfiles" / "claude.json"
    real.parent.mkdir()
    real.write_text('{"model": "opus"}')
    _settings(home).parent.mkdir()
    _settings(home).symlink_to(real)
    assert _run(capsys, *BASE)[0] == 0
    assert _settings(home).is_symlink()
    assert json.loads(real.read_text())["model"] == "opus"
    assert "env" in json.loads(real.read_text())


def test_managed_targets_write_where_the_managed_folder_is(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "policy"
    monkeypatch.setenv("CLAUDE_CODE_MANAGED_SETTINGS_PATH", str(folder))
    organisation = {"permissions": {"disableBypassPermissionsMode": "disable"}}
    folder.mkdir()
    (folder / "managed-settings.json").write_text(json.dumps(organisation))
    assert _run(capsys, *BASE, "--target=managed")[0] == 0
    merged = json.loads((folder / "managed-settings.json").read_text())
    assert merged["permissions"] == organisation["permissions"] and "env" in merged
    assert _run(capsys, *BASE, "--target=managed-dropin")[0] == 0
    dropin = folder / "managed-settings.d" / "50-ccmon.json"
    assert stat.S_IMODE(dropin.stat().st_mode) == 0o644, "every user's Claude Code must read it"
    assert [p.name for p in dropin.parent.iterdir()] == ["50-ccmon.json"]


def test_a_managed_folder_without_permission_says_sudo(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "policy"
    monkeypatch.setenv("CLAUDE_CODE_MANAGED_SETTINGS_PATH", str(folder))

    def refused(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied", str(folder))

    # The tests may run as root, who may write anywhere: refuse the way /etc refuses a developer.
    monkeypatch.setattr(tempfile, "mkstemp", refused)
    status, _, err = _run(capsys, *BASE, "--target=managed")
    assert status == 1 and "sudo" in err and "--print" in err and str(folder / "managed-settings.json") in err


def test_an_unreadable_settings_file_is_status_1(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _settings(home).mkdir(parents=True)
    status, _, err = _run(capsys, *BASE)
    assert status == 1 and "cannot read" in err and str(_settings(home)) in err


def test_a_write_failure_is_status_1_and_names_the_file(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    target = blocker / "settings.json"
    status, _, err = _run(capsys, *BASE, f"--output={target}")
    assert status == 1 and str(target) in err


def test_managed_for_another_os_needs_output_or_print(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(capsys, *BASE, "--target=managed", "--os=windows")
    assert status == 2 and "--output" in err
    status, out, _ = _run(capsys, *BASE, "--target=managed", "--os=windows", "--print")
    assert status == 0 and json.loads(out)["env"]["OTEL_EXPORTER_OTLP_HEADERS"] == f"Authorization=Bearer {TOKEN}"


def test_print_writes_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, *BASE, "--target=macos-profile", "--print")
    assert status == 0
    assert plistlib.loads(out.encode())["PayloadContent"][0]["PayloadType"] == "com.anthropic.claudecode"
    assert not _settings(home).exists() and list(Path.cwd().iterdir()) == []


def test_file_targets_write_into_the_current_folder_once(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, *BASE, "--target=windows-reg")
    reg = Path.cwd() / "ccmon-claude-code.reg"
    assert status == 0 and reg.is_file() and "reg import" in out
    assert _run(capsys, *BASE, "--target=windows-reg")[1].endswith("no change\n")
    assert _run(capsys, *BASE[:-1], "--target=windows-reg")[0] == 0
    assert len(_backups(Path.cwd())) == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--protocol=grpc", "--headers-helper=/bin/token"], "gRPC cannot use otelHeadersHelper"),
        (["--token=a b"], "no spaces"),
        (["--attribute=novalue"], "KEY=VALUE"),
        (["--attribute=bad key=x"], "attribute name"),
        (["--team=line\nbreak"], "one line"),
        (["--statusline", "--endpoint=http://ccmon.internal:4317"], "give its URL (--ccmon-url)"),
        (["--endpoint=ccmon:4317"], "http:// or https://"),
        (["--metrics-interval=0"], "milliseconds"),
        (["--token-file=/nonexistent/token"], "cannot read the token file"),
        (["--target=shell", "--budget-hook", "--ccmon-url=http://a:3000"], "not environment variables"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    status, out, err = _run(capsys, "setup", *args)
    assert status == 2 and words in err and out == ""
    assert not (home / ".claude").exists()


def test_token_file_and_http_defaults(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = tmp_path / "token"
    token.write_text(f"{TOKEN}\n")
    args = ["setup", "--protocol=http/protobuf", f"--token-file={token}", "--headers-helper=/usr/bin/ccmon-token"]
    assert _run(capsys, *args)[0] == 0
    settings = json.loads(_settings(home).read_text())
    assert settings["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert settings["env"]["OTEL_EXPORTER_OTLP_HEADERS"] == f"Authorization=Bearer {TOKEN}"
    assert settings["otelHeadersHelper"] == "/usr/bin/ccmon-token"


def test_on_loopback_the_hooks_call_the_local_api_without_being_told(tmp_path: Path) -> None:
    """One developer's laptop: the endpoint is ccmon on loopback, so its API is too (`ccmon serve`'s port)."""
    home = tmp_path / "home"
    home.mkdir()
    assert main(["setup", "--budget-hook", "--statusline", "--home", str(home)]) == 0
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    assert settings["statusLine"]["command"] == "ccmon statusline --url http://127.0.0.1:3000"
    assert (
        settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
        == "ccmon hook budget --url http://127.0.0.1:3000"
    )
