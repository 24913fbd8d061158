"""`ccmon setup` with the real Claude Code CLI: the CLI gets no telemetry variable from its environment, only the files
`ccmon setup` wrote, and its telemetry must reach ccmon — with the ingest token, over each protocol, carrying the team,
department and cost centre attributes, their commas, spaces and accents intact.

(a) `--target user` into a temporary HOME, for grpc, http/protobuf and http/json; a second identical `setup` changes
nothing (same bytes, no new backup).
(b) `--target managed` into the folder `CLAUDE_CODE_MANAGED_SETTINGS_PATH` names: the file works as Claude Code
settings (given with `--settings`). The variable itself is not honoured by Claude Code 2.1.330: a strict xfail that
turns red when it is.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ccmon.cli import main
from tests.claude_code.cli import run_claude_process
from tests.claude_code.fake_anthropic import FakeAnthropic
from tests.support import RunningServer, in_process_server, make_config

pytestmark = [pytest.mark.claude_cli, pytest.mark.slow]

INGEST_TOKEN = "cc-setup-e2e-token"
DEPARTMENT = "R&D, Paris"
COST_CENTER = "CC=42 é"


@pytest.fixture(scope="module")
def ccmon(chdb_path: Path) -> Iterator[RunningServer]:
    """One server for the module, asking for the ingest token (a run without it would store nothing)."""
    config = make_config(chdb_path, database=f"test_{uuid.uuid4().hex[:12]}", ingest_tokens=(INGEST_TOKEN,))
    with in_process_server(config) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_inherited_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ccmon setup` honours CLAUDE_CONFIG_DIR and CLAUDE_CODE_MANAGED_SETTINGS_PATH: not the test runner's."""
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CLAUDE_CODE_MANAGED_SETTINGS_PATH", raising=False)


def _developer_settings(home: Path) -> Path:
    """A developer's settings before setup: a model choice and a Stop hook of their own (which setup must keep).

    The hook waits a little before Claude Code exits: on exit the CLI gets at most 2 s to flush its last exports, which
    a loaded machine misses (the last turn's cost is lost, over http/json most often); while the hook runs, the periodic
    exports (short intervals below) deliver everything."""
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    mine = {"model": "sonnet", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "sleep 2"}]}]}}
    settings.write_text(json.dumps(mine))
    return settings


def _endpoint(server: RunningServer, protocol: str) -> str:
    port = server.config.otlp_grpc_port if protocol == "grpc" else server.config.otlp_http_port
    return f"http://127.0.0.1:{port}"


def _setup_args(server: RunningServer, protocol: str, team: str) -> list[str]:
    return [
        "setup",
        f"--endpoint={_endpoint(server, protocol)}",
        f"--protocol={protocol}",
        f"--token={INGEST_TOKEN}",
        f"--team={team}",
        f"--department={DEPARTMENT}",
        f"--cost-center={COST_CENTER}",
        "--metrics-interval=1000",
        "--logs-interval=500",
    ]


def _claude(api: FakeAnthropic, server: RunningServer, workdir: Path, protocol: str) -> Any:
    return run_claude_process(
        api_base_url=api.base_url,
        protocol=protocol,
        endpoint=_endpoint(server, protocol),
        workdir=workdir,
        prompt="WRITEFILE please",
        telemetry_env=False,
    ).result


def _arrived(server: RunningServer, team: str, expected_cost: float, wait_s: float = 30) -> dict[str, Any]:
    """The summary of one team once its whole cost has been stored (the CLI flushes on exit; ingest takes a moment)."""
    deadline = time.monotonic() + wait_s
    while True:
        summary = server.summary(team=team)
        if float(summary["cost_usd"]) >= expected_cost - 1e-9 or time.monotonic() > deadline:
            return summary
        time.sleep(0.2)


