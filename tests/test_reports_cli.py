"""`ccmon report` against a running server, and straight from a data folder."""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from ccmon.ingest.writer import BatchWriter
from ccmon.reports_cli import REPORTS, ReportArgs, run
from tests.analytics import data
from tests.support import RunningServer

START, END = "2026-11-20T10:00:00Z", "2026-11-20T12:00:00Z"


@pytest.fixture
def loaded_server(server: RunningServer) -> RunningServer:
    for name, body in (("metrics", data.metrics_body()), ("logs", data.events_body())):
        assert server.post(name, body, "application/json").status_code == 200
    return server


def _run(args: ReportArgs) -> str:
    out = io.StringIO()
    assert run(args, out) == 0
    return out.getvalue()


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_every_report_prints_a_table(loaded_server: RunningServer, kind: str) -> None:
    text = _run(ReportArgs(kind, url=loaded_server.api_url, start=START, end=END))
    assert REPORTS[kind].title in text


def test_json_is_the_api_answer(loaded_server: RunningServer) -> None:
    printed = orjson.loads(_run(ReportArgs("people", url=loaded_server.api_url, output="json", start=START, end=END)))
    api = loaded_server.http.get(
        f"{loaded_server.api_url}/api/v1/people/leaderboard",
        params={"from": START, "to": END, "limit": "50"},
    ).json()
    assert printed == api


def test_csv_and_filters(loaded_server: RunningServer) -> None:
    text = _run(ReportArgs("cost", url=loaded_server.api_url, output="csv", teams=("platform",), start=START, end=END))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["key"], r["cost_usd"]) for r in rows] == [("platform", "3.25")]
    summary = _run(
        ReportArgs("summary", url=loaded_server.api_url, output="csv", persons=("bob-uuid",), start=START, end=END)
    )
    assert "cost_usd,0.5" in summary.splitlines()
    assert "tokens.cache_creation,40" in summary.splitlines()


def test_straight_from_the_data_folder(writer: BatchWriter, chdb_path: Path, database: str) -> None:
    data.load(writer)
    text = _run(ReportArgs("tools", output="csv", data_dir=str(chdb_path), database=database, start=START, end=END))
    assert text.splitlines()[1].startswith("Edit,1,1,1.0,0,20.0")


def test_errors_are_one_line(loaded_server: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ReportArgs("summary", url=loaded_server.api_url, start="yesterday"), io.StringIO()) == 1
    assert "ccmon report: 422" in capsys.readouterr().err
    assert run(ReportArgs("summary", url="http://127.0.0.1:9"), io.StringIO()) == 1


def test_the_overview_report_has_the_weekly_fields(loaded_server: RunningServer) -> None:
    """Seed 000's weekly report: total cost, active users, PRs, cost per PR and cost per user (and what goes along)."""
    text = _run(ReportArgs("overview", url=loaded_server.api_url, output="csv", start=START, end=END))
    printed = {row["metric"]: row["value"] for row in csv.DictReader(io.StringIO(text))}
    assert list(printed) == list(REPORTS["overview"].fields)
    api = loaded_server.http.get(f"{loaded_server.api_url}/api/v1/overview", params={"from": START, "to": END}).json()
    assert printed["current.cost_usd"] == str(api["current"]["cost_usd"]) == "3.75"
    assert (printed["active_users"], printed["cost_per_user"], printed["cost_per_pull_request"]) == (
        "2",
        "1.875",
        "3.75",
    )


def test_a_reader_that_goes_away_ends_the_report_quietly(loaded_server: RunningServer) -> None:
    """`ccmon report ... | head`: no traceback, the status of a command stopped by SIGPIPE."""
    command = [sys.executable, "-m", "ccmon", "report", "sessions", "--csv", "--url", loaded_server.api_url]
    with subprocess.Popen(
        [*command, "--from", START, "--to", END], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # before it writes a line
        errors = process.stderr.read().decode()
        assert process.wait(60) == 128 + signal.SIGPIPE
    assert errors == ""
