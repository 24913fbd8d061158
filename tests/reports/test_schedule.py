from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from ccmon.reports.cron import Cron
from ccmon.reports.schedule import REPORT, ReportScheduler, outcome_of
from ccmon.reports.send import Sent
from ccmon.reports.weekly import Week
from ccmon.store.facade import Store
from ccmon.store.report_runs import ReportRuns
from tests.reports.data import WEEK

MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Sender:
    def __init__(self, results: Sequence[Sent] = (Sent("mail", True),)) -> None:
        self.weeks: list[Week] = []
        self.results = results

    def __call__(self, week: Week) -> Sequence[Sent]:
        self.weeks.append(week)
        return self.results


def scheduler(store: Store, clock: Clock, sender: Sender, holder: str) -> ReportScheduler:
    return ReportScheduler(Cron.parse("0 9 * * 1"), ReportRuns(store), sender, holder=holder, clock=clock)


def test_two_schedulers_on_one_store_send_each_week_once(store: Store) -> None:
    clock, first, second = Clock(datetime(2026, 11, 23, 8, 59, tzinfo=UTC)), Sender(), Sender()
    a, b = scheduler(store, clock, first, "a"), scheduler(store, clock, second, "b")
    assert a.next_firing == MONDAY_9 and a.run_due() is None
    clock.now = MONDAY_9
    outcomes: list[str | None] = [None, None]
    barrier = threading.Barrier(2)

    def fire(index: int, running: ReportScheduler) -> None:
        barrier.wait()
        outcomes[index] = running.run_due()

    threads = [threading.Thread(target=fire, args=pair) for pair in enumerate((a, b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes)) == ["sent", "skipped"]
    assert first.weeks + second.weeks == [WEEK]
    runs = ReportRuns(store).recent(REPORT)
    # Claiming at once, both may have inserted a claim; the earliest won and is the one that sent.
    assert {r.period_start for r in runs} == {WEEK.start}
    assert [r.outcome for r in runs].count("sent") == 1 and len(runs) in (2, 3)
    claims = sorted((r.at, r.holder) for r in runs if r.outcome == "claimed")
    assert next(r.holder for r in runs if r.outcome == "sent") == claims[0][1]
    # A process started a minute later catches the firing up, and finds the week sent.
    clock.now = datetime(2026, 11, 23, 9, 1, tzinfo=UTC)
    late = Sender()
    assert scheduler(store, clock, late, "c").run_due() == "skipped" and not late.weeks
    assert a.next_firing == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_a_daily_schedule_sends_each_week_once(store: Store) -> None:
    # Every firing from Monday to Sunday closes the same week: the one that sent it must not send it again.
    clock, sender = Clock(MONDAY_9), Sender()
    daily = ReportScheduler(Cron.parse("0 9 * * *"), ReportRuns(store), sender, holder="a", clock=clock)
    assert daily.run_due() == "sent"
    for day in range(1, 7):
        clock.now = datetime(2026, 11, 23 + day, 9, 0, tzinfo=UTC)
        assert daily.run_due() == "skipped"
    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert daily.run_due() == "sent"
    assert [week.start for week in sender.weeks] == [WEEK.start, datetime(2026, 11, 23, tzinfo=UTC)]


def test_a_failed_send_is_recorded_with_its_reason(store: Store) -> None:
    clock = Clock(MONDAY_9)
    sender = Sender([Sent("mail", False, "SMTP 550: no such user"), Sent("ops", True)])
    assert scheduler(store, clock, sender, "a").run_due() == "failed: mail: SMTP 550: no such user"
    assert ReportRuns(store).recent(REPORT)[0].outcome == "failed: mail: SMTP 550: no such user"


def test_an_exception_while_sending_is_recorded(store: Store) -> None:
    def broken(week: Week) -> Sequence[Sent]:
        raise ValueError("no alert channel named 'ops'")

    running = ReportScheduler(Cron.parse("0 9 * * 1"), ReportRuns(store), broken, holder="a", clock=Clock(MONDAY_9))
    assert running.run_due() == "failed: ValueError: no alert channel named 'ops'"


def test_outcomes() -> None:
    assert outcome_of([]) == "failed: no channel"
    assert outcome_of([Sent("a", True), Sent("b", True)]) == "sent"


class FlakyRuns(ReportRuns):
    """The real log, whose first claim fails as a store that is briefly unreachable does."""

    failed = False

    def claim(self, report: str, period_start: datetime, holder: str) -> bool:
        if not self.failed:
            self.failed = True
            raise ConnectionError("store unreachable")
        return super().claim(report, period_start, holder)


def test_a_claim_that_fails_is_tried_again(store: Store) -> None:
    sender = Sender()
    running = ReportScheduler(Cron.parse("0 9 * * 1"), FlakyRuns(store), sender, holder="a", clock=Clock(MONDAY_9))
    with pytest.raises(ConnectionError):
        running.run_due()
    assert running.run_due() == "sent" and sender.weeks == [WEEK]
