"""`ccmon report` against a running server, and straight from a data folder."""

from __future__ import annotations

import csv
import io
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
    for signal, body in (("metrics", data.metrics_body()), ("logs", data.events_body())):
        assert server.post(signal, body, "application/json").status_code == 200
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
