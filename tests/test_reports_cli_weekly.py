"""`ccmon report weekly`: from a data folder and from a running server, in every format, written to a file and sent
to alert channels."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from ccmon.cli import main
from ccmon.ingest.writer import BatchWriter
from ccmon.reports_cli import ReportArgs, weekly
from tests.alerts.receivers import SmtpReceiver
from tests.reports import data
from tests.reports.png import decode
from tests.support import RunningServer

FIGURES = "| Total cost | $48.00 | $20.00 | +140.0% |"


def _weekly(args: ReportArgs, status: int = 0) -> str:
    out = io.StringIO()
    assert weekly(args, out, now=datetime(2026, 11, 25, tzinfo=UTC)) == status
    return out.getvalue()


def test_from_a_data_folder_the_last_complete_week(writer: BatchWriter, chdb_path: Path, database: str) -> None:
    data.load_weeks(writer)
    text = _weekly(ReportArgs("weekly", data_dir=str(chdb_path), database=database))
    assert text.startswith("# Claude Code weekly report 2026-W47\n") and FIGURES in text
    assert "| Cost per PR | $24.00 | $20.00 | +20.0% |" in text
    assert "Send short requests to Sonnet" in text  # priced with the shipped table
    team = _weekly(ReportArgs("weekly", data_dir=str(chdb_path), database=database, teams=("platform",)))
    assert "| Total cost | $10.00 | $20.00 | -50.0% |" in team


def test_from_a_server_in_every_format(server: RunningServer, tmp_path: Path) -> None:
    for name, body in (("metrics", data.counters_body()), ("logs", data.requests_body())):
        assert server.post(name, body, "application/json").status_code == 200
    url = server.api_url
    assert FIGURES in _weekly(ReportArgs("weekly", url=url, week="2026-W47"))
    as_json = orjson.loads(_weekly(ReportArgs("weekly", url=url, start="2026-11-18T00:00:00Z", format="json")))
    assert as_json["figures"]["week"] == "2026-W47" and as_json["figures"]["figures"][0]["value"] == 48.0
    post = orjson.loads(_weekly(ReportArgs("weekly", url=url, week="2026-11-16", format="slack")))
    assert post["text"] == "Claude Code weekly report 2026-W47: $48.00 (+140.0%)"
    page = tmp_path / "week.html"
    assert _weekly(ReportArgs("weekly", url=url, week="2026-W47", format="html", out_file=str(page))) == ""
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count('src="data:image/png;base64,') == 3
    answer = server.http.get(f"{url}/api/v1/reports/weekly", params={"week": "2026-W47", "format": "markdown"})
    assert answer.headers["content-type"].startswith("text/markdown") and FIGURES in answer.text
    refused = server.http.get(f"{url}/api/v1/reports/weekly", params={"week": "W47"})
    assert refused.status_code == 422 and "ISO week such as 2026-W47" in refused.text
    for hostile in ({"week": "2026-W47" * 1000}, {"week": "2026-W47", "format": "pdf"}, {"weeks": "2026-W47"}):
        assert server.http.get(f"{url}/api/v1/reports/weekly", params=hostile).status_code == 422


def test_sent_to_an_email_channel(
    writer: BatchWriter,
    chdb_path: Path,
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data.load_weeks(writer)
    with SmtpReceiver() as smtp:
        alerts = tmp_path / "alerts.yaml"
        alerts.write_text(
            "channels:\n  mail:\n    kind: email\n    host: 127.0.0.1\n"
            f"    port: {smtp.port}\n    security: none\n    from: ccmon@example.com\n    to: lead@example.com\n"
        )
        monkeypatch.setenv("CCMON_ALERTS_FILE", str(alerts))
        args = ReportArgs("weekly", data_dir=str(chdb_path), database=database, week="2026-W47", send=("mail",))
        assert FIGURES in _weekly(args)
    (mail,) = smtp.mails
    assert mail.message["Subject"] == "Claude Code weekly report 2026-W47"
    images = [part for part in mail.message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 3 and all(decode(part.get_content()) for part in images)
    capsys.readouterr()
    assert _weekly(replace(args, send=("ops",)), status=2) == ""  # refused before the report is printed
    assert capsys.readouterr().err == "ccmon report: --send: no alert channel named 'ops' (configured: mail)\n"
    alerts.write_text(alerts.read_text() + "  pager:\n    kind: pagerduty\n    routing_key: " + "k" * 32 + "\n")
    assert _weekly(replace(args, send=("mail", "pager")), status=2) == ""
    assert capsys.readouterr().err == (
        "ccmon report: --send: channel 'pager' is a pagerduty channel; reports go to email or slack channels\n"
    )
    assert len(smtp.mails) == 1  # nothing sent to `mail` either
    monkeypatch.delenv("CCMON_ALERTS_FILE")
    assert _weekly(args, status=2) == ""
    assert "--send needs the alert channels: set alerts_file" in capsys.readouterr().err


def test_mistakes_are_one_line_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    _weekly(ReportArgs("weekly", week="2026-W99"), status=2)
    assert capsys.readouterr().err == (
        "ccmon report: --week: week '2026-W99': expected an ISO week such as 2026-W47, or a date such as 2026-11-18\n"
    )
    assert weekly(ReportArgs("weekly", url="http://127.0.0.1:9", week="2026-W47"), io.StringIO()) == 1
    assert "cannot reach http://127.0.0.1:9 (connection refused)" in capsys.readouterr().err


def test_the_command_line_reaches_the_weekly_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "weekly", "--week", "someday", "--format", "html", "--send", "a", "--send", "b"]) == 2
    assert capsys.readouterr().err.startswith("ccmon report: --week: week 'someday': expected an ISO week")
    with pytest.raises(SystemExit):
        main(["report", "weekly", "--format", "pdf"])
    assert "invalid choice: 'pdf'" in capsys.readouterr().err
