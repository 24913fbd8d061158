from __future__ import annotations

from datetime import UTC, datetime

from ccmon.store.facade import Store
from ccmon.store.report_runs import CLAIMED, ReportRuns

W47, W48 = datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)


def test_the_first_claim_of_a_period_wins_and_others_lose(store: Store) -> None:
    runs = ReportRuns(store)
    assert runs.claim("weekly", W47, "a")
    assert not runs.claim("weekly", W47, "b")
    assert runs.claim("weekly", W47, "a")  # the holder asking again still holds it
    assert runs.claim("weekly", W48, "b") and runs.claim("other", W47, "b")  # periods and reports are independent
    runs.record("weekly", W47, "a", "sent")
    assert not runs.claim("weekly", W47, "c")
    assert not runs.claim("weekly", W47, "a")  # sent: not again, by its sender either (a daily schedule)
    assert [(r.period_start, r.holder, r.outcome) for r in runs.recent("weekly")] == [
        (W47, "a", "sent"),
        (W48, "b", CLAIMED),
        (W47, "a", CLAIMED),
    ]
    runs.record("weekly", W48, "b", "failed: SMTPException: refused")
    assert not runs.claim("weekly", W48, "b")  # a failed send is not retried by the schedule
