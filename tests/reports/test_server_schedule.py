"""The server runs the report schedule: a bad one stops the start; a due one sends the report and records it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccmon.reports.schedule import REPORT
from ccmon.reports.weekly import Week
from ccmon.store.facade import Store
from ccmon.store.report_runs import ReportRuns
from tests.alerts.receivers import SmtpReceiver
from tests.support import in_process_server, make_config


def _alerts_file(tmp_path: Path, port: int) -> str:
    path = tmp_path / "alerts.yaml"
    path.write_text(
        "channels:\n  leads:\n    kind: email\n    host: 127.0.0.1\n"
        f"    port: {port}\n    security: none\n    from: ccmon@example.com\n    to: leads@example.com\n"
        "  pager:\n    kind: pagerduty\n    routing_key: abcdefabcdefabcdefabcdefabcdefab\n"
    )
    return str(path)


@pytest.mark.parametrize(
    ("schedule", "channels", "message"),
    [
        ("61 9 * * 1", ("leads",), "report_schedule: minute: 61 is out of range 0-59"),
        ("0 9 * * 1", (), "report_schedule is set but report_channels names no channel"),
        ("0 9 * * 1", ("ops",), "report_channels: no alert channel named 'ops' (configured: leads, pager)"),
        ("0 9 * * 1", ("pager",), "report_channels: channel 'pager' is a pagerduty channel"),
    ],
)
def test_a_bad_schedule_stops_the_start(
    chdb_path: Path, database: str, tmp_path: Path, schedule: str, channels: tuple[str, ...], message: str
) -> None:
    config = make_config(
        chdb_path,
        database=database,
        alerts_file=_alerts_file(tmp_path, 25),
        report_schedule=schedule,
        report_channels=channels,
    )
    with pytest.raises(RuntimeError, match="server failed to start") as failed, in_process_server(config):
        pass
    assert message in str(failed.value)


@pytest.mark.slow
def test_a_due_report_is_sent_once_and_recorded(chdb_path: Path, database: str, tmp_path: Path, store: Store) -> None:
    week = Week.last_complete(datetime.now(UTC))
    with SmtpReceiver() as smtp:
        config = make_config(
            chdb_path,
            database=database,
            alerts_file=_alerts_file(tmp_path, smtp.port),
            report_schedule="* * * * *",  # due now: caught up at start
            report_channels=("leads",),
        )
        with in_process_server(config):
            deadline = time.monotonic() + 60
            while not any(run.outcome == "sent" for run in ReportRuns(store).recent(REPORT)):
                assert time.monotonic() < deadline, ReportRuns(store).recent(REPORT)
                time.sleep(0.2)
    (mail,) = smtp.mails
    assert mail.message["Subject"] == f"Claude Code weekly report {week.label}"
    runs = ReportRuns(store).recent(REPORT)
    assert [(run.period_start, run.outcome) for run in runs] == [(week.start, "sent"), (week.start, "claimed")]
