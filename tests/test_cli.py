"""The `ccmon` command line: every failure is one line saying what happened and what to do; usage errors show the
usage of the command they are about."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccmon.cli import main
from tests.support import free_port, run_ccmon


@pytest.fixture(autouse=True)
def _no_ccmon_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [name for name in os.environ if name.startswith("CCMON_")]:
        monkeypatch.delenv(name)


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str], status: int) -> str:
    """The one line on stderr of a command that exits with `status`."""
    assert main(argv) == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    return err.rstrip("\n")


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """argparse's usage (its first line) and its error line, for a command line it refuses."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    return lines[0], lines[-1]


@pytest.mark.parametrize(
    ("argv", "usage", "error"),
    [
        (
            ["report", "summary", "--bogus"],
            "usage: ccmon report [-h]",
            "ccmon report: error: unrecognized arguments: --bogus",
        ),
        (
            ["serve", "--prot", "3000"],
            "usage: ccmon serve [-h]",
            "ccmon serve: error: unrecognized arguments: --prot 3000",
        ),
        (
            ["demo", "--days", "2", "extra"],
            "usage: ccmon demo [-h]",
            "ccmon demo: error: unrecognized arguments: extra",
        ),
        (
            ["demo", "--developers", "abc"],
            "usage: ccmon demo [-h]",
            "ccmon demo: error: argument --developers: invalid int value: 'abc'",
        ),
        (
            ["report", "everything"],
            "usage: ccmon report [-h]",
            "ccmon report: error: argument kind: invalid choice: 'everything' (choose from 'cost', 'overview', "
            "'people', 'sessions', 'summary', 'tools', 'weekly')",
        ),
        (
            ["nope"],
            "usage: ccmon [-h] [--version]",
            "ccmon: error: argument command: invalid choice: 'nope' (choose from 'serve', 'demo', 'report', 'tokens', "
            "'rules', 'users', 'api-keys', 'forget', 'directory', 'hook', 'setup', 'doctor', 'statusline', 'mcp', "
            "'import')",
        ),
    ],
)
def test_usage_errors_show_the_commands_usage(
    capsys: pytest.CaptureFixture[str], argv: list[str], usage: str, error: str
) -> None:
    first, last = _usage_error(argv, capsys)
    assert first.startswith(usage)
    assert last == error


@pytest.mark.parametrize(
    ("argv", "environ", "toml", "message"),
    [
        (["--port", "70000"], {}, "", "ccmon: --port: 70000 is not a port number (1-65535)"),
        (["--port", "abc"], {}, "", 'ccmon: --port: "abc" is not a whole number'),
        (["--otlp-http-port", "0"], {}, "", "ccmon: --otlp-http-port: 0 is not a port number (1-65535)"),
        (
            [],
            {"CCMON_OTLP_GRPC_PORT": "99999"},
            "",
            "ccmon: CCMON_OTLP_GRPC_PORT: 99999 is not a port number (1-65535)",
        ),
        ([], {"CCMON_PORT": "abc"}, "", 'ccmon: CCMON_PORT: "abc" is not a whole number'),
        ([], {}, "port = 70000", "ccmon: port in {file}: 70000 is not a port number (1-65535)"),
        ([], {}, 'otlp_grpc_port = "abc"', 'ccmon: otlp_grpc_port in {file}: "abc" is not a whole number'),
        (["--log-level", "loud"], {}, "", 'ccmon: --log-level: "loud" is not one of debug, info, warning, error'),
    ],
)
def test_serve_names_a_bad_setting_and_its_source(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    environ: dict[str, str],
    toml: str,
    message: str,
) -> None:
    config_file = tmp_path / "ccmon.toml"
    config_file.write_text(toml + "\n")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    argv = ["serve", "--config", str(config_file), "--data-dir", str(tmp_path / "data"), *argv]
    assert _fails(argv, capsys, 2) == message.format(file=config_file)
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_serve_with_a_bad_port_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_ccmon("serve", "--port", "70000", "--data-dir", str(tmp_path))
    assert (result.returncode, result.stderr, result.stdout) == (
        2,
        "ccmon: --port: 70000 is not a port number (1-65535)\n",
        "",
    )


def test_serve_help_shows_each_default_and_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines as the terminal is wide
    assert "Port of the OTLP/gRPC receiver. [default 4317; env CCMON_OTLP_GRPC_PORT]" in text
    assert "[default 127.0.0.1; env CCMON_HOST]" in text
    assert "[default project,vcs.repository.name; env CCMON_PROJECT_ATTRIBUTES]" in text
    assert "bearer tokens accepted by the HTTP API" in text and "[env CCMON_API_TOKENS]" in text


def test_report_without_a_server(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    assert _fails(["report", "summary", "--url", f"http://127.0.0.1:{port}"], capsys, 1) == (
        f"ccmon report: cannot reach http://127.0.0.1:{port} (connection refused): is `ccmon serve` running? "
        "Use --url for another server, or --data-dir to read a data folder."
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--developers", "0"], "ccmon demo: --developers must be at least 1, not 0"),
        (["--teams", "11"], "ccmon demo: --teams: the demo has at most 10 teams, not 11"),
        (["--days", "-1"], "ccmon demo: --days must be at least 1, not -1"),
        (["--processes", "0"], "ccmon demo: --processes must be at least 1, not 0"),
    ],
)
def test_demo_sizes_it_cannot_make(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert _fails(["demo", "--endpoint", "http://127.0.0.1:1", *argv], capsys, 2) == message


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--developers", "2", "--days", "1"], "2 developers in 2 teams, 1 day"),
        (["--developers", "1", "--teams", "3", "--days", "2"], "1 developer in 1 team, 2 days"),
        ([], "40 developers in 6 teams, 30 days"),
    ],
)
def test_demo_says_what_it_sends_and_where_it_could_not(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    assert main(["demo", "--endpoint", endpoint, "--processes", "1", *argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == f"ccmon demo: {says}, seed 1: sending to {endpoint} (grpc)...\n"
    assert captured.err == f"ccmon demo: cannot connect to {endpoint} (connection refused): is `ccmon serve` running?\n"
