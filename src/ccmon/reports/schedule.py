"""The report schedule: on each firing of `report_schedule` (cron, UTC) the server sends the last complete week's
report to `report_channels`, once per week whichever of the processes sharing the store fires.

The period is the week reported on, not the firing: a schedule firing daily still sends each week once. Before
sending, the process claims the week in `report_runs` (`store.report_runs`, a ClickHouse-safe claim: the earliest
claim wins); only the winner builds and sends, then records the outcome. This works with or without the alert
engine's lease, so reports go out even where alerting is turned off.

A firing missed while no process ran is caught up at start only within `CATCH_UP` (a restart during the firing
minute), never days later: a report for a week long gone is noise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ccmon.alerts.model import Channel
from ccmon.reports.cron import Cron, CronError
from ccmon.reports.send import ChannelError, Sent, resolve
from ccmon.reports.weekly import Week

log = logging.getLogger(__name__)

REPORT = "weekly"
CATCH_UP = timedelta(hours=1)
TICK_S = 20.0


class RunLog(Protocol):
    """`store.report_runs.ReportRuns`."""

    def claim(self, report: str, period_start: datetime, holder: str) -> bool: ...

    def record(self, report: str, period_start: datetime, holder: str, outcome: str) -> None: ...


def outcome_of(results: Sequence[Sent]) -> str:
    """`sent`, or `failed: <channel>: <error>; ...` naming each channel that did not take the report."""
    failed = [f"{sent.channel}: {sent.error or 'not sent'}" for sent in results if not sent.ok]
    if not results:
        return "failed: no channel"
    return "sent" if not failed else "failed: " + "; ".join(failed)[:500]


class ReportScheduler:
    """Fires `send_week` at each cron firing, for the week the firing closes, when this process wins the claim."""

    def __init__(
        self,
        cron: Cron,
        runs: RunLog,
        send_week: Callable[[Week], Sequence[Sent]],
        *,
        holder: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tick_s: float = TICK_S,
    ) -> None:
        self._cron, self._runs, self._send_week = cron, runs, send_week
        self._holder, self._clock, self._tick_s = holder, clock, tick_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        now = clock()
        self._due = cron.previous_at_or_before(now, CATCH_UP) or cron.next_after(now)

    @property
    def next_firing(self) -> datetime | None:
        return self._due

    def run_due(self) -> str | None:
        """Handle a firing that is due (the scheduler thread calls it every tick): the outcome when this process
        sent the report, `skipped` when the week was already sent (or failed) or another process had claimed it,
        None when nothing was due."""
        now = self._clock()
        if self._due is None or now < self._due:
            return None
        week = Week.last_complete(self._due)
        won = self._runs.claim(REPORT, week.start, self._holder)  # the store failing: the firing stays due
        self._due = self._cron.next_after(now)
        if not won:
            log.info("weekly report %s: already sent or claimed", week.label)
            return "skipped"
        try:
            outcome = outcome_of(self._send_week(week))
        except Exception as exc:  # a failing store or a bug: recorded, and the schedule goes on
            log.exception("weekly report %s could not be made", week.label)
            outcome = f"failed: {type(exc).__name__}: {exc}"[:500]
        self._runs.record(REPORT, week.start, self._holder, outcome)
        log.info("weekly report %s: %s", week.label, outcome)
        return outcome

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="ccmon-report-schedule", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _loop(self) -> None:
        while True:  # at once first: a firing caught up at start is sent now, not a tick later
            try:
                self.run_due()
            except Exception:  # the claim's store call failed: the firing stays due, tried again at the next tick
                log.exception("report schedule")
            if self._stop.wait(self._tick_s):
                return


def open_schedule(
    expression: str | None,
    channel_names: Sequence[str],
    channels: Callable[[], Mapping[str, Channel]],
    runs: RunLog,
    send_week: Callable[[Week], Sequence[Sent]],
    *,
    holder: str,
) -> ReportScheduler | None:
    """The server's schedule (not started), None without `report_schedule`. Checked now, so a mistake stops the
    start rather than a report failing a week later: a bad cron expression, no channel, or a channel the alerts file
    does not define (or that is not email or Slack) raise ValueError naming the setting."""
    if not expression:
        return None
    try:
        cron = Cron.parse(expression)
    except CronError as exc:
        raise ValueError(f"report_schedule: {exc}") from None
    if not channel_names:
        raise ValueError("report_schedule is set but report_channels names no channel to send the report to")
    try:
        resolve(channel_names, channels())
    except ChannelError as exc:
        raise ValueError(f"report_channels: {exc}") from None
    return ReportScheduler(cron, runs, send_week, holder=holder)