def _assert_stored(server: RunningServer, team: str, result: dict[str, Any]) -> None:
    assert result["total_cost_usd"] > 0
    summary = _arrived(server, team, result["total_cost_usd"])
    assert summary["cost_usd"] == pytest.approx(result["total_cost_usd"], abs=1e-9)
    assert summary["tokens"]["output"] == result["usage"]["output_tokens"]
    assert summary["sessions"] == 1
    for dimension, value in (("department", DEPARTMENT), ("cost_center", COST_CENTER)):
        narrowed = server.summary(team=team, **{dimension: value})
        assert narrowed["cost_usd"] == pytest.approx(result["total_cost_usd"], abs=1e-9), dimension


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf", "http/json"])
def test_user_settings_from_setup_export_with_team_attributes(
    ccmon: RunningServer,
    api: FakeAnthropic,
    tmp_path: Path,
    protocol: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home"
    settings = _developer_settings(home)
    team = f"Platform {protocol}, EU"
    args = [*_setup_args(ccmon, protocol, team), f"--home={home}"]
    assert main(args) == 0
    written = settings.read_bytes()
    merged = json.loads(written)
    assert merged["model"] == "sonnet"
    assert merged["hooks"]["Stop"][0]["hooks"][0]["command"] == "sleep 2"
    assert len([p for p in settings.parent.iterdir() if ".bak-" in p.name]) == 1

    result = _claude(api, ccmon, tmp_path, protocol)
    _assert_stored(ccmon, team, result)

    # The same setup again: nothing to do, nothing written, no backup.
    capsys.readouterr()
    assert main(args) == 0
    assert "no change" in capsys.readouterr().out
    assert settings.read_bytes() == written
    assert len([p for p in settings.parent.iterdir() if ".bak-" in p.name]) == 1


def test_managed_settings_file_from_setup_is_a_working_settings_file(
    ccmon: RunningServer, api: FakeAnthropic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ccmon setup --target managed` writes where CLAUDE_CODE_MANAGED_SETTINGS_PATH points; the file, given to the
    CLI with `--settings` (the developer's own settings carry no telemetry variable), makes it export with the token
    and the attributes. (Not through the variable itself: see the next test.)"""
    user_settings = _developer_settings(tmp_path / "home")
    managed = tmp_path / "policy"
    monkeypatch.setenv("CLAUDE_CODE_MANAGED_SETTINGS_PATH", str(managed))
    team = "Managed fleet"
    assert main([*_setup_args(ccmon, "http/protobuf", team), "--target=managed"]) == 0
    managed_file = managed / "managed-settings.json"
    assert oct(managed_file.stat().st_mode & 0o777) == oct(0o644)

    result = run_claude_process(
        api_base_url=api.base_url,
        protocol="http/protobuf",
        endpoint=_endpoint(ccmon, "http/protobuf"),
        workdir=tmp_path,
        prompt="WRITEFILE please",
        telemetry_env=False,
        extra_args=("--settings", str(managed_file)),
    ).result
    assert "env" not in json.loads(user_settings.read_text())
    _assert_stored(ccmon, team, result)


@pytest.mark.xfail(
    strict=True,
    reason="Claude Code 2.1.330 still reads /etc/claude-code/managed-settings.json when "
    "CLAUDE_CODE_MANAGED_SETTINGS_PATH is set (its --debug log names that path), so a managed file elsewhere is not "
    "applied; when a release honours the variable, this strict xfail fails: drop the mark, update docs/onboarding.md",
)
def test_managed_settings_path_override_is_honoured(ccmon: RunningServer, api: FakeAnthropic, tmp_path: Path) -> None:
    managed = tmp_path / "policy"
    team = "Managed via override"
    assert (
        main(
            [
                *_setup_args(ccmon, "http/protobuf", team),
                "--target=managed",
                f"--output={managed}/managed-settings.json",
            ]
        )
        == 0
    )
    _developer_settings(tmp_path / "home")
    result = run_claude_process(
        api_base_url=api.base_url,
        protocol="http/protobuf",
        endpoint=_endpoint(ccmon, "http/protobuf"),
        workdir=tmp_path,
        prompt="WRITEFILE please",
        telemetry_env=False,
        extra_env={"CLAUDE_CODE_MANAGED_SETTINGS_PATH": str(managed)},
    ).result
    summary = _arrived(ccmon, team, result["total_cost_usd"], wait_s=5)
    assert summary["cost_usd"] == pytest.approx(result["total_cost_usd"], abs=1e-9)
