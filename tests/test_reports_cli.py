"""`ccmon report` against a running server, and straight from a data folder."""

from __future__ import annotations

import csv
import io
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from ccmon import reports_cli
from ccmon.ingest.writer import BatchWriter
from ccmon.reports_cli import REPORTS, ReportArgs, run
from tests.analytics import data
from tests.support import RunningServer, free_port, in_process_server, make_config

START, END = "2026-11-20T10:00:00Z", "2026-11-20T12:00:00Z"


@pytest.fixture
def loaded_server(server: RunningServer) -> RunningServer:
    for name, body in (("metrics", data.metrics_body()), ("logs", data.events_body())):
        assert server.post(name, body, "application/json").status_code == 200
    return server


def _run(args: ReportArgs, now: datetime | None = None) -> str:
    out = io.StringIO()
    assert run(args, out, now=now) == 0
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
    assert [(r["team"], r["cost_usd"], r["share"]) for r in rows] == [("platform", "3.25", "1.0")]
    summary = _run(
        ReportArgs("summary", url=loaded_server.api_url, output="csv", persons=("bob-uuid",), start=START, end=END)
    )
    assert "cost_usd,0.5" in summary.splitlines()
    assert "tokens.cache_creation,40" in summary.splitlines()


def test_straight_from_the_data_folder(writer: BatchWriter, chdb_path: Path, database: str) -> None:
    data.load(writer)
    text = _run(ReportArgs("tools", output="csv", data_dir=str(chdb_path), database=database, start=START, end=END))
    assert text.splitlines()[1].startswith("Edit,1,1,1.0,0,20.0")


def test_a_bad_window_is_one_line_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ReportArgs("summary", url="http://127.0.0.1:9", start="yesterday"), io.StringIO()) == 2
    assert capsys.readouterr().err == (
        "ccmon report: --from: 'yesterday' is not an RFC 3339 timestamp (e.g. 2026-11-24T00:00:00Z)\n"
    )
    assert run(ReportArgs("summary", url="http://127.0.0.1:9", start=END, end=START), io.StringIO()) == 2
    assert capsys.readouterr().err == (
        "ccmon report: --from (2026-11-20T12:00:00+00:00) must be before --to (2026-11-20T10:00:00+00:00)\n"
    )


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


@dataclass
class Canned:
    """An HTTP server answering every request with one status, body and content type; it keeps what it was asked."""

    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    asked: list[str] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def canned() -> Iterator[Canned]:
    answer = Canned()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer.asked.append(self.path)
            self.send_response(answer.status)
            self.send_header("content-type", answer.content_type)
            self.send_header("content-length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, *_: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    answer.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield answer
    finally:
        httpd.shutdown()
        httpd.server_close()


def _error(args: ReportArgs, capsys: pytest.CaptureFixture[str], status: int = 1) -> str:
    """The one line `ccmon report` printed on stderr, failing with `status` and printing nothing else."""
    out = io.StringIO()
    assert run(args, out) == status
    assert out.getvalue() == ""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    return err.rstrip("\n")


NOW = datetime(2026, 11, 30, 5, 0, 12, tzinfo=UTC)


def test_the_window_is_resolved_here_sent_and_shown(canned: Canned) -> None:
    """No --from/--to: the last 30 days up to now, sent as explicit from and to, and named in the table's title."""
    canned.body = b'{"dimension": "team", "total_cost_usd": 3.25, "rows": []}'
    out = io.StringIO()
    assert run(ReportArgs("cost", url=canned.url), out, now=NOW) == 0
    query = parse_qs(urlsplit(canned.asked[0]).query)
    assert (query["from"], query["to"]) == (["2026-10-31T05:00:12Z"], ["2026-11-30T05:00:12Z"])
    assert out.getvalue().splitlines() == [
        "Cost by team · 2026-10-31 05:00:12 → 2026-11-30 05:00:12 UTC (last 30 days)",
        "nothing in this window",
    ]
    csv_out = io.StringIO()
    assert run(ReportArgs("cost", url=canned.url, output="csv", teams=("nobody",)), csv_out, now=NOW) == 0
    assert csv_out.getvalue() == ""


def test_tables_say_which_window_and_filters_they_show(loaded_server: RunningServer) -> None:
    for kind in sorted(REPORTS):
        text = _run(ReportArgs(kind, url=loaded_server.api_url, start=START, end=END, teams=("platform",)))
        title = text.splitlines()[0]
        assert title == f"{REPORTS[kind].title} · 2026-11-20 10:00 → 2026-11-20 12:00 UTC (2 hours) · team platform"
    text = _run(ReportArgs("summary", url=loaded_server.api_url, start="2026-11-19T12:00:00Z"), now=NOW)
    assert (
        text.splitlines()[0]
        == "Summary · 2026-11-19 12:00 → 2026-11-30 05:00:12 UTC (last 10 days 17 hours 12 seconds)"
    )


SESSION = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.mark.parametrize(
    ("kind", "body", "lines"),
    [
        (
            "cost",
            {
                "dimension": "team",
                "total_cost_usd": 2498.5,
                "rows": [
                    {"key": "platform", "cost_usd": 2498.4, "share": 0.30000000000000004},
                    {"key": "(rest)", "cost_usd": 0.1, "share": 1.2e-05},
                ],
            },
            ["┃ team     ┃ cost_usd ┃ share ┃", "│ platform │ 2,498.40 │ 30.0% │", "│ (rest)   │     0.10 │  0.0% │"],
        ),
        (
            "sessions",
            {
                "total": 1,
                "rows": [
                    {
                        "session_id": SESSION,
                        "person": "alice@example.com",
                        "team": "platform",
                        "repository": "checkout",
                        "project": "checkout",
                        "started": "2026-11-20T10:00:00.123Z",
                        "ended": "2026-11-20T11:00:00Z",
                        "duration_s": 3600.5,
                        "prompts": 12,
                        "api_requests": 11953,
                        "errors": 0,
                        "tool_calls": 40,
                        "cost_usd": 12.3456,
                        "tokens": 1234567,
                    }
                ],
            },
            [
                f"│ {SESSION} │ alice@example.com │ platform │ checkout │ 2026-11-20 10:00 │    3,600.5 │      12 │"
                "       11,953 │      0 │         40 │    12.35 │ 1,234,567 │"
            ],
        ),
        (
            "overview",
            {
                "current": {"cost_usd": 2498.5, "sessions": 11953, "pull_requests": 0, "commits": 4},
                "cost_change_pct": 12.5,
                "active_users": 40,
                "cost_per_user": 62.4625,
                "cost_per_pull_request": None,
                "cost_per_session": 0.2,
                "lines_changed": 100000,
                "lines_per_active_hour": 123.456,
                "edit_accept_rate": 0.9125,
                "unattributed_cost_usd": 0,
            },
            [
                "│ current.cost_usd      │ 2,498.50 │",
                "│ cost_change_pct       │   +12.5% │",
                "│ cost_per_user         │    62.46 │",
                "│ cost_per_pull_request │        – │",
                "│ current.sessions      │   11,953 │",
                "│ lines_changed         │  100,000 │",
                "│ lines_per_active_hour │    123.5 │",
                "│ edit_accept_rate      │    91.2% │",
                "│ unattributed_cost_usd │     0.00 │",
            ],
        ),
    ],
)
def test_tables_read_alike(canned: Canned, kind: str, body: dict[str, object], lines: list[str]) -> None:
    """Thousands separators on every number, costs to the cent, shares and rates as percent, times to the minute,
    numbers right-aligned, ids and times whole on one line."""
    canned.body = orjson.dumps(body)
    printed = _run(ReportArgs(kind, url=canned.url, start=START, end=END)).splitlines()
    for line in lines:
        assert line in printed, "\n".join(printed)


def test_csv_keeps_the_apis_decimals(canned: Canned) -> None:
    canned.body = (
        b'{"dimension": "team", "total_cost_usd": 0.3, "rows": [{"key": "platform", "cost_usd": 0.1, '
        b'"share": 0.30000000000000004}, {"key": "(unknown)", "cost_usd": 1.2e-05, "share": 4e-05}]}'
    )
    text = _run(ReportArgs("cost", url=canned.url, output="csv", start=START, end=END))
    assert text.splitlines() == [
        "team,cost_usd,share",
        "platform,0.1,0.30000000000000004",
        "(unknown),0.000012,0.00004",
    ]


def test_no_server_says_where_it_looked_and_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    assert _error(ReportArgs("summary", url=f"http://127.0.0.1:{port}/"), capsys) == (
        f"ccmon report: cannot reach http://127.0.0.1:{port} (connection refused): is `ccmon serve` running? "
        "Use --url for another server, or --data-dir to read a data folder."
    )


def test_a_url_that_is_not_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert _error(ReportArgs("summary", url="localhost:3000"), capsys, status=2) == (
        "ccmon report: --url 'localhost:3000' is not a URL such as http://127.0.0.1:3000"
    )


def test_a_server_that_does_not_answer(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(reports_cli, "TIMEOUT_S", 0.5)
    with socket.socket() as silent:  # connections are accepted by the kernel, and never answered
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        assert _error(ReportArgs("summary", url=url), capsys) == (
            f"ccmon report: {url} did not answer within 0.5 s: the server may be busy; try again, or a shorter --from"
        )


@pytest.mark.parametrize(
    ("status", "body", "content_type", "message"),
    [
        (
            404,
            b'{"detail": "Not Found"}',
            "application/json",
            "{url}/api/v1/summary was not found (404): is {url} a ccmon server as new as this one? Check --url",
        ),
        (
            422,
            b'{"detail": "from: must be before to"}',
            "application/json",
            "{url} refused the query (422): from: must be before to",
        ),
        (
            422,
            b'{"detail": [{"loc": ["query", "limit"], "msg": "Input should be less than or equal to 1000"}]}',
            "application/json",
            "{url} refused the query (422): limit: Input should be less than or equal to 1000",
        ),
        (
            500,
            b"Internal Server Error",
            "text/plain",
            "{url} answered 500 Internal Server Error: Internal Server Error; see its log",
        ),
        (
            200,
            b"<html>hello</html>",
            "text/html",
            "{url} answered text/html, not JSON: is it a ccmon server? Check --url",
        ),
    ],
)
def test_what_the_server_answered(
    canned: Canned,
    capsys: pytest.CaptureFixture[str],
    status: int,
    body: bytes,
    content_type: str,
    message: str,
) -> None:
    canned.status, canned.body, canned.content_type = status, body, content_type
    assert _error(ReportArgs("summary", url=canned.url), capsys) == "ccmon report: " + message.format(url=canned.url)


def test_a_server_that_asks_for_a_token(chdb_path: Path, database: str, capsys: pytest.CaptureFixture[str]) -> None:
    with in_process_server(make_config(chdb_path, database=database, api_tokens=("right",))) as server:
        url = server.api_url
        assert _error(ReportArgs("summary", url=url), capsys) == (
            f"ccmon report: {url} asks for an API token (401): give one of the server's api_tokens with --token"
        )
        assert _error(ReportArgs("summary", url=url, token="wrong"), capsys) == (
            f"ccmon report: {url} refused the API token (401): check --token against the server's api_tokens"
        )
        assert run(ReportArgs("summary", url=url, token="right"), io.StringIO()) == 0


def test_a_data_folder_that_is_not_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    assert _error(ReportArgs("summary", data_dir=str(missing)), capsys) == (
        f"ccmon report: no data folder at {missing}: give --data-dir the folder `ccmon serve` stores into, or leave "
        "it out to ask the server at http://127.0.0.1:3000"
    )
    assert not missing.exists()  # a report never creates one
    assert _error(ReportArgs("summary", data_dir=str(tmp_path)), capsys) == (
        f"ccmon report: {tmp_path} holds no ccmon data (no database ccmon): give --data-dir the folder `ccmon serve` "
        "stores into"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_data_folder_another_process_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    holder = (
        "import sys\n"
        "from ccmon.store.facade import Store\n"
        "store = Store.open(data_dir=sys.argv[1])\n"  # held while the store is open
        "store.migrate()\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", holder, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stdin is not None
        try:
            assert process.stdout.readline() == b"held\n"
            line = _error(ReportArgs("summary", data_dir=str(tmp_path)), capsys)
        finally:
            process.stdin.close()
            process.wait(60)
    assert line.startswith(f"ccmon report: the data folder {tmp_path} is in use by process {process.pid}")
    assert "--url" in line
